//! Times as pages show them, in UTC, and as page data carries them. Written out and read back by
//! hand rather than with chrono's format strings and parser, which would otherwise be shipped to
//! every browser that shows a time.

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Timelike, Utc};

/// `2026-12-04`
pub fn date(day: NaiveDate) -> String {
    format!("{:04}-{:02}-{:02}", day.year(), day.month(), day.day())
}

/// `2026-12-04 09:30 UTC`
pub fn minute(at: &DateTime<Utc>) -> String {
    format!(
        "{} {:02}:{:02} UTC",
        date(at.date_naive()),
        at.hour(),
        at.minute()
    )
}

/// `2026-12-04 09:30:01 UTC`
pub fn second(at: &DateTime<Utc>) -> String {
    format!("{} {}", date(at.date_naive()), clock(at))
}

/// `09:30:01 UTC`
pub fn clock(at: &DateTime<Utc>) -> String {
    format!("{:02}:{:02}:{:02} UTC", at.hour(), at.minute(), at.second())
}

/// A date written `2026-03-01` (month and day of one or two digits), as a date field sends it.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let mut parts = text.split('-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    let digits = |part: &str, lengths: std::ops::RangeInclusive<usize>| {
        (lengths.contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse::<u32>().ok())
            .flatten()
    };
    if parts.next().is_some() {
        return None;
    }
    let year = i32::try_from(digits(year, 4..=4)?).ok()?;
    NaiveDate::from_ymd_opt(year, digits(month, 1..=2)?, digits(day, 1..=2)?)
}

/// A time written in RFC 3339 as chrono writes it (`2026-12-04T09:30:01.123456Z`): a `T` (or a
/// space), seconds with an optional fraction of up to 9 digits, then `Z` or an offset `+01:00`.
pub fn parse_utc(text: &str) -> Option<DateTime<Utc>> {
    let bytes = text.as_bytes();
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = bytes.get(range)?;
        part.iter().all(u8::is_ascii_digit).then(|| {
            part.iter()
                .fold(0, |n, digit| n * 10 + u32::from(digit - b'0'))
        })
    };
    let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if separators
        .iter()
        .any(|&(at, sep)| bytes.get(at) != Some(&sep))
        || !matches!(bytes.get(10), Some(b'T' | b't' | b' '))
    {
        return None;
    }
    let day = NaiveDate::from_ymd_opt(
        i32::try_from(number(0..4)?).ok()?,
        number(5..7)?,
        number(8..10)?,
    )?;
    let mut rest = &text[19..];
    let mut nanos = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if !(1..=9).contains(&digits) {
            return None;
        }
        nanos = fraction[..digits].parse::<u32>().ok()? * 10_u32.pow(9 - digits as u32);
        rest = &fraction[digits..];
    }
    let local = day.and_hms_nano_opt(number(11..13)?, number(14..16)?, number(17..19)?, nanos)?;
    let offset_minutes = match rest.as_bytes() {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let two = |a: u8, b: u8| {
                (a.is_ascii_digit() && b.is_ascii_digit())
                    .then(|| i64::from((a - b'0') * 10 + (b - b'0')))
            };
            let minutes = two(*h1, *h2)? * 60 + two(*m1, *m2)?;
            if *sign == b'-' { -minutes } else { minutes }
        }
        _ => return None,
    };
    let utc = local.checked_sub_signed(TimeDelta::minutes(offset_minutes))?;
    Some(DateTime::from_naive_utc_and_offset(utc, Utc))
}

/// Serde for a `DateTime<Utc>` field: written as chrono writes it, read by [`parse_utc`].
pub mod rfc3339 {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error};

    pub fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
        at.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::parse_utc(&text).ok_or_else(|| D::Error::custom("not an RFC 3339 time"))
    }
}

/// [`rfc3339`] for an `Option<DateTime<Utc>>` field.
pub mod rfc3339_option {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error};

    pub fn serialize<S: Serializer>(
        at: &Option<DateTime<Utc>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        at.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        Option::<String>::deserialize(deserializer)?
            .map(|text| {
                super::parse_utc(&text).ok_or_else(|| D::Error::custom("not an RFC 3339 time"))
            })
            .transpose()
    }
}

/// Serde for a `NaiveDate` field: written as chrono writes it (`2026-03-01`), read by
/// [`parse_date`].
pub mod iso_date {
    use chrono::NaiveDate;
    use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error};

    pub fn serialize<S: Serializer>(day: &NaiveDate, serializer: S) -> Result<S::Ok, S::Error> {
        day.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveDate, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::parse_date(&text).ok_or_else(|| D::Error::custom("not a date"))
    }
}

/// [`iso_date`] for an `Option<NaiveDate>` field.
pub mod iso_date_option {
    use chrono::NaiveDate;
    use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error};

    pub fn serialize<S: Serializer>(
        day: &Option<NaiveDate>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        day.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<NaiveDate>, D::Error> {
        Option::<String>::deserialize(deserializer)?
            .map(|text| super::parse_date(&text).ok_or_else(|| D::Error::custom("not a date")))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_the_format_strings_wrote_them() {
        let at = DateTime::parse_from_rfc3339("2026-03-04T05:06:07.890Z")
            .map(|t| t.with_timezone(&Utc))
            .expect("time");
        assert_eq!(date(at.date_naive()), at.format("%Y-%m-%d").to_string());
        assert_eq!(minute(&at), at.format("%Y-%m-%d %H:%M UTC").to_string());
        assert_eq!(second(&at), at.format("%Y-%m-%d %H:%M:%S UTC").to_string());
        assert_eq!(clock(&at), at.format("%H:%M:%S UTC").to_string());
    }

    #[test]
    fn a_date_is_read_as_a_date_field_writes_it() {
        assert_eq!(
            parse_date("2026-03-01"),
            NaiveDate::from_ymd_opt(2026, 3, 1)
        );
        assert_eq!(parse_date("2026-3-1"), NaiveDate::from_ymd_opt(2026, 3, 1));
        for bad in [
            "",
            "2026-02-30",
            "2026-13-01",
            "26-03-01",
            "2026-03-01-",
            "2026/03/01",
            "2026-+3-01",
            " 2026-03-01",
        ] {
            assert_eq!(parse_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn times_read_back_as_chrono_writes_and_reads_them() {
        let written = [
            "2026-12-04T09:30:01Z",
            "2026-12-04T09:30:01.5Z",
            "2026-12-04T09:30:01.123456789Z",
            "2026-02-28T23:59:59.000001Z",
            "2026-12-04T09:30:01+01:00",
            "2026-12-04t09:30:01-05:30",
            "2026-12-04 09:30:01z",
            "1970-01-01T00:00:00Z",
        ];
        for text in written {
            let chrono: DateTime<Utc> = DateTime::parse_from_rfc3339(text)
                .expect("chrono reads it")
                .with_timezone(&Utc);
            assert_eq!(parse_utc(text), Some(chrono), "{text}");
        }
        let now = Utc::now();
        let json = serde_json::to_string(&now).expect("chrono writes it");
        assert_eq!(parse_utc(json.trim_matches('"')), Some(now), "{json}");
        for bad in [
            "",
            "2026-12-04",
            "2026-12-04T09:30:01",
            "2026-12-04T09:30Z",
            "2026-13-04T09:30:01Z",
            "2026-02-30T09:30:01Z",
            "2026-12-04T24:00:00Z",
            "2026-12-04T09:30:01.Z",
            "2026-12-04T09:30:01.1234567890Z",
            "2026-12-04T09:30:01+0100",
            "2026-12-04T09:30:01Z ",
            "2026-12-04X09:30:01Z",
            "+2026-12-04T09:30:01Z",
            "2026-12-04T09:30:01+1:00",
        ] {
            assert_eq!(parse_utc(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn fields_with_these_serde_modules_round_trip_as_plain_chrono_fields() {
        #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        struct Dated {
            #[serde(with = "super::rfc3339")]
            at: DateTime<Utc>,
            #[serde(with = "super::rfc3339_option")]
            maybe: Option<DateTime<Utc>>,
            #[serde(with = "super::iso_date")]
            day: NaiveDate,
            #[serde(with = "super::iso_date_option")]
            until: Option<NaiveDate>,
        }
        #[derive(serde::Serialize)]
        struct Plain {
            at: DateTime<Utc>,
            maybe: Option<DateTime<Utc>>,
            day: NaiveDate,
            until: Option<NaiveDate>,
        }
        let at = Utc::now();
        let day = NaiveDate::from_ymd_opt(2026, 3, 1).expect("date");
        for (maybe, until) in [(Some(at), Some(day)), (None, None)] {
            let dated = Dated {
                at,
                maybe,
                day,
                until,
            };
            let json = serde_json::to_string(&dated).expect("writes");
            assert_eq!(
                json,
                serde_json::to_string(&Plain {
                    at,
                    maybe,
                    day,
                    until
                })
                .expect("writes")
            );
            assert_eq!(serde_json::from_str::<Dated>(&json).expect("reads"), dated);
        }
        assert!(
            serde_json::from_str::<Dated>(
                r#"{"at":"yesterday","maybe":null,"day":"2026-03-01","until":null}"#
            )
            .is_err()
        );
    }
}

//! Times as pages show them, in UTC. Written out by hand rather than with chrono's format
//! strings, whose parser and formatter would otherwise be shipped to every browser that shows a
//! time.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};

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
}

//! Health rules as pure functions: status and reason in words from what the collector measured.

use super::{ExpectedInterval, Health, IntervalSource, Status};
use crate::domain::EnvironmentName;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The limits the rules use (configuration section `[health]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Expected interval between messages when the owner set none and none was learned.
    pub default_silence_seconds: i64,
    /// Silent for this many expected intervals is critical (one is a warning).
    pub silence_critical_factor: f64,
    /// Estimated time behind at which a group is a warning / critical.
    pub lag_warning_seconds: f64,
    pub lag_critical_seconds: f64,
    /// Lag growing without a break for this long is a warning / critical.
    pub lag_growing_warning_seconds: i64,
    pub lag_growing_critical_seconds: i64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            default_silence_seconds: 3600,
            silence_critical_factor: 3.0,
            lag_warning_seconds: 60.0,
            lag_critical_seconds: 300.0,
            lag_growing_warning_seconds: 300,
            lag_growing_critical_seconds: 900,
        }
    }
}

/// "45 seconds", "3 minutes", "2 hours 5 minutes", "3 days 4 hours".
pub fn duration_words(seconds: i64) -> String {
    let s = seconds.max(0);
    let plural = |n: i64, unit: &str| {
        if n == 1 {
            format!("1 {unit}")
        } else {
            format!("{n} {unit}s")
        }
    };
    if s < 60 {
        plural(s, "second")
    } else if s < 3600 {
        plural(s / 60, "minute")
    } else if s < 86400 {
        let (h, m) = (s / 3600, (s % 3600) / 60);
        if m == 0 {
            plural(h, "hour")
        } else {
            format!("{} {}", plural(h, "hour"), plural(m, "minute"))
        }
    } else {
        let (d, h) = (s / 86400, (s % 86400) / 3600);
        if h == 0 {
            plural(d, "day")
        } else {
            format!("{} {}", plural(d, "day"), plural(h, "hour"))
        }
    }
}

/// The interval a topic is held to: the owner's, else the learned one, else the default.
pub fn expected_interval(
    owner_seconds: Option<i64>,
    learned_seconds: Option<i64>,
    thresholds: &Thresholds,
) -> ExpectedInterval {
    match (owner_seconds, learned_seconds) {
        (Some(seconds), _) => ExpectedInterval {
            seconds,
            source: IntervalSource::Owner,
        },
        (None, Some(seconds)) => ExpectedInterval {
            seconds,
            source: IntervalSource::Learned,
        },
        (None, None) => ExpectedInterval {
            seconds: thresholds.default_silence_seconds,
            source: IntervalSource::Default,
        },
    }
}

/// The interval learned from history: twice the longest gap between minutes with traffic, at
/// least the default (a busy topic's short gaps must not make a minute of quiet an alert), and
/// only once the topic was busy for `min_active_minutes` minutes.
pub fn learned_interval(
    longest_gap_seconds: i64,
    active_minutes: i64,
    min_active_minutes: i64,
    thresholds: &Thresholds,
) -> Option<i64> {
    (active_minutes >= min_active_minutes)
        .then(|| (longest_gap_seconds.saturating_mul(2)).max(thresholds.default_silence_seconds))
}

/// What is known about a topic for its health.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicFacts {
    pub partitions: usize,
    pub under_replicated: usize,
    pub offline: usize,
    pub last_message_at: Option<DateTime<Utc>>,
    pub expected: ExpectedInterval,
}

/// Offline partitions and long silence are critical; under-replicated partitions and silence
/// beyond the expected interval are warnings. The worst finding wins; all are named.
pub fn evaluate_topic(now: DateTime<Utc>, facts: &TopicFacts, t: &Thresholds) -> Health {
    let mut findings: Vec<(Status, String)> = Vec::new();
    if facts.offline > 0 {
        findings.push((
            Status::Critical,
            format!(
                "{} of {} partitions have no leader (offline)",
                facts.offline, facts.partitions
            ),
        ));
    }
    if facts.under_replicated > 0 {
        findings.push((
            Status::Warning,
            format!(
                "{} of {} partitions are under-replicated",
                facts.under_replicated, facts.partitions
            ),
        ));
    }
    if let Some(last) = facts.last_message_at {
        let silent = (now - last).num_seconds();
        let expected = facts.expected.seconds.max(1);
        let critical_after = (expected as f64 * t.silence_critical_factor).round() as i64;
        let words = format!(
            "No messages for {}; expected at least one every {} ({})",
            duration_words(silent),
            duration_words(expected),
            facts.expected.source.label()
        );
        if silent > critical_after {
            findings.push((Status::Critical, words));
        } else if silent > expected {
            findings.push((Status::Warning, words));
        }
    }
    match findings.iter().map(|(s, _)| *s).max() {
        Some(status) => Health {
            status,
            reason: findings
                .into_iter()
                .map(|(_, r)| r)
                .collect::<Vec<_>>()
                .join("; ")
                + ".",
        },
        None => Health::ok(match facts.last_message_at {
            Some(_) => "Messages arrive as expected; every partition is fully replicated.",
            None => "No messages seen yet; every partition is fully replicated.",
        }),
    }
}

/// When a group's lag started growing: kept while lag grows or holds above zero, cleared when it
/// falls or reaches zero, set to the previous sample's time when it starts to grow.
pub fn growing_since(
    previous: Option<(i64, DateTime<Utc>)>,
    since: Option<DateTime<Utc>>,
    lag: i64,
) -> Option<DateTime<Utc>> {
    match previous {
        _ if lag <= 0 => None,
        Some((before, _)) if lag < before => None,
        Some((before, _)) if lag == before => since,
        Some((_, at)) => since.or(Some(at)),
        None => None,
    }
}

/// How far behind a group is, in seconds: the lag divided by the rate messages arrive at, or,
/// when nothing arrives, at least the time since the last message.
pub fn seconds_behind(
    lag: i64,
    rate: f64,
    last_message_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> f64 {
    if lag <= 0 {
        0.0
    } else if rate > 0.01 {
        lag as f64 / rate
    } else {
        last_message_at.map_or(0.0, |at| {
            (now - at).num_milliseconds().max(0) as f64 / 1000.0
        })
    }
}

/// Lag above a time limit, or growing for too long, is a warning or critical.
pub fn evaluate_group(
    now: DateTime<Utc>,
    lag: i64,
    seconds_behind: f64,
    growing_since: Option<DateTime<Utc>>,
    t: &Thresholds,
) -> Health {
    let mut findings: Vec<(Status, String)> = Vec::new();
    let behind = duration_words(seconds_behind.round() as i64);
    if seconds_behind >= t.lag_critical_seconds {
        findings.push((
            Status::Critical,
            format!(
                "{lag} messages behind, about {behind} (limit {})",
                duration_words(t.lag_critical_seconds as i64)
            ),
        ));
    } else if seconds_behind >= t.lag_warning_seconds {
        findings.push((
            Status::Warning,
            format!(
                "{lag} messages behind, about {behind} (warning from {})",
                duration_words(t.lag_warning_seconds as i64)
            ),
        ));
    }
    if let Some(since) = growing_since {
        let growing = (now - since).num_seconds();
        let words = format!("Lag has grown for {}", duration_words(growing));
        if growing >= t.lag_growing_critical_seconds {
            findings.push((Status::Critical, words));
        } else if growing >= t.lag_growing_warning_seconds {
            findings.push((Status::Warning, words));
        }
    }
    match findings.iter().map(|(s, _)| *s).max() {
        Some(status) => Health {
            status,
            reason: findings
                .into_iter()
                .map(|(_, r)| r)
                .collect::<Vec<_>>()
                .join("; ")
                + ".",
        },
        None if lag > 0 => Health::ok(format!("{lag} messages behind, about {behind}.")),
        None => Health::ok("Caught up."),
    }
}

/// The owner's expected interval from the form: whole minutes, 1 minute to 30 days; empty means
/// "learn it from the history".
pub fn parse_interval_minutes(text: &str) -> Result<Option<i64>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let minutes: i64 = text
        .parse()
        .map_err(|_| "enter a whole number of minutes, or leave it empty".to_owned())?;
    if !(1..=43_200).contains(&minutes) {
        return Err("use 1 minute to 30 days (43200 minutes)".to_owned());
    }
    Ok(Some(minutes * 60))
}

/// What an alert tells the owning team when a subject's status changes.
pub fn alert_message(
    kind: &str,
    name: &str,
    environment: &EnvironmentName,
    status: Status,
    reason: &str,
) -> String {
    format!(
        "{} {kind} {name} in {environment}: {}",
        status.label(),
        reason
    )
}

pub fn recovery_message(
    kind: &str,
    name: &str,
    environment: &EnvironmentName,
    reason: &str,
) -> String {
    format!("Recovered: {kind} {name} in {environment} is OK again. {reason}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + s, 0)
            .single()
            .expect("valid time")
    }

    fn facts(last: Option<i64>, expected: i64) -> TopicFacts {
        TopicFacts {
            partitions: 3,
            under_replicated: 0,
            offline: 0,
            last_message_at: last.map(at),
            expected: ExpectedInterval {
                seconds: expected,
                source: IntervalSource::Owner,
            },
        }
    }

    #[test]
    fn words_for_durations() {
        assert_eq!(duration_words(1), "1 second");
        assert_eq!(duration_words(59), "59 seconds");
        assert_eq!(duration_words(120), "2 minutes");
        assert_eq!(duration_words(3600), "1 hour");
        assert_eq!(duration_words(3900), "1 hour 5 minutes");
        assert_eq!(duration_words(90000), "1 day 1 hour");
    }

    #[test]
    fn silence_is_a_warning_then_critical() {
        let t = Thresholds::default();
        assert_eq!(
            evaluate_topic(at(100), &facts(Some(50), 60), &t).status,
            Status::Ok
        );
        let warning = evaluate_topic(at(200), &facts(Some(50), 60), &t);
        assert_eq!(warning.status, Status::Warning);
        assert_eq!(
            warning.reason,
            "No messages for 2 minutes; expected at least one every 1 minute (set by the owning team)."
        );
        assert_eq!(
            evaluate_topic(at(500), &facts(Some(50), 60), &t).status,
            Status::Critical
        );
        // A topic that never had a message is not silent.
        assert_eq!(
            evaluate_topic(at(500), &facts(None, 60), &t).status,
            Status::Ok
        );
    }

    #[test]
    fn replication_findings_are_named_and_the_worst_wins() {
        let t = Thresholds::default();
        let mut f = facts(Some(0), 3600);
        f.under_replicated = 1;
        let h = evaluate_topic(at(10), &f, &t);
        assert_eq!(h.status, Status::Warning);
        assert_eq!(h.reason, "1 of 3 partitions are under-replicated.");
        f.offline = 2;
        let h = evaluate_topic(at(10), &f, &t);
        assert_eq!(h.status, Status::Critical);
        assert!(
            h.reason
                .starts_with("2 of 3 partitions have no leader (offline); 1 of 3")
        );
    }

    #[test]
    fn lag_by_time_behind_and_by_growth() {
        let t = Thresholds::default();
        assert_eq!(
            evaluate_group(at(0), 0, 0.0, None, &t),
            Health::ok("Caught up.")
        );
        assert_eq!(evaluate_group(at(0), 10, 5.0, None, &t).status, Status::Ok);
        assert_eq!(
            evaluate_group(at(0), 10, 61.0, None, &t).status,
            Status::Warning
        );
        let critical = evaluate_group(at(0), 600, 301.0, None, &t);
        assert_eq!(critical.status, Status::Critical);
        assert_eq!(
            critical.reason,
            "600 messages behind, about 5 minutes (limit 5 minutes)."
        );
        let growing = evaluate_group(at(1000), 10, 1.0, Some(at(0)), &t);
        assert_eq!(growing.status, Status::Critical);
        assert_eq!(growing.reason, "Lag has grown for 16 minutes.");
        assert_eq!(
            evaluate_group(at(400), 10, 1.0, Some(at(0)), &t).status,
            Status::Warning
        );
    }

    #[test]
    fn growth_starts_holds_and_clears() {
        assert_eq!(growing_since(None, None, 5), None);
        assert_eq!(growing_since(Some((5, at(0))), None, 9), Some(at(0)));
        assert_eq!(
            growing_since(Some((9, at(5))), Some(at(0)), 12),
            Some(at(0))
        );
        assert_eq!(
            growing_since(Some((12, at(10))), Some(at(0)), 12),
            Some(at(0))
        );
        assert_eq!(growing_since(Some((12, at(10))), Some(at(0)), 3), None);
        assert_eq!(growing_since(Some((12, at(10))), Some(at(0)), 0), None);
    }

    #[test]
    fn time_behind_from_rate_or_from_silence() {
        assert_eq!(seconds_behind(0, 10.0, None, at(0)), 0.0);
        assert_eq!(seconds_behind(100, 10.0, None, at(0)), 10.0);
        assert_eq!(seconds_behind(100, 0.0, Some(at(0)), at(30)), 30.0);
    }

    #[test]
    fn expected_interval_prefers_owner_then_learned() {
        let t = Thresholds::default();
        assert_eq!(
            expected_interval(Some(120), Some(7200), &t).source,
            IntervalSource::Owner
        );
        assert_eq!(expected_interval(None, Some(7200), &t).seconds, 7200);
        assert_eq!(
            expected_interval(None, None, &t).source,
            IntervalSource::Default
        );
        assert_eq!(learned_interval(600, 10, 60, &t), None);
        assert_eq!(learned_interval(600, 100, 60, &t), Some(3600));
        assert_eq!(learned_interval(7200, 100, 60, &t), Some(14400));
    }

    #[test]
    fn the_owner_form_is_checked() {
        assert_eq!(parse_interval_minutes(""), Ok(None));
        assert_eq!(parse_interval_minutes(" 15 "), Ok(Some(900)));
        assert!(parse_interval_minutes("0").is_err());
        assert!(parse_interval_minutes("50000").is_err());
        assert!(parse_interval_minutes("ten").is_err());
    }
}

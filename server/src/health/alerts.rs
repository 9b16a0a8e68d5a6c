//! Alerts: after each cycle, a subject (topic or group) with an owning team whose status differs
//! from its open alert gets the alert opened, escalated, eased or closed, and the team is told.
//! Open alerts of subjects gone from the cluster (or no longer owned) close. The SQL, and the
//! notices written with each change, are in `store`.

use super::derive::alert_change;
use super::store::{self, AlertChange, OpenAlert};
use app::domain::EnvironmentName;
use app::domain::RoleMapping;
use app::health::{EnvSnapshot, SubjectKind, health_link};
use sqlx::PgPool;
use std::collections::HashMap;

/// One change to record: the subject, its team and what changes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Planned {
    kind: SubjectKind,
    subject: String,
    team: Option<String>,
    change: AlertChange,
}

/// Opens, escalates, eases or closes alerts where a subject's status differs from its open
/// alert. Only subjects with an owning team are alerted. Returns how many changes were recorded.
pub(super) async fn raise(
    db: &PgPool,
    roles: &RoleMapping,
    environment: &EnvironmentName,
    public_url: &str,
    snapshot: &EnvSnapshot,
) -> usize {
    let open = match store::open_alerts(db, environment).await {
        Ok(open) => open,
        Err(error) => {
            tracing::warn!(%environment, %error, "reading open alerts failed");
            return 0;
        }
    };
    let mut recorded = 0;
    for planned in plan(open, snapshot) {
        let Planned {
            kind,
            subject,
            team,
            change,
        } = planned;
        let link = health_link(environment, kind, &subject);
        match store::record_alert(
            db,
            roles,
            environment,
            kind.as_str(),
            &subject,
            team.as_deref(),
            &change,
            &link,
            public_url,
        )
        .await
        {
            Ok(true) => {
                recorded += 1;
                tracing::info!(
                    %environment,
                    kind = kind.as_str(),
                    subject,
                    change = ?change,
                    "health alert recorded"
                );
            }
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(%environment, %error, "recording a health alert failed");
            }
        }
    }
    recorded
}

/// The changes this snapshot calls for, given the alerts open now: those of owned subjects whose
/// status moved, then the closing of open alerts whose subject is gone or no longer owned.
fn plan(open: Vec<OpenAlert>, snapshot: &EnvSnapshot) -> Vec<Planned> {
    let mut open_by: HashMap<(String, String), OpenAlert> = open
        .into_iter()
        .map(|a| ((a.kind.clone(), a.subject.clone()), a))
        .collect();
    let subjects = snapshot
        .topics
        .values()
        .filter_map(|t| {
            t.owner
                .as_ref()
                .map(|o| (SubjectKind::Topic, t.name.as_str(), &t.health, o.as_str()))
        })
        .chain(snapshot.groups.values().filter_map(|g| {
            g.owner
                .as_ref()
                .map(|o| (SubjectKind::Group, g.id.as_str(), &g.health, o.as_str()))
        }));
    let mut changes = Vec::new();
    for (kind, name, health, owner) in subjects {
        let existing = open_by.remove(&(kind.as_str().to_owned(), name.to_owned()));
        if let Some(change) = alert_change(existing.as_ref().map(|a| (a.id, a.status)), health) {
            changes.push(Planned {
                kind,
                subject: name.to_owned(),
                team: Some(owner.to_owned()),
                change,
            });
        }
    }
    // Open alerts of subjects that are gone from the cluster (or lost their owner) close.
    for ((kind, subject), alert) in open_by {
        let kind = if kind == "group" {
            SubjectKind::Group
        } else {
            SubjectKind::Topic
        };
        changes.push(Planned {
            kind,
            subject,
            team: alert.team,
            change: AlertChange::Recover {
                id: alert.id,
                reason: "It is no longer on the cluster or no longer owned.".to_owned(),
            },
        });
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::health::eval::{self, Thresholds};
    use app::health::{GroupSample, Health, Status, TopicSample};
    use chrono::{DateTime, Utc};

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).expect("a valid time")
    }

    fn health(status: Status) -> Health {
        Health {
            status,
            reason: format!("{status:?} now"),
        }
    }

    fn topic(name: &str, owner: Option<&str>, status: Status) -> TopicSample {
        let thresholds = Thresholds {
            default_silence_seconds: 600,
            silence_critical_factor: 3.0,
            lag_warning_seconds: 60.0,
            lag_critical_seconds: 600.0,
            lag_growing_warning_seconds: 300,
            lag_growing_critical_seconds: 900,
        };
        TopicSample {
            name: name.into(),
            partitions: Vec::new(),
            rate: 0.0,
            latest_total: 0,
            retained: 0,
            under_replicated: 0,
            offline: 0,
            last_message_at: None,
            expected: eval::expected_interval(None, None, &thresholds),
            owner: owner.map(String::from),
            health: health(status),
        }
    }

    fn group(id: &str, owner: Option<&str>, status: Status) -> GroupSample {
        GroupSample {
            id: id.into(),
            state: "Stable".into(),
            members: 1,
            topics: Vec::new(),
            partitions: Vec::new(),
            lag: 0,
            seconds_behind: 0.0,
            growing_since: None,
            owner: owner.map(String::from),
            health: health(status),
        }
    }

    fn open(id: i64, kind: &str, subject: &str, status: Status) -> OpenAlert {
        OpenAlert {
            id,
            kind: kind.into(),
            subject: subject.into(),
            status,
            team: Some("former".into()),
        }
    }

    fn snapshot(topics: Vec<TopicSample>, groups: Vec<GroupSample>) -> EnvSnapshot {
        EnvSnapshot {
            environment: EnvironmentName::parse("sandbox").expect("a valid environment name"),
            collected_at: now(),
            cycle_ms: 0,
            brokers: 1,
            topics: topics.into_iter().map(|t| (t.name.clone(), t)).collect(),
            groups: groups.into_iter().map(|g| (g.id.clone(), g)).collect(),
            error: None,
        }
    }

    #[test]
    fn only_owned_subjects_whose_status_moved_are_alerted() {
        let snapshot = snapshot(
            vec![
                topic("orders", Some("shop"), Status::Warning),
                topic("unowned", None, Status::Critical),
                topic("fine", Some("shop"), Status::Ok),
            ],
            vec![group("orders", Some("billing"), Status::Critical)],
        );
        // The group shares the topic's name: alerts are told apart by kind.
        let planned = plan(vec![open(7, "group", "orders", Status::Warning)], &snapshot);
        assert_eq!(
            planned,
            [
                Planned {
                    kind: SubjectKind::Topic,
                    subject: "orders".into(),
                    team: Some("shop".into()),
                    change: AlertChange::Open {
                        status: Status::Warning,
                        reason: "Warning now".into(),
                    },
                },
                Planned {
                    kind: SubjectKind::Group,
                    subject: "orders".into(),
                    team: Some("billing".into()),
                    change: AlertChange::Escalate {
                        id: 7,
                        status: Status::Critical,
                        reason: "Critical now".into(),
                    },
                },
            ]
        );
    }

    #[test]
    fn alerts_of_subjects_gone_or_no_longer_owned_close_for_their_team() {
        let snapshot = snapshot(vec![topic("orphaned", None, Status::Critical)], Vec::new());
        let open = vec![
            open(1, "topic", "orphaned", Status::Critical),
            open(2, "group", "deleted", Status::Warning),
        ];
        let mut planned = plan(open, &snapshot);
        planned.sort_by_key(|p| p.subject.clone());
        let reason = "It is no longer on the cluster or no longer owned.".to_owned();
        assert_eq!(
            planned,
            [
                Planned {
                    kind: SubjectKind::Group,
                    subject: "deleted".into(),
                    team: Some("former".into()),
                    change: AlertChange::Recover {
                        id: 2,
                        reason: reason.clone(),
                    },
                },
                Planned {
                    kind: SubjectKind::Topic,
                    subject: "orphaned".into(),
                    team: Some("former".into()),
                    change: AlertChange::Recover { id: 1, reason },
                },
            ]
        );
    }

    #[test]
    fn an_unchanged_status_records_nothing() {
        let current = snapshot(
            vec![topic("orders", Some("shop"), Status::Warning)],
            vec![group("g", Some("shop"), Status::Ok)],
        );
        let open = vec![open(3, "topic", "orders", Status::Warning)];
        assert_eq!(plan(open, &current), []);
        assert_eq!(plan(Vec::new(), &snapshot(Vec::new(), Vec::new())), []);
    }
}

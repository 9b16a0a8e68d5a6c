//! A change to an existing topic's settings, proposed by its owning team: more partitions, a
//! different retention or cleanup policy. Parsed by the same rules in the browser and on the
//! server; the server then checks it against the topic as it is.

use super::form::{FIELD_APPLICATION, FIELD_PURPOSE, FIELD_TOPIC, PURPOSE_MAX, PURPOSE_MIN};
use super::topic_form::{FIELD_CLEANUP, FIELD_PARTITIONS, FIELD_RETENTION};
use crate::domain::ApplicationId;
use crate::domain::{
    CleanupPolicy, FieldError, Partitions, RetentionDays, TopicName, bounded_text,
};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// The form as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TopicChangeInput {
    pub topic: String,
    pub application: String,
    pub partitions: String,
    pub retention_days: String,
    pub cleanup_policy: String,
    pub purpose: String,
}

impl crate::form_fields::ReadFields for TopicChangeInput {
    fn read(fields: &impl crate::form_fields::FormFields) -> Self {
        Self {
            topic: fields.text("input[topic]"),
            application: fields.text("input[application]"),
            partitions: fields.text("input[partitions]"),
            retention_days: fields.text("input[retention_days]"),
            cleanup_policy: fields.text("input[cleanup_policy]"),
            purpose: fields.text("input[purpose]"),
        }
    }
}

/// The settings a topic should have after the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicSettings {
    pub partitions: Partitions,
    pub retention_days: RetentionDays,
    pub cleanup_policy: CleanupPolicy,
}

/// A stored change: the settings before and after.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicChange {
    pub before: TopicSettings,
    pub after: TopicSettings,
}

impl TopicChange {
    /// What changes, in words; empty when nothing does.
    pub fn in_words(&self) -> Vec<String> {
        let (b, a) = (self.before, self.after);
        let mut words = Vec::new();
        if a.partitions != b.partitions {
            words.push(format!(
                "Partitions: {} to {}",
                b.partitions.get(),
                a.partitions.get()
            ));
        }
        if a.retention_days != b.retention_days {
            words.push(format!(
                "Retention: {} to {} days",
                b.retention_days.days(),
                a.retention_days.days()
            ));
        }
        if a.cleanup_policy != b.cleanup_policy {
            words.push(format!(
                "Cleanup policy: {} to {}",
                b.cleanup_policy.label(),
                a.cleanup_policy.label()
            ));
        }
        words
    }

    /// Rules that need the topic as it is: Kafka cannot remove partitions, and a change must
    /// change something.
    pub fn check(&self) -> Result<(), Vec<FieldError>> {
        if self.after.partitions.get() < self.before.partitions.get() {
            return Err(vec![FieldError::new(
                FIELD_PARTITIONS,
                format!(
                    "partitions can only be raised (it has {}): Kafka cannot remove partitions",
                    self.before.partitions.get()
                ),
            )]);
        }
        if self.in_words().is_empty() {
            return Err(vec![FieldError::new(
                FIELD_PARTITIONS,
                "nothing changes: these are the topic's current settings",
            )]);
        }
        Ok(())
    }
}

/// A parsed change, not yet checked against the topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicChangeDraft {
    pub topic: TopicName,
    pub application: ApplicationId,
    pub settings: TopicSettings,
    pub purpose: String,
}

impl TopicChangeInput {
    /// Every field error at once.
    pub fn parse(&self) -> Result<TopicChangeDraft, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut field = |name: &str, result: Result<(), String>| {
            if let Err(m) = result {
                errors.push(FieldError::new(name, m));
            }
        };
        let topic = TopicName::parse_kafka(self.topic.trim())
            .map_err(|m| field(FIELD_TOPIC, Err(m)))
            .ok();
        let application = ApplicationId::from_str(self.application.trim())
            .map_err(|_| {
                field(
                    FIELD_APPLICATION,
                    Err("choose one of your team's applications".into()),
                )
            })
            .ok();
        let partitions = Partitions::parse_text(&self.partitions)
            .map_err(|m| field(FIELD_PARTITIONS, Err(m)))
            .ok();
        let retention_days = RetentionDays::parse_text(&self.retention_days)
            .map_err(|m| field(FIELD_RETENTION, Err(m)))
            .ok();
        let cleanup_policy = self
            .cleanup_policy
            .parse::<CleanupPolicy>()
            .map_err(|m| field(FIELD_CLEANUP, Err(m)))
            .ok();
        let purpose = bounded_text(&self.purpose, "the reason", PURPOSE_MIN, PURPOSE_MAX)
            .map_err(|m| field(FIELD_PURPOSE, Err(m)))
            .ok();
        match (
            topic,
            application,
            partitions,
            retention_days,
            cleanup_policy,
            purpose,
        ) {
            (
                Some(topic),
                Some(application),
                Some(partitions),
                Some(retention_days),
                Some(cleanup_policy),
                Some(purpose),
            ) if errors.is_empty() => Ok(TopicChangeDraft {
                topic,
                application,
                settings: TopicSettings {
                    partitions,
                    retention_days,
                    cleanup_policy,
                },
                purpose: purpose.to_owned(),
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn input() -> TopicChangeInput {
        TopicChangeInput {
            topic: "orders_placed".into(),
            application: Uuid::nil().to_string(),
            partitions: "6".into(),
            retention_days: "14".into(),
            cleanup_policy: "delete".into(),
            purpose: "Peak season needs more consumers in parallel.".into(),
        }
    }

    fn settings(p: i32, days: i64, c: CleanupPolicy) -> TopicSettings {
        TopicSettings {
            partitions: Partitions::new(p).expect("partitions"),
            retention_days: RetentionDays::new(days).expect("days"),
            cleanup_policy: c,
        }
    }

    #[test]
    fn a_valid_change_parses() {
        let draft = input().parse().expect("valid");
        assert_eq!(draft.settings.partitions.get(), 6);
        assert_eq!(draft.settings.retention_days.days(), 14);
    }

    #[test]
    fn every_bad_field_is_named() {
        let bad = TopicChangeInput {
            topic: "no spaces allowed".into(),
            application: "x".into(),
            partitions: "many".into(),
            retention_days: "0".into(),
            cleanup_policy: "shred".into(),
            purpose: "short".into(),
        };
        let fields: Vec<String> = bad
            .parse()
            .expect_err("refused")
            .into_iter()
            .map(|e| e.field)
            .collect();
        for name in [
            FIELD_TOPIC,
            FIELD_APPLICATION,
            FIELD_PARTITIONS,
            FIELD_RETENTION,
            FIELD_CLEANUP,
            FIELD_PURPOSE,
        ] {
            assert!(fields.iter().any(|f| f == name), "{name} in {fields:?}");
        }
    }

    #[test]
    fn partitions_only_go_up_and_something_must_change() {
        let before = settings(6, 7, CleanupPolicy::Delete);
        let fewer = TopicChange {
            before,
            after: settings(3, 7, CleanupPolicy::Delete),
        };
        assert!(
            fewer.check().expect_err("refused")[0]
                .message
                .contains("only be raised")
        );
        let same = TopicChange {
            before,
            after: before,
        };
        assert!(same.check().is_err());
        let more = TopicChange {
            before,
            after: settings(12, 30, CleanupPolicy::Compact),
        };
        assert!(more.check().is_ok());
        assert_eq!(more.in_words().len(), 3);
    }
}

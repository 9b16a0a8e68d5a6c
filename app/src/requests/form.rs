//! The access-request form, parsed by the same rules in the browser (inline errors) and on the
//! server (the check that counts).

use crate::domain::{ApplicationId, EnvironmentName, RequestId};
use crate::domain::{ConsumerGroup, FieldError, RequestKind, TopicName, bounded_text};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::str::FromStr;

pub const PURPOSE_MIN: usize = 10;
pub const PURPOSE_MAX: usize = 2000;
/// Access can be asked for at most this far ahead.
pub const MAX_EXPIRY_DAYS: i64 = 730;

/// The form as typed. A missing field reads as empty, so its rule names it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccessRequestInput {
    pub kind: String,
    pub topic: String,
    pub application: String,
    #[serde(default)]
    pub environments: Vec<String>,
    #[serde(default)]
    pub consumer_group: String,
    #[serde(default)]
    pub group_is_prefix: Option<String>,
    pub purpose: String,
    #[serde(default)]
    pub expiry: String,
    /// The approved request this one promotes to another environment, if any.
    #[serde(default)]
    pub promoted_from: String,
    /// Set by the "Save as draft" button: kept, not sent for approval yet.
    #[serde(default)]
    pub save_as_draft: Option<String>,
}

impl crate::form_fields::ReadFields for AccessRequestInput {
    fn read(fields: &impl crate::form_fields::FormFields) -> Self {
        Self {
            kind: fields.text("input[kind]"),
            topic: fields.text("input[topic]"),
            application: fields.text("input[application]"),
            environments: fields.all("input[environments][]"),
            consumer_group: fields.text("input[consumer_group]"),
            group_is_prefix: fields.sent("input[group_is_prefix]"),
            purpose: fields.text("input[purpose]"),
            expiry: fields.text("input[expiry]"),
            promoted_from: fields.text("input[promoted_from]"),
            save_as_draft: fields.sent("input[save_as_draft]"),
        }
    }
}

/// A request that passed every rule that needs no database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRequestDraft {
    pub kind: RequestKind,
    pub topic: TopicName,
    pub application: ApplicationId,
    pub environments: Vec<EnvironmentName>,
    pub consumer_group: Option<ConsumerGroup>,
    pub group_is_prefix: bool,
    pub purpose: String,
    pub expiry: Option<NaiveDate>,
    pub promoted_from: Option<RequestId>,
    /// Kept as a draft instead of being sent for approval.
    pub save_as_draft: bool,
}

pub const FIELD_KIND: &str = "Access";
pub const FIELD_TOPIC: &str = "Topic";
pub const FIELD_APPLICATION: &str = "Application";
pub const FIELD_ENVIRONMENTS: &str = "Environments";
pub const FIELD_GROUP: &str = "Consumer group";
pub const FIELD_PURPOSE: &str = "Purpose";
pub const FIELD_EXPIRY: &str = "Access until";
pub const FIELD_PROMOTED_FROM: &str = "Promoted from";

/// The environments a form chose, each one the bus has, in the order chosen, without repeats;
/// or one message per unknown name (or one saying that none was chosen).
pub fn choose_environments(
    chosen: &[String],
    known: &[EnvironmentName],
) -> Result<Vec<EnvironmentName>, Vec<String>> {
    let mut environments: Vec<EnvironmentName> = Vec::new();
    let mut unknown = Vec::new();
    for name in chosen {
        let name = name.trim();
        match known.iter().find(|k| *k == name) {
            None => unknown.push(format!("{name:?} is not an environment of this bus")),
            Some(env) if !environments.contains(env) => environments.push(env.clone()),
            Some(_) => {}
        }
    }
    if chosen.is_empty() {
        unknown.push("choose at least one environment".into());
    }
    if unknown.is_empty() {
        Ok(environments)
    } else {
        Err(unknown)
    }
}

impl AccessRequestInput {
    pub fn parse(
        &self,
        known_environments: &[EnvironmentName],
        today: NaiveDate,
    ) -> Result<AccessRequestDraft, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut check = |field: &str, result: Result<(), String>| {
            if let Err(message) = result {
                errors.push(FieldError::new(field, message));
            }
        };

        let kind = match self.kind.as_str() {
            "consumer_access" => Some(RequestKind::ConsumerAccess),
            "producer_access" => Some(RequestKind::ProducerAccess),
            other => {
                check(
                    FIELD_KIND,
                    Err(format!(
                        "choose producer or consumer access (got {other:?})"
                    )),
                );
                None
            }
        };
        let topic = TopicName::parse_kafka(&self.topic);
        let topic = topic.map_err(|m| check(FIELD_TOPIC, Err(m))).ok();
        let application = ApplicationId::from_str(self.application.trim())
            .map_err(|_| {
                check(
                    FIELD_APPLICATION,
                    Err("choose one of your team's applications".into()),
                )
            })
            .ok();

        let environments = choose_environments(&self.environments, known_environments)
            .unwrap_or_else(|messages| {
                for message in messages {
                    check(FIELD_ENVIRONMENTS, Err(message));
                }
                Vec::new()
            });

        let group_text = self.consumer_group.trim();
        let wants_prefix = self.group_is_prefix.is_some();
        let consumer_group = match kind {
            Some(RequestKind::ConsumerAccess) => ConsumerGroup::parse(group_text)
                .and_then(|group| {
                    if wants_prefix {
                        group.check_prefix()?;
                    }
                    Ok(group)
                })
                .map_err(|m| check(FIELD_GROUP, Err(m)))
                .ok(),
            // The kind is unknown: its own error says so; the group cannot be judged.
            None => None,
            Some(_) => {
                if !group_text.is_empty() {
                    check(
                        FIELD_GROUP,
                        Err("only consumers name a consumer group".into()),
                    );
                }
                None
            }
        };
        let purpose = bounded_text(&self.purpose, "the purpose", PURPOSE_MIN, PURPOSE_MAX)
            .map_err(|m| check(FIELD_PURPOSE, Err(m)))
            .ok();
        let expiry = match self.expiry.trim() {
            "" => None,
            text => match crate::time::parse_date(text).ok_or(()) {
                Ok(date) if date <= today => {
                    check(
                        FIELD_EXPIRY,
                        Err("the end date must be in the future".into()),
                    );
                    None
                }
                Ok(date) if (date - today).num_days() > MAX_EXPIRY_DAYS => {
                    check(
                        FIELD_EXPIRY,
                        Err(format!(
                            "access can be asked for at most {MAX_EXPIRY_DAYS} days ahead"
                        )),
                    );
                    None
                }
                Ok(date) => Some(date),
                Err(_) => {
                    check(FIELD_EXPIRY, Err("use a date like 2027-06-30".into()));
                    None
                }
            },
        };

        let promoted_from = match self.promoted_from.trim() {
            "" => None,
            text => RequestId::from_str(text)
                .map_err(|_| {
                    check(
                        FIELD_PROMOTED_FROM,
                        Err("this is not a request of the portal".into()),
                    )
                })
                .ok(),
        };

        match (kind, topic, application, purpose) {
            (Some(kind), Some(topic), Some(application), Some(purpose)) if errors.is_empty() => {
                Ok(AccessRequestDraft {
                    kind,
                    topic,
                    application,
                    environments,
                    group_is_prefix: consumer_group.is_some() && self.group_is_prefix.is_some(),
                    consumer_group,
                    purpose,
                    expiry,
                    promoted_from,
                    save_as_draft: self.save_as_draft.is_some(),
                })
            }
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn envs() -> Vec<EnvironmentName> {
        ["sandbox", "prod"]
            .map(|e| EnvironmentName::parse(e).expect("a valid environment name"))
            .into()
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 27).expect("date")
    }

    fn valid() -> AccessRequestInput {
        AccessRequestInput {
            kind: "consumer_access".into(),
            topic: "decision_letter_availability".into(),
            application: "6f1c2f0e-7a1b-4b8e-9a55-2f4a3f7f1a10".into(),
            environments: vec!["sandbox".into(), "sandbox".into()],
            consumer_group: "notify-service".into(),
            group_is_prefix: None,
            purpose: "Email people when their decision letter is ready.".into(),
            expiry: "2027-06-30".into(),
            promoted_from: String::new(),
            save_as_draft: None,
        }
    }

    fn field_errors(input: AccessRequestInput) -> Vec<String> {
        input
            .parse(&envs(), today())
            .expect_err("should be refused")
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn a_valid_consumer_request_parses() {
        let draft = valid().parse(&envs(), today()).expect("valid");
        assert_eq!(draft.kind, RequestKind::ConsumerAccess);
        assert_eq!(draft.environments, vec!["sandbox"]);
        assert_eq!(
            draft.consumer_group.map(String::from),
            Some("notify-service".into())
        );
        assert!(!draft.group_is_prefix);
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases: Vec<(AccessRequestInput, &str)> = vec![
            (
                AccessRequestInput {
                    kind: "admin_access".into(),
                    ..valid()
                },
                FIELD_KIND,
            ),
            (
                AccessRequestInput {
                    topic: "bad name!".into(),
                    ..valid()
                },
                FIELD_TOPIC,
            ),
            (
                AccessRequestInput {
                    topic: "x".repeat(250),
                    ..valid()
                },
                FIELD_TOPIC,
            ),
            (
                AccessRequestInput {
                    application: "not-a-uuid".into(),
                    ..valid()
                },
                FIELD_APPLICATION,
            ),
            (
                AccessRequestInput {
                    environments: vec![],
                    ..valid()
                },
                FIELD_ENVIRONMENTS,
            ),
            (
                AccessRequestInput {
                    environments: vec!["staging".into()],
                    ..valid()
                },
                FIELD_ENVIRONMENTS,
            ),
            (
                AccessRequestInput {
                    consumer_group: "".into(),
                    ..valid()
                },
                FIELD_GROUP,
            ),
            (
                AccessRequestInput {
                    consumer_group: "has space".into(),
                    ..valid()
                },
                FIELD_GROUP,
            ),
            (
                AccessRequestInput {
                    consumer_group: "ntfy-".into(),
                    group_is_prefix: Some("on".into()),
                    ..valid()
                },
                FIELD_GROUP,
            ),
            (
                AccessRequestInput {
                    purpose: "short".into(),
                    ..valid()
                },
                FIELD_PURPOSE,
            ),
            (
                AccessRequestInput {
                    purpose: "p".repeat(2001),
                    ..valid()
                },
                FIELD_PURPOSE,
            ),
            (
                AccessRequestInput {
                    expiry: "2026-11-27".into(),
                    ..valid()
                },
                FIELD_EXPIRY,
            ),
            (
                AccessRequestInput {
                    expiry: "2030-01-01".into(),
                    ..valid()
                },
                FIELD_EXPIRY,
            ),
            (
                AccessRequestInput {
                    expiry: "next year".into(),
                    ..valid()
                },
                FIELD_EXPIRY,
            ),
        ];
        for (input, field) in cases {
            assert_eq!(
                field_errors(input.clone()),
                vec![field.to_owned()],
                "{input:?}"
            );
        }
    }

    #[test]
    fn producers_name_no_group() {
        let producer = AccessRequestInput {
            kind: "producer_access".into(),
            ..valid()
        };
        assert_eq!(field_errors(producer.clone()), vec![FIELD_GROUP.to_owned()]);
        let draft = AccessRequestInput {
            consumer_group: String::new(),
            ..producer
        }
        .parse(&envs(), today())
        .expect("valid producer request");
        assert_eq!(draft.consumer_group, None);
    }

    #[test]
    fn all_errors_are_reported_together() {
        let input = AccessRequestInput::default();
        let fields = field_errors(input);
        for field in [
            FIELD_KIND,
            FIELD_TOPIC,
            FIELD_APPLICATION,
            FIELD_ENVIRONMENTS,
            FIELD_PURPOSE,
        ] {
            assert!(fields.contains(&field.to_owned()), "{field} in {fields:?}");
        }
    }
}

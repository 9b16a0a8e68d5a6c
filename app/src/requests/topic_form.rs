//! The new-topic proposal: the fit check and the topic's settings, parsed by the same rules in
//! the browser and on the server.

use crate::domain::{ApplicationId, EnvironmentName};
use crate::domain::{
    CleanupPolicy, DataClassification, FieldError, Lifecycle, NamingPolicy, Partitions,
    RetentionDays, TopicName, bounded_text,
};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// One question of the fit check, built from the bus's good-fit / not-a-fit table.
pub struct FitQuestion {
    pub key: &'static str,
    pub question: &'static str,
    /// The answer that points away from the event bus.
    pub not_fit_when: bool,
    /// Why, in the bus's words, when the answer points away.
    pub explanation: &'static str,
}

pub const FIT_QUESTIONS: [FitQuestion; 5] = [
    FitQuestion {
        key: "independent_consumers",
        question: "Do several systems, built and changed independently, need to react when this data changes?",
        not_fit_when: false,
        explanation: "Events pay off when many parts evolve separately; a single known reader is usually better served by a direct integration.",
    },
    FitQuestion {
        key: "replaces_polling",
        question: "Will the events replace polling, or batches that run on a schedule?",
        not_fit_when: false,
        explanation: "If the data is read on a schedule or rarely, and nothing is time-critical, a scheduled transfer is simpler.",
    },
    FitQuestion {
        key: "needs_answer",
        question: "Does the sender need an immediate answer from the receiver?",
        not_fit_when: true,
        explanation: "The bus is fire-and-forget: synchronous request and response belongs in an API call.",
    },
    FitQuestion {
        key: "prototype",
        question: "Is the producing system a prototype or a simple system with one part?",
        not_fit_when: true,
        explanation: "Simple or prototype systems rarely need the decoupling events bring, and pay for the operations they add.",
    },
    FitQuestion {
        key: "high_sensitivity",
        question: "Does the data include anything rated High under FISMA?",
        not_fit_when: true,
        explanation: crate::domain::HIGH_SENSITIVITY_REFUSAL,
    },
];

/// The proposal as typed. A missing field reads as empty, so its rule names it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TopicProposalInput {
    pub name: String,
    pub title: String,
    pub description: String,
    pub business_domain: String,
    pub classification: String,
    #[serde(default)]
    pub contains_pii: Option<String>,
    pub partitions: String,
    pub retention_days: String,
    pub cleanup_policy: String,
    #[serde(default)]
    pub source_systems: String,
    /// The application that will produce the events: producer access comes in the same bundle.
    pub application: String,
    #[serde(default)]
    pub environments: Vec<String>,
    /// Answers to the fit check, "yes" or "no", by question key.
    #[serde(default)]
    pub fit_independent_consumers: String,
    #[serde(default)]
    pub fit_replaces_polling: String,
    #[serde(default)]
    pub fit_needs_answer: String,
    #[serde(default)]
    pub fit_prototype: String,
    #[serde(default)]
    pub fit_high_sensitivity: String,
    /// Optional: the topic's first value schema (Avro), registered when the topic is approved.
    #[serde(default)]
    pub value_schema: String,
    /// Optional: the topic's first key schema (Avro), registered with the value schema.
    #[serde(default)]
    pub key_schema: String,
    /// The compatibility mode of the topic's subjects (Confluent spelling); BACKWARD when empty.
    #[serde(default)]
    pub compatibility: String,
}

impl crate::form_fields::ReadFields for TopicProposalInput {
    fn read(fields: &impl crate::form_fields::FormFields) -> Self {
        Self {
            name: fields.text("input[name]"),
            title: fields.text("input[title]"),
            description: fields.text("input[description]"),
            business_domain: fields.text("input[business_domain]"),
            classification: fields.text("input[classification]"),
            contains_pii: fields.sent("input[contains_pii]"),
            partitions: fields.text("input[partitions]"),
            retention_days: fields.text("input[retention_days]"),
            cleanup_policy: fields.text("input[cleanup_policy]"),
            source_systems: fields.text("input[source_systems]"),
            application: fields.text("input[application]"),
            environments: fields.all("input[environments][]"),
            fit_independent_consumers: fields.text("input[fit_independent_consumers]"),
            fit_replaces_polling: fields.text("input[fit_replaces_polling]"),
            fit_needs_answer: fields.text("input[fit_needs_answer]"),
            fit_prototype: fields.text("input[fit_prototype]"),
            fit_high_sensitivity: fields.text("input[fit_high_sensitivity]"),
            value_schema: fields.text("input[value_schema]"),
            key_schema: fields.text("input[key_schema]"),
            compatibility: fields.text("input[compatibility]"),
        }
    }
}

/// The proposed topic, as stored with the request and created on approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicProposal {
    pub name: TopicName,
    pub title: String,
    pub description: String,
    pub business_domain: String,
    pub lifecycle: Lifecycle,
    pub classification: DataClassification,
    pub contains_pii: bool,
    pub partitions: Partitions,
    pub retention_days: RetentionDays,
    pub cleanup_policy: CleanupPolicy,
    pub source_systems: Vec<String>,
    /// The first value schema (Avro), if the proposal brings one.
    #[serde(default)]
    pub value_schema: Option<String>,
    /// The first key schema (Avro), if the proposal brings one.
    #[serde(default)]
    pub key_schema: Option<String>,
    /// The mode both subjects start with.
    #[serde(default)]
    pub compatibility: crate::domain::Compatibility,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FitAnswer {
    pub key: String,
    pub question: String,
    pub answer: bool,
    /// Present when the answer points away from the bus.
    pub concern: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicProposalDraft {
    pub proposal: TopicProposal,
    pub application: ApplicationId,
    pub environments: Vec<EnvironmentName>,
    pub fit: Vec<FitAnswer>,
}

pub const FIELD_NAME: &str = "Topic name";
pub const FIELD_TITLE: &str = "Title";
pub const FIELD_DESCRIPTION: &str = "Description";
pub const FIELD_DOMAIN: &str = "Business domain";
pub const FIELD_CLASSIFICATION: &str = "Data classification";
pub const FIELD_PARTITIONS: &str = "Partitions";
pub const FIELD_RETENTION: &str = "Retention (days)";
pub const FIELD_CLEANUP: &str = "Cleanup policy";
pub const FIELD_SOURCES: &str = "Source systems";
pub const FIELD_FIT: &str = "Fit check";
pub const FIELD_TOPIC_COMPATIBILITY: &str = "Compatibility mode";

impl TopicProposalInput {
    fn fit_answer(&self, key: &str) -> &str {
        match key {
            "independent_consumers" => &self.fit_independent_consumers,
            "replaces_polling" => &self.fit_replaces_polling,
            "needs_answer" => &self.fit_needs_answer,
            "prototype" => &self.fit_prototype,
            _ => &self.fit_high_sensitivity,
        }
    }

    /// The fit check alone: every question answered, and the concerns the answers raise.
    pub fn fit(&self) -> Result<Vec<FitAnswer>, FieldError> {
        FIT_QUESTIONS
            .iter()
            .map(|q| {
                let answer = match self.fit_answer(q.key) {
                    "yes" => true,
                    "no" => false,
                    _ => {
                        return Err(FieldError::new(
                            FIELD_FIT,
                            format!("answer every question (missing: {:?})", q.question),
                        ));
                    }
                };
                Ok(FitAnswer {
                    key: q.key.to_owned(),
                    question: q.question.to_owned(),
                    answer,
                    concern: (answer == q.not_fit_when).then(|| q.explanation.to_owned()),
                })
            })
            .collect()
    }

    pub fn parse(
        &self,
        policy: &NamingPolicy,
        known_environments: &[EnvironmentName],
    ) -> Result<TopicProposalDraft, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut field = |name: &str, result: Result<(), String>| {
            if let Err(message) = result {
                errors.push(FieldError::new(name, message));
            }
        };
        let name = TopicName::parse(&self.name, policy)
            .map_err(|m| field(FIELD_NAME, Err(m)))
            .ok();
        let title = bounded_text(&self.title, "the title", 3, 120)
            .map_err(|m| field(FIELD_TITLE, Err(m)))
            .ok();
        let description = bounded_text(&self.description, "the description", 10, 4000)
            .map_err(|m| field(FIELD_DESCRIPTION, Err(m)))
            .ok();
        let business_domain = bounded_text(&self.business_domain, "the business domain", 2, 60)
            .map_err(|m| field(FIELD_DOMAIN, Err(m)))
            .ok();
        let classification = self
            .classification
            .parse::<DataClassification>()
            .map_err(|m| field(FIELD_CLASSIFICATION, Err(m)))
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
        let source_systems: Vec<String> = self
            .source_systems
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if source_systems.len() > 20 || source_systems.iter().any(|s| s.chars().count() > 80) {
            field(
                FIELD_SOURCES,
                Err("list at most 20 systems, each at most 80 characters".into()),
            );
        }
        let application = ApplicationId::from_str(self.application.trim())
            .map_err(|_| {
                field(
                    super::form::FIELD_APPLICATION,
                    Err("choose the application that will produce the events".into()),
                )
            })
            .ok();
        let environments = super::form::choose_environments(&self.environments, known_environments)
            .unwrap_or_else(|messages| {
                for message in messages {
                    field(super::form::FIELD_ENVIRONMENTS, Err(message));
                }
                Vec::new()
            });
        let compatibility = match self.compatibility.trim() {
            "" => crate::domain::Compatibility::default(),
            text => text.parse().unwrap_or_else(|m| {
                field(FIELD_TOPIC_COMPATIBILITY, Err(m));
                crate::domain::Compatibility::default()
            }),
        };
        let fit = self.fit().map_err(|e| errors.push(e)).ok();
        if let Some(answers) = &fit
            && answers
                .iter()
                .any(|a| a.key == "high_sensitivity" && a.answer)
        {
            errors.push(FieldError::new(
                FIELD_CLASSIFICATION,
                crate::domain::HIGH_SENSITIVITY_REFUSAL,
            ));
        }
        match (
            name,
            title,
            description,
            business_domain,
            classification,
            partitions,
            retention_days,
            cleanup_policy,
            application,
            fit,
        ) {
            (
                Some(name),
                Some(title),
                Some(description),
                Some(business_domain),
                Some(classification),
                Some(partitions),
                Some(retention_days),
                Some(cleanup_policy),
                Some(application),
                Some(fit),
            ) if errors.is_empty() => Ok(TopicProposalDraft {
                proposal: TopicProposal {
                    name,
                    title,
                    description,
                    business_domain: business_domain.to_lowercase(),
                    lifecycle: Lifecycle::Development,
                    classification,
                    contains_pii: self.contains_pii.is_some(),
                    partitions,
                    retention_days,
                    cleanup_policy,
                    source_systems,
                    value_schema: Some(self.value_schema.trim())
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned),
                    key_schema: Some(self.key_schema.trim())
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned),
                    compatibility,
                },
                application,
                environments,
                fit,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> TopicProposalInput {
        TopicProposalInput {
            name: "benefit_payment_issued".into(),
            title: "Benefit payment issued".into(),
            description: "Published when a benefit payment is sent to a bank.".into(),
            business_domain: "Benefits".into(),
            classification: "moderate".into(),
            contains_pii: Some("on".into()),
            partitions: "6".into(),
            retention_days: "7".into(),
            cleanup_policy: "delete".into(),
            source_systems: "Payment Hub, Ledger".into(),
            application: "6f1c2f0e-7a1b-4b8e-9a55-2f4a3f7f1a10".into(),
            environments: vec!["sandbox".into()],
            fit_independent_consumers: "yes".into(),
            fit_replaces_polling: "yes".into(),
            fit_needs_answer: "no".into(),
            fit_prototype: "no".into(),
            fit_high_sensitivity: "no".into(),
            value_schema: String::new(),
            key_schema: String::new(),
            compatibility: String::new(),
        }
    }

    use crate::requests::form::tests::envs;

    fn fields(input: TopicProposalInput) -> Vec<String> {
        input
            .parse(&NamingPolicy::default(), &envs())
            .expect_err("must be refused")
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn a_good_proposal_parses_with_no_concerns() {
        let draft = valid()
            .parse(&NamingPolicy::default(), &envs())
            .expect("valid");
        assert_eq!(draft.proposal.name.as_str(), "benefit_payment_issued");
        assert_eq!(draft.proposal.source_systems, vec!["Payment Hub", "Ledger"]);
        assert_eq!(draft.proposal.business_domain, "benefits");
        assert!(draft.proposal.contains_pii);
        assert!(draft.fit.iter().all(|a| a.concern.is_none()));
        assert_eq!(draft.proposal.key_schema, None);
        assert_eq!(
            draft.proposal.compatibility,
            crate::domain::Compatibility::Backward
        );
    }

    #[test]
    fn a_key_schema_and_a_mode_come_with_the_proposal() {
        let draft = TopicProposalInput {
            key_schema: " {\"type\": \"string\"} ".into(),
            compatibility: "full_transitive".into(),
            ..valid()
        }
        .parse(&NamingPolicy::default(), &envs())
        .expect("valid");
        assert_eq!(
            draft.proposal.key_schema.as_deref(),
            Some("{\"type\": \"string\"}")
        );
        assert_eq!(
            draft.proposal.compatibility,
            crate::domain::Compatibility::FullTransitive
        );
        let refused = fields(TopicProposalInput {
            compatibility: "SIDEWAYS".into(),
            ..valid()
        });
        assert_eq!(refused, vec![FIELD_TOPIC_COMPATIBILITY]);
    }

    #[test]
    fn answers_that_point_away_are_explained_and_kept() {
        let input = TopicProposalInput {
            fit_needs_answer: "yes".into(),
            fit_replaces_polling: "no".into(),
            ..valid()
        };
        let draft = input
            .parse(&NamingPolicy::default(), &envs())
            .expect("still allowed");
        let concerns: Vec<_> = draft
            .fit
            .iter()
            .filter_map(|a| a.concern.as_deref())
            .collect();
        assert_eq!(concerns.len(), 2);
        assert!(
            concerns
                .iter()
                .any(|c| c.contains("synchronous request and response"))
        );
    }

    #[test]
    fn high_sensitivity_is_refused_with_the_reason() {
        let by_rating = fields(TopicProposalInput {
            classification: "High".into(),
            ..valid()
        });
        assert_eq!(by_rating, vec![FIELD_CLASSIFICATION]);
        let by_answer = fields(TopicProposalInput {
            fit_high_sensitivity: "yes".into(),
            ..valid()
        });
        assert_eq!(by_answer, vec![FIELD_CLASSIFICATION]);
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases = [
            (
                TopicProposalInput {
                    name: "Benefit-Payment".into(),
                    ..valid()
                },
                FIELD_NAME,
            ),
            (
                TopicProposalInput {
                    title: "x".into(),
                    ..valid()
                },
                FIELD_TITLE,
            ),
            (
                TopicProposalInput {
                    description: "short".into(),
                    ..valid()
                },
                FIELD_DESCRIPTION,
            ),
            (
                TopicProposalInput {
                    partitions: "0".into(),
                    ..valid()
                },
                FIELD_PARTITIONS,
            ),
            (
                TopicProposalInput {
                    partitions: "many".into(),
                    ..valid()
                },
                FIELD_PARTITIONS,
            ),
            (
                TopicProposalInput {
                    retention_days: "400".into(),
                    ..valid()
                },
                FIELD_RETENTION,
            ),
            (
                TopicProposalInput {
                    cleanup_policy: "archive".into(),
                    ..valid()
                },
                FIELD_CLEANUP,
            ),
            (
                TopicProposalInput {
                    fit_prototype: "".into(),
                    ..valid()
                },
                FIELD_FIT,
            ),
            (
                TopicProposalInput {
                    environments: vec![],
                    ..valid()
                },
                super::super::form::FIELD_ENVIRONMENTS,
            ),
        ];
        for (input, field) in cases {
            assert_eq!(fields(input.clone()), vec![field.to_owned()], "{input:?}");
        }
    }
}

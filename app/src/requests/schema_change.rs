//! A new version of a topic's key or value schema, proposed by the topic's owning team, with the
//! compatibility check made while it is written. Parsed by the same rules in the browser and on
//! the server; the server then checks the schema against the subject's earlier versions.

use super::form::{FIELD_APPLICATION, FIELD_PURPOSE, FIELD_TOPIC, PURPOSE_MAX, PURPOSE_MIN};
use crate::domain::ApplicationId;
use crate::domain::{
    Compatibility, FieldError, SchemaFormat, SubjectPart, TopicName, bounded_text,
};
use crate::schemas::diff::DiffRow;
use serde::{Deserialize, Serialize};
use std::str::FromStr;

pub const FIELD_PART: &str = "Key or value";
pub const FIELD_FORMAT: &str = "Format";
pub const FIELD_COMPATIBILITY: &str = "Compatibility mode";
pub const FIELD_SCHEMA_TEXT: &str = "Schema";

/// The form as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SchemaChangeInput {
    pub topic: String,
    pub part: String,
    pub format: String,
    pub compatibility: String,
    pub schema: String,
    pub application: String,
    pub purpose: String,
}

/// What the check needs: the subject, the schema and the mode it should keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaProposal {
    pub topic: TopicName,
    pub part: SubjectPart,
    pub format: SchemaFormat,
    pub compatibility: Compatibility,
    pub schema: String,
}

/// A parsed request, not yet checked against the subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaChangeDraft {
    pub proposal: SchemaProposal,
    pub application: ApplicationId,
    pub purpose: String,
}

/// One way a proposed schema breaks the subject's promise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The earlier version it conflicts with.
    pub version: i32,
    /// The field or path, e.g. `amount` or `/properties/age`.
    pub path: String,
    /// What changed, e.g. "type changed from long to int".
    pub change: String,
    /// Who breaks and why.
    pub why: String,
}

/// A stored schema change: what was proposed and what the check found when it was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaChange {
    pub subject: String,
    pub part: SubjectPart,
    pub format: SchemaFormat,
    /// The schema as written, laid out for reading.
    pub schema: String,
    /// The version this one follows; none for the subject's first schema.
    pub follows_version: Option<i32>,
    pub mode_before: Compatibility,
    pub mode_after: Compatibility,
    /// The schema is the latest version already: only the mode changes.
    pub mode_only: bool,
    pub findings: Vec<Finding>,
}

impl SchemaChange {
    /// Why governance has to agree too, if it does.
    pub fn governance_because(&self) -> Option<String> {
        if self.mode_before.is_lowered_by(self.mode_after) {
            return Some(format!(
                "it lowers the subject's compatibility from {} to {}",
                self.mode_before, self.mode_after
            ));
        }
        let first = self.findings.first()?;
        Some(format!(
            "the new schema is not {} compatible with version {} ({} problem{} found)",
            self.checked_mode(),
            first.version,
            self.findings.len(),
            if self.findings.len() == 1 { "" } else { "s" }
        ))
    }

    /// The mode the schema was checked under: the promise made so far when the request lowers
    /// it (so governance sees what the lower mode lets through), otherwise the mode it will keep.
    pub fn checked_mode(&self) -> Compatibility {
        Self::checked_mode_for(self.mode_before, self.mode_after)
    }

    pub fn checked_mode_for(before: Compatibility, after: Compatibility) -> Compatibility {
        if before.is_lowered_by(after) {
            before
        } else {
            after
        }
    }

    /// What changes, in words.
    pub fn in_words(&self) -> String {
        let mut words = if self.mode_only {
            format!("compatibility of {}", self.subject)
        } else {
            match self.follows_version {
                Some(v) => format!("version {} of {}", v + 1, self.subject),
                None => format!(
                    "the first {} schema of {}",
                    self.format.label(),
                    self.subject
                ),
            }
        };
        if self.mode_after != self.mode_before {
            words.push_str(&format!(
                " ({} to {})",
                self.mode_before.as_str(),
                self.mode_after.as_str()
            ));
        }
        words
    }
}

/// A schema change as its request page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaChangeView {
    pub change: SchemaChange,
    /// The version it follows beside the proposal.
    pub diff: Vec<DiffRow>,
    /// Applications that consume the topic now (team / application): they are told on approval.
    pub consumers: Vec<String>,
}

/// What the check says about a schema while the request is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaCheck {
    pub subject: String,
    /// Why the schema cannot be read (line, column or field, in words), if it cannot.
    pub problem: Option<String>,
    pub mode_before: Compatibility,
    pub mode_after: Compatibility,
    pub checked_mode: Compatibility,
    pub latest_version: Option<i32>,
    pub findings: Vec<Finding>,
    /// Why governance must agree too, if it must.
    pub governance_because: Option<String>,
    /// The latest version beside the proposal, line by line.
    pub diff: Vec<DiffRow>,
    /// Applications that consume the topic (team / application).
    pub consumers: Vec<String>,
    /// Nothing would change: the same schema and the same mode.
    pub unchanged: bool,
}

impl SchemaChangeInput {
    /// The subject, format, mode and schema: what the live check needs.
    pub fn proposal(&self) -> Result<SchemaProposal, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut field = |name: &str, result: Result<(), String>| {
            if let Err(m) = result {
                errors.push(FieldError::new(name, m));
            }
        };
        let topic = TopicName::parse_kafka(self.topic.trim())
            .map_err(|m| field(FIELD_TOPIC, Err(m)))
            .ok();
        let part = self
            .part
            .parse::<SubjectPart>()
            .map_err(|m| field(FIELD_PART, Err(m)))
            .ok();
        let format = self
            .format
            .parse::<SchemaFormat>()
            .map_err(|m| field(FIELD_FORMAT, Err(m)))
            .ok();
        let compatibility = self
            .compatibility
            .parse::<Compatibility>()
            .map_err(|m| field(FIELD_COMPATIBILITY, Err(m)))
            .ok();
        let schema = self.schema.trim();
        if schema.is_empty() {
            field(FIELD_SCHEMA_TEXT, Err("write or paste the schema".into()));
        } else if schema.len() > crate::schemas::SCHEMA_MAX_BYTES {
            field(
                FIELD_SCHEMA_TEXT,
                Err(format!(
                    "the schema is larger than {} KiB",
                    crate::schemas::SCHEMA_MAX_BYTES / 1024
                )),
            );
        }
        match (topic, part, format, compatibility) {
            (Some(topic), Some(part), Some(format), Some(compatibility)) if errors.is_empty() => {
                Ok(SchemaProposal {
                    topic,
                    part,
                    format,
                    compatibility,
                    schema: schema.to_owned(),
                })
            }
            _ => Err(errors),
        }
    }

    /// Every field error at once.
    pub fn parse(&self) -> Result<SchemaChangeDraft, Vec<FieldError>> {
        let proposal = self.proposal();
        let mut errors = proposal.as_ref().err().cloned().unwrap_or_default();
        let application = ApplicationId::from_str(self.application.trim())
            .map_err(|_| {
                errors.push(FieldError::new(
                    FIELD_APPLICATION,
                    "choose one of your team's applications",
                ))
            })
            .ok();
        let purpose = bounded_text(&self.purpose, "the reason", PURPOSE_MIN, PURPOSE_MAX)
            .map_err(|m| errors.push(FieldError::new(FIELD_PURPOSE, m)))
            .ok();
        match (proposal, application, purpose) {
            (Ok(proposal), Some(application), Some(purpose)) if errors.is_empty() => {
                Ok(SchemaChangeDraft {
                    proposal,
                    application,
                    purpose: purpose.to_owned(),
                })
            }
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn input() -> SchemaChangeInput {
        SchemaChangeInput {
            topic: "payment_issued".into(),
            part: "value".into(),
            format: "avro".into(),
            compatibility: "BACKWARD".into(),
            schema: r#"{"type": "record", "name": "P", "fields": []}"#.into(),
            application: Uuid::nil().to_string(),
            purpose: "Payments now carry the currency.".into(),
        }
    }

    fn change(before: Compatibility, after: Compatibility, findings: usize) -> SchemaChange {
        SchemaChange {
            subject: "payment_issued-value".into(),
            part: SubjectPart::Value,
            format: SchemaFormat::Avro,
            schema: "{}".into(),
            follows_version: Some(2),
            mode_before: before,
            mode_after: after,
            mode_only: false,
            findings: (0..findings)
                .map(|_| Finding {
                    version: 2,
                    path: "amount".into(),
                    change: "type changed from long to int".into(),
                    why: "readers cannot narrow".into(),
                })
                .collect(),
        }
    }

    #[test]
    fn a_valid_request_parses() {
        let draft = input().parse().expect("valid");
        assert_eq!(draft.proposal.part, SubjectPart::Value);
        assert_eq!(draft.proposal.compatibility, Compatibility::Backward);
        assert_eq!(
            draft.proposal.part.subject(draft.proposal.topic.as_str()),
            "payment_issued-value"
        );
    }

    #[test]
    fn every_bad_field_is_named() {
        let bad = SchemaChangeInput {
            topic: "no spaces".into(),
            part: "header".into(),
            format: "protobuf".into(),
            compatibility: "SOMETIMES".into(),
            schema: "  ".into(),
            application: "x".into(),
            purpose: "".into(),
        };
        let errors = bad.parse().expect_err("invalid");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        for name in [
            FIELD_TOPIC,
            FIELD_PART,
            FIELD_FORMAT,
            FIELD_COMPATIBILITY,
            FIELD_SCHEMA_TEXT,
            FIELD_APPLICATION,
            FIELD_PURPOSE,
        ] {
            assert!(fields.contains(&name), "{name} missing from {fields:?}");
        }
    }

    #[test]
    fn the_live_check_needs_no_purpose_or_application() {
        let typing = SchemaChangeInput {
            application: String::new(),
            purpose: String::new(),
            ..input()
        };
        assert!(typing.proposal().is_ok());
        assert!(typing.parse().is_err());
    }

    #[test]
    fn governance_joins_when_the_promise_breaks_or_is_lowered() {
        use Compatibility::*;
        assert_eq!(
            change(Backward, Backward, 0).governance_because(),
            Option::None
        );
        assert_eq!(change(Backward, Full, 0).governance_because(), Option::None);
        let broken = change(Backward, Backward, 2)
            .governance_because()
            .expect("breaks");
        assert!(
            broken.contains("not BACKWARD compatible with version 2"),
            "{broken}"
        );
        let lowered = change(Full, Backward, 0)
            .governance_because()
            .expect("lowered");
        assert!(lowered.contains("from FULL to BACKWARD"), "{lowered}");
        assert_eq!(change(Full, None, 0).checked_mode(), Full);
        assert_eq!(change(Backward, Full, 0).checked_mode(), Full);
    }
}

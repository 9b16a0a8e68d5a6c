//! What a schema subject is: which half of a record it describes. Its format and the
//! compatibility mode its versions must keep come from the `compat` crate.

pub use compat::{Compatibility, SchemaFormat};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// Which half of a Kafka record a subject describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SubjectPart {
    Key,
    #[default]
    Value,
}

impl SubjectPart {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Key => "key",
            Self::Value => "value",
        }
    }

    /// The subject name under the topic-name strategy: `<topic>-key` or `<topic>-value`.
    pub fn subject(self, topic: &str) -> String {
        format!("{topic}-{}", self.as_str())
    }
}

impl FromStr for SubjectPart {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "key" => Ok(Self::Key),
            "value" => Ok(Self::Value),
            _ => Err("choose the key or the value schema".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_follow_the_topic_name_strategy() {
        assert_eq!(SubjectPart::Key.subject("orders"), "orders-key");
        assert_eq!(SubjectPart::Value.subject("orders"), "orders-value");
    }
}

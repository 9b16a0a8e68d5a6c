//! The two words every schema carries: the language it is written in and the compatibility
//! mode its subject keeps.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How a subject's versions must relate to each other (Confluent's modes and spelling).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Compatibility {
    #[default]
    Backward,
    BackwardTransitive,
    Forward,
    ForwardTransitive,
    Full,
    FullTransitive,
    None,
}

impl Compatibility {
    pub const ALL: [Compatibility; 7] = [
        Self::Backward,
        Self::BackwardTransitive,
        Self::Forward,
        Self::ForwardTransitive,
        Self::Full,
        Self::FullTransitive,
        Self::None,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Backward => "BACKWARD",
            Self::BackwardTransitive => "BACKWARD_TRANSITIVE",
            Self::Forward => "FORWARD",
            Self::ForwardTransitive => "FORWARD_TRANSITIVE",
            Self::Full => "FULL",
            Self::FullTransitive => "FULL_TRANSITIVE",
            Self::None => "NONE",
        }
    }

    /// What the mode promises, in words.
    pub fn description(self) -> &'static str {
        match self {
            Self::Backward => {
                "consumers on the new schema can read events written with the previous version"
            }
            Self::BackwardTransitive => {
                "consumers on the new schema can read events written with every earlier version"
            }
            Self::Forward => {
                "consumers still on the previous version can read events written with the new schema"
            }
            Self::ForwardTransitive => {
                "consumers on any earlier version can read events written with the new schema"
            }
            Self::Full => "backward and forward compatible with the previous version",
            Self::FullTransitive => "backward and forward compatible with every earlier version",
            Self::None => "no check: any schema may follow any other",
        }
    }

    /// Who breaks when a change does not keep the mode's promise, in words.
    pub fn broken(self) -> &'static str {
        match self {
            Self::Backward => {
                "consumers on the new schema could not read every event written with the previous version"
            }
            Self::BackwardTransitive => {
                "consumers on the new schema could not read every event written with the earlier versions"
            }
            Self::Forward => {
                "consumers still on the previous version could not read every event written with the new schema"
            }
            Self::ForwardTransitive => {
                "consumers on some earlier version could not read every event written with the new schema"
            }
            Self::Full => {
                "consumers on the new schema and on the previous version could not read each other's events"
            }
            Self::FullTransitive => {
                "consumers on the new schema and on some earlier version could not read each other's events"
            }
            Self::None => "nothing is checked, so nothing breaks the mode",
        }
    }

    /// New readers must read old data.
    pub fn checks_backward(self) -> bool {
        matches!(
            self,
            Self::Backward | Self::BackwardTransitive | Self::Full | Self::FullTransitive
        )
    }

    /// Old readers must read new data.
    pub fn checks_forward(self) -> bool {
        matches!(
            self,
            Self::Forward | Self::ForwardTransitive | Self::Full | Self::FullTransitive
        )
    }

    /// Checked against every earlier version rather than only the latest.
    pub fn is_transitive(self) -> bool {
        matches!(
            self,
            Self::BackwardTransitive | Self::ForwardTransitive | Self::FullTransitive
        )
    }

    /// Whether moving from `self` to `to` drops a promise consumers or producers rely on: a
    /// direction no longer checked, or transitive checks no longer made. BACKWARD to FORWARD
    /// drops the backward promise, so it counts as lowered too.
    pub fn is_lowered_by(self, to: Compatibility) -> bool {
        (self.checks_backward() && !to.checks_backward())
            || (self.checks_forward() && !to.checks_forward())
            || (self.is_transitive() && !to.is_transitive())
    }
}

impl fmt::Display for Compatibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Compatibility {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!(
                    "choose a compatibility mode: {}",
                    Self::ALL.map(Self::as_str).join(", ")
                )
            })
    }
}

/// The language a schema is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(
    feature = "sqlx",
    derive(sqlx::Type),
    sqlx(type_name = "schema_format", rename_all = "snake_case")
)]
pub enum SchemaFormat {
    #[default]
    Avro,
    Json,
}

impl SchemaFormat {
    pub const ALL: [SchemaFormat; 2] = [Self::Avro, Self::Json];

    /// As stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Avro => "avro",
            Self::Json => "json",
        }
    }

    /// The registry API's `schemaType`.
    pub fn schema_type(self) -> &'static str {
        match self {
            Self::Avro => "AVRO",
            Self::Json => "JSON",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Avro => "Avro",
            Self::Json => "JSON Schema",
        }
    }

    /// From the registry API's `schemaType` (absent means Avro).
    pub fn from_schema_type(s: Option<&str>) -> Option<Self> {
        match s {
            None | Some("AVRO") => Some(Self::Avro),
            Some("JSON") => Some(Self::Json),
            Some(_) => None,
        }
    }
}

impl FromStr for SchemaFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "avro" => Ok(Self::Avro),
            "json" | "json schema" | "json_schema" => Ok(Self::Json),
            _ => Err("choose Avro or JSON Schema".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_round_trip_in_confluent_spelling() {
        for mode in Compatibility::ALL {
            assert_eq!(mode.as_str().parse::<Compatibility>(), Ok(mode));
        }
        assert_eq!(
            "full_transitive".parse::<Compatibility>(),
            Ok(Compatibility::FullTransitive)
        );
        assert!("SIDEWAYS".parse::<Compatibility>().is_err());
    }

    #[test]
    fn a_broken_mode_says_who_cannot_read_what() {
        for mode in Compatibility::ALL {
            if mode == Compatibility::None {
                continue;
            }
            assert!(mode.broken().contains("could not read"), "{mode:?}");
            assert!(!mode.broken().contains(" can read"), "{mode:?}");
        }
    }

    #[test]
    fn lowering_a_mode_drops_a_promise() {
        use Compatibility::*;
        assert!(Backward.is_lowered_by(None));
        assert!(Full.is_lowered_by(Backward));
        assert!(BackwardTransitive.is_lowered_by(Backward));
        assert!(Backward.is_lowered_by(Forward));
        assert!(!Backward.is_lowered_by(Full));
        assert!(!Backward.is_lowered_by(BackwardTransitive));
        assert!(!None.is_lowered_by(Backward));
        assert!(!Full.is_lowered_by(FullTransitive));
        for mode in Compatibility::ALL {
            assert!(!mode.is_lowered_by(mode));
        }
    }

    #[test]
    fn formats_follow_the_registry_spelling() {
        assert_eq!(
            SchemaFormat::from_schema_type(Some("JSON")),
            Some(SchemaFormat::Json)
        );
        assert_eq!(
            SchemaFormat::from_schema_type(None),
            Some(SchemaFormat::Avro)
        );
        assert_eq!(SchemaFormat::from_schema_type(Some("PROTOBUF")), None);
    }
}

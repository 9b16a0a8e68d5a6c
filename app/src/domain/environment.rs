//! The name of a Kafka environment (one cluster), such as `sandbox` or `prod`.
//!
//! Names come from configuration and appear in URLs, in Kafka principals
//! (`<team>.<application>.<environment>`), in the context that seals an application's password,
//! and in every table that records something per cluster. They are parsed once: from
//! configuration at start, from a form or URL at the edge. Columns are read back
//! as `"environment: EnvironmentName"` in checked queries and bound as `name as &EnvironmentName`;
//! what Postgres returns was written from a parsed name, so decoding trusts it.

use serde::{Deserialize, Serialize};
use std::borrow::Borrow;
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[cfg_attr(feature = "ssr", derive(sqlx::Type), sqlx(transparent))]
pub struct EnvironmentName(String);

impl EnvironmentName {
    pub const MAX_LEN: usize = 32;

    pub fn parse(raw: impl Into<String>) -> Result<Self, String> {
        let raw = raw.into();
        if raw.is_empty() || raw.len() > Self::MAX_LEN {
            return Err(format!(
                "An environment name is 1 to {} characters long",
                Self::MAX_LEN
            ));
        }
        if !raw.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Err("An environment name starts with a lowercase letter".into());
        }
        let valid = raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid {
            return Err(
                "An environment name uses only lowercase letters, digits and dashes".into(),
            );
        }
        Ok(Self(raw))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EnvironmentName {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl TryFrom<&str> for EnvironmentName {
    type Error = String;
    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl FromStr for EnvironmentName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl From<EnvironmentName> for String {
    fn from(value: EnvironmentName) -> Self {
        value.0
    }
}

impl AsRef<str> for EnvironmentName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Lets maps keyed by environment be looked up with a plain `&str`.
impl Borrow<str> for EnvironmentName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for EnvironmentName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for EnvironmentName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// Renders in a view as its text.
impl leptos::tachys::view::IntoRender for EnvironmentName {
    type Output = String;
    fn into_render(self) -> String {
        self.0
    }
}

/// Usable as an attribute value (a form field's value, a link).
impl leptos::tachys::html::attribute::IntoAttributeValue for EnvironmentName {
    type Output = String;
    fn into_attribute_value(self) -> String {
        self.0
    }
}

impl fmt::Display for EnvironmentName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::EnvironmentName;

    #[test]
    fn accepts_configured_style_names() {
        for name in ["sandbox", "prod", "eu-west-1", "a", &"x".repeat(32)] {
            assert_eq!(
                EnvironmentName::parse(name)
                    .expect("a valid environment name")
                    .as_str(),
                name
            );
        }
    }

    #[test]
    fn refuses_what_could_not_be_a_url_segment_or_principal_part() {
        for name in [
            "",
            "Prod",
            "1prod",
            "-prod",
            "prod env",
            "prod/x",
            "prod.x",
            "ü",
            &"x".repeat(33),
        ] {
            assert!(
                EnvironmentName::parse(name).is_err(),
                "{name:?} was accepted"
            );
        }
    }

    #[test]
    fn errors_start_with_a_capital_letter() {
        let Err(message) = EnvironmentName::parse("Prod") else {
            panic!("an upper-case name was accepted");
        };
        assert!(message.starts_with('A'), "{message}");
    }

    #[test]
    fn serde_checks_the_name() {
        let name: EnvironmentName = serde_json::from_str("\"staging\"").expect("a valid name");
        assert_eq!(name, "staging");
        assert!(serde_json::from_str::<EnvironmentName>("\"Staging\"").is_err());
        assert_eq!(
            serde_json::to_string(&name).expect("serialises"),
            "\"staging\""
        );
    }

    #[test]
    fn maps_keyed_by_name_are_found_by_str() {
        let mut map = std::collections::BTreeMap::new();
        map.insert(
            EnvironmentName::parse("prod").expect("a valid environment name"),
            1,
        );
        assert_eq!(map.get("prod"), Some(&1));
    }
}

//! Topic names and settings, with Kafka's rules and the bus's own policy.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A Kafka topic name that also follows the bus's naming policy (snake_case by default).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TopicName(String);

impl TopicName {
    pub const MAX_LEN: usize = 249;

    /// Kafka's own rules: 1-249 characters of `[a-zA-Z0-9._-]`, not `.` or `..`.
    pub fn parse_kafka(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("a topic name is required".into());
        }
        if raw.len() > Self::MAX_LEN {
            return Err(format!(
                "a topic name is at most {} characters",
                Self::MAX_LEN
            ));
        }
        if raw == "." || raw == ".." {
            return Err("a topic name cannot be \".\" or \"..\"".into());
        }
        if let Some(bad) = raw
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        {
            return Err(format!(
                "a topic name may only use letters, digits, '.', '_' and '-' (found {bad:?})"
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// Kafka's rules plus the naming policy.
    pub fn parse(raw: &str, policy: &NamingPolicy) -> Result<Self, String> {
        let name = Self::parse_kafka(raw)?;
        policy.check(&name.0)?;
        Ok(name)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TopicName {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse_kafka(&value)
    }
}

impl From<TopicName> for String {
    fn from(value: TopicName) -> Self {
        value.0
    }
}

impl fmt::Display for TopicName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The bus's naming policy on top of Kafka's rules. Part of configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamingPolicy {
    /// Require lowercase snake_case: `[a-z][a-z0-9_]*`, no double or trailing underscore.
    pub snake_case: bool,
    pub min_len: usize,
    pub max_len: usize,
    /// Prefixes reserved for Kafka and its tools.
    pub reserved_prefixes: Vec<String>,
}

impl Default for NamingPolicy {
    fn default() -> Self {
        Self {
            snake_case: true,
            min_len: 3,
            max_len: 120,
            reserved_prefixes: vec!["_".into(), "__".into(), "connect".into(), "ksql".into()],
        }
    }
}

impl NamingPolicy {
    /// The rule in words, as a form's hint gives it: the same rule `check` applies.
    pub fn describe(&self) -> String {
        let mut rule = if self.snake_case {
            "Lowercase snake_case, like decision_letter_availability: ".to_owned()
        } else {
            "Letters, digits, '.', '_' and '-': ".to_owned()
        };
        rule.push_str(&format!("{} to {} characters", self.min_len, self.max_len));
        if !self.reserved_prefixes.is_empty() {
            let mut prefixes: Vec<String> = self
                .reserved_prefixes
                .iter()
                .map(|p| format!("{p:?}"))
                .collect();
            let last = prefixes.pop().unwrap_or_default();
            rule.push_str(", not starting with ");
            if !prefixes.is_empty() {
                rule.push_str(&prefixes.join(", "));
                rule.push_str(" or ");
            }
            rule.push_str(&last);
        }
        rule.push('.');
        rule
    }

    pub fn check(&self, name: &str) -> Result<(), String> {
        if name.len() < self.min_len || name.len() > self.max_len {
            return Err(format!(
                "topic names here are {} to {} characters long",
                self.min_len, self.max_len
            ));
        }
        if let Some(prefix) = self
            .reserved_prefixes
            .iter()
            .find(|p| name.starts_with(p.as_str()))
        {
            return Err(format!(
                "topic names cannot start with {prefix:?}, which is reserved"
            ));
        }
        if self.snake_case {
            let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                && !name.contains("__")
                && !name.ends_with('_');
            if !valid {
                return Err(
                    "topic names are lowercase snake_case, like decision_letter_availability"
                        .into(),
                );
            }
        }
        Ok(())
    }
}

/// How sensitive a topic's data is (FISMA). High is refused: it is not a fit for the bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(
    feature = "ssr",
    derive(sqlx::Type),
    sqlx(type_name = "data_classification", rename_all = "snake_case")
)]
pub enum DataClassification {
    Low,
    Moderate,
}

pub const HIGH_SENSITIVITY_REFUSAL: &str = "High-sensitivity (FISMA High) data is not a fit for the event bus: only Low and Moderate data may be shared on it";

impl FromStr for DataClassification {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "low" => Ok(Self::Low),
            "moderate" => Ok(Self::Moderate),
            "high" => Err(HIGH_SENSITIVITY_REFUSAL.into()),
            other => Err(format!(
                "unknown data classification {other:?}: choose Low or Moderate"
            )),
        }
    }
}

impl DataClassification {
    pub fn label(self) -> &'static str {
        match self {
            Self::Low => "Low",
            Self::Moderate => "Moderate",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(
    feature = "ssr",
    derive(sqlx::Type),
    sqlx(type_name = "lifecycle", rename_all = "snake_case")
)]
pub enum Lifecycle {
    Experimental,
    Development,
    Production,
    Deprecated,
}

impl Lifecycle {
    pub const ALL: [Lifecycle; 4] = [
        Lifecycle::Experimental,
        Lifecycle::Development,
        Lifecycle::Production,
        Lifecycle::Deprecated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Experimental => "experimental",
            Self::Development => "development",
            Self::Production => "production",
            Self::Deprecated => "deprecated",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Experimental => "Experimental",
            Self::Development => "Development",
            Self::Production => "Production",
            Self::Deprecated => "Deprecated",
        }
    }
}

impl FromStr for Lifecycle {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|l| l.as_str() == s.trim())
            .ok_or_else(|| format!("unknown lifecycle {s:?}"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(
    feature = "ssr",
    derive(sqlx::Type),
    sqlx(type_name = "cleanup_policy", rename_all = "snake_case")
)]
pub enum CleanupPolicy {
    Delete,
    Compact,
    CompactDelete,
}

impl CleanupPolicy {
    /// The catalog's (and the database's) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delete => "delete",
            Self::Compact => "compact",
            Self::CompactDelete => "compact_delete",
        }
    }

    /// The value of Kafka's `cleanup.policy`.
    pub fn kafka_value(self) -> &'static str {
        match self {
            Self::Delete => "delete",
            Self::Compact => "compact",
            Self::CompactDelete => "compact,delete",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Delete => "delete old events",
            Self::Compact => "keep the latest event per key",
            Self::CompactDelete => "keep the latest per key, and delete old ones",
        }
    }
}

impl FromStr for CleanupPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "delete" => Ok(Self::Delete),
            "compact" => Ok(Self::Compact),
            "compact_delete" | "compact,delete" => Ok(Self::CompactDelete),
            other => Err(format!(
                "unknown cleanup policy {other:?}: choose delete, compact or compact_delete"
            )),
        }
    }
}

/// Partition count for a new topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "i32", into = "i32")]
pub struct Partitions(i32);

impl Partitions {
    pub const MAX: i32 = 1000;
    pub fn new(n: i32) -> Result<Self, String> {
        if (1..=Self::MAX).contains(&n) {
            Ok(Self(n))
        } else {
            Err(format!("partitions must be between 1 and {}", Self::MAX))
        }
    }
    pub fn get(self) -> i32 {
        self.0
    }

    /// As typed in a form.
    pub fn parse_text(raw: &str) -> Result<Self, String> {
        raw.trim()
            .parse::<i32>()
            .map_err(|_| "partitions is a whole number".to_owned())
            .and_then(Self::new)
    }
}

impl TryFrom<i32> for Partitions {
    type Error = String;
    fn try_from(value: i32) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}
impl From<Partitions> for i32 {
    fn from(value: Partitions) -> Self {
        value.0
    }
}

/// Retention in whole days (the bus's default is 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct RetentionDays(i64);

impl RetentionDays {
    pub const MAX: i64 = 365;
    pub fn new(days: i64) -> Result<Self, String> {
        if (1..=Self::MAX).contains(&days) {
            Ok(Self(days))
        } else {
            Err(format!(
                "retention must be between 1 and {} days",
                Self::MAX
            ))
        }
    }
    pub fn days(self) -> i64 {
        self.0
    }
    pub fn as_millis(self) -> i64 {
        self.0 * 24 * 3600 * 1000
    }

    /// As typed in a form.
    pub fn parse_text(raw: &str) -> Result<Self, String> {
        raw.trim()
            .parse::<i64>()
            .map_err(|_| "retention is a whole number of days".to_owned())
            .and_then(Self::new)
    }
}

impl TryFrom<i64> for RetentionDays {
    type Error = String;
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}
impl From<RetentionDays> for i64 {
    fn from(value: RetentionDays) -> Self {
        value.0
    }
}

/// A consumer group id, or a prefix of one (Kafka allows 1-255 characters).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ConsumerGroup(String);

/// The shortest consumer group prefix: a shorter one would cover groups other teams name.
pub const GROUP_PREFIX_MIN: usize = 6;

impl ConsumerGroup {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("a consumer group is required".into());
        }
        if raw.len() > 255 {
            return Err("a consumer group is at most 255 characters".into());
        }
        if let Some(bad) = raw
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        {
            return Err(format!(
                "a consumer group may only use letters, digits, '.', '_' and '-' (found {bad:?})"
            ));
        }
        Ok(Self(raw.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Checks a group asked for as a prefix.
    pub fn check_prefix(&self) -> Result<(), String> {
        if self.0.len() < GROUP_PREFIX_MIN {
            return Err(format!(
                "a group prefix needs at least {GROUP_PREFIX_MIN} characters, so it cannot cover other teams' groups"
            ));
        }
        Ok(())
    }

    /// Whether this group (a prefix when `prefix`) and `other` (a prefix when `other_prefix`)
    /// can name the same consumer group.
    pub fn overlaps(&self, prefix: bool, other: &str, other_prefix: bool) -> bool {
        let mine = self.0.as_str();
        mine == other
            || (prefix && other.starts_with(mine))
            || (other_prefix && mine.starts_with(other))
    }
}

impl TryFrom<String> for ConsumerGroup {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}
impl From<ConsumerGroup> for String {
    fn from(value: ConsumerGroup) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_naming_hint_states_the_rule_the_check_applies() {
        let policy = super::NamingPolicy::default();
        assert_eq!(
            policy.describe(),
            "Lowercase snake_case, like decision_letter_availability: 3 to 120 characters, not starting with \"_\", \"__\", \"connect\" or \"ksql\"."
        );
        assert!(policy.check("connect_events").is_err());
        assert!(policy.check("ab").is_err());
    }

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cleanup_policies_map_to_kafka() {
        assert_eq!(CleanupPolicy::CompactDelete.kafka_value(), "compact,delete");
        assert_eq!(CleanupPolicy::Compact.kafka_value(), "compact");
        assert_eq!(CleanupPolicy::Delete.kafka_value(), "delete");
    }

    #[test]
    fn kafka_rules() {
        assert!(TopicName::parse_kafka("decision_letter_availability").is_ok());
        assert!(TopicName::parse_kafka("Orders.v1-x").is_ok());
        assert!(TopicName::parse_kafka(".").is_err());
        assert!(TopicName::parse_kafka("..").is_err());
        assert!(TopicName::parse_kafka("").is_err());
        assert!(TopicName::parse_kafka("has space").is_err());
        assert!(TopicName::parse_kafka(&"a".repeat(250)).is_err());
        assert!(TopicName::parse_kafka(&"a".repeat(249)).is_ok());
    }

    #[test]
    fn naming_policy() {
        let policy = NamingPolicy::default();
        assert!(TopicName::parse("submission_trace_form_status_change", &policy).is_ok());
        for bad in [
            "Orders",
            "orders.v1",
            "orders-v1",
            "__consumer_offsets",
            "orders__x",
            "orders_",
            "1orders",
            "ab",
        ] {
            assert!(TopicName::parse(bad, &policy).is_err(), "{bad}");
        }
        let relaxed = NamingPolicy {
            snake_case: false,
            ..NamingPolicy::default()
        };
        assert!(TopicName::parse("Orders.v1", &relaxed).is_ok());
    }

    #[test]
    fn high_sensitivity_is_refused_with_the_reason() {
        assert_eq!("Moderate".parse(), Ok(DataClassification::Moderate));
        let err = "high"
            .parse::<DataClassification>()
            .expect_err("must be refused");
        assert!(err.contains("not a fit for the event bus"));
        assert!("secret".parse::<DataClassification>().is_err());
    }

    #[test]
    fn settings_ranges() {
        assert!(Partitions::new(0).is_err());
        assert!(Partitions::new(1001).is_err());
        assert_eq!(
            RetentionDays::new(7).map(RetentionDays::as_millis),
            Ok(604_800_000)
        );
        assert!(RetentionDays::new(0).is_err());
        assert!(ConsumerGroup::parse("notify-service.v2").is_ok());
        assert!(ConsumerGroup::parse("a b").is_err());
    }

    #[test]
    fn group_prefixes_are_long_enough_and_overlaps_are_found() {
        let group = |text: &str| ConsumerGroup::parse(text).expect("group");
        assert!(group("bill-").check_prefix().is_err());
        assert!(group("billing-").check_prefix().is_ok());
        assert!(group("billing").overlaps(false, "billing", false));
        assert!(!group("billing").overlaps(false, "billing-eu", false));
        assert!(group("billing-").overlaps(true, "billing-eu", false));
        assert!(group("billing-eu").overlaps(false, "billing-", true));
        assert!(group("billing-eu-").overlaps(true, "billing-", true));
        assert!(group("billing-").overlaps(true, "billing-eu-", true));
        assert!(!group("billing-").overlaps(true, "payments-", true));
        assert!(!group("billing-eu").overlaps(false, "billing-us", false));
    }

    proptest! {
        #[test]
        fn snake_case_names_pass_both_rule_sets(name in "[a-z][a-z0-9]{2,10}(_[a-z0-9]{1,10}){0,5}") {
            prop_assert!(TopicName::parse(&name, &NamingPolicy::default()).is_ok());
        }

        #[test]
        fn any_accepted_name_uses_only_legal_characters(raw in "\\PC{0,300}") {
            if let Ok(name) = TopicName::parse_kafka(&raw) {
                prop_assert!(name.as_str().len() <= 249);
                prop_assert!(name.as_str().chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')));
            }
        }
    }
}

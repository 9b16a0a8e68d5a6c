//! Applying approved requests to Kafka: the steps, their states, and application principals.

use super::EnvironmentName;
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// One kind of change made on a cluster. Every kind is idempotent: running it twice leaves the
/// cluster as running it once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(
    feature = "ssr",
    derive(sqlx::Type),
    sqlx(type_name = "apply_step_kind", rename_all = "snake_case")
)]
pub enum StepKind {
    CreateTopic,
    SetTopicConfigs,
    CreateCredentials,
    RotateCredentials,
    CreateAcls,
    DeleteAcls,
    /// The application has no live grant left in the environment: its credential goes too.
    DeleteCredentials,
}

impl StepKind {
    pub const ALL: [StepKind; 7] = [
        StepKind::CreateTopic,
        StepKind::SetTopicConfigs,
        StepKind::CreateCredentials,
        StepKind::RotateCredentials,
        StepKind::CreateAcls,
        StepKind::DeleteAcls,
        StepKind::DeleteCredentials,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreateTopic => "create_topic",
            Self::SetTopicConfigs => "set_topic_configs",
            Self::CreateCredentials => "create_credentials",
            Self::RotateCredentials => "rotate_credentials",
            Self::CreateAcls => "create_acls",
            Self::DeleteAcls => "delete_acls",
            Self::DeleteCredentials => "delete_credentials",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::CreateTopic => "Create the topic",
            Self::SetTopicConfigs => "Set the topic's configuration",
            Self::CreateCredentials => "Create the application's credentials",
            Self::RotateCredentials => "Rotate the application's password",
            Self::CreateAcls => "Grant access (ACLs)",
            Self::DeleteAcls => "Remove access (ACLs)",
            Self::DeleteCredentials => "Remove the application's credentials",
        }
    }
}

impl FromStr for StepKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown step kind {s:?}"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(
    feature = "ssr",
    derive(sqlx::Type),
    sqlx(type_name = "apply_step_status", rename_all = "snake_case")
)]
pub enum StepStatus {
    Pending,
    /// The cluster could not be reached; tried again with backoff, for as long as it takes.
    WaitingForCluster,
    Done,
    /// Refused for a reason retrying will not fix (after a few tries).
    Failed,
    /// The request was revoked before the step ran.
    Cancelled,
}

impl StepStatus {
    pub const ALL: [StepStatus; 5] = [
        StepStatus::Pending,
        StepStatus::WaitingForCluster,
        StepStatus::Done,
        StepStatus::Failed,
        StepStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::WaitingForCluster => "waiting_for_cluster",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::WaitingForCluster => "Waiting for cluster",
            Self::Done => "Done",
            Self::Failed => "Failed",
            Self::Cancelled => "Cancelled",
        }
    }

    /// Nothing more will happen to the step by itself.
    pub fn is_settled(self) -> bool {
        matches!(self, Self::Done | Self::Failed | Self::Cancelled)
    }
}

impl FromStr for StepStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown step status {s:?}"))
    }
}

/// What a grant lets an application do with a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(
    feature = "ssr",
    derive(sqlx::Type),
    sqlx(type_name = "grant_role", rename_all = "snake_case")
)]
pub enum GrantRole {
    Producer,
    Consumer,
}

impl GrantRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Producer => "producer",
            Self::Consumer => "consumer",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Producer => "Producer",
            Self::Consumer => "Consumer",
        }
    }
}

/// The Kafka principal (SCRAM user name) of an application in one environment:
/// `<team>.<application>.<environment>`, lower case, anything but letters and digits folded to
/// single dashes. Each environment is its own cluster with its own credential; naming the
/// environment means a password can never be mistaken for another environment's.
pub fn principal_name(team: &str, application: &str, environment: &EnvironmentName) -> String {
    let slug = |text: &str| {
        let mut out = String::new();
        for c in text.chars().flat_map(char::to_lowercase) {
            if c.is_ascii_alphanumeric() {
                out.push(c);
            } else if !out.is_empty() && !out.ends_with('-') {
                out.push('-');
            }
        }
        out.trim_end_matches('-').to_owned()
    };
    format!("{}.{}.{}", slug(team), slug(application), environment)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> EnvironmentName {
        EnvironmentName::parse(name).expect("a valid environment name")
    }

    #[test]
    fn principal_names_are_folded_and_stable() {
        assert_eq!(
            principal_name("benefits-notifications", "Notify Service", &env("sandbox")),
            "benefits-notifications.notify-service.sandbox"
        );
        assert_eq!(
            principal_name("claims", "  Claim Status: Tool (v2)! ", &env("prod")),
            "claims.claim-status-tool-v2.prod"
        );
        assert_eq!(
            principal_name("t", "Ünïcode App", &env("prod")),
            "t.n-code-app.prod"
        );
    }

    #[test]
    fn names_round_trip() {
        for kind in StepKind::ALL {
            assert_eq!(kind.as_str().parse(), Ok(kind));
        }
        for status in StepStatus::ALL {
            assert_eq!(status.as_str().parse(), Ok(status));
        }
        assert!(StepStatus::Done.is_settled() && !StepStatus::WaitingForCluster.is_settled());
    }
}

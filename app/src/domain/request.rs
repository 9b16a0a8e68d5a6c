//! Requests and their lifecycle. [`RequestState`] owns every allowed transition.

use super::GrantRole;
use serde::{Deserialize, Serialize};
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(
    feature = "ssr",
    derive(sqlx::Type),
    sqlx(type_name = "request_kind", rename_all = "snake_case")
)]
pub enum RequestKind {
    NewTopic,
    ProducerAccess,
    ConsumerAccess,
    RevokeAccess,
    /// New settings for an existing topic, proposed by its owning team.
    TopicChange,
    /// A new version of a topic's key or value schema, proposed by its owning team.
    SchemaChange,
}

impl RequestKind {
    pub const ALL: [RequestKind; 6] = [
        RequestKind::NewTopic,
        RequestKind::ProducerAccess,
        RequestKind::ConsumerAccess,
        RequestKind::RevokeAccess,
        RequestKind::TopicChange,
        RequestKind::SchemaChange,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::NewTopic => "new_topic",
            Self::ProducerAccess => "producer_access",
            Self::ConsumerAccess => "consumer_access",
            Self::RevokeAccess => "revoke_access",
            Self::TopicChange => "topic_change",
            Self::SchemaChange => "schema_change",
        }
    }

    /// What an approved request of this kind grants its application, if anything: whoever
    /// proposes a topic produces to it.
    pub fn grant_role(self) -> Option<GrantRole> {
        match self {
            Self::NewTopic | Self::ProducerAccess => Some(GrantRole::Producer),
            Self::ConsumerAccess => Some(GrantRole::Consumer),
            Self::RevokeAccess | Self::TopicChange | Self::SchemaChange => None,
        }
    }

    /// Whether an approved request of this kind can be asked again, as it is, for another
    /// environment. A topic is proposed once, and a schema version belongs to its subject.
    pub fn can_be_promoted(self) -> bool {
        match self {
            Self::ProducerAccess
            | Self::ConsumerAccess
            | Self::RevokeAccess
            | Self::TopicChange => true,
            Self::NewTopic | Self::SchemaChange => false,
        }
    }

    /// What a request of this kind asks for, in words, for its page's heading and the notices
    /// about it: "Producer access to orders_placed for Notify Service".
    pub fn title(self, topic: &str, application: &str) -> String {
        match self {
            Self::NewTopic => format!("New topic {topic}, produced by {application}"),
            Self::ProducerAccess => format!("Producer access to {topic} for {application}"),
            Self::ConsumerAccess => format!("Consumer access to {topic} for {application}"),
            Self::RevokeAccess => format!("Revoking the access of {application} to {topic}"),
            Self::TopicChange => format!("New settings for {topic}"),
            Self::SchemaChange => format!("A new schema for {topic}"),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::NewTopic => "New topic",
            Self::ProducerAccess => "Producer access",
            Self::ConsumerAccess => "Consumer access",
            Self::RevokeAccess => "Revoke access",
            Self::TopicChange => "Topic change",
            Self::SchemaChange => "Schema change",
        }
    }
}

impl FromStr for RequestKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown request kind {s:?}"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(
    feature = "ssr",
    derive(sqlx::Type),
    sqlx(type_name = "request_state", rename_all = "snake_case")
)]
pub enum RequestState {
    Draft,
    Submitted,
    ChangesRequested,
    /// Approved before changes were applied by the portal (kept for old records).
    Approved,
    Declined,
    Withdrawn,
    /// Approved; its steps are being applied to Kafka.
    Applying,
    /// Applied: the cluster enforces it.
    Active,
    /// A step failed for a reason retrying will not fix; an admin can retry.
    Failed,
    /// Access taken away (by a revocation request or an admin); its ACLs are removed.
    Revoked,
    /// Its expiry date passed; its ACLs are removed.
    Expired,
}

/// Something that happens to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestEvent {
    /// The requester sends it for approval (again, after changes were asked for).
    Submit,
    /// The requester takes it back.
    Withdraw,
    /// An approver fills a slot, and it was the last one open.
    ApproveFinal,
    /// An approver fills a slot, and others are still open: the state stays.
    ApprovePartial,
    Decline,
    RequestChanges,
    /// Every step was applied to the cluster.
    StepsDone,
    /// A step failed for good.
    StepFailed,
    /// An admin retries the failed steps.
    Retry,
    /// Access is taken away.
    Revoke,
    /// The expiry date passed.
    Expire,
}

impl RequestState {
    pub const ALL: [RequestState; 11] = [
        RequestState::Draft,
        RequestState::Submitted,
        RequestState::ChangesRequested,
        RequestState::Approved,
        RequestState::Declined,
        RequestState::Withdrawn,
        RequestState::Applying,
        RequestState::Active,
        RequestState::Failed,
        RequestState::Revoked,
        RequestState::Expired,
    ];

    /// Being written or waiting for a decision: a second request for the same thing would clash.
    pub const OPEN: [RequestState; 3] = [
        RequestState::Draft,
        RequestState::Submitted,
        RequestState::ChangesRequested,
    ];
    /// Open, or approved and still being applied: a change to the same thing must wait for it.
    pub const PENDING: [RequestState; 4] = [
        RequestState::Draft,
        RequestState::Submitted,
        RequestState::ChangesRequested,
        RequestState::Applying,
    ];
    /// Sent for approval and neither decided nor taken back (a consumer group it names is held).
    pub const SENT_FOR_DECISION: [RequestState; 2] =
        [RequestState::Submitted, RequestState::ChangesRequested];
    /// Approved, whether or not the cluster enforces it yet.
    pub const APPROVED: [RequestState; 4] = [
        RequestState::Approved,
        RequestState::Applying,
        RequestState::Active,
        RequestState::Failed,
    ];
    /// Not finished: someone (a person or the portal) still has something to do.
    pub const UNFINISHED: [RequestState; 6] = [
        RequestState::Draft,
        RequestState::Submitted,
        RequestState::ChangesRequested,
        RequestState::Approved,
        RequestState::Applying,
        RequestState::Failed,
    ];
    /// Its grants are meant to be on the cluster now.
    pub const IN_FORCE: [RequestState; 2] = [RequestState::Approved, RequestState::Active];

    /// The one place that says what may happen next. `None`: not allowed from here.
    pub fn apply(self, event: RequestEvent) -> Option<RequestState> {
        use RequestEvent as E;
        use RequestState as S;
        match (self, event) {
            (S::Draft | S::ChangesRequested, E::Submit) => Some(S::Submitted),
            (S::Draft | S::Submitted | S::ChangesRequested, E::Withdraw) => Some(S::Withdrawn),
            (S::Submitted, E::ApproveFinal) => Some(S::Applying),
            (S::Submitted, E::ApprovePartial) => Some(S::Submitted),
            (S::Submitted, E::Decline) => Some(S::Declined),
            (S::Submitted, E::RequestChanges) => Some(S::ChangesRequested),
            (S::Applying, E::StepsDone) => Some(S::Active),
            (S::Applying, E::StepFailed) => Some(S::Failed),
            (S::Failed, E::Retry) => Some(S::Applying),
            (S::Approved | S::Applying | S::Active | S::Failed, E::Revoke) => Some(S::Revoked),
            (S::Approved | S::Active, E::Expire) => Some(S::Expired),
            _ => None,
        }
    }

    /// Nothing more happens to a request in this state.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Declined | Self::Withdrawn | Self::Revoked | Self::Expired
        )
    }

    /// Approved, whether or not the cluster enforces it yet.
    pub fn is_approved(self) -> bool {
        Self::APPROVED.contains(&self)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Submitted => "submitted",
            Self::ChangesRequested => "changes_requested",
            Self::Approved => "approved",
            Self::Declined => "declined",
            Self::Withdrawn => "withdrawn",
            Self::Applying => "applying",
            Self::Active => "active",
            Self::Failed => "failed",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Draft => "Draft",
            Self::Submitted => "Waiting for approval",
            Self::ChangesRequested => "Changes requested",
            Self::Approved => "Approved",
            Self::Declined => "Declined",
            Self::Withdrawn => "Withdrawn",
            Self::Applying => "Applying to Kafka",
            Self::Active => "Active",
            Self::Failed => "Failed to apply",
            Self::Revoked => "Revoked",
            Self::Expired => "Expired",
        }
    }
}

impl FromStr for RequestState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown request state {s:?}"))
    }
}

/// A decision an approver can make. Recorded (in the database and in views) by what it did:
/// `approved`, `declined`, `changes_requested`; a form names it by the act (see `FromStr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ssr",
    derive(sqlx::Type),
    sqlx(type_name = "approval_decision")
)]
pub enum Decision {
    #[serde(rename = "approved")]
    #[cfg_attr(feature = "ssr", sqlx(rename = "approved"))]
    Approve,
    #[serde(rename = "declined")]
    #[cfg_attr(feature = "ssr", sqlx(rename = "declined"))]
    Decline,
    #[serde(rename = "changes_requested")]
    #[cfg_attr(feature = "ssr", sqlx(rename = "changes_requested"))]
    RequestChanges,
}

impl Decision {
    /// Declining and sending back need a reason the requester will read.
    pub fn needs_reason(self) -> bool {
        !matches!(self, Decision::Approve)
    }

    /// As the approvals list says it: "approved by ...".
    pub fn past_tense(self) -> &'static str {
        match self {
            Self::Approve => "approved",
            Self::Decline => "declined",
            Self::RequestChanges => "changes requested",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approved",
            Self::Decline => "declined",
            Self::RequestChanges => "changes_requested",
        }
    }
}

impl FromStr for Decision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "approve" => Ok(Self::Approve),
            "decline" => Ok(Self::Decline),
            "request_changes" => Ok(Self::RequestChanges),
            other => Err(format!("unknown decision {other:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RequestEvent as E;
    use RequestState as S;

    const EVENTS: [RequestEvent; 11] = [
        E::Submit,
        E::Withdraw,
        E::ApproveFinal,
        E::ApprovePartial,
        E::Decline,
        E::RequestChanges,
        E::StepsDone,
        E::StepFailed,
        E::Retry,
        E::Revoke,
        E::Expire,
    ];

    /// Every (state, event) pair, with what must happen.
    #[test]
    fn full_transition_table() {
        let expected = |state: S, event: E| -> Option<S> {
            match (state, event) {
                (S::Draft, E::Submit) => Some(S::Submitted),
                (S::ChangesRequested, E::Submit) => Some(S::Submitted),
                (S::Draft, E::Withdraw) => Some(S::Withdrawn),
                (S::Submitted, E::Withdraw) => Some(S::Withdrawn),
                (S::ChangesRequested, E::Withdraw) => Some(S::Withdrawn),
                (S::Submitted, E::ApproveFinal) => Some(S::Applying),
                (S::Submitted, E::ApprovePartial) => Some(S::Submitted),
                (S::Submitted, E::Decline) => Some(S::Declined),
                (S::Submitted, E::RequestChanges) => Some(S::ChangesRequested),
                (S::Applying, E::StepsDone) => Some(S::Active),
                (S::Applying, E::StepFailed) => Some(S::Failed),
                (S::Failed, E::Retry) => Some(S::Applying),
                (S::Approved, E::Revoke) => Some(S::Revoked),
                (S::Applying, E::Revoke) => Some(S::Revoked),
                (S::Active, E::Revoke) => Some(S::Revoked),
                (S::Failed, E::Revoke) => Some(S::Revoked),
                (S::Approved, E::Expire) => Some(S::Expired),
                (S::Active, E::Expire) => Some(S::Expired),
                _ => None,
            }
        };
        let mut allowed = 0;
        for state in S::ALL {
            for event in EVENTS {
                assert_eq!(
                    state.apply(event),
                    expected(state, event),
                    "{state:?} + {event:?}"
                );
                allowed += usize::from(state.apply(event).is_some());
            }
        }
        assert_eq!(allowed, 18);
    }

    #[test]
    fn final_states_accept_nothing() {
        for state in S::ALL.into_iter().filter(|s| s.is_final()) {
            for event in EVENTS {
                assert_eq!(state.apply(event), None, "{state:?} + {event:?}");
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for state in S::ALL {
            assert_eq!(state.as_str().parse(), Ok(state));
        }
        for kind in RequestKind::ALL {
            assert_eq!(kind.as_str().parse(), Ok(kind));
        }
        assert!("approved_twice".parse::<S>().is_err());
        assert!(Decision::Decline.needs_reason() && !Decision::Approve.needs_reason());
    }
}

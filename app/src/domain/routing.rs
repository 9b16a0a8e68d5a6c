//! Who must approve a request. The policy is configuration; this is the one place that reads it.

use super::{DataClassification, RequestKind, Role, TeamSlug, UserIdentity};
use serde::{Deserialize, Serialize};

/// A required approval on a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(
    feature = "ssr",
    derive(sqlx::Type),
    sqlx(type_name = "approval_slot_kind", rename_all = "snake_case")
)]
pub enum SlotKind {
    /// An approver of the team that owns the topic.
    OwningTeam,
    Governance,
    /// A second governance approver, different from the first, for sensitive data.
    SecondGovernance,
}

impl SlotKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OwningTeam => "owning_team",
            Self::Governance => "governance",
            Self::SecondGovernance => "second_governance",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::OwningTeam => "Owning team",
            Self::Governance => "Governance",
            Self::SecondGovernance => "Second governance review",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::OwningTeam, Self::Governance, Self::SecondGovernance]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// The approval policy, from configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalPolicy {
    /// Access to an existing topic needs the owning team's approval.
    pub access_needs_owning_team: bool,
    /// Access to an existing topic needs governance.
    pub access_needs_governance: bool,
    /// A new topic needs governance.
    pub new_topic_needs_governance: bool,
    /// Moderate data or PII adds a second, different governance approver.
    pub sensitive_needs_second_governance: bool,
}

impl Default for ApprovalPolicy {
    fn default() -> Self {
        Self {
            access_needs_owning_team: true,
            access_needs_governance: true,
            new_topic_needs_governance: true,
            sensitive_needs_second_governance: true,
        }
    }
}

/// What routing needs to know about a request.
#[derive(Debug, Clone)]
pub struct RoutingInput {
    pub kind: RequestKind,
    /// The owning team of the topic (for a new topic, the proposing team).
    pub owning_team: TeamSlug,
    pub classification: DataClassification,
    pub contains_pii: bool,
    /// Environments that allow no PII or PHI where an application that handles PII would
    /// write: governance confirms that nothing it writes there carries any (display names).
    pub pii_application_writes_in: Vec<String>,
}

/// One required approval and why it is required, in words shown to approvers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequiredSlot {
    pub kind: SlotKind,
    pub team: Option<TeamSlug>,
    pub reason: String,
}

impl ApprovalPolicy {
    pub fn route(&self, input: &RoutingInput) -> Vec<RequiredSlot> {
        let mut slots = Vec::new();
        // A new topic, or new settings for one, concern the topic itself: governance decides.
        let new_topic = match input.kind {
            RequestKind::NewTopic | RequestKind::TopicChange => true,
            RequestKind::ProducerAccess
            | RequestKind::ConsumerAccess
            | RequestKind::RevokeAccess
            | RequestKind::SchemaChange => false,
        };
        if !new_topic && self.access_needs_owning_team {
            slots.push(RequiredSlot {
                kind: SlotKind::OwningTeam,
                team: Some(input.owning_team.clone()),
                reason: format!(
                    "The topic is owned by team {}, who decide who may use their events.",
                    input.owning_team
                ),
            });
        }
        let governance = if new_topic {
            self.new_topic_needs_governance
        } else {
            self.access_needs_governance
        };
        let pii_writer = (!input.pii_application_writes_in.is_empty()).then(|| {
            format!(
                "The application handles PII and {} allows none: governance confirms that nothing it writes there carries PII or PHI.",
                super::in_words_list(
                    &input
                        .pii_application_writes_in
                        .iter()
                        .map(String::as_str)
                        .collect::<Vec<_>>()
                )
            )
        });
        if governance || pii_writer.is_some() {
            let usual: Option<String> = governance.then(|| {
                if input.kind == RequestKind::TopicChange {
                    "Changes to a topic's settings are reviewed by governance.".into()
                } else if new_topic {
                    "Every new topic on the bus is reviewed by governance.".into()
                } else {
                    "Governance reviews every grant of access to events.".into()
                }
            });
            let reason = [usual, pii_writer]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            slots.push(RequiredSlot {
                kind: SlotKind::Governance,
                team: None,
                reason,
            });
        }
        let sensitive = input.classification == DataClassification::Moderate || input.contains_pii;
        if sensitive && self.sensitive_needs_second_governance {
            let why = match (input.classification, input.contains_pii) {
                (DataClassification::Moderate, true) => "Moderate data that includes PII",
                (DataClassification::Moderate, false) => "Moderate data",
                _ => "data that includes PII",
            };
            slots.push(RequiredSlot {
                kind: SlotKind::SecondGovernance,
                team: None,
                reason: format!(
                    "The topic carries {why}, so a second governance approver must agree."
                ),
            });
        }
        slots
    }
}

impl ApprovalPolicy {
    /// A new schema version: the owning team decides, and governance too when the change breaks
    /// the subject's compatibility promise or lowers it (`governance_because` says how).
    pub fn route_schema_change(
        &self,
        owning_team: &TeamSlug,
        governance_because: Option<String>,
    ) -> Vec<RequiredSlot> {
        let mut slots = vec![RequiredSlot {
            kind: SlotKind::OwningTeam,
            team: Some(owning_team.clone()),
            reason: format!(
                "The topic is owned by team {owning_team}, who answer for its events' shape."
            ),
        }];
        if let Some(why) = governance_because {
            slots.push(RequiredSlot {
                kind: SlotKind::Governance,
                team: None,
                reason: format!("Governance reviews this change because {why}."),
            });
        }
        slots
    }
}

/// Whether someone with these roles and teams is the kind of person who fills `slot` (whose
/// request it is and who decided what already are [`may_fill`]'s and the store's business).
pub fn could_fill(
    roles: &[Role],
    teams: &[TeamSlug],
    slot: SlotKind,
    slot_team: Option<&TeamSlug>,
) -> bool {
    match slot {
        SlotKind::OwningTeam => {
            roles.contains(&Role::TeamApprover) && slot_team.is_some_and(|t| teams.contains(t))
        }
        SlotKind::Governance | SlotKind::SecondGovernance => roles.contains(&Role::Approver),
    }
}

/// Whether `user` may fill `slot` on a request made by `requester`.
pub fn may_fill(
    user: &UserIdentity,
    slot: SlotKind,
    slot_team: Option<&TeamSlug>,
    requester: &str,
) -> Result<(), &'static str> {
    if user.subject == requester {
        return Err("You cannot approve your own request.");
    }
    if could_fill(&user.roles, &user.teams, slot, slot_team) {
        Ok(())
    } else {
        Err("This approval needs someone else.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn team(s: &str) -> TeamSlug {
        TeamSlug::parse(s).expect("team")
    }

    fn input(kind: RequestKind, classification: DataClassification, pii: bool) -> RoutingInput {
        RoutingInput {
            pii_application_writes_in: Vec::new(),
            kind,
            owning_team: team("claims-status"),
            classification,
            contains_pii: pii,
        }
    }

    fn kinds(slots: &[RequiredSlot]) -> Vec<SlotKind> {
        slots.iter().map(|s| s.kind).collect()
    }

    #[test]
    fn access_to_an_existing_low_topic_needs_owner_and_governance() {
        let slots = ApprovalPolicy::default().route(&input(
            RequestKind::ConsumerAccess,
            DataClassification::Low,
            false,
        ));
        assert_eq!(
            kinds(&slots),
            vec![SlotKind::OwningTeam, SlotKind::Governance]
        );
        assert_eq!(slots[0].team, Some(team("claims-status")));
        assert!(slots.iter().all(|s| !s.reason.is_empty()));
    }

    #[test]
    fn an_application_with_pii_writing_where_none_is_allowed_goes_to_governance_with_that_reason() {
        let mut asked = input(RequestKind::ProducerAccess, DataClassification::Low, false);
        asked.pii_application_writes_in = vec!["Sandbox".into()];
        let slots = ApprovalPolicy::default().route(&asked);
        assert_eq!(
            kinds(&slots),
            vec![SlotKind::OwningTeam, SlotKind::Governance]
        );
        assert!(
            slots[1]
                .reason
                .contains("handles PII and Sandbox allows none"),
            "{}",
            slots[1].reason
        );
        // Even where governance would not otherwise look at access.
        let lenient = ApprovalPolicy {
            access_needs_governance: false,
            ..ApprovalPolicy::default()
        };
        assert_eq!(
            kinds(&lenient.route(&asked)),
            vec![SlotKind::OwningTeam, SlotKind::Governance]
        );
        asked.pii_application_writes_in.clear();
        assert_eq!(kinds(&lenient.route(&asked)), vec![SlotKind::OwningTeam]);
    }

    #[test]
    fn a_new_topic_needs_governance_only() {
        let slots = ApprovalPolicy::default().route(&input(
            RequestKind::NewTopic,
            DataClassification::Low,
            false,
        ));
        assert_eq!(kinds(&slots), vec![SlotKind::Governance]);
    }

    #[test]
    fn moderate_or_pii_adds_a_second_governance_approver() {
        let policy = ApprovalPolicy::default();
        for (classification, pii) in [
            (DataClassification::Moderate, false),
            (DataClassification::Low, true),
            (DataClassification::Moderate, true),
        ] {
            let slots = policy.route(&input(RequestKind::ProducerAccess, classification, pii));
            assert_eq!(
                kinds(&slots),
                vec![
                    SlotKind::OwningTeam,
                    SlotKind::Governance,
                    SlotKind::SecondGovernance
                ]
            );
        }
        let new_topic = policy.route(&input(
            RequestKind::NewTopic,
            DataClassification::Moderate,
            false,
        ));
        assert_eq!(
            kinds(&new_topic),
            vec![SlotKind::Governance, SlotKind::SecondGovernance]
        );
    }

    #[test]
    fn policy_is_configuration() {
        let policy = ApprovalPolicy {
            access_needs_owning_team: false,
            sensitive_needs_second_governance: false,
            ..ApprovalPolicy::default()
        };
        let slots = policy.route(&input(
            RequestKind::ConsumerAccess,
            DataClassification::Moderate,
            true,
        ));
        assert_eq!(kinds(&slots), vec![SlotKind::Governance]);
    }

    #[test]
    fn who_may_fill_which_slot() {
        let omar = UserIdentity {
            subject: "omar".into(),
            display_name: "Omar".into(),
            roles: vec![Role::Member, Role::TeamApprover],
            teams: vec![team("claims-status")],
        };
        let gary = UserIdentity {
            subject: "gary".into(),
            display_name: "Gary".into(),
            roles: vec![Role::Approver],
            teams: vec![],
        };
        let claims = team("claims-status");
        let other = team("appointments");
        assert!(may_fill(&omar, SlotKind::OwningTeam, Some(&claims), "maria").is_ok());
        assert!(may_fill(&omar, SlotKind::OwningTeam, Some(&other), "maria").is_err());
        assert!(may_fill(&omar, SlotKind::Governance, None, "maria").is_err());
        assert!(may_fill(&gary, SlotKind::Governance, None, "maria").is_ok());
        assert!(may_fill(&gary, SlotKind::SecondGovernance, None, "maria").is_ok());
        assert!(may_fill(&gary, SlotKind::OwningTeam, Some(&claims), "maria").is_err());
        assert_eq!(
            may_fill(&gary, SlotKind::Governance, None, "gary"),
            Err("You cannot approve your own request.")
        );
    }

    #[test]
    fn a_schema_change_needs_governance_only_when_it_breaks_or_lowers_the_promise() {
        let policy = ApprovalPolicy::default();
        let plain = policy.route_schema_change(&team("claims-status"), None);
        assert_eq!(kinds(&plain), vec![SlotKind::OwningTeam]);
        let breaking = policy.route_schema_change(
            &team("claims-status"),
            Some("it is not BACKWARD compatible".into()),
        );
        assert_eq!(
            kinds(&breaking),
            vec![SlotKind::OwningTeam, SlotKind::Governance]
        );
        assert!(breaking[1].reason.contains("BACKWARD"));
    }
}

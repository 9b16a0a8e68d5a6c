use serde::{Deserialize, Serialize};
use std::fmt;

/// What a signed-in person may do in the portal. Derived from identity-provider groups at sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Belongs to at least one product team: requests access, proposes topics and schemas.
    Member,
    /// Governance staff: approves or declines requests.
    Approver,
    /// Approves access to the topics of the teams they belong to.
    TeamApprover,
    /// Platform administrator.
    Admin,
    /// Read-only engineer: browses the catalog and topic health.
    Viewer,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Member,
        Role::Approver,
        Role::TeamApprover,
        Role::Admin,
        Role::Viewer,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Role::Member => "Member",
            Role::Approver => "Approver",
            Role::TeamApprover => "Team approver",
            Role::Admin => "Admin",
            Role::Viewer => "Viewer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A group name as the identity provider sends it in the `groups` claim.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct GroupName(String);

impl GroupName {
    pub const MAX_LEN: usize = 256;

    pub fn parse(raw: impl Into<String>) -> Result<Self, String> {
        let raw = raw.into();
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err("a group name cannot be empty".into());
        }
        if trimmed.len() > Self::MAX_LEN {
            return Err(format!(
                "a group name is at most {} characters",
                Self::MAX_LEN
            ));
        }
        if trimmed.chars().any(char::is_control) {
            return Err("a group name cannot contain control characters".into());
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for GroupName {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<GroupName> for String {
    fn from(value: GroupName) -> Self {
        value.0
    }
}

/// A product team's short name, e.g. `claims-status`: lowercase letters, digits and dashes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TeamSlug(String);

impl TeamSlug {
    pub const MAX_LEN: usize = 63;

    pub fn parse(raw: impl Into<String>) -> Result<Self, String> {
        let raw = raw.into();
        if raw.is_empty() || raw.len() > Self::MAX_LEN {
            return Err(format!(
                "a team name is 1 to {} characters long",
                Self::MAX_LEN
            ));
        }
        let valid_chars = raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid_chars {
            return Err("a team name uses only lowercase letters, digits and dashes".into());
        }
        if raw.starts_with('-') || raw.ends_with('-') {
            return Err("a team name cannot start or end with a dash".into());
        }
        Ok(Self(raw))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TeamSlug {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<TeamSlug> for String {
    fn from(value: TeamSlug) -> Self {
        value.0
    }
}

impl fmt::Display for TeamSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How identity-provider groups become roles and team memberships. Lives in configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleMapping {
    /// Groups named `<prefix><team>` make the person a member of `<team>`.
    pub team_group_prefix: String,
    pub approver_groups: Vec<String>,
    /// Members of these groups approve access to their own teams' topics.
    pub team_approver_groups: Vec<String>,
    pub admin_groups: Vec<String>,
    pub viewer_groups: Vec<String>,
}

impl Default for RoleMapping {
    fn default() -> Self {
        Self {
            team_group_prefix: "team-".into(),
            approver_groups: vec!["governance".into()],
            team_approver_groups: vec!["team-approvers".into()],
            admin_groups: vec!["platform-admins".into()],
            viewer_groups: vec!["engineers".into()],
        }
    }
}

impl RoleMapping {
    /// Roles and teams for a set of groups. Groups that match nothing are ignored; a person with no
    /// matching group gets no role and is refused everywhere but the landing page.
    pub fn resolve(&self, groups: &[GroupName]) -> (Vec<Role>, Vec<TeamSlug>) {
        let mut roles = Vec::new();
        let mut teams = Vec::new();
        let mut team_approver = false;
        for group in groups {
            let name = group.as_str();
            if self.approver_groups.iter().any(|g| g == name) {
                roles.push(Role::Approver);
            }
            if self.team_approver_groups.iter().any(|g| g == name) {
                team_approver = true;
            }
            if self.admin_groups.iter().any(|g| g == name) {
                roles.push(Role::Admin);
            }
            if self.viewer_groups.iter().any(|g| g == name) {
                roles.push(Role::Viewer);
            }
            if !self.team_group_prefix.is_empty()
                && let Some(team) = name.strip_prefix(self.team_group_prefix.as_str())
                && let Ok(team) = TeamSlug::parse(team)
            {
                teams.push(team);
            }
        }
        // Group names like `team-approvers` share the team prefix; they are roles, not teams.
        teams.retain(|t: &TeamSlug| {
            !self
                .team_approver_groups
                .iter()
                .any(|g| g.strip_prefix(self.team_group_prefix.as_str()) == Some(t.as_str()))
        });
        if !teams.is_empty() {
            roles.push(Role::Member);
            if team_approver {
                roles.push(Role::TeamApprover);
            }
        }
        roles.sort();
        roles.dedup();
        teams.sort();
        teams.dedup();
        (roles, teams)
    }
}

/// The signed-in person as the portal knows them: what the session holds and what pages show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserIdentity {
    /// The identity provider's stable subject identifier.
    pub subject: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub teams: Vec<TeamSlug>,
}

impl UserIdentity {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn has_any_role(&self, roles: &[Role]) -> bool {
        roles.iter().any(|r| self.has_role(*r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn groups(names: &[&str]) -> Vec<GroupName> {
        names
            .iter()
            .map(|n| GroupName::parse(*n).expect("valid group"))
            .collect()
    }

    #[test]
    fn member_of_two_teams() {
        let (roles, teams) = RoleMapping::default().resolve(&groups(&[
            "team-benefits-notifications",
            "team-claims-status",
        ]));
        assert_eq!(roles, vec![Role::Member]);
        let teams: Vec<_> = teams.iter().map(TeamSlug::as_str).collect();
        assert_eq!(teams, vec!["benefits-notifications", "claims-status"]);
    }

    #[test]
    fn governance_admin_and_engineer_groups_map_to_roles() {
        let mapping = RoleMapping::default();
        assert_eq!(
            mapping.resolve(&groups(&["governance"])).0,
            vec![Role::Approver]
        );
        assert_eq!(
            mapping.resolve(&groups(&["platform-admins"])).0,
            vec![Role::Admin]
        );
        assert_eq!(
            mapping.resolve(&groups(&["engineers"])).0,
            vec![Role::Viewer]
        );
    }

    #[test]
    fn a_team_lead_approves_for_their_teams() {
        let (roles, teams) =
            RoleMapping::default().resolve(&groups(&["team-claims-status", "team-approvers"]));
        assert_eq!(roles, vec![Role::Member, Role::TeamApprover]);
        let teams: Vec<_> = teams.iter().map(TeamSlug::as_str).collect();
        assert_eq!(
            teams,
            vec!["claims-status"],
            "the approvers group is not a team"
        );
        let (roles, _) = RoleMapping::default().resolve(&groups(&["team-approvers"]));
        assert!(roles.is_empty(), "approving needs a team to approve for");
    }

    #[test]
    fn unknown_groups_give_no_role() {
        let (roles, teams) = RoleMapping::default().resolve(&groups(&["marketing", "team-"]));
        assert!(roles.is_empty());
        assert!(teams.is_empty());
    }

    #[test]
    fn mapping_is_configuration() {
        let mapping = RoleMapping {
            team_group_prefix: "kafka-team:".into(),
            approver_groups: vec!["eeb-governance".into()],
            team_approver_groups: vec![],
            admin_groups: vec![],
            viewer_groups: vec![],
        };
        let (roles, teams) = mapping.resolve(&groups(&[
            "kafka-team:payments",
            "governance",
            "eeb-governance",
        ]));
        assert_eq!(roles, vec![Role::Member, Role::Approver]);
        assert_eq!(teams[0].as_str(), "payments");
    }

    #[test]
    fn team_slug_rules() {
        assert!(TeamSlug::parse("claims-status").is_ok());
        assert!(TeamSlug::parse("").is_err());
        assert!(TeamSlug::parse("Claims").is_err());
        assert!(TeamSlug::parse("-claims").is_err());
        assert!(TeamSlug::parse("a".repeat(64)).is_err());
    }

    #[test]
    fn group_name_rejects_blank_and_control_characters() {
        assert!(GroupName::parse("  ").is_err());
        assert!(GroupName::parse("gov\u{0}ernance").is_err());
        assert_eq!(
            GroupName::parse(" governance ").map(|g| g.0),
            Ok("governance".into())
        );
    }

    proptest! {
        #[test]
        fn resolved_roles_are_sorted_and_unique(names in proptest::collection::vec("[a-z-]{1,20}", 0..12)) {
            let groups: Vec<GroupName> = names.iter().filter_map(|n| GroupName::parse(n.clone()).ok()).collect();
            let (roles, teams) = RoleMapping::default().resolve(&groups);
            let mut sorted = roles.clone();
            sorted.sort();
            sorted.dedup();
            prop_assert_eq!(&roles, &sorted);
            prop_assert_eq!(roles.contains(&Role::Member), !teams.is_empty());
        }

        #[test]
        fn team_slug_round_trips_through_serde(slug in "[a-z0-9]([a-z0-9-]{0,40}[a-z0-9])?") {
            let parsed = TeamSlug::parse(slug.clone()).expect("generated slugs are valid");
            let json = serde_json::to_string(&parsed).expect("serialize");
            let back: TeamSlug = serde_json::from_str(&json).expect("deserialize");
            prop_assert_eq!(back.as_str(), slug.as_str());
        }
    }
}

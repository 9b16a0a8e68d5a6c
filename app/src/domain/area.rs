use super::{Role, UserIdentity};

/// The portal's areas: one navigation entry and one top-level path each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Area {
    Catalog,
    MyRequests,
    Approvals,
    Health,
    Admin,
}

impl Area {
    pub const ALL: [Area; 5] = [
        Area::Catalog,
        Area::MyRequests,
        Area::Approvals,
        Area::Health,
        Area::Admin,
    ];

    pub fn path(self) -> &'static str {
        match self {
            Area::Catalog => "/catalog",
            Area::MyRequests => "/requests",
            Area::Approvals => "/approvals",
            Area::Health => "/health",
            Area::Admin => "/admin",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Area::Catalog => "Catalog",
            Area::MyRequests => "My requests",
            Area::Approvals => "Approvals",
            Area::Health => "Health",
            Area::Admin => "Admin",
        }
    }

    /// Roles that may open this area.
    pub fn allowed_roles(self) -> &'static [Role] {
        match self {
            Area::Catalog | Area::Health => &Role::ALL,
            Area::MyRequests => &[Role::Member, Role::Admin],
            Area::Approvals => &[Role::Approver, Role::TeamApprover, Role::Admin],
            Area::Admin => &[Role::Admin],
        }
    }

    pub fn is_open_to(self, user: &UserIdentity) -> bool {
        user.has_any_role(self.allowed_roles())
    }

    /// The area a request path belongs to, if any (`/catalog/topics/x` belongs to the catalog).
    pub fn for_path(path: &str) -> Option<Area> {
        Area::ALL.into_iter().find(|area| {
            let prefix = area.path();
            path == prefix
                || path
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
    }
}

/// Pages outside the areas that also need a signed-in person.
const SIGNED_IN_PAGES: [&str; 1] = ["/notifications"];

/// Whether a page at `path` is only for signed-in people (everything but the landing page and
/// sign-in itself).
pub fn requires_sign_in(path: &str) -> bool {
    Area::for_path(path).is_some() || SIGNED_IN_PAGES.contains(&path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(roles: &[Role]) -> UserIdentity {
        UserIdentity {
            subject: "s".into(),
            display_name: "S".into(),
            roles: roles.to_vec(),
            teams: vec![],
        }
    }

    #[test]
    fn paths_map_back_to_areas() {
        for area in Area::ALL {
            assert_eq!(Area::for_path(area.path()), Some(area));
            assert_eq!(Area::for_path(&format!("{}/x/y", area.path())), Some(area));
        }
        assert_eq!(Area::for_path("/"), None);
        assert_eq!(Area::for_path("/catalogue"), None);
        assert_eq!(Area::for_path("/healthz"), None);
        assert!(requires_sign_in("/notifications") && requires_sign_in("/requests/new"));
        assert!(!requires_sign_in("/") && !requires_sign_in("/auth/login"));
    }

    #[test]
    fn navigation_per_role() {
        let visible = |roles: &[Role]| -> Vec<Area> {
            Area::ALL
                .into_iter()
                .filter(|a| a.is_open_to(&user(roles)))
                .collect()
        };
        assert_eq!(
            visible(&[Role::Member]),
            vec![Area::Catalog, Area::MyRequests, Area::Health]
        );
        assert_eq!(
            visible(&[Role::Approver]),
            vec![Area::Catalog, Area::Approvals, Area::Health]
        );
        assert_eq!(visible(&[Role::Admin]), Area::ALL.to_vec());
        assert_eq!(visible(&[Role::Viewer]), vec![Area::Catalog, Area::Health]);
        assert_eq!(
            visible(&[Role::Member, Role::TeamApprover]),
            vec![
                Area::Catalog,
                Area::MyRequests,
                Area::Approvals,
                Area::Health
            ]
        );
        assert!(visible(&[]).is_empty());
    }
}

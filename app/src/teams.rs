//! Team settings: how a team is named and reached. Teams come from the identity provider's
//! groups; their members (and admins) keep the display name, contact email and webhook current.

use crate::domain::{FieldError, TeamSlug, bounded_text};
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

pub const FIELD_DISPLAY_NAME: &str = "Display name";
pub const FIELD_CONTACT: &str = "Contact email";
pub const FIELD_WEBHOOK: &str = "Webhook URL";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamView {
    pub slug: String,
    pub display_name: String,
    pub contact_email: Option<String>,
    pub webhook_url: Option<String>,
}

/// The form as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TeamInput {
    pub slug: String,
    pub display_name: String,
    pub contact_email: String,
    pub webhook_url: String,
}

/// Parsed settings: empty optional fields are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamSettings {
    pub slug: TeamSlug,
    pub display_name: String,
    pub contact_email: Option<String>,
    pub webhook_url: Option<String>,
}

impl TeamInput {
    pub fn parse(&self) -> Result<TeamSettings, Vec<FieldError>> {
        let mut errors = Vec::new();
        let slug = TeamSlug::parse(self.slug.trim())
            .map_err(|m| errors.push(FieldError::new("Team", m)))
            .ok();
        let display_name = bounded_text(&self.display_name, "the display name", 1, 120)
            .map_err(|m| errors.push(FieldError::new(FIELD_DISPLAY_NAME, m)))
            .ok();
        let email = self.contact_email.trim();
        let contact_email = if email.is_empty() {
            Some(None)
        } else if email.len() > 320
            || email.chars().any(char::is_whitespace)
            || !email
                .split_once('@')
                .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'))
        {
            errors.push(FieldError::new(
                FIELD_CONTACT,
                "an email address looks like team@example.gov",
            ));
            None
        } else {
            Some(Some(email.to_owned()))
        };
        let hook = self.webhook_url.trim();
        let webhook_url = if hook.is_empty() {
            Some(None)
        } else if hook.len() > 2000
            || hook.chars().any(char::is_whitespace)
            || !(hook.starts_with("https://") || hook.starts_with("http://"))
        {
            errors.push(FieldError::new(
                FIELD_WEBHOOK,
                "a webhook is an https:// address of your chat service",
            ));
            None
        } else {
            Some(Some(hook.to_owned()))
        };
        match (slug, display_name, contact_email, webhook_url) {
            (Some(slug), Some(display_name), Some(contact_email), Some(webhook_url))
                if errors.is_empty() =>
            {
                Ok(TeamSettings {
                    slug,
                    display_name,
                    contact_email,
                    webhook_url,
                })
            }
            _ => Err(errors),
        }
    }
}

/// The teams the caller may edit: their own, or every team for an admin.
#[server(prefix = "/api", endpoint = "teams/mine")]
pub async fn my_teams() -> Result<Vec<TeamView>, AppError> {
    use crate::domain::Role;
    let user = crate::auth::ssr::require_any_role(&[Role::Member, Role::Admin]).await?;
    ssr::editable(&crate::context::db()?, &user)
        .await
        .map_err(crate::auth::ssr::with_status)
}

#[server(prefix = "/api", endpoint = "teams/update")]
pub async fn update_team(input: TeamInput) -> Result<(), AppError> {
    use crate::auth::ssr::{require_any_role, with_status};
    use crate::domain::Role;
    let user = require_any_role(&[Role::Member, Role::Admin]).await?;
    let settings = input
        .parse()
        .map_err(|e| with_status(AppError::Invalid(e)))?;
    if let Some(hook) = &settings.webhook_url {
        let policy = crate::context::portal()?.webhooks;
        url::Url::parse(hook)
            .map_err(|_| "a webhook is an https:// address of your chat service".to_owned())
            .and_then(|url| policy.check_url(&url))
            .map_err(|m| with_status(AppError::invalid(FIELD_WEBHOOK, m)))?;
    }
    ssr::update(&crate::context::db()?, &user, &settings)
        .await
        .map_err(with_status)
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use super::{TeamSettings, TeamView};
    use crate::domain::{Role, UserIdentity};
    use crate::error::AppError;
    use serde_json::json;
    use sqlx::PgPool;

    fn internal(e: sqlx::Error) -> AppError {
        AppError::internal("team settings failed", &e)
    }

    pub async fn editable(db: &PgPool, user: &UserIdentity) -> Result<Vec<TeamView>, AppError> {
        let own: Vec<String> = user.teams.iter().map(|t| t.as_str().to_owned()).collect();
        // A team the identity provider knows but the portal has not seen yet gets its row now.
        sqlx::query!(
            "insert into team (slug, display_name) select s, s from unnest($1::text[]) s
             on conflict (slug) do nothing",
            &own,
        )
        .execute(db)
        .await
        .map_err(internal)?;
        sqlx::query_as!(
            TeamView,
            "select slug, display_name, contact_email, webhook_url from team
              where $2 or slug = any($1) order by slug",
            &own,
            user.has_role(Role::Admin),
        )
        .fetch_all(db)
        .await
        .map_err(internal)
    }

    pub async fn update(
        db: &PgPool,
        user: &UserIdentity,
        settings: &TeamSettings,
    ) -> Result<(), AppError> {
        let own = user.teams.contains(&settings.slug) && user.has_role(Role::Member);
        if !(own || user.has_role(Role::Admin)) {
            return Err(AppError::invalid(
                "Team",
                "you can change only your own teams",
            ));
        }
        let mut tx = db.begin().await.map_err(internal)?;
        let Some(before) = sqlx::query!(
            "select display_name, contact_email, webhook_url from team where slug = $1 for update",
            settings.slug.as_str(),
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(internal)?
        else {
            return Err(AppError::NotFound);
        };
        sqlx::query!(
            "update team set display_name = $2, contact_email = $3, webhook_url = $4 where slug = $1",
            settings.slug.as_str(),
            &settings.display_name,
            settings.contact_email.as_deref(),
            settings.webhook_url.as_deref(),
        )
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
        // The webhook address may carry a token: the audit keeps only whether one is set.
        crate::audit::ssr::append(
            &mut tx,
            &user.subject,
            "team.updated",
            "team",
            settings.slug.as_str(),
            Some(json!({
                "display_name": before.display_name,
                "contact_email": before.contact_email,
                "webhook": before.webhook_url.is_some(),
            })),
            Some(json!({
                "display_name": settings.display_name,
                "contact_email": settings.contact_email,
                "webhook": settings.webhook_url.is_some(),
            })),
        )
        .await
        .map_err(internal)?;
        tx.commit().await.map_err(internal)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> TeamInput {
        TeamInput {
            slug: "claims-status".into(),
            display_name: "Claims Status".into(),
            contact_email: "claims@example.gov".into(),
            webhook_url: "https://hooks.example.gov/T1/B2".into(),
        }
    }

    #[test]
    fn valid_settings_parse_and_empty_optionals_clear() {
        let s = input().parse().expect("valid");
        assert_eq!(s.contact_email.as_deref(), Some("claims@example.gov"));
        let cleared = TeamInput {
            contact_email: " ".into(),
            webhook_url: String::new(),
            ..input()
        }
        .parse()
        .expect("valid");
        assert_eq!((cleared.contact_email, cleared.webhook_url), (None, None));
    }

    #[test]
    fn each_bad_field_is_named() {
        let bad = TeamInput {
            slug: "Not A Slug".into(),
            display_name: String::new(),
            contact_email: "nobody".into(),
            webhook_url: "ftp://x".into(),
        };
        let fields: Vec<String> = bad
            .parse()
            .expect_err("refused")
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            vec!["Team", FIELD_DISPLAY_NAME, FIELD_CONTACT, FIELD_WEBHOOK]
        );
    }
}

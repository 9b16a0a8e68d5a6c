//! In-app notifications for requesters and approvers, and the team webhooks that mirror them.

use crate::error::AppError;
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationView {
    pub message: String,
    pub link: Option<String>,
    #[serde(with = "crate::time::rfc3339")]
    pub created_at: DateTime<Utc>,
    pub unread: bool,
}

/// The caller's latest notifications; opening them marks them read.
#[server(prefix = "/api", endpoint = "notifications/list")]
pub async fn my_notifications() -> Result<Vec<NotificationView>, AppError> {
    let user = crate::auth::ssr::require_any_role(&crate::domain::Role::ALL).await?;
    ssr::list_and_mark_read(&crate::context::db()?, &user.subject)
        .await
        .map_err(|e| AppError::internal("listing notifications failed", &e))
}

/// How many notifications the caller has not opened yet.
#[server(prefix = "/api", endpoint = "notifications/unread")]
pub async fn unread_notifications() -> Result<i64, AppError> {
    let user = crate::auth::ssr::require_any_role(&crate::domain::Role::ALL).await?;
    sqlx::query_scalar!(
        r#"select count(*) as "unread!" from notification where recipient = $1 and read_at is null"#,
        &user.subject
    )
    .fetch_one(&crate::context::db()?)
        .await
        .map_err(|e| AppError::internal("counting notifications failed", &e))
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use super::NotificationView;
    use crate::domain::webhook::slack_escape;
    use crate::domain::{GroupName, RequestId, RoleMapping, SlotKind, TeamSlug, could_fill};
    use chrono::{DateTime, Utc};
    use serde_json::json;
    use sqlx::{PgConnection, PgPool};

    pub async fn list_and_mark_read(
        db: &PgPool,
        subject: &str,
    ) -> Result<Vec<NotificationView>, sqlx::Error> {
        let rows = sqlx::query_as!(
            NotificationView,
            r#"select message, link, created_at as "created_at: DateTime<Utc>",
                      read_at is null as "unread!"
                 from notification
                where recipient = $1 order by id desc limit 100"#,
            subject
        )
        .fetch_all(db)
        .await?;
        sqlx::query!(
            "update notification set read_at = now() where recipient = $1 and read_at is null",
            subject
        )
        .execute(db)
        .await?;
        Ok(rows)
    }

    pub async fn notify(
        conn: &mut PgConnection,
        recipient: &str,
        message: &str,
        request: RequestId,
    ) -> Result<(), sqlx::Error> {
        sqlx::query!(
            "insert into notification (recipient, message, link) values ($1, $2, $3)",
            recipient,
            message,
            format!("/requests/{request}"),
        )
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Tells everyone who could fill one of the open slots, as far as the portal knows them
    /// (people who have signed in at least once), never the requester.
    pub async fn notify_approvers(
        conn: &mut PgConnection,
        roles: &RoleMapping,
        slots: &[(SlotKind, Option<TeamSlug>)],
        requester: &str,
        message: &str,
        request: RequestId,
    ) -> Result<(), sqlx::Error> {
        let people = sqlx::query!(
            "select subject, groups from app_user where subject <> $1",
            requester
        )
        .fetch_all(&mut *conn)
        .await?;
        for person in people {
            let groups: Vec<GroupName> = person
                .groups
                .into_iter()
                .filter_map(|g| GroupName::parse(g).ok())
                .collect();
            let (user_roles, teams) = roles.resolve(&groups);
            let concerned = slots
                .iter()
                .any(|(kind, team)| could_fill(&user_roles, &teams, *kind, team.as_ref()));
            if concerned {
                notify(&mut *conn, &person.subject, message, request).await?;
            }
        }
        Ok(())
    }

    /// Tells every member of the given teams, as far as the portal knows them (people who have
    /// signed in at least once), with a link to the page that concerns them.
    pub async fn notify_team_members(
        conn: &mut PgConnection,
        roles: &RoleMapping,
        teams: &[&str],
        message: &str,
        link: &str,
    ) -> Result<usize, sqlx::Error> {
        let people = sqlx::query!("select subject, groups from app_user")
            .fetch_all(&mut *conn)
            .await?;
        let mut told = 0;
        for person in people {
            let groups: Vec<GroupName> = person
                .groups
                .into_iter()
                .filter_map(|g| GroupName::parse(g).ok())
                .collect();
            let (_, member_of) = roles.resolve(&groups);
            if member_of.iter().any(|t| teams.contains(&t.as_str())) {
                sqlx::query!(
                    "insert into notification (recipient, message, link) values ($1, $2, $3)",
                    person.subject,
                    message,
                    link,
                )
                .execute(&mut *conn)
                .await?;
                told += 1;
            }
        }
        Ok(told)
    }

    /// Queues a Slack-compatible message to the webhooks of the given teams, in the caller's
    /// transaction: it is sent if and only if the change it reports is committed. `text` is
    /// escaped, so names people chose cannot plant links or mentions.
    pub async fn enqueue_webhooks(
        conn: &mut PgConnection,
        teams: &[&str],
        text: &str,
        link: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query!(
            "insert into webhook_delivery (team_slug, url, payload)
             select slug, webhook_url, $2 from team where slug = any($1) and webhook_url is not null",
            teams as &[&str],
            json!({
                "text": format!("{} <{link}|Open in the portal>", slack_escape(text)),
                "link": link,
            }),
        )
        .execute(conn)
        .await?;
        Ok(())
    }
}

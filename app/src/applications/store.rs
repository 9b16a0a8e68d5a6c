//! An application's rows: registering one, and its page.

use super::{Application, ApplicationDetail, GrantView};
use crate::apply::store::{GrantAcl, connections, credentials, environment_label, grant_in_words};
use crate::context::PortalContext;
use crate::domain::{
    ApplicationId, EnvironmentName, GrantId, GrantRole, RequestId, Role, UserIdentity,
};
use crate::error::AppError;
use crate::loaded::NotHydrated;
use crate::requests::Compliance;
use crate::requests::lifecycle::team_names;
use crate::store::{StoreError, failed_while};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use sqlx::PgPool;

pub async fn register(
    db: &PgPool,
    actor: &str,
    app: &Application,
) -> Result<ApplicationId, AppError> {
    let internal = |e: sqlx::Error| AppError::internal("registering an application failed", &e);
    let mut tx = db.begin().await.map_err(internal)?;
    // Teams come from the identity provider; the first registration records the team.
    sqlx::query!(
        "insert into team (slug, display_name) values ($1, $1) on conflict (slug) do nothing",
        app.team.as_str(),
    )
    .execute(&mut *tx)
    .await
    .map_err(internal)?;
    let id = ApplicationId::random();
    // The compliance answers were checked against their lists when the form was parsed.
    let inserted = sqlx::query!(
        "insert into application (id, team_slug, name, system_registration_id, security_package_id,
                fisma_rating, ato_status, ato_date, privacy_assessment, contains_pii, hosting_location,
                technical_contact, product_contact)
         values ($1, $2, $3, $4, $5, $6::text::fisma_rating, $7::text::ato_status, $8,
                 $9::text::privacy_assessment, $10, $11::text::hosting_location, $12, $13)
         on conflict (team_slug, name) do nothing",
        id as ApplicationId,
        app.team.as_str(),
        &app.name,
        &app.system_registration_id,
        &app.security_package_id,
        app.fisma_rating,
        app.ato_status,
        app.ato_date as _,
        app.privacy_assessment,
        app.contains_pii,
        app.hosting_location,
        &app.technical_contact,
        &app.product_contact,
    )
    .execute(&mut *tx)
    .await
    .map_err(internal)?;
    if inserted.rows_affected() == 0 {
        return Err(AppError::invalid(
            "Name",
            "your team already has an application with this name",
        ));
    }
    crate::audit::ssr::append(
        &mut tx,
        actor,
        "application.registered",
        "application",
        &id.to_string(),
        None,
        Some(json!({
            "team": app.team.as_str(),
            "name": app.name,
            "fisma_rating": app.fisma_rating,
            "ato_status": app.ato_status,
            "contains_pii": app.contains_pii,
            "hosting_location": app.hosting_location,
        })),
    )
    .await
    .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    Ok(id)
}

/// An application's page for `user`, or not found when they may not see it: its team,
/// governance approvers and admins may, and team approvers whose team owns a topic the
/// application has asked for.
pub async fn detail(
    portal: &PortalContext,
    user: &UserIdentity,
    id: ApplicationId,
) -> Result<ApplicationDetail, StoreError> {
    let db = &portal.db;
    let row = sqlx::query!(
        r#"select a.name, a.team_slug, a.created_at as "created_at: DateTime<Utc>",
                  a.system_registration_id, a.security_package_id,
                  a.fisma_rating::text as "fisma_rating!",
                  a.ato_status::text as "ato_status!", a.ato_date as "ato_date: NaiveDate",
                  a.privacy_assessment::text as "privacy_assessment!",
                  a.contains_pii, a.hosting_location::text as "hosting_location!",
                  a.technical_contact, a.product_contact,
                  exists (select 1 from access_request r join topic t on t.id = r.topic_id
                           where r.application_id = a.id and t.owning_team = any($2)) as "asked_of_team!"
             from application a where a.id = $1"#,
        id as ApplicationId,
        &team_names(user),
    )
    .fetch_optional(db)
    .await
    .map_err(failed_while("loading an application"))?
    .ok_or(AppError::NotFound)?;
    let is_own = user.teams.iter().any(|t| t.as_str() == row.team_slug);
    let visible = is_own
        || user.has_any_role(&[Role::Approver, Role::Admin])
        || (user.has_role(Role::TeamApprover) && row.asked_of_team);
    if !visible {
        return Err(AppError::NotFound.into());
    }
    let grants = sqlx::query!(
        r#"select g.id as "grant_id: GrantId", g.request_id as "request_id: RequestId",
                  g.environment as "environment: EnvironmentName", p.principal,
                  g.role as "role: GrantRole", t.name as topic, g.consumer_group,
                  g.consumer_group_is_prefix, g.expires_on as "expires_on: NaiveDate"
             from access_grant g
             join topic t on t.id = g.topic_id
             join kafka_principal p
               on p.application_id = g.application_id and p.environment = g.environment
            where g.application_id = $1 and g.revoked_at is null
            order by g.environment, t.name, g.role"#,
        id as ApplicationId
    )
    .fetch_all(db)
    .await
    .map_err(failed_while("loading an application's grants"))?;
    let acls: Vec<GrantAcl> = grants
        .iter()
        .map(|g| GrantAcl {
            grant_id: g.grant_id,
            environment: g.environment.clone(),
            principal: g.principal.clone(),
            role: g.role,
            topic: g.topic.clone(),
            consumer_group: g.consumer_group.clone(),
            consumer_group_is_prefix: g.consumer_group_is_prefix,
        })
        .collect();
    let can_manage = is_own && user.has_role(Role::Member);
    let (credentials, connections) = if is_own {
        (
            credentials(db, id, &portal.environment_names(), can_manage).await?,
            connections(Some(portal), &acls),
        )
    } else {
        (Vec::new(), Vec::new())
    };
    Ok(ApplicationDetail {
        id,
        name: row.name,
        team: row.team_slug,
        registered_at: row.created_at,
        compliance: Compliance {
            system_registration_id: row.system_registration_id,
            security_package_id: row.security_package_id,
            fisma_rating: row.fisma_rating,
            ato_status: row.ato_status,
            ato_date: row.ato_date,
            privacy_assessment: row.privacy_assessment,
            contains_pii: row.contains_pii,
            hosting_location: row.hosting_location,
            technical_contact: row.technical_contact,
            product_contact: row.product_contact,
        },
        grants: grants
            .into_iter()
            .zip(&acls)
            .map(|(g, acl)| GrantView {
                request: g.request_id,
                in_words: grant_in_words(acl, &environment_label(Some(portal), &g.environment)),
                environment: g.environment,
                role: g.role,
                topic: g.topic,
                consumer_group: g.consumer_group,
                consumer_group_is_prefix: g.consumer_group_is_prefix,
                expires_on: g.expires_on,
            })
            .collect(),
        credentials,
        connect: crate::pages::draw_connect_section(&connections, true),
        connections: NotHydrated(connections),
        is_own: can_manage,
    })
}

//! Drift findings for the admin pages: the report, and adopting or asking to remove a finding.
//! What the reconciler itself reads and writes is in `server/src/reconcile/store.rs`.

use super::{DriftReport, FindingKind, FindingView, RunView};
use crate::audit::ssr::append;
use crate::domain::EnvironmentName;
use crate::domain::UserIdentity;
use crate::error::AppError;
use crate::requests::lifecycle::ensure_user;
use crate::store::{StoreError, failed_while};
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

pub async fn report(db: &PgPool) -> Result<DriftReport, StoreError> {
    let findings = sqlx::query_as!(
        FindingView,
        r#"select id, environment as "environment: EnvironmentName", kind as "kind: FindingKind", description,
                  first_seen_at as "first_seen_at: DateTime<Utc>",
                  last_seen_at as "last_seen_at: DateTime<Utc>",
                  removal_requested_at is not null as "removal_requested!"
             from drift_finding where resolved_at is null
            order by environment, kind, resource_key
            limit 1000"#
    )
    .fetch_all(db)
    .await
    .map_err(failed_while("loading drift findings"))?;
    let runs = sqlx::query_as!(
        RunView,
        r#"select distinct on (environment) environment as "environment: EnvironmentName",
                  finished_at as "finished_at: DateTime<Utc>", acls_seen, topics_seen,
                  restored, unknown, removed, elapsed_ms, error
             from reconcile_run order by environment, id desc"#
    )
    .fetch_all(db)
    .await
    .map_err(failed_while("loading reconciler runs"))?;
    Ok(DriftReport { findings, runs })
}

pub async fn request_check(db: &PgPool, user: &UserIdentity) -> Result<(), StoreError> {
    sqlx::query!("notify reconcile")
        .execute(db)
        .await
        .map_err(failed_while("asking for a drift check"))?;
    tracing::info!(actor = user.subject, "drift check requested");
    Ok(())
}

/// Adopts one finding (`id`) or every open finding of an environment. Returns how many.
pub async fn adopt(
    db: &PgPool,
    user: &UserIdentity,
    id: Option<Uuid>,
    environment: Option<&EnvironmentName>,
) -> Result<u64, StoreError> {
    let mut tx = db
        .begin()
        .await
        .map_err(failed_while("starting a transaction"))?;
    ensure_user(&mut tx, user)
        .await
        .map_err(failed_while("recording the admin"))?;
    let adopted = sqlx::query!(
        "update drift_finding
            set resolved_at = now(), resolution = 'adopted', resolved_by = $3
          where resolved_at is null and removal_requested_at is null
            and (id = $1 or environment = $2)
         returning id, environment, resource_key, resource",
        id,
        environment as Option<&EnvironmentName>,
        &user.subject,
    )
    .fetch_all(&mut *tx)
    .await
    .map_err(failed_while("adopting findings"))?;
    if id.is_some() && adopted.is_empty() {
        return Err(StoreError::from(AppError::Conflict(
            "This finding is no longer open; reload the page.".into(),
        )));
    }
    for finding in &adopted {
        sqlx::query!(
            "insert into adopted_resource (environment, resource_key, resource, adopted_by)
             values ($1, $2, $3, $4) on conflict do nothing",
            finding.environment,
            finding.resource_key,
            finding.resource,
            &user.subject,
        )
        .execute(&mut *tx)
        .await
        .map_err(failed_while("recording an adopted resource"))?;
        append(
            &mut tx,
            &user.subject,
            "drift.adopted",
            "drift_finding",
            &finding.id.to_string(),
            None,
            Some(json!({ "environment": finding.environment, "resource": finding.resource_key })),
        )
        .await
        .map_err(failed_while("auditing an adoption"))?;
    }
    tx.commit()
        .await
        .map_err(failed_while("committing adoptions"))?;
    Ok(adopted.len() as u64)
}

pub async fn request_removal(db: &PgPool, user: &UserIdentity, id: Uuid) -> Result<(), StoreError> {
    let mut tx = db
        .begin()
        .await
        .map_err(failed_while("starting a transaction"))?;
    ensure_user(&mut tx, user)
        .await
        .map_err(failed_while("recording the admin"))?;
    let row = sqlx::query!(
        "update drift_finding set removal_requested_at = now(), removal_requested_by = $2
          where id = $1 and resolved_at is null and removal_requested_at is null
         returning environment, resource_key",
        id,
        &user.subject,
    )
    .fetch_optional(&mut *tx)
    .await
    .map_err(failed_while("asking for a removal"))?;
    let Some(requested) = row else {
        return Err(StoreError::from(AppError::Conflict(
            "This finding is no longer open; reload the page.".into(),
        )));
    };
    append(
        &mut tx,
        &user.subject,
        "drift.removal_requested",
        "drift_finding",
        &id.to_string(),
        None,
        Some(json!({ "environment": requested.environment, "resource": requested.resource_key })),
    )
    .await
    .map_err(failed_while("auditing a removal request"))?;
    tx.commit()
        .await
        .map_err(failed_while("committing a removal request"))?;
    Ok(())
}

//! Drift findings and reconciler runs in Postgres.

use super::{DriftReport, FindingKind, FindingView, RunView};
use crate::audit::ssr::append;
use crate::domain::UserIdentity;
use crate::error::AppError;
use crate::requests::store::{ensure_user, internal};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::PgPool;
use std::collections::HashSet;
use uuid::Uuid;

/// Something on a cluster the portal did not create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: FindingKind,
    pub key: String,
    pub resource: Value,
    pub description: String,
}

/// What one reconciler pass saw and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunStats {
    pub acls_seen: usize,
    pub topics_seen: usize,
    pub restored: Vec<String>,
    pub removed: usize,
    pub elapsed_ms: u64,
}

pub async fn report(db: &PgPool) -> Result<DriftReport, AppError> {
    let findings = sqlx::query_as!(
        FindingView,
        r#"select id, environment, kind as "kind: FindingKind", description,
                  first_seen_at as "first_seen_at: DateTime<Utc>",
                  last_seen_at as "last_seen_at: DateTime<Utc>",
                  removal_requested_at is not null as "removal_requested!"
             from drift_finding where resolved_at is null
            order by environment, kind, resource_key
            limit 1000"#
    )
    .fetch_all(db)
    .await
    .map_err(internal("loading drift findings"))?;
    let runs = sqlx::query_as!(
        RunView,
        r#"select distinct on (environment) environment,
                  finished_at as "finished_at: DateTime<Utc>", acls_seen, topics_seen,
                  restored, unknown, removed, elapsed_ms, error
             from reconcile_run order by environment, id desc"#
    )
    .fetch_all(db)
    .await
    .map_err(internal("loading reconciler runs"))?;
    Ok(DriftReport { findings, runs })
}

pub async fn request_check(db: &PgPool, user: &UserIdentity) -> Result<(), AppError> {
    sqlx::query!("notify reconcile")
        .execute(db)
        .await
        .map_err(internal("asking for a drift check"))?;
    tracing::info!(actor = user.subject, "drift check requested");
    Ok(())
}

/// Adopts one finding (`id`) or every open finding of an environment. Returns how many.
pub async fn adopt(
    db: &PgPool,
    user: &UserIdentity,
    id: Option<Uuid>,
    environment: Option<&str>,
) -> Result<u64, AppError> {
    let mut tx = db
        .begin()
        .await
        .map_err(internal("starting a transaction"))?;
    ensure_user(&mut tx, user)
        .await
        .map_err(internal("recording the admin"))?;
    let adopted = sqlx::query!(
        "update drift_finding
            set resolved_at = now(), resolution = 'adopted', resolved_by = $3
          where resolved_at is null and removal_requested_at is null
            and (id = $1 or environment = $2)
         returning id, environment, resource_key, resource",
        id,
        environment,
        &user.subject,
    )
    .fetch_all(&mut *tx)
    .await
    .map_err(internal("adopting findings"))?;
    if id.is_some() && adopted.is_empty() {
        return Err(AppError::Conflict(
            "This finding is no longer open; reload the page.".into(),
        ));
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
        .map_err(internal("recording an adopted resource"))?;
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
        .map_err(internal("auditing an adoption"))?;
    }
    tx.commit()
        .await
        .map_err(internal("committing adoptions"))?;
    Ok(adopted.len() as u64)
}

pub async fn request_removal(db: &PgPool, user: &UserIdentity, id: Uuid) -> Result<(), AppError> {
    let mut tx = db
        .begin()
        .await
        .map_err(internal("starting a transaction"))?;
    ensure_user(&mut tx, user)
        .await
        .map_err(internal("recording the admin"))?;
    let row = sqlx::query!(
        "update drift_finding set removal_requested_at = now(), removal_requested_by = $2
          where id = $1 and resolved_at is null and removal_requested_at is null
         returning environment, resource_key",
        id,
        &user.subject,
    )
    .fetch_optional(&mut *tx)
    .await
    .map_err(internal("asking for a removal"))?;
    let Some(requested) = row else {
        return Err(AppError::Conflict(
            "This finding is no longer open; reload the page.".into(),
        ));
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
    .map_err(internal("auditing a removal request"))?;
    tx.commit()
        .await
        .map_err(internal("committing a removal request"))?;
    Ok(())
}

/// Resource keys adopted in an environment.
pub async fn adopted_keys(db: &PgPool, environment: &str) -> Result<HashSet<String>, sqlx::Error> {
    let keys = sqlx::query_scalar!(
        "select resource_key from adopted_resource where environment = $1",
        environment
    )
    .fetch_all(db)
    .await?;
    Ok(keys.into_iter().collect())
}

/// Findings an admin asked to remove: (id, key, resource).
pub async fn removals_requested(
    db: &PgPool,
    environment: &str,
) -> Result<Vec<(Uuid, String, Value)>, sqlx::Error> {
    let rows = sqlx::query!(
        "select id, resource_key, resource from drift_finding
          where environment = $1 and resolved_at is null and removal_requested_at is not null",
        environment
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.id, r.resource_key, r.resource))
        .collect())
}

pub async fn mark_removed(db: &PgPool, id: Uuid) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    let row = sqlx::query!(
        r#"update drift_finding set resolved_at = now(), resolution = 'removed', resolved_by = removal_requested_by
          where id = $1 and resolved_at is null
         returning environment, resource_key, coalesce(removal_requested_by, 'portal') as "by!""#,
        id,
    )
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(removed) = row {
        append(
            &mut tx,
            crate::apply::store::PORTAL_ACTOR,
            "drift.removed",
            "drift_finding",
            &id.to_string(),
            None,
            Some(json!({
                "environment": removed.environment,
                "resource": removed.resource_key,
                "requested_by": removed.by,
            })),
        )
        .await?;
    }
    tx.commit().await
}

/// Records a pass: open findings are refreshed, new ones added, ones no longer seen closed.
pub async fn record_run(
    db: &PgPool,
    environment: &str,
    started_at: DateTime<Utc>,
    findings: &[Finding],
    stats: &RunStats,
    error: Option<&str>,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    if error.is_none() {
        let keys: Vec<&str> = findings.iter().map(|f| f.key.as_str()).collect();
        sqlx::query!(
            "update drift_finding set resolved_at = now(), resolution = 'gone'
              where environment = $1 and resolved_at is null and not (resource_key = any($2))",
            environment,
            &keys as &[&str],
        )
        .execute(&mut *tx)
        .await?;
        let kinds: Vec<FindingKind> = findings.iter().map(|f| f.kind).collect();
        let resources: Vec<Value> = findings.iter().map(|f| f.resource.clone()).collect();
        let descriptions: Vec<&str> = findings.iter().map(|f| f.description.as_str()).collect();
        sqlx::query!(
            "insert into drift_finding (id, environment, kind, resource_key, resource, description)
             select gen_random_uuid(), $1, k, key, r, d
               from unnest($2::drift_finding_kind[], $3::text[], $4::jsonb[], $5::text[]) as f(k, key, r, d)
             on conflict (environment, resource_key) where resolved_at is null
             do update set last_seen_at = now()",
            environment,
            &kinds as &[FindingKind],
            &keys as &[&str],
            &resources,
            &descriptions as &[&str],
        )
        .execute(&mut *tx)
        .await?;
        if !stats.restored.is_empty() {
            let shown: Vec<&String> = stats.restored.iter().take(100).collect();
            append(
                &mut tx,
                crate::apply::store::PORTAL_ACTOR,
                "drift.restored",
                "cluster",
                environment,
                None,
                Some(json!({ "count": stats.restored.len(), "resources": shown })),
            )
            .await?;
        }
    }
    let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    sqlx::query!(
        "insert into reconcile_run (environment, started_at, acls_seen, topics_seen, restored, unknown, removed, elapsed_ms, error)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        environment,
        started_at as _,
        count(stats.acls_seen),
        count(stats.topics_seen),
        count(stats.restored.len()),
        count(findings.len()),
        count(stats.removed),
        i32::try_from(stats.elapsed_ms).unwrap_or(i32::MAX),
        error,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

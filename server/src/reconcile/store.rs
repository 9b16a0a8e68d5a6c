//! What the reconciler reads and writes in Postgres: adopted resources, removals admins asked
//! for, and each pass's findings and figures.

use app::apply::store::PORTAL_ACTOR;
use app::audit::ssr::append;
use app::drift::FindingKind;
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
            PORTAL_ACTOR,
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
                PORTAL_ACTOR,
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

//! What the reconciler reads and writes in Postgres: adopted resources, removals admins asked
//! for, and each pass's findings and figures.

use app::apply::store::{lock_with_live_grants, revoke_grants};
use app::audit::ssr::append;
use app::domain::EnvironmentName;
use app::domain::RequestEvent;
use app::domain::{GrantId, RequestId};
use app::drift::FindingKind;
use app::notifications::ssr as notifications;
use app::requests::lifecycle::{PORTAL_ACTOR, set_state};
use app::store::{StoreError, failed_while};
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
pub async fn adopted_keys(
    db: &PgPool,
    environment: &EnvironmentName,
) -> Result<HashSet<String>, sqlx::Error> {
    let keys = sqlx::query_scalar!(
        "select resource_key from adopted_resource where environment = $1",
        environment as &EnvironmentName
    )
    .fetch_all(db)
    .await?;
    Ok(keys.into_iter().collect())
}

/// Findings an admin asked to remove: (id, key, resource).
pub async fn removals_requested(
    db: &PgPool,
    environment: &EnvironmentName,
) -> Result<Vec<(Uuid, String, Value)>, sqlx::Error> {
    let rows = sqlx::query!(
        "select id, resource_key, resource from drift_finding
          where environment = $1 and resolved_at is null and removal_requested_at is not null",
        environment as &EnvironmentName
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
    environment: &EnvironmentName,
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
            environment as &EnvironmentName,
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
            environment as &EnvironmentName,
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
                environment.as_str(),
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
        environment as &EnvironmentName,
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

/// Grants past their expiry date are revoked; owners hear a week ahead. Returns how many expired.
pub async fn expire_grants(db: &PgPool) -> Result<usize, StoreError> {
    let mut tx = db
        .begin()
        .await
        .map_err(failed_while("starting a transaction"))?;
    let soon = sqlx::query!(
        r#"update access_grant g set expiry_notified_at = now()
             from access_request r, topic t
            where r.id = g.request_id and t.id = g.topic_id
              and g.revoked_at is null and g.expiry_notified_at is null
              and g.expires_on <= current_date + 7
           returning r.id as "request: RequestId", r.requester, t.name as topic,
                     g.expires_on as "expires_on!: chrono::NaiveDate""#
    )
    .fetch_all(&mut *tx)
    .await
    .map_err(failed_while("finding grants about to expire"))?;
    for grant in &soon {
        let what = app::requests::lifecycle::describe(&mut tx, grant.request).await?;
        notifications::notify(
            &mut tx,
            &grant.requester,
            &format!(
                "{what} expires on {}. Ask again before then to keep it.",
                grant.expires_on
            ),
            grant.request,
        )
        .await
        .map_err(failed_while("notifying an owner of expiry"))?;
    }
    let due: Vec<(GrantId, EnvironmentName, RequestId)> = sqlx::query!(
        r#"select id as "id: GrantId", environment as "environment: EnvironmentName", request_id as "request_id: RequestId"
             from access_grant
            where revoked_at is null and expires_on < current_date
            for update skip locked"#
    )
    .fetch_all(&mut *tx)
    .await
    .map_err(failed_while("finding expired grants"))?
    .into_iter()
    .map(|g| (g.id, g.environment, g.request_id))
    .collect();
    for (grant, environment, request) in &due {
        revoke_grants(
            &mut tx,
            &[(*grant, environment.clone(), *request)],
            *request,
            PORTAL_ACTOR,
            RequestEvent::Expire,
        )
        .await?;
    }
    // The expired requests themselves (revoke_grants only moves other requests).
    let mut requests: Vec<RequestId> = due.iter().map(|(_, _, r)| *r).collect();
    requests.sort();
    requests.dedup();
    for request in requests {
        let (state, requester, live) = lock_with_live_grants(&mut tx, request).await?;
        if let (false, Some(next)) = (live, state.apply(RequestEvent::Expire)) {
            set_state(&mut tx, request, next, None).await?;
            append(
                &mut tx,
                PORTAL_ACTOR,
                "request.expired",
                "access_request",
                &request.to_string(),
                Some(json!({ "state": state.as_str() })),
                Some(json!({ "state": next.as_str() })),
            )
            .await
            .map_err(failed_while("auditing an expiry"))?;
            let what = app::requests::lifecycle::describe(&mut tx, request).await?;
            notifications::notify(
                &mut tx,
                &requester,
                &format!("{what} has expired."),
                request,
            )
            .await
            .map_err(failed_while("notifying an owner of expiry"))?;
        }
    }
    tx.commit()
        .await
        .map_err(failed_while("committing expiries"))?;
    Ok(due.len())
}

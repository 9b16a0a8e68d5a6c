//! Drift between the database and the clusters, for admins: what the reconciler found on a
//! cluster that the portal did not create, and the adopt and remove decisions on it.

use crate::domain::EnvironmentName;
#[cfg(feature = "ssr")]
use crate::domain::Role;
use crate::error::AppError;
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg(feature = "ssr")]
pub mod store;

/// What the reconciler found on a cluster that the portal did not create.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(
    feature = "ssr",
    derive(sqlx::Type),
    sqlx(type_name = "drift_finding_kind", rename_all = "snake_case")
)]
pub enum FindingKind {
    UnknownAcl,
    UnknownTopic,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingView {
    pub id: Uuid,
    pub environment: EnvironmentName,
    pub kind: FindingKind,
    pub description: String,
    #[serde(with = "crate::time::rfc3339")]
    pub first_seen_at: DateTime<Utc>,
    #[serde(with = "crate::time::rfc3339")]
    pub last_seen_at: DateTime<Utc>,
    /// An admin asked for removal; the reconciler has not done it yet.
    pub removal_requested: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunView {
    pub environment: EnvironmentName,
    #[serde(with = "crate::time::rfc3339")]
    pub finished_at: DateTime<Utc>,
    pub acls_seen: i32,
    pub topics_seen: i32,
    pub restored: i32,
    pub unknown: i32,
    pub removed: i32,
    pub elapsed_ms: i32,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftReport {
    pub findings: Vec<FindingView>,
    /// The latest pass per environment.
    pub runs: Vec<RunView>,
}

#[server(prefix = "/api", endpoint = "drift/report")]
pub async fn get_drift_report() -> Result<DriftReport, AppError> {
    crate::auth::ssr::require_any_role(&[Role::Admin]).await?;
    store::report(&crate::context::db()?)
        .await
        .map_err(AppError::from)
}

/// Asks every server's reconciler to compare the clusters with the database now.
#[server(prefix = "/api", endpoint = "drift/check")]
pub async fn check_drift_now() -> Result<(), AppError> {
    let user = crate::auth::ssr::require_any_role(&[Role::Admin]).await?;
    store::request_check(&crate::context::db()?, &user)
        .await
        .map_err(AppError::from)
}

/// Adopt: keep the resource and stop reporting it. Remove: delete it from the cluster.
#[server(prefix = "/api", endpoint = "drift/resolve")]
pub async fn resolve_finding(id: Uuid, action: String) -> Result<(), AppError> {
    let user = crate::auth::ssr::require_any_role(&[Role::Admin]).await?;
    let db = crate::context::db()?;
    match action.as_str() {
        "adopt" => store::adopt(&db, &user, Some(id), None).await.map(|_| ()),
        "remove" => store::request_removal(&db, &user, id).await,
        _ => Err(AppError::invalid("Action", "choose adopt or remove").into()),
    }
    .map_err(AppError::from)
}

/// Imports a cluster: adopts every open finding of one environment at once, so the portal can
/// start on a cluster that already has topics and ACLs.
#[server(prefix = "/api", endpoint = "drift/adopt-all")]
pub async fn adopt_all(environment: String) -> Result<u64, AppError> {
    let user = crate::auth::ssr::require_any_role(&[Role::Admin]).await?;
    let portal = crate::context::portal()?;
    let Some(environment) = portal.environment(&environment) else {
        return Err(crate::auth::ssr::with_status(AppError::invalid(
            "Environment",
            "choose a configured environment",
        )));
    };
    store::adopt(&portal.db, &user, None, Some(&environment))
        .await
        .map_err(AppError::from)
}

//! How approved requests reach Kafka, as people see it: the steps and their status, the
//! application's credentials (shown once), and the retry and revoke actions.

use crate::domain::EnvironmentName;
#[cfg(feature = "ssr")]
use crate::domain::Role;
use crate::domain::{ApplicationId, RequestId};
use crate::domain::{RequestState, StepKind, StepStatus};
use crate::error::AppError;
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
pub mod store;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepView {
    pub environment: EnvironmentName,
    pub kind: StepKind,
    pub status: StepStatus,
    pub attempts: i32,
    /// Safe text: what went wrong, in words.
    pub last_error: Option<String>,
    #[serde(with = "crate::time::rfc3339_option")]
    pub done_at: Option<DateTime<Utc>>,
}

/// Where an application's password for one environment stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CredentialState {
    /// No password on the cluster, and none on its way.
    Missing,
    /// A password is being set on the cluster.
    Setting,
    /// Set; the password waits to be shown once.
    ReadyToShow,
    /// Shown already; only a rotation gives a new one.
    Shown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialView {
    pub application_id: ApplicationId,
    pub environment: EnvironmentName,
    /// The SCRAM user name, without the `User:` prefix.
    pub principal: String,
    pub state: CredentialState,
    /// The caller belongs to the application's team.
    pub can_manage: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyProgress {
    pub state: RequestState,
    pub version: i32,
    pub steps: Vec<StepView>,
    pub credentials: Vec<CredentialView>,
    /// What the grants of this request allow, in words.
    pub grants_in_words: Vec<String>,
    pub can_retry: bool,
    pub can_revoke: bool,
    /// The caller belongs to the topic's owning team (not the requesting team): they may ask
    /// governance to take this access away.
    pub can_request_revocation: bool,
    /// For the application's team, once approved: how to connect, per environment, and that
    /// drawn as the page shows it.
    pub connections: crate::loaded::NotHydrated<Vec<crate::connect::ClientSettings>>,
    pub connect: crate::loaded::Markup,
}

/// A password, the one time it is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevealedCredential {
    pub environment: EnvironmentName,
    pub principal: String,
    pub password: String,
    pub mechanism: String,
}

#[server(prefix = "/api", endpoint = "apply/status")]
pub async fn apply_status(id: RequestId) -> Result<ApplyProgress, AppError> {
    let user = crate::auth::ssr::require_any_role(&Role::ALL).await?;
    store::status(&crate::context::db()?, &user, id)
        .await
        .map_err(AppError::from)
}

/// The environment a credential call names. A name the portal does not know cannot hold a
/// Kafka user of any application.
#[cfg(feature = "ssr")]
fn known_environment(
    portal: &crate::context::PortalContext,
    name: &str,
) -> Result<EnvironmentName, AppError> {
    portal.environment(name).ok_or_else(|| {
        crate::auth::ssr::with_status(AppError::Conflict(
            "This application has no Kafka user in that environment yet.".into(),
        ))
    })
}

/// Shows a freshly created password once; after this call it is gone from the portal.
#[server(prefix = "/api", endpoint = "apply/reveal-credential")]
pub async fn reveal_credential(
    application: ApplicationId,
    environment: String,
) -> Result<RevealedCredential, AppError> {
    let user = crate::auth::ssr::require_any_role(&[Role::Member]).await?;
    let portal = crate::context::portal()?;
    // Never cached: the answer holds a password.
    if let Some(options) = use_context::<leptos_axum::ResponseOptions>() {
        options.insert_header(
            http::header::CACHE_CONTROL,
            http::HeaderValue::from_static("no-store"),
        );
    }
    let environment = known_environment(&portal, &environment)?;
    store::reveal(&portal, &user, application, &environment)
        .await
        .map_err(AppError::from)
}

/// Sets a new password; the old one stops working as soon as the cluster has the new one.
#[server(prefix = "/api", endpoint = "apply/rotate-credential")]
pub async fn rotate_credential(
    application: ApplicationId,
    environment: String,
) -> Result<(), AppError> {
    let user = crate::auth::ssr::require_any_role(&[Role::Member]).await?;
    let portal = crate::context::portal()?;
    let environment = known_environment(&portal, &environment)?;
    store::rotate(&portal.db, &user, application, &environment)
        .await
        .map_err(AppError::from)
}

/// Runs the failed steps of a request again (admins).
#[server(prefix = "/api", endpoint = "apply/retry")]
pub async fn retry_request(id: RequestId, version: i32) -> Result<RequestState, AppError> {
    let user = crate::auth::ssr::require_any_role(&[Role::Admin]).await?;
    store::retry(&crate::context::db()?, &user, id, version)
        .await
        .map_err(AppError::from)
}

/// Takes the access of a request away: its ACLs are removed from every environment.
#[server(prefix = "/api", endpoint = "apply/revoke")]
pub async fn revoke_request(
    id: RequestId,
    version: i32,
    #[server(default)] reason: String,
) -> Result<RequestState, AppError> {
    let user = crate::auth::ssr::require_any_role(&[Role::Member, Role::Admin]).await?;
    store::revoke(&crate::context::db()?, &user, id, version, &reason)
        .await
        .map_err(AppError::from)
}

//! Shared state handed to every handler and server function.

use crate::auth::Oidc;
use crate::config::Settings;
use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use metrics_exporter_prometheus::PrometheusHandle;
use sqlx::PgPool;
use std::sync::Arc;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: PgPool,
    pub settings: Arc<Settings>,
    pub oidc: Arc<Oidc>,
    pub metrics: PrometheusHandle,
    pub readiness: Arc<crate::ops::ReadinessCache>,
    /// Seals refresh tokens kept in sessions.
    pub vault: app::credentials::CredentialVault,
    /// Refreshes under way and open event streams, per session.
    pub sessions: Arc<crate::auth::Sessions>,
}

//! What the server hands to server functions through Leptos context.

use crate::credentials::CredentialVault;
use crate::domain::{ApprovalPolicy, NamingPolicy, RoleMapping};
use crate::environments::EnvironmentSummary;
use crate::error::AppError;
use sqlx::PgPool;
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct PortalContext {
    pub db: PgPool,
    pub environments: Arc<[EnvironmentSummary]>,
    pub approvals: Arc<ApprovalPolicy>,
    pub naming: Arc<NamingPolicy>,
    pub roles: Arc<RoleMapping>,
    /// Where team webhooks may point.
    pub webhooks: Arc<crate::domain::webhook::WebhookPolicy>,
    /// The identity provider's origin: sign-out forms continue there (Content-Security-Policy).
    pub identity_provider_origin: Arc<str>,
    /// The address people use to reach the portal, for links in webhook messages.
    pub public_url: Arc<str>,
    /// Seals application passwords until their team has seen them once.
    pub vault: CredentialVault,
    /// What the health collector last saw on each cluster; pages read it instead of Kafka.
    pub health: crate::health::cache::HealthCache,
}

pub fn portal() -> Result<PortalContext, AppError> {
    leptos::prelude::use_context::<PortalContext>()
        .ok_or_else(|| AppError::internal("portal context missing", &"use_context"))
}

pub fn db() -> Result<PgPool, AppError> {
    Ok(portal()?.db)
}

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
    /// The address people use to reach the portal, for links in webhook messages.
    pub public_url: Arc<str>,
    /// Seals application passwords until their team has seen them once.
    pub vault: CredentialVault,
    /// What the health collector last saw on each cluster; pages read it instead of Kafka.
    pub health: crate::health::cache::HealthCache,
    /// The catalog's and the approvals queue's pages as last read, reused while what they show
    /// has not changed.
    pub listings: crate::page_cache::Listings,
}

impl PortalContext {
    /// The configured environments' names, in order.
    pub fn environment_names(&self) -> Vec<crate::domain::EnvironmentName> {
        self.environments.iter().map(|e| e.name.clone()).collect()
    }

    /// Which of `chosen` allow no PII or PHI, by display name.
    pub fn without_pii(&self, chosen: &[crate::domain::EnvironmentName]) -> Vec<String> {
        self.environments
            .iter()
            .filter(|e| !e.allows_pii && chosen.contains(&e.name))
            .map(|e| e.display_name.clone())
            .collect()
    }

    /// The configured environment of this name, if there is one.
    pub fn environment(&self, name: &str) -> Option<crate::domain::EnvironmentName> {
        self.environments
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.name.clone())
    }
}

/// The nonce of this response's Content-Security-Policy, minted by the server's header
/// middleware before the page is rendered (a request extension).
#[derive(Clone, Debug)]
pub struct CspNonce(pub Arc<str>);

/// Makes Leptos put the request's [`CspNonce`] on the inline scripts it renders, so the page's
/// scripts and the policy the middleware sends always agree.
pub fn provide_request_nonce() {
    let nonce = leptos::prelude::use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<CspNonce>().cloned());
    if let Some(CspNonce(nonce)) = nonce {
        leptos::prelude::provide_context(leptos::nonce::Nonce::from_value(nonce));
    }
}

pub fn portal() -> Result<PortalContext, AppError> {
    leptos::prelude::use_context::<PortalContext>()
        .ok_or_else(|| AppError::internal("portal context missing", &"use_context"))
}

pub fn db() -> Result<PgPool, AppError> {
    Ok(portal()?.db)
}

//! The Kafka environments (clusters) the portal manages, as people see them.

use crate::domain::EnvironmentName;
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentSummary {
    /// Short name used in requests and URLs, e.g. `sandbox`.
    pub name: EnvironmentName,
    pub display_name: String,
    /// Whether data with PII or PHI may be published here.
    pub allows_pii: bool,
    /// How applications reach the cluster.
    pub address: crate::connect::ClusterAddress,
}

/// The configured environments, in order. Any signed-in role may list them.
#[server(prefix = "/api", endpoint = "environments")]
pub async fn list_environments() -> Result<Vec<EnvironmentSummary>, AppError> {
    crate::auth::ssr::require_any_role(&crate::domain::Role::ALL).await?;
    Ok(crate::context::portal()?.environments.to_vec())
}

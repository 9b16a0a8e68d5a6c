//! What the server hands to server functions through Leptos context.

use crate::environments::EnvironmentSummary;
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct PortalContext {
    pub environments: Arc<[EnvironmentSummary]>,
}

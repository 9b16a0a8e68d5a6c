//! Who is calling. The session is written at sign-in by the server's OIDC callback; pages and
//! server functions read it through these helpers and check roles before doing anything else.

use crate::domain::UserIdentity;
use crate::error::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
pub mod ssr;

/// The signed-in user, or `None` for an anonymous visitor. Answers only about the caller.
#[server(prefix = "/api", endpoint = "session/user")]
pub async fn get_session_user() -> Result<Option<UserIdentity>, AppError> {
    ssr::current_user().await
}

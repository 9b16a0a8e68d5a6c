use crate::domain::{Role, UserIdentity};
use crate::error::AppError;
use tower_sessions::Session;

/// Session key holding the signed-in [`UserIdentity`].
pub const USER_KEY: &str = "user";
/// Session key holding the raw ID token, kept only as the hint for the provider's logout.
pub const ID_TOKEN_KEY: &str = "id_token";
/// Session key holding [`SessionTimes`].
pub const TIMES_KEY: &str = "times";
/// Session key holding the identity provider's refresh token, sealed with the server's key.
pub const REFRESH_KEY: &str = "oidc_refresh";

/// When the session signed in, and when its roles were last read from the identity provider
/// (seconds since the Unix epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SessionTimes {
    pub signed_in_at: i64,
    pub roles_checked_at: i64,
}

pub async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>()
        .await
        .map_err(|e| AppError::internal("session layer missing", &e))
}

pub async fn user_from_session(session: &Session) -> Result<Option<UserIdentity>, AppError> {
    session
        .get::<UserIdentity>(USER_KEY)
        .await
        .map_err(|e| AppError::internal("reading the session failed", &e))
}

pub async fn current_user() -> Result<Option<UserIdentity>, AppError> {
    user_from_session(&session().await?).await
}

/// Sets the HTTP status of the current server-function response to match the error.
pub fn with_status(error: AppError) -> AppError {
    set_server_fn_status(error.status());
    error
}

/// Sets the status of a server-function response. When a page is being rendered, server
/// functions run inside the page's request and share its response: their refusals (say, a count
/// that only signed-in people get) must not turn the page itself into a 401. A form posted
/// without JavaScript (it accepts HTML) keeps its redirect back to the form, which then shows
/// the error.
pub fn set_server_fn_status(status: http::StatusCode) {
    use leptos::prelude::use_context;
    let is_server_fn_call = use_context::<http::request::Parts>().is_some_and(|parts| {
        let accepts_html = parts
            .headers
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"));
        parts.uri.path().starts_with(crate::SERVER_FN_PREFIX) && !accepts_html
    });
    if is_server_fn_call && let Some(options) = use_context::<leptos_axum::ResponseOptions>() {
        options.set_status(status);
    }
}

/// The caller, or 401 with no data.
pub async fn require_user() -> Result<UserIdentity, AppError> {
    current_user()
        .await?
        .ok_or_else(|| with_status(AppError::Unauthenticated))
}

/// The caller if they hold one of `roles`, otherwise 401 or 403 with no data.
pub async fn require_any_role(roles: &[Role]) -> Result<UserIdentity, AppError> {
    let user = require_user().await?;
    if user.has_any_role(roles) {
        Ok(user)
    } else {
        Err(with_status(AppError::Forbidden))
    }
}

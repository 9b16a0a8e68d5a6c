use super::oidc::PendingSignIn;
use super::pages::auth_error_page;
use super::safe_next_path;
use crate::state::AppState;
use app::auth::ssr::{ID_TOKEN_KEY, SessionTimes, user_from_session};
use app::domain::requires_sign_in;
use axum::extract::{Query, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use http::StatusCode;
use serde::Deserialize;
use subtle::ConstantTimeEq;
use tower_sessions::Session;

const PENDING_KEY: &str = "oidc_pending";

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

/// Starts sign-in: remembers state, nonce and PKCE verifier in the session, then redirects to the
/// identity provider.
pub async fn login(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<LoginQuery>,
) -> Response {
    let next = safe_next_path(query.next.as_deref());
    let (url, pending) = match state.oidc.begin(next).await {
        Ok(started) => started,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "sign-in could not start");
            return auth_error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Sign-in is unavailable",
                "The identity provider did not answer. Please try again in a minute.",
            );
        }
    };
    if let Err(error) = session.insert(PENDING_KEY, &pending).await {
        tracing::error!(%error, "storing the pending sign-in failed");
        return internal_error();
    }
    Redirect::to(url.as_str()).into_response()
}

#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// Completes sign-in. The `state` must match the one this browser's session started with; the ID
/// token must verify against the provider's keys and carry this session's nonce.
pub async fn callback(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let pending: Option<PendingSignIn> = match session.remove(PENDING_KEY).await {
        Ok(pending) => pending,
        Err(error) => {
            tracing::error!(%error, "reading the pending sign-in failed");
            return internal_error();
        }
    };
    let Some(pending) = pending else {
        tracing::warn!("sign-in callback without a sign-in in progress");
        return refused("There is no sign-in in progress in this browser. Please start again.");
    };
    let state_matches = query
        .state
        .as_deref()
        .is_some_and(|s| bool::from(s.as_bytes().ct_eq(pending.state.as_bytes())));
    if !state_matches {
        tracing::warn!("sign-in callback with a state that does not match the session");
        return refused(
            "The sign-in response did not match the sign-in this browser started, so it was refused.",
        );
    }
    if let Some(error) = query.error.as_deref() {
        tracing::info!(
            provider_error = error,
            "identity provider refused the sign-in"
        );
        return auth_error_page(
            StatusCode::FORBIDDEN,
            "Sign-in was not completed",
            "The identity provider did not sign you in. Please try again.",
        );
    }
    let Some(code) = query.code else {
        return refused("The sign-in response had no authorization code.");
    };

    let verified = match state.oidc.finish(pending.clone(), code).await {
        Ok(verified) => verified,
        Err(error) => {
            tracing::warn!(error = format!("{error:#}"), "sign-in verification failed");
            return refused(
                "The identity provider's answer could not be verified, so you were not signed in.",
            );
        }
    };

    let user = super::session::identity(&state, &verified);
    if let Err(error) = super::session::record(&state, &verified).await {
        tracing::error!(
            error = format!("{error:#}"),
            "sign-in could not be recorded"
        );
        return internal_error();
    }

    // A new session id at the privilege change defeats session fixation.
    let now = chrono::Utc::now().timestamp();
    let refresh = verified
        .refresh_token
        .as_deref()
        .map(|token| super::SealedToken::seal(&state.vault, token));
    let stored = async {
        session.cycle_id().await?;
        super::session::store_identity(
            &session,
            &user,
            &verified.id_token,
            SessionTimes {
                signed_in_at: now,
                roles_checked_at: now,
            },
            refresh.as_ref(),
        )
        .await
    }
    .await;
    if let Err(error) = stored {
        tracing::error!(%error, "storing the signed-in session failed");
        return internal_error();
    }
    tracing::info!(
        user.subject = %user.subject,
        user.roles = ?user.roles,
        "signed in"
    );
    Redirect::to(&pending.next).into_response()
}

/// Ends the portal session and its live event streams, then asks the identity provider to end
/// its own.
pub async fn logout(State(state): State<AppState>, session: Session) -> Response {
    let id_token: Option<String> = session.get(ID_TOKEN_KEY).await.ok().flatten();
    if let Some(id) = session.id() {
        state.sessions.end_streams(id);
    }
    if let Err(error) = session.flush().await {
        tracing::error!(%error, "ending the session failed");
        return internal_error();
    }
    match state.oidc.logout_url(id_token).await {
        Some(url) => Redirect::to(url.as_str()).into_response(),
        None => Redirect::to("/").into_response(),
    }
}

/// Sends anonymous visitors of signed-in areas to sign-in, keeping where they wanted to go.
pub async fn require_sign_in(session: Session, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if requires_sign_in(path) {
        match user_from_session(&session).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                let wanted = request
                    .uri()
                    .path_and_query()
                    .map_or(path, |pq| pq.as_str());
                let target = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("next", wanted)
                    .finish();
                return Redirect::to(&format!("/auth/login?{target}")).into_response();
            }
            Err(_) => return internal_error(),
        }
    }
    next.run(request).await
}

fn refused(message: &str) -> Response {
    auth_error_page(StatusCode::BAD_REQUEST, "Sign-in refused", message)
}

pub(super) fn internal_error() -> Response {
    auth_error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The portal could not complete this step. The problem has been logged; please try again.",
    )
}

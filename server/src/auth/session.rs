//! Sessions follow the identity provider. A signed-in session
//! - ends `auth.session_absolute_hours` after sign-in however active it is (beside the idle
//!   expiry of the session layer);
//! - has its roles and teams read again from the provider with the person's refresh token
//!   (sealed in the session with the server's key) at least every `auth.roles_refresh_minutes`,
//!   so someone removed from a group loses that role within that time. A provider that refuses
//!   the refresh ends the session; one that cannot be reached is tried again on the next
//!   request, and after two intervals without an answer the session ends too;
//! - holds at most `auth.max_streams_per_session` live event streams, all of which end when it
//!   is signed out or ends here. A session ended on another server is noticed by its streams
//!   within [`STREAM_RECHECK`].

use super::oidc::{RefreshFailure, VerifiedSignIn};
use crate::state::AppState;
use app::auth::ssr::{ID_TOKEN_KEY, REFRESH_KEY, SessionTimes, TIMES_KEY, USER_KEY};
use app::credentials::CredentialVault;
use app::domain::UserIdentity;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tower_sessions::Session;
use tower_sessions::session::Id;

/// How often a live stream checks, in the session store, that its session still exists.
pub const STREAM_RECHECK: Duration = Duration::from_secs(60);

/// How often an active session is written back, which moves its idle expiry on: a session in
/// use ends `auth.session_idle_minutes` after its last use, give or take this.
pub const SEEN_EVERY: Duration = Duration::from_secs(60);

/// When the session was last written back because it was used (seconds since the epoch).
const SEEN_KEY: &str = "seen_at";

/// What binds a sealed refresh token to the session data it is kept in.
const REFRESH_AAD: &str = "portal-session/refresh-token";

/// A refresh token as kept in the session: sealed, so the session table holds no usable token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SealedToken {
    nonce: String,
    sealed: String,
}

impl SealedToken {
    pub fn seal(vault: &CredentialVault, token: &str) -> Self {
        let sealed = vault.seal(&SecretString::from(token.to_owned()), REFRESH_AAD);
        Self {
            nonce: STANDARD.encode(sealed.nonce),
            sealed: STANDARD.encode(sealed.sealed),
        }
    }

    fn open(&self, vault: &CredentialVault) -> Option<SecretString> {
        let nonce = STANDARD.decode(&self.nonce).ok()?;
        let sealed = STANDARD.decode(&self.sealed).ok()?;
        vault.open(&nonce, &sealed, REFRESH_AAD).ok()
    }
}

/// The latest refresh of one session, shared with requests of that session that were waiting
/// for it, so a refresh token is used once however many requests arrive together.
#[derive(Clone)]
struct Refreshed {
    /// The last check the refreshed session had seen: requests that saw the same one share
    /// this result.
    after_check: i64,
    checked_at: i64,
    user: UserIdentity,
    id_token: String,
    refresh: Option<SealedToken>,
}

type Gate = Arc<tokio::sync::Mutex<Option<Refreshed>>>;

struct StreamsOf {
    open: usize,
    end: watch::Sender<bool>,
}

/// Per-process bookkeeping of sessions: refreshes under way and open event streams.
#[derive(Default)]
pub struct Sessions {
    gates: Mutex<HashMap<Id, Gate>>,
    streams: Mutex<HashMap<Id, StreamsOf>>,
}

/// One open event stream of a session; closing it (dropping) frees its place.
pub struct StreamTicket {
    sessions: Arc<Sessions>,
    id: Id,
    /// Turns true when the session is signed out or ended.
    pub ended: watch::Receiver<bool>,
}

impl Drop for StreamTicket {
    fn drop(&mut self) {
        let mut streams = lock(&self.sessions.streams);
        if let Some(of) = streams.get_mut(&self.id) {
            of.open = of.open.saturating_sub(1);
            if of.open == 0 {
                streams.remove(&self.id);
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Sessions {
    /// A place for one more event stream of the session, unless it holds `max` already.
    pub fn open_stream(self: &Arc<Self>, id: Id, max: usize) -> Option<StreamTicket> {
        let mut streams = lock(&self.streams);
        let of = streams.entry(id).or_insert_with(|| StreamsOf {
            open: 0,
            end: watch::channel(false).0,
        });
        if of.open >= max {
            return None;
        }
        of.open += 1;
        Some(StreamTicket {
            sessions: self.clone(),
            id,
            ended: of.end.subscribe(),
        })
    }

    /// Ends every event stream of the session.
    pub fn end_streams(&self, id: Id) {
        if let Some(of) = lock(&self.streams).remove(&id) {
            let _ = of.end.send(true);
        }
    }

    fn gate(&self, id: Id) -> Gate {
        lock(&self.gates).entry(id).or_default().clone()
    }

    fn forget(&self, id: Id) {
        lock(&self.gates).remove(&id);
    }
}

/// Ends a session here: its streams, then its data. The person is anonymous from now on.
pub async fn end_session(sessions: &Sessions, session: &Session, why: &str) {
    if let Some(id) = session.id() {
        sessions.end_streams(id);
        sessions.forget(id);
    }
    if let Err(error) = session.flush().await {
        tracing::error!(%error, "ending a session failed");
    } else {
        tracing::info!(reason = why, "session ended");
    }
}

/// Requests that never read the session: the bundle, the public files and the operations
/// probes. They are not worth a session load. (Named exactly: page paths may hold dots, as topic
/// names do, and every page must go through the checks.)
fn reads_no_session(path: &str) -> bool {
    path.starts_with("/pkg/")
        || matches!(path, "/healthz" | "/readyz" | "/metrics" | "/favicon.svg")
}

/// Keeps the signed-in session within its lifetime and its roles current (see the module).
pub async fn keep_fresh(
    State(state): State<AppState>,
    session: Session,
    request: Request,
    next: Next,
) -> Response {
    if reads_no_session(request.uri().path()) {
        return next.run(request).await;
    }
    if let Err(error) = freshen(&state, &session).await {
        tracing::error!(%error, "checking the session failed");
        return super::handlers::internal_error();
    }
    next.run(request).await
}

async fn freshen(
    state: &AppState,
    session: &Session,
) -> Result<(), tower_sessions::session::Error> {
    let Some(user) = session.get::<UserIdentity>(USER_KEY).await? else {
        return Ok(());
    };
    let auth = &state.settings.auth;
    let now = chrono::Utc::now().timestamp();
    let Some(times) = session.get::<SessionTimes>(TIMES_KEY).await? else {
        end_session(&state.sessions, session, "the session has no sign-in time").await;
        return Ok(());
    };
    if now - times.signed_in_at >= auth.session_absolute_hours * 3600 {
        end_session(
            &state.sessions,
            session,
            "the session reached its absolute lifetime",
        )
        .await;
        return Ok(());
    }
    // Modifying the session has the session layer save it, with its idle expiry counted from now.
    let seen = session.get::<i64>(SEEN_KEY).await?.unwrap_or(0);
    if now - seen >= SEEN_EVERY.as_secs() as i64 {
        session.insert(SEEN_KEY, now).await?;
    }
    let interval = auth.roles_refresh_minutes * 60;
    if now - times.roles_checked_at < interval {
        return Ok(());
    }
    let Some(id) = session.id() else {
        return Ok(());
    };
    let gate = state.sessions.gate(id);
    let mut latest = gate.lock().await;
    if let Some(done) = latest
        .as_ref()
        .filter(|d| d.after_check == times.roles_checked_at)
    {
        // Another request of this session refreshed it while this one waited.
        return store(session, done, times.signed_in_at).await;
    }
    let token = session
        .get::<SealedToken>(REFRESH_KEY)
        .await?
        .and_then(|sealed| sealed.open(&state.vault));
    let Some(token) = token else {
        drop(latest);
        end_session(
            &state.sessions,
            session,
            "the provider gave no refresh token, so roles cannot be read again",
        )
        .await;
        return Ok(());
    };
    match state
        .oidc
        .refresh(token.expose_secret(), &user.subject)
        .await
    {
        Ok(verified) => {
            let done = refreshed(state, &verified, times.roles_checked_at, now).await;
            let changed = done.user.roles != user.roles || done.user.teams != user.teams;
            tracing::info!(
                user.subject = %user.subject,
                user.roles = ?done.user.roles,
                changed,
                "roles read again from the identity provider"
            );
            store(session, &done, times.signed_in_at).await?;
            *latest = Some(done);
            Ok(())
        }
        Err(RefreshFailure::Refused(why)) => {
            drop(latest);
            tracing::info!(user.subject = %user.subject, reason = why, "the identity provider refused to refresh a session");
            end_session(&state.sessions, session, "the identity provider ended it").await;
            Ok(())
        }
        Err(RefreshFailure::Unavailable(error)) => {
            tracing::warn!(
                error = format!("{error:#}"),
                "the identity provider could not refresh a session"
            );
            if now - times.roles_checked_at >= 2 * interval {
                drop(latest);
                end_session(
                    &state.sessions,
                    session,
                    "roles could not be read again for two intervals",
                )
                .await;
            }
            Ok(())
        }
    }
}

/// The refreshed identity, recorded for the notifications that find people by group.
async fn refreshed(
    state: &AppState,
    verified: &VerifiedSignIn,
    after_check: i64,
    now: i64,
) -> Refreshed {
    if let Err(error) = record(state, verified).await {
        tracing::warn!(
            error = format!("{error:#}"),
            "recording refreshed groups failed"
        );
    }
    Refreshed {
        after_check,
        checked_at: now,
        user: identity(state, verified),
        id_token: verified.id_token.clone(),
        refresh: verified
            .refresh_token
            .as_deref()
            .map(|t| SealedToken::seal(&state.vault, t)),
    }
}

/// Who a verified sign-in (or refresh) says the person is: roles and teams from their groups.
pub fn identity(state: &AppState, verified: &VerifiedSignIn) -> UserIdentity {
    let (roles, teams) = state.settings.auth.roles.resolve(&verified.groups);
    UserIdentity {
        subject: verified.subject.clone(),
        display_name: verified.display_name.clone(),
        roles,
        teams,
    }
}

/// Records the person and their groups as the provider gave them (notifications find people
/// by group).
pub async fn record(state: &AppState, verified: &VerifiedSignIn) -> anyhow::Result<()> {
    let groups: Vec<String> = verified
        .groups
        .iter()
        .map(|g| g.as_str().to_owned())
        .collect();
    crate::db::record_sign_in(
        &state.db,
        &verified.subject,
        &verified.display_name,
        verified.email.as_deref(),
        &groups,
    )
    .await
}

async fn store(
    session: &Session,
    done: &Refreshed,
    signed_in_at: i64,
) -> Result<(), tower_sessions::session::Error> {
    store_identity(
        session,
        &done.user,
        &done.id_token,
        SessionTimes {
            signed_in_at,
            roles_checked_at: done.checked_at,
        },
        done.refresh.as_ref(),
    )
    .await
}

/// What a signed-in session holds: who, the ID token (the provider's logout hint), when it
/// signed in and last read its roles, and the sealed refresh token when there is a new one.
pub async fn store_identity(
    session: &Session,
    user: &UserIdentity,
    id_token: &str,
    times: SessionTimes,
    refresh: Option<&SealedToken>,
) -> Result<(), tower_sessions::session::Error> {
    session.insert(USER_KEY, user).await?;
    session.insert(ID_TOKEN_KEY, id_token).await?;
    if let Some(refresh) = refresh {
        session.insert(REFRESH_KEY, refresh).await?;
    }
    session.insert(TIMES_KEY, times).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault() -> CredentialVault {
        CredentialVault::from_base64(&SecretString::from(STANDARD.encode([5u8; 32]))).expect("key")
    }

    #[test]
    fn a_sealed_refresh_token_opens_only_with_its_key() {
        let sealed = SealedToken::seal(&vault(), "refresh-token-value");
        let json = serde_json::to_string(&sealed).expect("json");
        assert!(!json.contains("refresh-token-value"));
        assert_eq!(
            sealed.open(&vault()).map(|t| t.expose_secret().to_owned()),
            Some("refresh-token-value".to_owned())
        );
        let other = CredentialVault::from_base64(&SecretString::from(STANDARD.encode([6u8; 32])))
            .expect("key");
        assert!(sealed.open(&other).is_none());
    }

    #[test]
    fn static_files_and_probes_skip_the_session() {
        for path in ["/pkg/portal.js", "/favicon.svg", "/healthz", "/metrics"] {
            assert!(reads_no_session(path), "{path}");
        }
        for path in [
            "/",
            "/catalog/orders.v1",
            "/api/requests/decide",
            "/health/events",
        ] {
            assert!(!reads_no_session(path), "{path}");
        }
    }

    #[test]
    fn streams_per_session_are_capped_and_ended_together() {
        let sessions = Arc::new(Sessions::default());
        let id = Id::default();
        let first = sessions.open_stream(id, 2).expect("first");
        let second = sessions.open_stream(id, 2).expect("second");
        assert!(sessions.open_stream(id, 2).is_none(), "over the cap");
        assert!(
            sessions.open_stream(Id::default(), 2).is_some(),
            "per session"
        );
        drop(second);
        let third = sessions.open_stream(id, 2).expect("a place was freed");
        sessions.end_streams(id);
        assert!(*first.ended.borrow() && *third.ended.borrow());
    }
}

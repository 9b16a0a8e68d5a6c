//! Sign-in with OpenID Connect (authorization code + PKCE), sign-out, and the gate that sends
//! anonymous visitors of signed-in areas to sign-in.

mod handlers;
mod oidc;
mod pages;
mod session;
mod session_cache;

pub use handlers::{callback, login, logout, require_sign_in};
pub use oidc::Oidc;
pub use session::{SEEN_EVERY, STREAM_RECHECK, SealedToken, Sessions, StreamTicket, keep_fresh};
pub use session_cache::{CacheLimits, CachedSessions, RecentSessions};

/// Writes a signed-in session for `user` straight into the session store and returns its
/// cookie (`portal_session=...`), as a completed sign-in leaves it: for tests and benchmarks that
/// exercise what comes after sign-in. Nothing reachable over HTTP calls it.
pub async fn write_signed_in_session(
    store: &tower_sessions_sqlx_store::PostgresStore,
    user: &app::domain::UserIdentity,
    lifetime: time::Duration,
) -> anyhow::Result<String> {
    use app::auth::ssr::{SessionTimes, TIMES_KEY, USER_KEY};
    use tower_sessions::SessionStore;
    use tower_sessions::session::{Id, Record};
    let now = chrono::Utc::now().timestamp();
    let data = [
        (USER_KEY.to_owned(), serde_json::to_value(user)?),
        (
            TIMES_KEY.to_owned(),
            serde_json::to_value(SessionTimes {
                signed_in_at: now,
                roles_checked_at: now,
            })?,
        ),
    ]
    .into_iter()
    .collect();
    let mut record = Record {
        id: Id::default(),
        data,
        expiry_date: time::OffsetDateTime::now_utc() + lifetime,
    };
    store
        .create(&mut record)
        .await
        .map_err(|e| anyhow::anyhow!("storing a session: {e}"))?;
    Ok(format!("portal_session={}", record.id))
}

/// Where to send the browser after sign-in: only paths on this site, never another host.
pub fn safe_next_path(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.starts_with("/auth/")
                && !path.chars().any(|c| c.is_control()) =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next_path;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(safe_next_path(Some("/catalog?x=1")), "/catalog?x=1");
        assert_eq!(safe_next_path(Some("//evil.example")), "/");
        assert_eq!(safe_next_path(Some("/\\evil.example")), "/");
        assert_eq!(safe_next_path(Some("https://evil.example")), "/");
        assert_eq!(safe_next_path(Some("/auth/logout")), "/");
        assert_eq!(safe_next_path(Some("/a\r\nSet-Cookie: x")), "/");
        assert_eq!(safe_next_path(None), "/");
    }
}

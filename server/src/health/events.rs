//! The live event stream for the pages (`/health/events`): a tick each time a collector
//! publishes a snapshot, so open pages fetch their figures again.

use app::domain::Area;
use app::health::cache::HealthCache;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use tokio::sync::watch;

/// `GET /health/events`: a tick each time the collector publishes, for pages to refetch. The
/// session and the Health area's roles are checked first; a session holds at most
/// `auth.max_streams_per_session` streams, and its streams end when it is signed out, when it
/// ends anywhere (checked in the session store every [`crate::auth::STREAM_RECHECK`]), and when
/// the server shuts down.
pub async fn events(
    state: crate::state::AppState,
    store: tower_sessions_sqlx_store::PostgresStore,
    session: tower_sessions::Session,
    cache: HealthCache,
) -> Response {
    match app::auth::ssr::user_from_session(&session).await {
        Ok(Some(user)) if Area::Health.is_open_to(&user) => {}
        Ok(Some(_)) => return StatusCode::FORBIDDEN.into_response(),
        Ok(None) => return StatusCode::UNAUTHORIZED.into_response(),
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
    let Some(id) = session.id() else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let Some(ticket) = state
        .sessions
        .open_stream(id, state.settings.auth.max_streams_per_session)
    else {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many live pages are open in this session; close some and reload.",
        )
            .into_response();
    };
    let mut recheck = tokio::time::interval(crate::auth::STREAM_RECHECK);
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    recheck.reset();
    let live = LiveStream {
        ticks: cache.subscribe(),
        ticket,
        recheck,
        store,
        id,
        lifetime_seconds: state.settings.auth.session_absolute_hours * 3600,
    };
    let stream = futures::stream::unfold(live, |mut live| async move {
        live.next_tick().await.map(|tick| {
            (
                Ok::<_, std::convert::Infallible>(
                    Event::default().event("tick").data(tick.to_string()),
                ),
                live,
            )
        })
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// One open event stream and what ends it.
struct LiveStream {
    ticks: watch::Receiver<u64>,
    ticket: crate::auth::StreamTicket,
    recheck: tokio::time::Interval,
    store: tower_sessions_sqlx_store::PostgresStore,
    id: tower_sessions::session::Id,
    lifetime_seconds: i64,
}

impl LiveStream {
    /// The next tick to send, or `None` when the stream ends.
    async fn next_tick(&mut self) -> Option<u64> {
        use tower_sessions::SessionStore;
        loop {
            tokio::select! {
                changed = self.ticks.changed() => {
                    changed.ok()?;
                    let tick = *self.ticks.borrow_and_update();
                    return (!HealthCache::is_closing(tick)).then_some(tick);
                }
                _ = self.ticket.ended.changed() => return None,
                _ = self.recheck.tick() => {
                    match self.store.load(&self.id).await {
                        Ok(Some(record)) if self.still_signed_in(&record) => {}
                        Ok(_) => return None,
                        // The store is unreachable: keep streaming; the next check decides.
                        Err(_) => {}
                    }
                }
            }
        }
    }

    fn still_signed_in(&self, record: &tower_sessions::session::Record) -> bool {
        use app::auth::ssr::{SessionTimes, TIMES_KEY, USER_KEY};
        let signed_in_at = record
            .data
            .get(TIMES_KEY)
            .and_then(|t| serde_json::from_value::<SessionTimes>(t.clone()).ok())
            .map(|t| t.signed_in_at);
        record.data.contains_key(USER_KEY)
            && signed_in_at
                .is_some_and(|at| chrono::Utc::now().timestamp() - at < self.lifetime_seconds)
    }
}

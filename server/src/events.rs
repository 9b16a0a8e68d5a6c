//! The live event streams that keep open pages current without reloading or polling (SSE):
//!
//! - `GET /health/events`: a `tick` each time a health collector publishes a snapshot, for the
//!   health pages to fetch their figures again.
//! - `GET /events/requests/{id}`: a `changed` event each time the request, one of its approval
//!   slots or one of its apply steps changes, for the request page (the requester's, the
//!   approvers', an admin's) to fetch it again. Postgres announces the changes
//!   (`request_changed`, see the migration `request_changes`), whichever server or worker made
//!   them; [`RequestFeedListener`] relays them to this server's [`RequestFeed`].
//!
//! Both check the session and the caller's right to what they follow before they stream. A
//! session holds at most `auth.max_streams_per_session` streams, and its streams end when it is
//! signed out, when it ends anywhere (checked in the session store every
//! [`crate::auth::STREAM_RECHECK`]), and when the server shuts down.

use crate::background::{Heard, Next, Task, listen_once};
use app::domain::{Area, RequestId};
use app::health::cache::HealthCache;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use std::time::Duration;
use tokio::sync::{broadcast, watch};

/// The Postgres channel the request triggers announce on.
pub const REQUEST_CHANNEL: &str = "request_changed";

/// Changed requests as this server hears of them: `Some(id)` for one request, `None` when
/// notices may have been missed (the LISTEN connection was lost), so every page fetches again.
#[derive(Clone, Debug)]
pub struct RequestFeed {
    changes: broadcast::Sender<Option<RequestId>>,
    closing: std::sync::Arc<watch::Sender<bool>>,
    /// Whether the relay is listening to Postgres now.
    listening: std::sync::Arc<watch::Sender<bool>>,
}

impl Default for RequestFeed {
    fn default() -> Self {
        Self {
            // A page that falls this far behind is told to fetch again (a lag counts as a change).
            changes: broadcast::channel(1024).0,
            closing: std::sync::Arc::new(watch::channel(false).0),
            listening: std::sync::Arc::new(watch::channel(false).0),
        }
    }
}

impl RequestFeed {
    fn follow(&self, id: RequestId) -> Source {
        Source::Request {
            id,
            changes: self.changes.subscribe(),
            closing: self.closing.subscribe(),
        }
    }

    /// Tells every stream following `id` (or, for `None`, every stream) that it changed.
    pub fn publish(&self, id: Option<RequestId>) {
        // No receiver is not an error: nobody has a request page open.
        let _ = self.changes.send(id);
    }

    /// Whether changes made from now on reach the streams: true while the relay listens.
    pub fn listening(&self) -> watch::Receiver<bool> {
        self.listening.subscribe()
    }

    /// Ends every request stream, now and opened later: the server is stopping.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }
}

/// Relays `request_changed` notices from Postgres to the [`RequestFeed`]. Each step waits up to a
/// second for a notice, so a stop is seen within a second. After the connection was lost (and
/// when it is first made) every page is told to fetch again, since notices sent in between are
/// gone.
pub struct RequestFeedListener {
    db: sqlx::PgPool,
    feed: RequestFeed,
    listener: Option<sqlx::postgres::PgListener>,
}

impl RequestFeedListener {
    pub fn new(db: sqlx::PgPool, feed: RequestFeed) -> Self {
        Self {
            db,
            feed,
            listener: None,
        }
    }
}

impl Task for RequestFeedListener {
    fn name(&self) -> String {
        format!("listen:{REQUEST_CHANNEL}")
    }

    async fn step(&mut self) -> anyhow::Result<Next> {
        let heard = listen_once(&self.db, &mut self.listener, REQUEST_CHANNEL).await;
        self.feed.listening.send_replace(self.listener.is_some());
        match heard? {
            // Notices sent while nobody listened are gone: every page fetches again.
            Heard::Connected => self.feed.publish(None),
            Heard::Notice(notice) => match notice.payload().parse::<RequestId>() {
                Ok(id) => self.feed.publish(Some(id)),
                Err(_) => tracing::warn!(
                    payload = notice.payload(),
                    "a request notice that names no request"
                ),
            },
            Heard::Nothing => {}
        }
        Ok(Next::Now)
    }

    fn after_error(&self) -> Duration {
        Duration::from_secs(2)
    }
}

/// The Postgres channel the listing triggers announce on, naming the listing.
pub const LISTING_CHANNEL: &str = "listing_changed";

/// Relays `listing_changed` notices from Postgres to the listings' page caches
/// ([`app::page_cache::Listings`]), and tells them whether it is listening: they reuse pages
/// only while it is, and forget them when the connection is made or lost, since notices sent in
/// between are gone.
pub struct ListingListener {
    db: sqlx::PgPool,
    listings: app::page_cache::Listings,
    listener: Option<sqlx::postgres::PgListener>,
}

impl ListingListener {
    pub fn new(db: sqlx::PgPool, listings: app::page_cache::Listings) -> Self {
        Self {
            db,
            listings,
            listener: None,
        }
    }
}

impl Task for ListingListener {
    fn name(&self) -> String {
        format!("listen:{LISTING_CHANNEL}")
    }

    async fn step(&mut self) -> anyhow::Result<Next> {
        match listen_once(&self.db, &mut self.listener, LISTING_CHANNEL).await {
            Ok(Heard::Connected) => self.listings.listening(true),
            Ok(Heard::Notice(notice)) => self.listings.changed(notice.payload()),
            Ok(Heard::Nothing) => {}
            Err(e) => {
                self.listings.listening(false);
                return Err(e);
            }
        }
        Ok(Next::Now)
    }

    fn after_error(&self) -> Duration {
        Duration::from_secs(2)
    }
}

/// Reads the catalog's topic index ([`app::catalog::index`]) again each time the catalog changes
/// or the relay connects, so pages find it current rather than read it themselves. A page that
/// asks while it is being read waits for this read.
pub struct TopicIndexer {
    db: sqlx::PgPool,
    listings: app::page_cache::Listings,
}

impl TopicIndexer {
    pub fn new(db: sqlx::PgPool, listings: app::page_cache::Listings) -> Self {
        Self { db, listings }
    }
}

impl Task for TopicIndexer {
    fn name(&self) -> String {
        "topic-index".into()
    }

    async fn step(&mut self) -> anyhow::Result<Next> {
        self.listings.topic_index(&self.db).await?;
        // Until the catalog changes again.
        Ok(Next::After(Duration::from_secs(3600)))
    }

    fn wake(&self) -> Option<std::sync::Arc<tokio::sync::Notify>> {
        Some(self.listings.catalog_moved())
    }
}

/// What one stream follows.
enum Source {
    Health(watch::Receiver<u64>),
    Request {
        id: RequestId,
        changes: broadcast::Receiver<Option<RequestId>>,
        closing: watch::Receiver<bool>,
    },
}

impl Source {
    /// The next event to send, or `None` when the source is gone (the server is stopping).
    async fn next(&mut self) -> Option<Event> {
        match self {
            Self::Health(ticks) => {
                ticks.changed().await.ok()?;
                let tick = *ticks.borrow_and_update();
                (!HealthCache::is_closing(tick))
                    .then(|| Event::default().event("tick").data(tick.to_string()))
            }
            Self::Request {
                id,
                changes,
                closing,
            } => loop {
                if *closing.borrow_and_update() {
                    return None;
                }
                let change = tokio::select! {
                    change = changes.recv() => change,
                    _ = closing.changed() => return None,
                };
                match change {
                    Ok(Some(changed)) if changed != *id => continue,
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {
                        return Some(Event::default().event("changed").data(id.to_string()));
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            },
        }
    }
}

/// `GET /health/events`: a tick each time a collector publishes, for the health pages. Open to
/// the Health area's roles.
pub async fn health_events(
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
    stream(state, store, session, Source::Health(cache.subscribe()))
}

/// `GET /events/requests/{id}`: a `changed` event each time the request changes, for anyone who
/// may see the request (otherwise 404, as the page itself answers).
pub async fn request_events(
    state: crate::state::AppState,
    store: tower_sessions_sqlx_store::PostgresStore,
    session: tower_sessions::Session,
    feed: RequestFeed,
    id: String,
) -> Response {
    let user = match app::auth::ssr::user_from_session(&session).await {
        Ok(Some(user)) if !user.roles.is_empty() => user,
        Ok(Some(_)) => return StatusCode::FORBIDDEN.into_response(),
        Ok(None) => return StatusCode::UNAUTHORIZED.into_response(),
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    let Ok(id) = id.parse::<RequestId>() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // Subscribed before the check, so a change made while checking is not missed.
    let source = feed.follow(id);
    match app::requests::store::is_visible_to(&state.db, &user, id).await {
        Ok(true) => {}
        Ok(false) => return StatusCode::NOT_FOUND.into_response(),
        Err(error) => {
            tracing::error!(request.id = %id, error = error.chain(), "checking a request stream failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    }
    stream(state, store, session, source)
}

/// Streams `source` for as long as the session may hold the stream.
fn stream(
    state: crate::state::AppState,
    store: tower_sessions_sqlx_store::PostgresStore,
    session: tower_sessions::Session,
    source: Source,
) -> Response {
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
        source,
        ticket,
        recheck,
        store,
        id,
        lifetime_seconds: state.settings.auth.session_absolute_hours * 3600,
    };
    let events = futures::stream::unfold(live, |mut live| async move {
        live.next_event()
            .await
            .map(|event| (Ok::<_, std::convert::Infallible>(event), live))
    });
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// One open event stream and what ends it.
struct LiveStream {
    source: Source,
    ticket: crate::auth::StreamTicket,
    recheck: tokio::time::Interval,
    store: tower_sessions_sqlx_store::PostgresStore,
    id: tower_sessions::session::Id,
    lifetime_seconds: i64,
}

impl LiveStream {
    /// The next event to send, or `None` when the stream ends.
    async fn next_event(&mut self) -> Option<Event> {
        use tower_sessions::SessionStore;
        loop {
            tokio::select! {
                event = self.source.next() => return event,
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

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;

    fn id(n: u128) -> RequestId {
        RequestId::from_uuid(uuid::Uuid::from_u128(n))
    }

    #[tokio::test]
    async fn a_request_stream_hears_only_of_its_own_request() {
        let feed = RequestFeed::default();
        let mut source = feed.follow(id(1));
        feed.publish(Some(id(2)));
        assert!(
            source.next().now_or_never().is_none(),
            "another request's change is passed over"
        );
        feed.publish(Some(id(1)));
        assert!(source.next().now_or_never().flatten().is_some());
    }

    #[tokio::test]
    async fn missed_notices_and_lag_count_as_changes() {
        let feed = RequestFeed::default();
        let mut source = feed.follow(id(1));
        feed.publish(None);
        assert!(source.next().now_or_never().flatten().is_some(), "resync");
        for _ in 0..2000 {
            feed.publish(Some(id(2)));
        }
        assert!(
            source.next().now_or_never().flatten().is_some(),
            "a stream that fell behind fetches again"
        );
    }

    #[tokio::test]
    async fn closing_the_feed_ends_streams_open_and_to_come() {
        let feed = RequestFeed::default();
        let mut open = feed.follow(id(1));
        feed.close();
        assert_eq!(open.next().now_or_never().map(|e| e.is_none()), Some(true));
        let mut later = feed.follow(id(1));
        assert_eq!(later.next().now_or_never().map(|e| e.is_none()), Some(true));
    }
}

//! Recently used sessions, kept in the process in front of the Postgres store, so that most
//! signed-in requests read no session from Postgres.
//!
//! Every write goes to Postgres and here (`tower_sessions::CachingSessionStore`); a read is
//! answered here while the entry is younger than its time to live, and from Postgres otherwise.
//! Sign-out and session ends on this server remove the entry at once. A session ended on
//! another server of the same deployment is still honoured here until its entry ages out: the
//! time to live bounds that (and live streams check Postgres itself, every
//! [`super::STREAM_RECHECK`]).

use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};
use tower_sessions_sqlx_store::PostgresStore;

/// The sessions the server reads: this cache in front of Postgres.
pub type CachedSessions = tower_sessions::CachingSessionStore<RecentSessions, PostgresStore>;

/// How many sessions are kept, and for how long an entry answers without Postgres.
#[derive(Debug, Clone, Copy)]
pub struct CacheLimits {
    pub capacity: usize,
    pub time_to_live: Duration,
}

impl Default for CacheLimits {
    fn default() -> Self {
        Self {
            capacity: 10_000,
            time_to_live: Duration::from_secs(30),
        }
    }
}

/// A bounded map of session records with the moment each was stored. When full, entries that
/// aged out go first, then the oldest.
#[derive(Debug, Clone)]
pub struct RecentSessions {
    limits: CacheLimits,
    entries: Arc<Mutex<HashMap<Id, (Record, Instant)>>>,
}

impl RecentSessions {
    pub fn new(limits: CacheLimits) -> Self {
        Self {
            limits,
            entries: Arc::default(),
        }
    }

    fn keep(&self, record: &Record) {
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.limits.capacity && !entries.contains_key(&record.id) {
            let ttl = self.limits.time_to_live;
            entries.retain(|_, (_, at)| now.duration_since(*at) < ttl);
            if entries.len() >= self.limits.capacity {
                let oldest = entries
                    .iter()
                    .min_by_key(|(_, (_, at))| *at)
                    .map(|(id, _)| *id);
                if let Some(oldest) = oldest {
                    entries.remove(&oldest);
                }
            }
        }
        entries.insert(record.id, (record.clone(), now));
    }

    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl SessionStore for RecentSessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // Postgres created it first (and chose the id); this only remembers it.
        self.keep(record);
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.keep(record);
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let fresh = entries.get(id).is_some_and(|(record, at)| {
            at.elapsed() < self.limits.time_to_live
                && record.expiry_date > time::OffsetDateTime::now_utc()
        });
        if !fresh {
            entries.remove(id);
            return Ok(None);
        }
        Ok(entries.get(id).map(|(record, _)| record.clone()))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(expires_in: time::Duration) -> Record {
        Record {
            id: Id::default(),
            data: HashMap::new(),
            expiry_date: time::OffsetDateTime::now_utc() + expires_in,
        }
    }

    fn cache(capacity: usize, time_to_live: Duration) -> RecentSessions {
        RecentSessions::new(CacheLimits {
            capacity,
            time_to_live,
        })
    }

    #[tokio::test]
    async fn a_kept_session_is_read_back_until_it_ages_out_or_expires() {
        let sessions = cache(10, Duration::from_secs(60));
        let live = record(time::Duration::hours(1));
        let expired = record(time::Duration::seconds(-1));
        sessions.save(&live).await.expect("save");
        sessions.save(&expired).await.expect("save");
        assert_eq!(
            sessions.load(&live.id).await.expect("load"),
            Some(live.clone())
        );
        assert_eq!(sessions.load(&expired.id).await.expect("load"), None);
        sessions.delete(&live.id).await.expect("delete");
        assert_eq!(sessions.load(&live.id).await.expect("load"), None);

        let short = cache(10, Duration::ZERO);
        short.save(&live).await.expect("save");
        assert_eq!(short.load(&live.id).await.expect("load"), None, "aged out");
        assert!(short.is_empty(), "an aged-out entry is dropped when read");
    }

    #[tokio::test]
    async fn the_cache_never_holds_more_than_its_capacity_and_drops_the_oldest() {
        let sessions = cache(3, Duration::from_secs(60));
        let records: Vec<Record> = (0..5).map(|_| record(time::Duration::hours(1))).collect();
        for r in &records {
            sessions.save(r).await.expect("save");
        }
        assert_eq!(sessions.len(), 3);
        for r in &records[..2] {
            assert_eq!(sessions.load(&r.id).await.expect("load"), None);
        }
        for r in &records[2..] {
            assert!(sessions.load(&r.id).await.expect("load").is_some());
        }
        // Saving a kept session again does not push another out.
        sessions.save(&records[2]).await.expect("save");
        assert_eq!(sessions.len(), 3);
    }
}

//! Catalog pages as last read, reused while the catalog has not changed since.
//!
//! Postgres announces every change to topics, their environments and teams on
//! `catalog_changed` (see the migration `catalog_changes`), whichever server or worker made it;
//! the server's relay calls [`CatalogCache::changed`] for each notice, and
//! [`CatalogCache::listening`] when it connects or loses its connection. A page is reused only
//! when it was read in the generation that is current now and while the relay listens, so a
//! server that cannot hear changes reads every page from the database.

use super::CatalogPage;
use super::store::ParsedFilter;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Pages kept at most (a page of 50 topics is about 15 KB).
pub const CAPACITY: usize = 512;

#[derive(Clone, Debug, Default)]
pub struct CatalogCache {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Moves on with every change heard, and when changes may have been missed.
    generation: AtomicU64,
    listening: AtomicBool,
    pages: Mutex<Pages>,
    /// Pages reused, since the start.
    hits: AtomicU64,
}

#[derive(Debug, Default)]
struct Pages {
    /// The generation every page held was read in.
    generation: u64,
    by_filter: HashMap<ParsedFilter, CatalogPage>,
}

/// Whether a page came from the cache, for the server's metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Read in the current generation and reused.
    Hit,
    /// Read from the database and kept.
    Miss,
    /// Read from the database and not kept: changes are not being heard.
    Bypass,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hit => "hit",
            Self::Miss => "miss",
            Self::Bypass => "bypass",
        }
    }
}

impl CatalogCache {
    /// Something in the catalog changed: no page read before now is reused.
    pub fn changed(&self) {
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Whether changes are being heard. Either way, pages read before are not reused: notices
    /// sent while nobody listened are gone.
    pub fn listening(&self, listening: bool) {
        self.inner.listening.store(listening, Ordering::Release);
        self.changed();
    }

    /// The page for `filter`: the one kept from this generation, or what `read` returns (kept
    /// for the next caller when changes are being heard).
    pub async fn page<E, F>(
        &self,
        filter: &ParsedFilter,
        read: F,
    ) -> Result<(CatalogPage, Outcome), E>
    where
        F: AsyncFnOnce() -> Result<CatalogPage, E>,
    {
        // The generation is taken before reading: a change made while the page is read moves
        // it on, and the page is kept as of the older generation, never to be reused.
        let generation = self.current();
        let Some(generation) = generation else {
            return Ok((read().await?, Outcome::Bypass));
        };
        if let Some(page) = self.kept(filter, generation) {
            self.inner.hits.fetch_add(1, Ordering::Relaxed);
            return Ok((page, Outcome::Hit));
        }
        let page = read().await?;
        self.keep(filter, generation, &page);
        Ok((page, Outcome::Miss))
    }

    fn current(&self) -> Option<u64> {
        // Acquire pairs with `listening`'s Release: a generation read after seeing `true` is at
        // least the one the relay's connection started from.
        self.inner
            .listening
            .load(Ordering::Acquire)
            .then(|| self.inner.generation.load(Ordering::Acquire))
    }

    fn kept(&self, filter: &ParsedFilter, generation: u64) -> Option<CatalogPage> {
        let pages = self.inner.pages.lock().unwrap_or_else(|e| e.into_inner());
        (pages.generation == generation)
            .then(|| pages.by_filter.get(filter).cloned())
            .flatten()
    }

    fn keep(&self, filter: &ParsedFilter, generation: u64, page: &CatalogPage) {
        let mut pages = self.inner.pages.lock().unwrap_or_else(|e| e.into_inner());
        if pages.generation < generation {
            pages.generation = generation;
            pages.by_filter.clear();
        }
        if pages.generation != generation {
            return;
        }
        if pages.by_filter.len() >= CAPACITY
            && let Some(evicted) = pages.by_filter.keys().next().cloned()
        {
            pages.by_filter.remove(&evicted);
        }
        pages.by_filter.insert(filter.clone(), page.clone());
    }

    /// Whether changes are being heard, and pages reused.
    pub fn is_listening(&self) -> bool {
        self.inner.listening.load(Ordering::Acquire)
    }

    /// How many pages were reused since the start.
    pub fn hits(&self) -> u64 {
        self.inner.hits.load(Ordering::Relaxed)
    }

    /// How many pages are kept now.
    pub fn len(&self) -> usize {
        self.inner
            .pages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .by_filter
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(first: &str) -> CatalogPage {
        CatalogPage {
            topics: vec![],
            next: Some(first.into()),
            previous: None,
            domains: vec![],
            teams: vec![],
        }
    }

    fn filter(q: &str) -> ParsedFilter {
        ParsedFilter {
            q: Some(q.into()),
            ..ParsedFilter::default()
        }
    }

    async fn read(cache: &CatalogCache, f: &ParsedFilter, from_db: &str) -> (String, Outcome) {
        let (page, outcome) = cache
            .page(f, async || Ok::<_, ()>(page(from_db)))
            .await
            .expect("reading cannot fail here");
        (page.next.expect("the page's marker"), outcome)
    }

    #[tokio::test]
    async fn nothing_is_reused_until_changes_are_heard() {
        let cache = CatalogCache::default();
        assert_eq!(
            read(&cache, &filter("a"), "db1").await,
            ("db1".into(), Outcome::Bypass)
        );
        assert_eq!(
            read(&cache, &filter("a"), "db2").await,
            ("db2".into(), Outcome::Bypass)
        );
        assert!(cache.is_empty());
        cache.listening(true);
        assert_eq!(
            read(&cache, &filter("a"), "db3").await,
            ("db3".into(), Outcome::Miss)
        );
        assert_eq!(
            read(&cache, &filter("a"), "db4").await,
            ("db3".into(), Outcome::Hit)
        );
        assert_eq!(
            read(&cache, &filter("b"), "db5").await,
            ("db5".into(), Outcome::Miss)
        );
    }

    #[tokio::test]
    async fn a_change_or_a_lost_connection_ends_reuse() {
        let cache = CatalogCache::default();
        cache.listening(true);
        read(&cache, &filter("a"), "old").await;
        cache.changed();
        assert_eq!(
            read(&cache, &filter("a"), "new").await,
            ("new".into(), Outcome::Miss)
        );
        assert_eq!(
            read(&cache, &filter("a"), "x").await,
            ("new".into(), Outcome::Hit)
        );
        cache.listening(false);
        assert_eq!(
            read(&cache, &filter("a"), "y").await,
            ("y".into(), Outcome::Bypass)
        );
        cache.listening(true);
        assert_eq!(
            read(&cache, &filter("a"), "z").await,
            ("z".into(), Outcome::Miss)
        );
    }

    #[tokio::test]
    async fn a_page_read_across_a_change_is_not_reused() {
        let cache = CatalogCache::default();
        cache.listening(true);
        let racing = cache.clone();
        let (_, outcome) = cache
            .page(&filter("a"), async || {
                // The catalog changes while this page is being read.
                racing.changed();
                Ok::<_, ()>(page("stale"))
            })
            .await
            .expect("reading cannot fail here");
        assert_eq!(outcome, Outcome::Miss);
        assert_eq!(
            read(&cache, &filter("a"), "fresh").await,
            ("fresh".into(), Outcome::Miss)
        );
    }

    #[tokio::test]
    async fn at_most_capacity_pages_are_kept() {
        let cache = CatalogCache::default();
        cache.listening(true);
        for i in 0..CAPACITY + 10 {
            read(&cache, &filter(&i.to_string()), "p").await;
        }
        assert_eq!(cache.len(), CAPACITY);
    }
}

//! Listing pages as last read (the catalog's, the approvals queue's), reused while what they show
//! has not changed since.
//!
//! Postgres announces every change to what a listing shows on `listing_changed` (see the
//! migration `listing_changes`), whichever server or worker made it, naming the listing; the
//! server's relay (`server::events::ListingListener`) calls [`PageCache::changed`] for each notice,
//! and [`PageCache::listening`] when it connects or loses its connection. A page is reused only
//! when it was read in the generation that is current now and while the relay listens, so a
//! server that cannot hear changes reads every page from the database.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Pages kept at most per listing (a page of 50 topics is about 15 KB).
pub const CAPACITY: usize = 512;

/// The pages of one listing, by what was asked (`K`: the filter, the caller where the page
/// depends on who asks, the page's place in the list).
#[derive(Debug)]
pub struct PageCache<K, V> {
    inner: Arc<Inner<K, V>>,
}

impl<K, V> Clone for PageCache<K, V> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<K, V> Default for PageCache<K, V> {
    fn default() -> Self {
        Self {
            inner: Arc::new(Inner {
                generation: AtomicU64::new(0),
                listening: AtomicBool::new(false),
                pages: Mutex::new(Pages {
                    generation: 0,
                    by_key: HashMap::new(),
                }),
                hits: AtomicU64::new(0),
            }),
        }
    }
}

#[derive(Debug)]
struct Inner<K, V> {
    /// Moves on with every change heard, and when changes may have been missed.
    generation: AtomicU64,
    listening: AtomicBool,
    pages: Mutex<Pages<K, V>>,
    /// Pages reused, since the start.
    hits: AtomicU64,
}

#[derive(Debug)]
struct Pages<K, V> {
    /// The generation every page held was read in.
    generation: u64,
    by_key: HashMap<K, V>,
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

impl<K: Eq + Hash + Clone, V: Clone> PageCache<K, V> {
    /// Something the listing shows changed: no page read before now is reused.
    pub fn changed(&self) {
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Whether changes are being heard. Either way, pages read before are not reused: notices
    /// sent while nobody listened are gone.
    pub fn listening(&self, listening: bool) {
        self.inner.listening.store(listening, Ordering::Release);
        self.changed();
    }

    /// The page for `key`: the one kept from this generation, or what `read` returns (kept
    /// for the next caller when changes are being heard).
    pub async fn page<E, F>(&self, key: &K, read: F) -> Result<(V, Outcome), E>
    where
        F: AsyncFnOnce() -> Result<V, E>,
    {
        // The generation is taken before reading: a change made while the page is read moves
        // it on, and the page is kept as of the older generation, never to be reused.
        let generation = self.current();
        let Some(generation) = generation else {
            return Ok((read().await?, Outcome::Bypass));
        };
        if let Some(page) = self.kept(key, generation) {
            self.inner.hits.fetch_add(1, Ordering::Relaxed);
            return Ok((page, Outcome::Hit));
        }
        let page = read().await?;
        self.keep(key, generation, &page);
        Ok((page, Outcome::Miss))
    }

    /// The generation pages are read in now; none while changes are not heard.
    pub fn current(&self) -> Option<u64> {
        // Acquire pairs with `listening`'s Release: a generation read after seeing `true` is at
        // least the one the relay's connection started from.
        self.inner
            .listening
            .load(Ordering::Acquire)
            .then(|| self.inner.generation.load(Ordering::Acquire))
    }

    fn kept(&self, key: &K, generation: u64) -> Option<V> {
        let pages = self.inner.pages.lock().unwrap_or_else(|e| e.into_inner());
        (pages.generation == generation)
            .then(|| pages.by_key.get(key).cloned())
            .flatten()
    }

    fn keep(&self, key: &K, generation: u64, page: &V) {
        let mut pages = self.inner.pages.lock().unwrap_or_else(|e| e.into_inner());
        if pages.generation < generation {
            pages.generation = generation;
            pages.by_key.clear();
        }
        if pages.generation != generation {
            return;
        }
        if pages.by_key.len() >= CAPACITY
            && let Some(evicted) = pages.by_key.keys().next().cloned()
        {
            pages.by_key.remove(&evicted);
        }
        pages.by_key.insert(key.clone(), page.clone());
    }

    /// How many pages were reused since the start.
    pub fn hits(&self) -> u64 {
        self.inner.hits.load(Ordering::Relaxed)
    }

    /// How many pages are kept now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner
            .pages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .by_key
            .len()
    }
}

/// The listings whose pages are reused, as one server holds them, with the catalog's topic
/// index.
#[derive(Clone, Debug)]
pub struct Listings {
    pub catalog: crate::catalog::CatalogCache,
    pub queue: crate::requests::QueueCache,
    /// Every topic in memory, read again after each change to the catalog.
    topics: crate::catalog::index::IndexCell,
    /// Woken each time the catalog changes, for the server's indexer.
    catalog_moved: Arc<tokio::sync::Notify>,
    /// Whether the relay is listening now, for whoever waits until it does.
    relay: Arc<tokio::sync::watch::Sender<bool>>,
}

/// A listing whose pages are reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// The catalog's pages and its topic index: topics, their environments, teams.
    Catalog,
    /// The approvals queue: requests, their approval slots, the names a row shows.
    Queue,
}

impl Listing {
    pub const ALL: [Self; 2] = [Self::Catalog, Self::Queue];

    /// The listing a `listing_changed` notice names.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "catalog" => Some(Self::Catalog),
            "queue" => Some(Self::Queue),
            _ => None,
        }
    }
}

impl Default for Listings {
    fn default() -> Self {
        Self {
            catalog: Default::default(),
            queue: Default::default(),
            topics: Default::default(),
            catalog_moved: Default::default(),
            relay: Arc::new(tokio::sync::watch::channel(false).0),
        }
    }
}

impl Listings {
    /// A `listing_changed` notice: the listing it names changed (every listing, for a name
    /// this server does not know).
    pub fn changed(&self, name: &str) {
        match Listing::parse(name) {
            Some(listing) => self.changed_one(listing),
            None => Listing::ALL.into_iter().for_each(|l| self.changed_one(l)),
        }
    }

    fn changed_one(&self, listing: Listing) {
        match listing {
            Listing::Catalog => {
                self.catalog.changed();
                self.catalog_moved.notify_one();
            }
            Listing::Queue => self.queue.changed(),
        }
    }

    /// Whether changes are being heard, for every listing.
    pub fn listening(&self, listening: bool) {
        self.catalog.listening(listening);
        self.queue.listening(listening);
        self.catalog_moved.notify_one();
        self.relay.send_replace(listening);
    }

    /// Whether the relay listens, now and as it changes.
    pub fn relay(&self) -> tokio::sync::watch::Receiver<bool> {
        self.relay.subscribe()
    }

    /// The topic index as of the catalog's current generation (read now if it is not held
    /// yet); none while changes are not heard, when pages are read with SQL instead.
    pub async fn topic_index(
        &self,
        db: &sqlx::PgPool,
    ) -> Result<Option<Arc<crate::catalog::index::TopicIndex>>, sqlx::Error> {
        match self.catalog.current() {
            Some(generation) => Ok(Some(self.topics.at(generation, db).await?)),
            None => Ok(None),
        }
    }

    /// Notified each time the catalog changes or the relay connects or disconnects: when the
    /// server's indexer reads the topic index again, before pages ask for it.
    pub fn catalog_moved(&self) -> Arc<tokio::sync::Notify> {
        Arc::clone(&self.catalog_moved)
    }
}

/// This server has just committed a change `listings` may show (a request submitted, decided,
/// withdrawn or sent again): its own pages are read again at once rather than when Postgres's
/// notice arrives a moment later, so the next page this server answers, to whoever made the
/// change or anyone else, shows it. Outside a request (a worker) there is nothing to do here:
/// the notice tells every server.
pub fn changed_here(listings: &[Listing]) {
    if let Some(portal) = leptos::prelude::use_context::<crate::context::PortalContext>() {
        for listing in listings {
            portal.listings.changed_one(*listing);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Cache = PageCache<String, String>;

    async fn read(cache: &Cache, key: &str, from_db: &str) -> (String, Outcome) {
        cache
            .page(&key.to_owned(), async || Ok::<_, ()>(from_db.to_owned()))
            .await
            .expect("reading cannot fail here")
    }

    #[tokio::test]
    async fn nothing_is_reused_until_changes_are_heard() {
        let cache = Cache::default();
        assert_eq!(
            read(&cache, "a", "db1").await,
            ("db1".into(), Outcome::Bypass)
        );
        assert_eq!(
            read(&cache, "a", "db2").await,
            ("db2".into(), Outcome::Bypass)
        );
        assert_eq!(cache.len(), 0);
        cache.listening(true);
        assert_eq!(
            read(&cache, "a", "db3").await,
            ("db3".into(), Outcome::Miss)
        );
        assert_eq!(read(&cache, "a", "db4").await, ("db3".into(), Outcome::Hit));
        assert_eq!(
            read(&cache, "b", "db5").await,
            ("db5".into(), Outcome::Miss)
        );
        assert_eq!(cache.hits(), 1);
    }

    #[tokio::test]
    async fn a_change_or_a_lost_connection_ends_reuse() {
        let cache = Cache::default();
        cache.listening(true);
        read(&cache, "a", "old").await;
        cache.changed();
        assert_eq!(
            read(&cache, "a", "new").await,
            ("new".into(), Outcome::Miss)
        );
        assert_eq!(read(&cache, "a", "x").await, ("new".into(), Outcome::Hit));
        cache.listening(false);
        assert_eq!(read(&cache, "a", "y").await, ("y".into(), Outcome::Bypass));
        cache.listening(true);
        assert_eq!(read(&cache, "a", "z").await, ("z".into(), Outcome::Miss));
    }

    #[tokio::test]
    async fn a_page_read_across_a_change_is_not_reused() {
        let cache = Cache::default();
        cache.listening(true);
        let racing = cache.clone();
        let (_, outcome) = cache
            .page(&"a".to_owned(), async || {
                // What the listing shows changes while this page is being read.
                racing.changed();
                Ok::<_, ()>("stale".to_owned())
            })
            .await
            .expect("reading cannot fail here");
        assert_eq!(outcome, Outcome::Miss);
        assert_eq!(
            read(&cache, "a", "fresh").await,
            ("fresh".into(), Outcome::Miss)
        );
    }

    #[tokio::test]
    async fn at_most_capacity_pages_are_kept() {
        let cache = Cache::default();
        cache.listening(true);
        for i in 0..CAPACITY + 10 {
            read(&cache, &i.to_string(), "p").await;
        }
        assert_eq!(cache.len(), CAPACITY);
    }
}

//! The collector's in-memory cache: the latest snapshot per environment (an `Arc`, swapped whole
//! each cycle) and a ring of recent points per topic and group for the short chart ranges.
//! Readers take the lock only long enough to clone an `Arc` or copy one ring.

use super::{ChartView, ClusterHealthView, EnvSnapshot};
use crate::domain::EnvironmentName;
use chrono::{DateTime, TimeZone, Utc};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::watch;

const CLOSING: u64 = u64::MAX;

/// One chart point: seconds since the Unix epoch and a value, 8 bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Point {
    t: u32,
    v: f32,
}

#[derive(Default)]
struct EnvHealth {
    snapshot: Option<Arc<EnvSnapshot>>,
    topic_rates: HashMap<String, VecDeque<Point>>,
    group_lags: HashMap<String, VecDeque<Point>>,
}

struct Inner {
    envs: RwLock<HashMap<EnvironmentName, EnvHealth>>,
    capacity: usize,
    ticks: watch::Sender<u64>,
    charts: TickMemo<ChartView>,
    clusters: TickMemo<ClusterHealthView>,
}

/// Values derived from one tick's figures (a drawn chart, a cluster overview), kept until the
/// next tick: every viewer of the same page between two ticks gets the same answer, so it is
/// computed once per tick, not once per request.
struct TickMemo<V> {
    entries: Mutex<HashMap<String, (u64, V)>>,
}

/// Entries kept before the memo starts over (each is one page's chart or overview).
const MEMO_ENTRIES: usize = 2000;

impl<V: Clone> TickMemo<V> {
    fn new() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, key: &str, tick: u64) -> Option<V> {
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        entries
            .get(key)
            .filter(|(at, _)| *at == tick)
            .map(|(_, v)| v.clone())
    }

    fn put(&self, key: String, tick: u64, value: V) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= MEMO_ENTRIES {
            entries.retain(|_, (at, _)| *at == tick);
            if entries.len() >= MEMO_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, (tick, value));
    }
}

/// Shared between the collector (writes) and server functions and the event stream (read).
#[derive(Clone)]
pub struct HealthCache {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for HealthCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthCache")
            .field("capacity", &self.inner.capacity)
            .finish_non_exhaustive()
    }
}

fn to_point(at: DateTime<Utc>, value: f64) -> Point {
    Point {
        t: u32::try_from(at.timestamp()).unwrap_or(0),
        v: value as f32,
    }
}

fn from_point(p: &Point) -> Option<(DateTime<Utc>, f64)> {
    Utc.timestamp_opt(i64::from(p.t), 0)
        .single()
        .map(|t| (t, f64::from(p.v)))
}

fn push(ring: &mut VecDeque<Point>, point: Point, capacity: usize) {
    while ring.len() >= capacity {
        ring.pop_front();
    }
    ring.push_back(point);
}

impl HealthCache {
    /// Keeps `capacity` recent points per topic and group (an hour at 5 s is 720).
    pub fn new(capacity: usize) -> Self {
        let (ticks, _) = watch::channel(0);
        Self {
            inner: Arc::new(Inner {
                envs: RwLock::new(HashMap::new()),
                capacity: capacity.max(2),
                ticks,
                charts: TickMemo::new(),
                clusters: TickMemo::new(),
            }),
        }
    }

    /// Publishes a cycle's snapshot: records its points, replaces the previous snapshot, and
    /// wakes everyone waiting for the next tick. Topics and groups that are gone lose their rings.
    pub fn publish(&self, snapshot: EnvSnapshot) {
        let capacity = self.inner.capacity;
        let at = snapshot.collected_at;
        {
            let mut envs = self
                .inner
                .envs
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let env = envs.entry(snapshot.environment.clone()).or_default();
            if snapshot.error.is_none() {
                env.topic_rates
                    .retain(|name, _| snapshot.topics.contains_key(name));
                env.group_lags
                    .retain(|name, _| snapshot.groups.contains_key(name));
                for (name, topic) in &snapshot.topics {
                    let ring = env.topic_rates.entry(name.clone()).or_default();
                    push(ring, to_point(at, topic.rate), capacity);
                }
                for (name, group) in &snapshot.groups {
                    let ring = env.group_lags.entry(name.clone()).or_default();
                    push(ring, to_point(at, group.lag as f64), capacity);
                }
            }
            env.snapshot = Some(Arc::new(snapshot));
        }
        self.inner.ticks.send_modify(|n| {
            if *n != CLOSING {
                *n = (*n + 1) % CLOSING;
            }
        });
    }

    /// The latest snapshot of an environment, if one was collected.
    pub fn snapshot(&self, environment: &EnvironmentName) -> Option<Arc<EnvSnapshot>> {
        self.inner
            .envs
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(environment)
            .and_then(|e| e.snapshot.clone())
    }

    fn history(
        &self,
        environment: &EnvironmentName,
        pick: impl Fn(&EnvHealth) -> Option<&VecDeque<Point>>,
        since: DateTime<Utc>,
    ) -> Vec<(DateTime<Utc>, f64)> {
        let since = u32::try_from(since.timestamp()).unwrap_or(0);
        let envs = self
            .inner
            .envs
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        envs.get(environment)
            .and_then(pick)
            .map(|ring| {
                ring.iter()
                    .filter(|p| p.t >= since)
                    .filter_map(from_point)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Messages per second of a topic since `since`, oldest first.
    pub fn topic_history(
        &self,
        environment: &EnvironmentName,
        topic: &str,
        since: DateTime<Utc>,
    ) -> Vec<(DateTime<Utc>, f64)> {
        self.history(environment, |e| e.topic_rates.get(topic), since)
    }

    /// Lag in messages of a group since `since`, oldest first.
    pub fn group_history(
        &self,
        environment: &EnvironmentName,
        group: &str,
        since: DateTime<Utc>,
    ) -> Vec<(DateTime<Utc>, f64)> {
        self.history(environment, |e| e.group_lags.get(group), since)
    }

    /// A receiver that changes on every published snapshot (any environment).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.inner.ticks.subscribe()
    }

    /// The current tick: changes whenever any environment publishes.
    pub fn tick(&self) -> u64 {
        *self.inner.ticks.borrow()
    }

    /// A chart drawn for `key` during this tick, if any.
    pub fn chart(&self, key: &str) -> Option<ChartView> {
        self.inner.charts.get(key, self.tick())
    }

    /// Keeps a chart drawn during `tick` (read [`HealthCache::tick`] before drawing).
    pub fn keep_chart(&self, key: String, tick: u64, chart: ChartView) {
        self.inner.charts.put(key, tick, chart);
    }

    /// The overview of an environment computed during this tick, if any.
    pub fn cluster(&self, key: &str) -> Option<ClusterHealthView> {
        self.inner.clusters.get(key, self.tick())
    }

    pub fn keep_cluster(&self, key: String, tick: u64, view: ClusterHealthView) {
        self.inner.clusters.put(key, tick, view);
    }

    /// Tells every listener the server is stopping, so event streams end and shutdown is not held
    /// up by open connections.
    pub fn close(&self) {
        self.inner.ticks.send_replace(CLOSING);
    }

    /// Whether a tick value means "the server is stopping".
    pub fn is_closing(tick: u64) -> bool {
        tick == CLOSING
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> crate::domain::EnvironmentName {
        crate::domain::EnvironmentName::parse(name).expect("a valid environment name")
    }
    use crate::health::{ExpectedInterval, Health, IntervalSource, TopicSample};
    use std::collections::BTreeMap;

    fn snapshot(at: i64, rate: f64) -> EnvSnapshot {
        let mut topics = BTreeMap::new();
        topics.insert(
            "orders".to_owned(),
            TopicSample {
                name: "orders".into(),
                partitions: Vec::new(),
                rate,
                latest_total: 0,
                retained: 0,
                under_replicated: 0,
                offline: 0,
                last_message_at: None,
                expected: ExpectedInterval {
                    seconds: 60,
                    source: IntervalSource::Default,
                },
                owner: None,
                health: Health::ok("fine"),
            },
        );
        EnvSnapshot {
            environment: env("sandbox"),
            collected_at: Utc
                .timestamp_opt(1_800_000_000 + at, 0)
                .single()
                .expect("time"),
            cycle_ms: 1,
            brokers: 1,
            topics,
            groups: BTreeMap::new(),
            error: None,
        }
    }

    #[test]
    fn rings_keep_the_latest_points_and_ticks_advance() {
        let cache = HealthCache::new(3);
        let ticks = cache.subscribe();
        for i in 0..5 {
            cache.publish(snapshot(i * 5, i as f64));
        }
        assert_eq!(*ticks.borrow(), 5);
        let since = Utc.timestamp_opt(1_800_000_000, 0).single().expect("time");
        let points = cache.topic_history(&env("sandbox"), "orders", since);
        assert_eq!(
            points.iter().map(|p| p.1).collect::<Vec<_>>(),
            vec![2.0, 3.0, 4.0]
        );
        assert!(
            cache
                .topic_history(&env("prod"), "orders", since)
                .is_empty()
        );
        assert_eq!(
            cache
                .snapshot(&env("sandbox"))
                .map(|s| s.topics["orders"].rate),
            Some(4.0)
        );
    }

    #[test]
    fn an_overview_is_kept_for_its_tick_and_follows_the_next_snapshot() {
        let cache = HealthCache::new(3);
        let sandbox = env("sandbox");
        let none = crate::health::ssr::kept_cluster_view(&cache, &sandbox, "Sandbox");
        assert_eq!(none.error.as_deref(), Some("Not collected yet."));
        cache.publish(snapshot(0, 1.5));
        let first = crate::health::ssr::kept_cluster_view(&cache, &sandbox, "Sandbox");
        assert_eq!(first.topics, 1);
        assert_eq!(first.busiest.len(), 1);
        assert!(
            first.busiest_rows.contains("/health/sandbox/topics/orders"),
            "{}",
            &*first.busiest_rows
        );
        assert!(
            first.busiest_rows.contains("1.5 msg/s"),
            "{}",
            &*first.busiest_rows
        );
        // Kept: the same drawing is handed out again within the tick.
        let again = crate::health::ssr::kept_cluster_view(&cache, &sandbox, "Sandbox");
        assert!(std::sync::Arc::ptr_eq(
            &first.busiest_rows.html(),
            &again.busiest_rows.html()
        ));
        // The next snapshot is a new tick: a new overview.
        cache.publish(snapshot(5, 2.5));
        let next = crate::health::ssr::kept_cluster_view(&cache, &sandbox, "Sandbox");
        assert!(
            next.busiest_rows.contains("2.5 msg/s"),
            "{}",
            &*next.busiest_rows
        );
    }
}

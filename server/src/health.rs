//! The health collector: one per cluster, on an interval. Each cycle reads the cluster (`read`:
//! one metadata request; earliest and latest offsets of every partition in two batched ListOffsets
//! requests; the consumer groups; their committed offsets), derives rates, lag, time behind and
//! silence and evaluates health (`derive`, with `app::health::eval`), publishes the snapshot to
//! the in-memory [`HealthCache`] the pages read, writes one-minute rollups, and raises or closes
//! alerts (`alerts`; their SQL, and the rollups', in `store`). The pages hear of each published
//! snapshot over the live event stream (`crate::events`).

mod alerts;
mod derive;
mod read;
pub mod store;

pub use derive::alert_change;

use app::domain::EnvironmentName;

use derive::{Known, Readings};
use store::{CatalogTopic, GroupMinute, TopicMinute};

use crate::background::{Next, Task};
use crate::config::KafkaEnvironmentSettings;
use crate::kafka::admin::KafkaAdmin;
use anyhow::Context;
use app::domain::RoleMapping;
use app::health::EnvSnapshot;
use app::health::cache::HealthCache;
use app::health::eval::{self, Thresholds};
use chrono::{DateTime, DurationRound, Utc};
use rdkafka::consumer::BaseConsumer;
use serde::Deserialize;
use sqlx::PgPool;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Configuration section `[health]`.
#[derive(Debug, Clone, Deserialize)]
pub struct HealthSettings {
    pub enabled: bool,
    /// Time between collection cycles.
    pub interval_ms: u64,
    /// One-minute rollups older than this are deleted.
    pub retention_days: i64,
    /// Recent samples kept in memory for the 15-minute and 1-hour charts.
    pub history_minutes: u64,
    /// Messages per second are measured over this window.
    pub rate_window_seconds: u64,
    /// How often the catalog (owners, expected intervals, granted groups) is read again.
    pub catalog_refresh_seconds: u64,
    /// A topic needs this many busy minutes in its history before its interval is learned.
    pub learn_min_active_minutes: i64,
    /// Each Kafka request of a cycle.
    pub timeout_ms: u64,
    pub default_silence_seconds: i64,
    pub silence_critical_factor: f64,
    pub lag_warning_seconds: f64,
    pub lag_critical_seconds: f64,
    pub lag_growing_warning_seconds: i64,
    pub lag_growing_critical_seconds: i64,
}

impl HealthSettings {
    pub fn thresholds(&self) -> Thresholds {
        Thresholds {
            default_silence_seconds: self.default_silence_seconds,
            silence_critical_factor: self.silence_critical_factor,
            lag_warning_seconds: self.lag_warning_seconds,
            lag_critical_seconds: self.lag_critical_seconds,
            lag_growing_warning_seconds: self.lag_growing_warning_seconds,
            lag_growing_critical_seconds: self.lag_growing_critical_seconds,
        }
    }

    /// Points per topic and group kept in memory.
    pub fn history_points(&self) -> usize {
        let points = self.history_minutes * 60_000 / self.interval_ms.max(1);
        usize::try_from(points).unwrap_or(usize::MAX).max(2)
    }

    pub fn check(&self) -> anyhow::Result<()> {
        if self.interval_ms < 100 || self.retention_days < 1 || self.rate_window_seconds == 0 {
            anyhow::bail!(
                "health.interval_ms must be at least 100, retention_days and rate_window_seconds positive"
            );
        }
        if self.default_silence_seconds < 1 || self.silence_critical_factor < 1.0 {
            anyhow::bail!(
                "health.default_silence_seconds must be positive and silence_critical_factor at least 1"
            );
        }
        Ok(())
    }
}

/// What one cycle saw, for logs and the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CycleOutcome {
    pub topics: usize,
    pub partitions: usize,
    pub groups: usize,
    pub alerts: usize,
    pub elapsed: Duration,
}

#[derive(Default)]
struct State {
    /// What deriving needs from previous cycles: offset windows, totals, messages written since
    /// the previous cycle, when each topic last had a message, each group's lag.
    readings: Readings,
    minute: Option<DateTime<Utc>>,
    minute_topics: HashMap<String, TopicMinute>,
    minute_groups: HashMap<String, GroupMinute>,
    catalog: HashMap<String, CatalogTopic>,
    granted: Vec<(String, bool, String)>,
    catalog_read_at: Option<Instant>,
    learned: HashMap<String, i64>,
    learned_at: Option<Instant>,
    seeded: bool,
    cleaned_at: Option<Instant>,
}

/// Collects one cluster.
pub struct Collector {
    environment: EnvironmentName,
    db: PgPool,
    cache: HealthCache,
    settings: HealthSettings,
    thresholds: Thresholds,
    roles: Arc<RoleMapping>,
    public_url: String,
    consumer: Arc<BaseConsumer>,
    admin: KafkaAdmin,
    state: State,
    /// Silence is measured from here at the earliest: messages may have arrived while no
    /// collector was watching, so a restart must not make every quiet topic look silent.
    started_at: DateTime<Utc>,
}

impl Collector {
    #[expect(
        clippy::too_many_arguments,
        reason = "the collector's collaborators, each distinct"
    )]
    pub fn new(
        environment: &EnvironmentName,
        env: &KafkaEnvironmentSettings,
        db: PgPool,
        cache: HealthCache,
        settings: HealthSettings,
        roles: Arc<RoleMapping>,
        public_url: &str,
        admin_timeout: Duration,
    ) -> anyhow::Result<Self> {
        let mut config = crate::kafka::client_config(env);
        config
            .set("client.id", "event-bus-portal-health")
            .set("enable.auto.commit", "false");
        let consumer: BaseConsumer = config
            .create()
            .with_context(|| format!("creating the health client for {environment}"))?;
        let admin = KafkaAdmin::new(&crate::kafka::client_config(env), admin_timeout)
            .with_context(|| format!("creating the health admin client for {environment}"))?;
        Ok(Self {
            environment: environment.to_owned(),
            db,
            cache,
            thresholds: settings.thresholds(),
            settings,
            roles,
            public_url: public_url.trim_end_matches('/').to_owned(),
            consumer: Arc::new(consumer),
            admin,
            state: State::default(),
            started_at: Utc::now(),
        })
    }

    fn publish_failure(&self) {
        let mut snapshot = self
            .cache
            .snapshot(&self.environment)
            .map(|s| (*s).clone())
            .unwrap_or_else(|| EnvSnapshot {
                environment: self.environment.clone(),
                collected_at: Utc::now(),
                cycle_ms: 0,
                brokers: 0,
                topics: BTreeMap::new(),
                groups: BTreeMap::new(),
                error: None,
            });
        snapshot.error = Some(
            "The last collection failed (the cluster did not answer); figures are from the cycle before."
                .to_owned(),
        );
        self.cache.publish(snapshot);
    }

    /// One cycle: read, derive, publish, roll up, alert.
    pub async fn try_once(&mut self) -> anyhow::Result<CycleOutcome> {
        let started = Instant::now();
        self.refresh_catalog().await;
        let consumer = Arc::clone(&self.consumer);
        let timeout = Duration::from_millis(self.settings.timeout_ms);
        let raw = tokio::task::spawn_blocking(move || read::read_cluster(&consumer, timeout))
            .await
            .context("the collection task failed")??;
        let group_ids: Vec<String> = raw.groups.iter().map(|(id, _, _)| id.clone()).collect();
        let committed = self
            .admin
            .committed_offsets(group_ids)
            .await
            .context("reading committed offsets")?;
        let now = raw.read_at;
        let mut committed_by_group = HashMap::new();
        for answer in committed {
            match answer.offsets {
                Ok(offsets) => {
                    committed_by_group.insert(answer.group, offsets);
                }
                Err(error) => {
                    tracing::debug!(group = answer.group, %error, "committed offsets unavailable");
                }
            }
        }
        let mut snapshot = self.derive(now, raw, &committed_by_group);
        snapshot.cycle_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let outcome_topics = snapshot.topics.len();
        let outcome_partitions = snapshot.topics.values().map(|t| t.partitions.len()).sum();
        let outcome_groups = snapshot.groups.len();
        self.accumulate_minute(now, &snapshot).await;
        let alerts = alerts::raise(
            &self.db,
            &self.roles,
            &self.environment,
            &self.public_url,
            &snapshot,
        )
        .await;
        self.cache.publish(snapshot);
        self.cleanup().await;
        Ok(CycleOutcome {
            topics: outcome_topics,
            partitions: outcome_partitions,
            groups: outcome_groups,
            alerts,
            elapsed: started.elapsed(),
        })
    }

    async fn refresh_catalog(&mut self) {
        let due = |at: Option<Instant>, every: Duration| at.is_none_or(|t| t.elapsed() >= every);
        let env = self.environment.clone();
        if due(
            self.state.catalog_read_at,
            Duration::from_secs(self.settings.catalog_refresh_seconds),
        ) {
            match (
                store::catalog_topics(&self.db, &env).await,
                store::granted_groups(&self.db, &env).await,
            ) {
                (Ok(catalog), Ok(granted)) => {
                    self.state.catalog = catalog;
                    self.state.granted = granted;
                    self.state.catalog_read_at = Some(Instant::now());
                }
                (Err(error), _) | (_, Err(error)) => {
                    tracing::warn!(environment = %env, %error, "reading the catalog for health failed");
                }
            }
        }
        if due(self.state.learned_at, Duration::from_secs(600)) {
            match store::traffic_gaps(&self.db, &env).await {
                Ok(gaps) => {
                    self.state.learned = gaps
                        .into_iter()
                        .filter_map(|(topic, (gap, active))| {
                            eval::learned_interval(
                                gap,
                                active,
                                self.settings.learn_min_active_minutes,
                                &self.thresholds,
                            )
                            .map(|s| (topic, s))
                        })
                        .collect();
                    self.state.learned_at = Some(Instant::now());
                }
                Err(error) => {
                    tracing::warn!(environment = %env, %error, "learning expected intervals failed");
                }
            }
        }
        if !self.state.seeded {
            match store::last_traffic(&self.db, &env).await {
                Ok(last) => {
                    for (topic, at) in last {
                        self.state.readings.last_message.entry(topic).or_insert(at);
                    }
                    self.state.seeded = true;
                }
                Err(error) => {
                    tracing::warn!(environment = %env, %error, "reading the last traffic failed");
                }
            }
        }
    }

    /// This cycle's snapshot from what the cluster answered; remembers what the next needs.
    fn derive(
        &mut self,
        now: DateTime<Utc>,
        raw: read::RawCluster,
        committed: &HashMap<String, crate::kafka::admin::Committed>,
    ) -> EnvSnapshot {
        let window = chrono::Duration::seconds(
            i64::try_from(self.settings.rate_window_seconds).unwrap_or(60),
        );
        let known = Known {
            environment: &self.environment,
            window,
            thresholds: &self.thresholds,
            catalog: &self.state.catalog,
            learned: &self.state.learned,
            granted: &self.state.granted,
            started_at: self.started_at,
        };
        self.state.readings.derive(now, raw, committed, &known)
    }

    /// Adds this cycle to the current minute; when the minute turns, writes the finished one.
    async fn accumulate_minute(&mut self, now: DateTime<Utc>, snapshot: &EnvSnapshot) {
        let Ok(minute) = now.duration_trunc(chrono::Duration::minutes(1)) else {
            return;
        };
        if self.state.minute != Some(minute) {
            if let Some(finished) = self.state.minute {
                let topics: Vec<TopicMinute> = self
                    .state
                    .minute_topics
                    .drain()
                    .map(|(_, m)| m)
                    .filter(|m| m.messages > 0)
                    .collect();
                let groups: Vec<GroupMinute> =
                    self.state.minute_groups.drain().map(|(_, m)| m).collect();
                if let Err(error) =
                    store::write_minute(&self.db, &self.environment, finished, &topics, &groups)
                        .await
                {
                    tracing::warn!(environment = %self.environment, %error, "writing health rollups failed");
                }
            }
            self.state.minute = Some(minute);
            self.state.minute_topics.clear();
            self.state.minute_groups.clear();
        }
        for topic in snapshot.topics.values() {
            let entry = self
                .state
                .minute_topics
                .entry(topic.name.clone())
                .or_insert_with(|| TopicMinute {
                    topic: topic.name.clone(),
                    messages: 0,
                    max_rate: 0.0,
                    under_replicated: 0,
                });
            entry.max_rate = entry.max_rate.max(topic.rate);
            entry.under_replicated = entry
                .under_replicated
                .max(i32::try_from(topic.under_replicated).unwrap_or(i32::MAX));
        }
        // Messages written since the previous cycle count towards this minute.
        for (name, delta) in &self.state.readings.deltas {
            if let Some(entry) = self.state.minute_topics.get_mut(name) {
                entry.messages += delta;
            }
        }
        for group in snapshot.groups.values() {
            let entry = self
                .state
                .minute_groups
                .entry(group.id.clone())
                .or_insert_with(|| GroupMinute {
                    group: group.id.clone(),
                    max_lag: 0,
                    max_seconds_behind: 0.0,
                });
            entry.max_lag = entry.max_lag.max(group.lag);
            entry.max_seconds_behind = entry.max_seconds_behind.max(group.seconds_behind);
        }
    }

    async fn cleanup(&mut self) {
        if self
            .state
            .cleaned_at
            .is_some_and(|t| t.elapsed() < Duration::from_secs(3600))
        {
            return;
        }
        self.state.cleaned_at = Some(Instant::now());
        let cutoff = Utc::now() - chrono::Duration::days(self.settings.retention_days);
        match store::delete_rollups_before(&self.db, cutoff).await {
            Ok(0) => {}
            Ok(rows) => tracing::info!(rows, "old health rollups deleted"),
            Err(error) => tracing::warn!(%error, "deleting old health rollups failed"),
        }
    }
}

/// Starts one collector per environment; returns their tasks.
/// A collector supervised: a cycle every `health.interval_ms`. A failed cycle keeps the previous
/// figures, marked with the reason, and the next cycle tries again.
impl Task for Collector {
    fn name(&self) -> String {
        format!("health:{}", self.environment)
    }

    async fn step(&mut self) -> anyhow::Result<Next> {
        let interval = Duration::from_millis(self.settings.interval_ms);
        match self.try_once().await {
            Ok(outcome) => {
                tracing::debug!(
                    topics = outcome.topics,
                    partitions = outcome.partitions,
                    groups = outcome.groups,
                    elapsed_ms = outcome.elapsed.as_millis() as u64,
                    "health collected"
                );
                Ok(Next::After(interval.saturating_sub(outcome.elapsed)))
            }
            Err(error) => {
                self.publish_failure();
                Err(error.context("health collection failed"))
            }
        }
    }

    fn after_error(&self) -> Duration {
        Duration::from_millis(self.settings.interval_ms)
    }
}

/// Builds the collector of each environment (for the supervisor's factory).
pub fn collector_factories(
    settings: &crate::config::Settings,
    db: &PgPool,
    cache: &HealthCache,
) -> Vec<impl Fn() -> anyhow::Result<Collector> + Send + 'static> {
    settings
        .environments()
        .into_iter()
        .map(|(name, env)| {
            let (name, env) = (name.to_owned(), env.clone());
            let (db, cache, health) = (db.clone(), cache.clone(), settings.health.clone());
            let roles = Arc::new(settings.auth.roles.clone());
            let public_url = settings.server.public_url.to_string();
            move || {
                Collector::new(
                    &name,
                    &env,
                    db.clone(),
                    cache.clone(),
                    health.clone(),
                    roles.clone(),
                    &public_url,
                    Duration::from_millis(health.timeout_ms),
                )
            }
        })
        .collect()
}

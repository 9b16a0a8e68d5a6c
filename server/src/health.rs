//! The health collector: one per cluster, on an interval. Each cycle reads the cluster (one
//! metadata request; earliest and latest offsets of every partition in two batched ListOffsets
//! requests; the consumer groups; their committed offsets), derives rates, lag, time behind and
//! silence, evaluates health (`app::health::eval`), publishes the snapshot to the in-memory
//! [`HealthCache`] the pages read, writes one-minute rollups, and raises or closes alerts.
//! Reading the cluster is in `read`; the live event stream for the pages (`/health/events`) is in
//! `events`.

mod events;
mod read;
pub mod store;

pub use events::events;

use read::{RawCluster, read_cluster};
use store::{AlertChange, CatalogTopic, GroupMinute, TopicMinute};

use crate::background::{Next, Task};
use crate::config::KafkaEnvironmentSettings;
use crate::kafka::admin::KafkaAdmin;
use anyhow::Context;
use app::domain::RoleMapping;
use app::health::cache::HealthCache;
use app::health::eval::{self, Thresholds, TopicFacts};
use app::health::{
    EnvSnapshot, GroupPartitionSample, GroupSample, Health, PartitionSample, Status, SubjectKind,
    TopicSample, health_link,
};
use chrono::{DateTime, DurationRound, Utc};
use rdkafka::consumer::BaseConsumer;
use serde::Deserialize;
use sqlx::PgPool;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
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

/// Recent `(time, latest offset per partition)` of one topic.
type OffsetWindow = VecDeque<(DateTime<Utc>, Vec<i64>)>;

/// A group's previous lag, when it was seen, and since when it grows.
#[derive(Debug, Clone, Copy)]
struct LagTrack {
    lag: i64,
    at: DateTime<Utc>,
    growing_since: Option<DateTime<Utc>>,
}

#[derive(Default)]
struct State {
    /// Per topic: recent `(time, latest offset per partition)`, for rates over the window.
    windows: HashMap<String, OffsetWindow>,
    totals: HashMap<String, i64>,
    /// Messages written since the previous cycle, per topic.
    deltas: HashMap<String, i64>,
    last_message: HashMap<String, DateTime<Utc>>,
    /// Per group: previous lag and its time, and since when it grows.
    groups: HashMap<String, LagTrack>,
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
    environment: String,
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
        environment: &str,
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
        let raw = tokio::task::spawn_blocking(move || read_cluster(&consumer, timeout))
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
        let alerts = self.raise_alerts(&snapshot).await;
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
                    tracing::warn!(environment = env, %error, "reading the catalog for health failed");
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
                    tracing::warn!(environment = env, %error, "learning expected intervals failed");
                }
            }
        }
        if !self.state.seeded {
            match store::last_traffic(&self.db, &env).await {
                Ok(last) => {
                    for (topic, at) in last {
                        self.state.last_message.entry(topic).or_insert(at);
                    }
                    self.state.seeded = true;
                }
                Err(error) => {
                    tracing::warn!(environment = env, %error, "reading the last traffic failed");
                }
            }
        }
    }

    /// The team that owns a group: the team of the application the group was granted to, else
    /// the owner of the first catalog topic it reads.
    fn group_owner(&self, group: &str, topics: &[String]) -> Option<String> {
        self.state
            .granted
            .iter()
            .find(|(name, prefix, _)| {
                if *prefix {
                    group.starts_with(name.as_str())
                } else {
                    group == name
                }
            })
            .map(|(_, _, team)| team.clone())
            .or_else(|| {
                topics
                    .iter()
                    .find_map(|t| self.state.catalog.get(t).map(|c| c.owner.clone()))
            })
    }

    fn derive(
        &mut self,
        now: DateTime<Utc>,
        raw: RawCluster,
        committed: &HashMap<String, Vec<(String, i32, i64)>>,
    ) -> EnvSnapshot {
        let window = chrono::Duration::seconds(
            i64::try_from(self.settings.rate_window_seconds).unwrap_or(60),
        );
        let mut topics = BTreeMap::new();
        let mut latest_of: HashMap<(&str, i32), i64> = HashMap::new();
        let seen: BTreeSet<String> = raw.topics.iter().map(|t| t.name.clone()).collect();
        self.state.windows.retain(|k, _| seen.contains(k));
        self.state.totals.retain(|k, _| seen.contains(k));
        self.state.deltas.clear();
        for topic in &raw.topics {
            let ring = self.state.windows.entry(topic.name.clone()).or_default();
            // A partition that did not answer keeps its previous offset.
            let previous = ring
                .back()
                .filter(|(_, before)| before.len() == topic.partitions.len())
                .map(|(_, before)| before.clone());
            let latest: Vec<i64> = topic
                .partitions
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    p.latest
                        .or_else(|| previous.as_ref().and_then(|b| b.get(i).copied()))
                        .unwrap_or(0)
                })
                .collect();
            let reset = ring.back().is_some_and(|(_, before)| {
                before.len() != latest.len() || before.iter().zip(&latest).any(|(b, l)| l < b)
            });
            if reset {
                ring.clear();
            }
            ring.push_back((now, latest.clone()));
            while ring.len() > 2 && ring.get(1).is_some_and(|(t, _)| now - *t >= window) {
                ring.pop_front();
            }
            let rates: Vec<f64> = match (ring.front(), ring.back()) {
                (Some((t0, first)), Some((t1, last))) if t1 > t0 => {
                    let seconds = (*t1 - *t0).num_milliseconds() as f64 / 1000.0;
                    first
                        .iter()
                        .zip(last)
                        .map(|(a, b)| (b - a).max(0) as f64 / seconds)
                        .collect()
                }
                _ => vec![0.0; latest.len()],
            };
            let total: i64 = latest.iter().sum();
            let before = self.state.totals.insert(topic.name.clone(), total);
            let delta = match before {
                Some(before) if !reset && total > before => total - before,
                _ => 0,
            };
            if delta > 0 {
                self.state.last_message.insert(topic.name.clone(), now);
            }
            self.state.deltas.insert(topic.name.clone(), delta);
            let partitions: Vec<PartitionSample> = topic
                .partitions
                .iter()
                .zip(&rates)
                .zip(&latest)
                .map(|((p, rate), latest)| PartitionSample {
                    partition: p.id,
                    leader: (p.leader >= 0).then_some(p.leader),
                    replicas: p.replicas.clone(),
                    isr: p.isr.clone(),
                    earliest: p.earliest.unwrap_or(0).min(*latest),
                    latest: *latest,
                    rate: *rate,
                })
                .collect();
            let under_replicated = partitions.iter().filter(|p| p.under_replicated()).count();
            let offline = partitions.iter().filter(|p| p.leader.is_none()).count();
            let catalog = self.state.catalog.get(&topic.name);
            let expected = eval::expected_interval(
                catalog.and_then(|c| c.expected_seconds),
                self.state.learned.get(&topic.name).copied(),
                &self.thresholds,
            );
            let last_message_at = self.state.last_message.get(&topic.name).copied();
            let health = eval::evaluate_topic(
                now,
                &TopicFacts {
                    partitions: partitions.len(),
                    under_replicated,
                    offline,
                    last_message_at: last_message_at.map(|t| t.max(self.started_at)),
                    expected,
                },
                &self.thresholds,
            );
            for p in &partitions {
                latest_of.insert((topic.name.as_str(), p.partition), p.latest);
            }
            topics.insert(
                topic.name.clone(),
                TopicSample {
                    name: topic.name.clone(),
                    rate: rates.iter().sum(),
                    latest_total: total,
                    retained: partitions
                        .iter()
                        .map(|p| (p.latest - p.earliest).max(0))
                        .sum(),
                    under_replicated,
                    offline,
                    last_message_at,
                    expected,
                    owner: catalog.map(|c| c.owner.clone()),
                    health,
                    partitions,
                },
            );
        }

        let mut groups = BTreeMap::new();
        let live: BTreeSet<&str> = raw.groups.iter().map(|(id, _, _)| id.as_str()).collect();
        self.state.groups.retain(|k, _| live.contains(k.as_str()));
        for (id, state, members) in &raw.groups {
            let mut partitions: Vec<GroupPartitionSample> = committed
                .get(id)
                .map(|offsets| {
                    offsets
                        .iter()
                        .filter_map(|(topic, partition, offset)| {
                            let latest = *latest_of.get(&(topic.as_str(), *partition))?;
                            Some(GroupPartitionSample {
                                topic: topic.clone(),
                                partition: *partition,
                                committed: *offset,
                                latest,
                                lag: (latest - offset).max(0),
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            partitions.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
            let group_topics: Vec<String> = partitions
                .iter()
                .map(|p| p.topic.clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let lag: i64 = partitions.iter().map(|p| p.lag).sum();
            let seconds_behind = group_topics
                .iter()
                .map(|t| {
                    let topic_lag = partitions
                        .iter()
                        .filter(|p| &p.topic == t)
                        .map(|p| p.lag)
                        .sum();
                    let sample = topics.get(t);
                    eval::seconds_behind(
                        topic_lag,
                        sample.map_or(0.0, |s: &TopicSample| s.rate),
                        sample.and_then(|s| s.last_message_at),
                        now,
                    )
                })
                .fold(0.0_f64, f64::max);
            let previous = self.state.groups.get(id).copied();
            let growing_since = eval::growing_since(
                previous.map(|p| (p.lag, p.at)),
                previous.and_then(|p| p.growing_since),
                lag,
            );
            self.state.groups.insert(
                id.clone(),
                LagTrack {
                    lag,
                    at: now,
                    growing_since,
                },
            );
            let health =
                eval::evaluate_group(now, lag, seconds_behind, growing_since, &self.thresholds);
            let owner = self.group_owner(id, &group_topics);
            groups.insert(
                id.clone(),
                GroupSample {
                    id: id.clone(),
                    state: state.clone(),
                    members: *members,
                    topics: group_topics,
                    partitions,
                    lag,
                    seconds_behind,
                    growing_since,
                    owner,
                    health,
                },
            );
        }
        EnvSnapshot {
            environment: self.environment.clone(),
            collected_at: now,
            cycle_ms: 0,
            brokers: raw.brokers,
            topics,
            groups,
            error: None,
        }
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
                    tracing::warn!(environment = self.environment, %error, "writing health rollups failed");
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
        for (name, delta) in &self.state.deltas {
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

    /// Opens, escalates, eases or closes alerts where a subject's status differs from its open
    /// alert. Only subjects with an owning team are alerted. Returns how many changes were recorded.
    async fn raise_alerts(&self, snapshot: &EnvSnapshot) -> usize {
        let open = match store::open_alerts(&self.db, &self.environment).await {
            Ok(open) => open,
            Err(error) => {
                tracing::warn!(environment = self.environment, %error, "reading open alerts failed");
                return 0;
            }
        };
        let mut open_by: HashMap<(String, String), store::OpenAlert> = open
            .into_iter()
            .map(|a| ((a.kind.clone(), a.subject.clone()), a))
            .collect();
        let subjects = snapshot
            .topics
            .values()
            .filter_map(|t| {
                t.owner
                    .as_ref()
                    .map(|o| (SubjectKind::Topic, t.name.as_str(), &t.health, o.as_str()))
            })
            .chain(snapshot.groups.values().filter_map(|g| {
                g.owner
                    .as_ref()
                    .map(|o| (SubjectKind::Group, g.id.as_str(), &g.health, o.as_str()))
            }));
        let mut changes = Vec::new();
        for (kind, name, health, owner) in subjects {
            let existing = open_by.remove(&(kind.as_str().to_owned(), name.to_owned()));
            if let Some(change) = alert_change(existing.as_ref().map(|a| (a.id, a.status)), health)
            {
                changes.push((kind, name.to_owned(), Some(owner.to_owned()), change));
            }
        }
        // Open alerts of subjects that are gone from the cluster (or lost their owner) close.
        for ((kind, subject), alert) in open_by {
            let kind = if kind == "group" {
                SubjectKind::Group
            } else {
                SubjectKind::Topic
            };
            changes.push((
                kind,
                subject,
                alert.team,
                AlertChange::Recover {
                    id: alert.id,
                    reason: "It is no longer on the cluster or no longer owned.".to_owned(),
                },
            ));
        }
        let mut recorded = 0;
        for (kind, subject, team, change) in changes {
            let link = health_link(&self.environment, kind, &subject);
            match store::record_alert(
                &self.db,
                &self.roles,
                &self.environment,
                kind.as_str(),
                &subject,
                team.as_deref(),
                &change,
                &link,
                &self.public_url,
            )
            .await
            {
                Ok(true) => {
                    recorded += 1;
                    tracing::info!(
                        environment = self.environment,
                        kind = kind.as_str(),
                        subject,
                        change = ?change,
                        "health alert recorded"
                    );
                }
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(environment = self.environment, %error, "recording a health alert failed");
                }
            }
        }
        recorded
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

/// What to do about one subject, given its open alert (id and status) and its health now.
pub fn alert_change(open: Option<(i64, Status)>, health: &Health) -> Option<AlertChange> {
    match (open, health.status) {
        (None, Status::Ok) => None,
        (None, status) => Some(AlertChange::Open {
            status,
            reason: health.reason.clone(),
        }),
        (Some((id, _)), Status::Ok) => Some(AlertChange::Recover {
            id,
            reason: health.reason.clone(),
        }),
        (Some((id, before)), status) if status > before => Some(AlertChange::Escalate {
            id,
            status,
            reason: health.reason.clone(),
        }),
        (Some((id, before)), status) if status < before => Some(AlertChange::Ease {
            id,
            status,
            reason: health.reason.clone(),
        }),
        _ => None,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn health(status: Status) -> Health {
        Health {
            status,
            reason: "why".into(),
        }
    }

    #[test]
    fn alerts_open_escalate_ease_and_recover_once() {
        assert_eq!(alert_change(None, &health(Status::Ok)), None);
        assert!(matches!(
            alert_change(None, &health(Status::Warning)),
            Some(AlertChange::Open {
                status: Status::Warning,
                ..
            })
        ));
        assert_eq!(
            alert_change(Some((1, Status::Warning)), &health(Status::Warning)),
            None
        );
        assert!(matches!(
            alert_change(Some((1, Status::Warning)), &health(Status::Critical)),
            Some(AlertChange::Escalate { id: 1, .. })
        ));
        assert!(matches!(
            alert_change(Some((1, Status::Critical)), &health(Status::Warning)),
            Some(AlertChange::Ease { id: 1, .. })
        ));
        assert!(matches!(
            alert_change(Some((1, Status::Critical)), &health(Status::Ok)),
            Some(AlertChange::Recover { id: 1, .. })
        ));
    }
}

//! Topic health: what the collector measured, the status it derived (with its reason in words),
//! and the server functions behind the health pages. Pages never call Kafka: they read the
//! collector's in-memory cache ([`cache::HealthCache`], recent samples) and the one-minute
//! rollups in Postgres (`store`, longer ranges).

use crate::domain::EnvironmentName;
pub mod eval;

#[cfg(feature = "ssr")]
pub mod cache;
#[cfg(feature = "ssr")]
pub mod chart;
#[cfg(feature = "ssr")]
pub mod store;

use crate::error::AppError;
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// How a topic or consumer group is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(
    feature = "ssr",
    derive(sqlx::Type),
    sqlx(type_name = "health_status", rename_all = "lowercase")
)]
pub enum Status {
    Ok,
    Warning,
    Critical,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warning => "warning",
            Status::Critical => "critical",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Warning => "Warning",
            Status::Critical => "Critical",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        [Status::Ok, Status::Warning, Status::Critical]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// A status with the reason, in words a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub status: Status,
    pub reason: String,
}

impl Health {
    pub fn ok(reason: impl Into<String>) -> Self {
        Self {
            status: Status::Ok,
            reason: reason.into(),
        }
    }
}

/// Where a topic's expected interval between messages comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IntervalSource {
    /// Set by the owning team on the topic health page.
    Owner,
    /// Learned from the topic's own history (the longest gap between busy minutes).
    Learned,
    /// The configured default (`health.default_silence_seconds`).
    Default,
}

impl IntervalSource {
    pub fn label(self) -> &'static str {
        match self {
            IntervalSource::Owner => "set by the owning team",
            IntervalSource::Learned => "learned from its history",
            IntervalSource::Default => "the default",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectedInterval {
    pub seconds: i64,
    pub source: IntervalSource,
}

/// One partition as last collected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartitionSample {
    pub partition: i32,
    /// Broker id of the leader; `None` when the partition is offline.
    pub leader: Option<i32>,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub earliest: i64,
    pub latest: i64,
    /// Messages per second over the rate window.
    pub rate: f64,
}

impl PartitionSample {
    pub fn under_replicated(&self) -> bool {
        self.isr.len() < self.replicas.len()
    }
}

/// One topic as last collected, with its derived health.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopicSample {
    pub name: String,
    pub partitions: Vec<PartitionSample>,
    /// Messages per second over the rate window.
    pub rate: f64,
    /// Sum of the latest offsets: every message ever written.
    pub latest_total: i64,
    /// Messages still in the log (latest minus earliest offsets). Kafka's admin API as exposed by
    /// librdkafka has no DescribeLogDirs, so the log size in bytes is not available.
    pub retained: i64,
    pub under_replicated: usize,
    pub offline: usize,
    #[serde(with = "crate::time::rfc3339_option")]
    pub last_message_at: Option<DateTime<Utc>>,
    pub expected: ExpectedInterval,
    /// The owning team, for catalog topics in this environment.
    pub owner: Option<String>,
    pub health: Health,
}

/// A group's position in one partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupPartitionSample {
    pub topic: String,
    pub partition: i32,
    pub committed: i64,
    pub latest: i64,
    pub lag: i64,
}

/// One consumer group as last collected, with its derived health.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupSample {
    pub id: String,
    /// Kafka's group state (Stable, Empty, PreparingRebalance...).
    pub state: String,
    pub members: usize,
    pub topics: Vec<String>,
    pub partitions: Vec<GroupPartitionSample>,
    pub lag: i64,
    pub seconds_behind: f64,
    #[serde(with = "crate::time::rfc3339_option")]
    pub growing_since: Option<DateTime<Utc>>,
    pub owner: Option<String>,
    pub health: Health,
}

/// Everything one collection cycle saw on one cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvSnapshot {
    pub environment: EnvironmentName,
    #[serde(with = "crate::time::rfc3339")]
    pub collected_at: DateTime<Utc>,
    pub cycle_ms: u64,
    pub brokers: usize,
    pub topics: std::collections::BTreeMap<String, TopicSample>,
    pub groups: std::collections::BTreeMap<String, GroupSample>,
    /// Why the last cycle failed, in words safe to show (the figures are from the cycle before).
    pub error: Option<String>,
}

/// A chart range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChartRange {
    Minutes15,
    Hour1,
    Hours24,
    Days7,
}

impl ChartRange {
    pub const ALL: [ChartRange; 4] = [
        ChartRange::Minutes15,
        ChartRange::Hour1,
        ChartRange::Hours24,
        ChartRange::Days7,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChartRange::Minutes15 => "15m",
            ChartRange::Hour1 => "1h",
            ChartRange::Hours24 => "24h",
            ChartRange::Days7 => "7d",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ChartRange::Minutes15 => "15 minutes",
            ChartRange::Hour1 => "1 hour",
            ChartRange::Hours24 => "24 hours",
            ChartRange::Days7 => "7 days",
        }
    }

    /// Unknown text falls back to 15 minutes.
    pub fn parse(text: &str) -> ChartRange {
        ChartRange::ALL
            .into_iter()
            .find(|r| r.as_str() == text)
            .unwrap_or(ChartRange::Minutes15)
    }

    pub fn seconds(self) -> i64 {
        match self {
            ChartRange::Minutes15 => 15 * 60,
            ChartRange::Hour1 => 3600,
            ChartRange::Hours24 => 24 * 3600,
            ChartRange::Days7 => 7 * 24 * 3600,
        }
    }

    /// Short ranges come from the collector's memory; long ones from one-minute rollups, in
    /// bins of this many seconds.
    pub fn rollup_bin_seconds(self) -> Option<i64> {
        match self {
            ChartRange::Minutes15 | ChartRange::Hour1 => None,
            ChartRange::Hours24 => Some(300),
            ChartRange::Days7 => Some(1800),
        }
    }
}

/// A row in a list of topics or groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubjectRow {
    pub environment: EnvironmentName,
    pub kind: SubjectKind,
    pub name: String,
    pub status: Status,
    pub reason: String,
    /// Messages per second (topics) or lag in messages (groups).
    pub figure: f64,
    pub owner: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SubjectKind {
    Topic,
    Group,
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Topic => "topic",
            SubjectKind::Group => "group",
        }
    }
}

impl SubjectRow {
    pub fn link(&self) -> String {
        health_link(&self.environment, self.kind, &self.name)
    }
}

/// The page of a topic or group.
pub fn health_link(environment: &EnvironmentName, kind: SubjectKind, name: &str) -> String {
    let segment = match kind {
        SubjectKind::Topic => "topics",
        SubjectKind::Group => "groups",
    };
    // An environment name is letters, digits and dashes: nothing to encode.
    format!("/health/{environment}/{segment}/{}", encode_segment(name))
}

/// Percent-encodes a path segment (topic and group names may hold dots; groups almost anything).
pub fn encode_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The overview of one cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterHealthView {
    pub environment: EnvironmentName,
    pub display_name: String,
    #[serde(with = "crate::time::rfc3339_option")]
    pub collected_at: Option<DateTime<Utc>>,
    pub cycle_ms: u64,
    pub error: Option<String>,
    pub brokers: usize,
    pub topics: usize,
    pub partitions: usize,
    pub under_replicated: usize,
    pub offline: usize,
    pub groups: usize,
    pub rate: f64,
    /// Topics and groups that are not OK, worst first (at most 100).
    pub problems: Vec<SubjectRow>,
    /// `problems` as table rows, drawn on the server.
    pub problem_rows: crate::loaded::Markup,
    /// The busiest topics (at most 10).
    pub busiest: Vec<SubjectRow>,
    /// `busiest` as table rows, drawn on the server.
    pub busiest_rows: crate::loaded::Markup,
}

/// A consumer group as listed on a topic's page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupRow {
    pub id: String,
    pub state: String,
    pub lag: i64,
    pub seconds_behind: f64,
    pub status: Status,
    pub reason: String,
}

/// An SVG chart drawn on the server, and its latest value in words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChartView {
    pub svg: crate::loaded::Markup,
    pub title: String,
    pub latest: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopicHealthView {
    pub environment: EnvironmentName,
    pub range: ChartRange,
    #[serde(with = "crate::time::rfc3339")]
    pub collected_at: DateTime<Utc>,
    pub topic: TopicSample,
    pub groups: Vec<GroupRow>,
    pub throughput: ChartView,
    pub lag: ChartView,
    /// The interval the owning team set, in minutes, if any.
    pub owner_interval_minutes: Option<i64>,
    /// Whether the caller may set the expected interval (a member of the owning team or an admin).
    pub can_edit: bool,
    pub in_catalog: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupHealthView {
    pub environment: EnvironmentName,
    pub range: ChartRange,
    #[serde(with = "crate::time::rfc3339")]
    pub collected_at: DateTime<Utc>,
    pub group: GroupSample,
    pub lag: ChartView,
}

#[cfg(feature = "ssr")]
fn viewer() -> &'static [crate::domain::Role] {
    crate::domain::Area::Health.allowed_roles()
}

#[cfg(feature = "ssr")]
fn health_cache() -> Result<cache::HealthCache, AppError> {
    Ok(crate::context::portal()?.health)
}

/// Every cluster at a glance.
#[server(prefix = "/api", endpoint = "health/overview")]
pub async fn health_overview() -> Result<Vec<ClusterHealthView>, AppError> {
    crate::auth::ssr::require_any_role(viewer()).await?;
    let portal = crate::context::portal()?;
    Ok(portal
        .environments
        .iter()
        .map(|env| ssr::kept_cluster_view(&portal.health, &env.name, &env.display_name))
        .collect())
}

/// One topic in one environment, with charts for the range ("15m", "1h", "24h", "7d").
#[server(prefix = "/api", endpoint = "health/topic")]
pub async fn topic_health(
    environment: String,
    topic: String,
    range: String,
) -> Result<TopicHealthView, AppError> {
    let user = crate::auth::ssr::require_any_role(viewer()).await?;
    let portal = crate::context::portal()?;
    let environment = ssr::known_environment(&portal, &environment)?;
    ssr::topic_view(
        &portal,
        &user,
        &environment,
        &topic,
        ChartRange::parse(&range),
    )
    .await
}

/// One consumer group in one environment, with its lag chart.
#[server(prefix = "/api", endpoint = "health/group")]
pub async fn group_health(
    environment: String,
    group: String,
    range: String,
) -> Result<GroupHealthView, AppError> {
    crate::auth::ssr::require_any_role(viewer()).await?;
    let portal = crate::context::portal()?;
    let environment = ssr::known_environment(&portal, &environment)?;
    ssr::group_view(&portal, &environment, &group, ChartRange::parse(&range)).await
}

/// The topics of the caller's teams, in every environment they are in.
#[server(prefix = "/api", endpoint = "health/mine")]
pub async fn my_topics_health() -> Result<Vec<SubjectRow>, AppError> {
    let user = crate::auth::ssr::require_any_role(viewer()).await?;
    let portal = crate::context::portal()?;
    let teams: Vec<String> = user.teams.iter().map(|t| t.as_str().to_owned()).collect();
    let topics = store::team_topics(&portal.db, &teams)
        .await
        .map_err(|e| AppError::internal("listing team topics failed", &e))?;
    let cache = health_cache()?;
    Ok(topics
        .into_iter()
        .map(|(environment, name, team)| {
            let sample = cache
                .snapshot(&environment)
                .and_then(|s| s.topics.get(&name).cloned());
            match sample {
                Some(t) => SubjectRow {
                    environment,
                    kind: SubjectKind::Topic,
                    name,
                    status: t.health.status,
                    reason: t.health.reason,
                    figure: t.rate,
                    owner: Some(team),
                },
                None => SubjectRow {
                    environment,
                    kind: SubjectKind::Topic,
                    name,
                    status: Status::Warning,
                    reason: "Not seen on the cluster yet (or the cluster has not been collected)."
                        .to_owned(),
                    figure: 0.0,
                    owner: Some(team),
                },
            }
        })
        .collect())
}

/// Sets (or clears, when `minutes` is empty) how long the topic may stay quiet before it counts
/// as silent. Only members of the owning team and admins; audited.
#[server(prefix = "/api", endpoint = "health/expected-interval")]
pub async fn set_expected_interval(topic: String, minutes: String) -> Result<(), AppError> {
    let user = crate::auth::ssr::require_any_role(&[
        crate::domain::Role::Member,
        crate::domain::Role::Admin,
    ])
    .await?;
    let seconds = eval::parse_interval_minutes(&minutes).map_err(|message| {
        crate::auth::ssr::with_status(AppError::invalid("Expected interval", message))
    })?;
    let db = crate::context::db()?;
    store::set_expected_interval(&db, &user, &topic, seconds)
        .await
        .map_err(AppError::from)
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use super::*;
    use crate::context::PortalContext;
    use crate::domain::{Role, UserIdentity};
    use cache::HealthCache;
    use chart::Series;

    fn row_for_topic(environment: &EnvironmentName, t: &TopicSample) -> SubjectRow {
        SubjectRow {
            environment: environment.to_owned(),
            kind: SubjectKind::Topic,
            name: t.name.clone(),
            status: t.health.status,
            reason: t.health.reason.clone(),
            figure: t.rate,
            owner: t.owner.clone(),
        }
    }

    fn row_for_group(environment: &EnvironmentName, g: &GroupSample) -> SubjectRow {
        SubjectRow {
            environment: environment.to_owned(),
            kind: SubjectKind::Group,
            name: g.id.clone(),
            status: g.health.status,
            reason: g.health.reason.clone(),
            figure: g.lag as f64,
            owner: g.owner.clone(),
        }
    }

    /// [`cluster_view`], computed once per collector tick and kept until the next.
    pub fn kept_cluster_view(
        cache: &HealthCache,
        environment: &EnvironmentName,
        display: &str,
    ) -> ClusterHealthView {
        let tick = cache.tick();
        let key = format!("cluster|{environment}");
        if let Some(view) = cache.cluster(&key) {
            return view;
        }
        let view = cluster_view(cache, environment, display);
        cache.keep_cluster(key, tick, view.clone());
        view
    }

    /// A cluster at a glance, from its latest snapshot.
    pub fn cluster_view(
        cache: &HealthCache,
        environment: &EnvironmentName,
        display: &str,
    ) -> ClusterHealthView {
        let Some(snapshot) = cache.snapshot(environment) else {
            return ClusterHealthView {
                environment: environment.to_owned(),
                display_name: display.to_owned(),
                collected_at: None,
                cycle_ms: 0,
                error: Some("Not collected yet.".to_owned()),
                brokers: 0,
                topics: 0,
                partitions: 0,
                under_replicated: 0,
                offline: 0,
                groups: 0,
                rate: 0.0,
                problems: Vec::new(),
                problem_rows: crate::loaded::Markup::default(),
                busiest: Vec::new(),
                busiest_rows: crate::loaded::Markup::default(),
            };
        };
        let mut problems: Vec<SubjectRow> = snapshot
            .topics
            .values()
            .filter(|t| t.health.status != Status::Ok)
            .map(|t| row_for_topic(environment, t))
            .chain(
                snapshot
                    .groups
                    .values()
                    .filter(|g| g.health.status != Status::Ok)
                    .map(|g| row_for_group(environment, g)),
            )
            .collect();
        problems.sort_by(|a, b| b.status.cmp(&a.status).then_with(|| a.name.cmp(&b.name)));
        problems.truncate(100);
        let mut busiest: Vec<&TopicSample> = snapshot.topics.values().collect();
        busiest.sort_by(|a, b| b.rate.total_cmp(&a.rate).then_with(|| a.name.cmp(&b.name)));
        let busiest: Vec<SubjectRow> = busiest
            .into_iter()
            .take(10)
            .map(|t| row_for_topic(environment, t))
            .collect();
        ClusterHealthView {
            environment: environment.to_owned(),
            display_name: display.to_owned(),
            collected_at: Some(snapshot.collected_at),
            cycle_ms: snapshot.cycle_ms,
            error: snapshot.error.clone(),
            brokers: snapshot.brokers,
            topics: snapshot.topics.len(),
            partitions: snapshot.topics.values().map(|t| t.partitions.len()).sum(),
            under_replicated: snapshot.topics.values().map(|t| t.under_replicated).sum(),
            offline: snapshot.topics.values().map(|t| t.offline).sum(),
            groups: snapshot.groups.len(),
            rate: snapshot.topics.values().map(|t| t.rate).sum(),
            problem_rows: crate::pages::subject_rows_markup(&problems),
            problems,
            busiest_rows: crate::pages::subject_rows_markup(&busiest),
            busiest,
        }
    }

    fn not_found() -> AppError {
        crate::auth::ssr::with_status(AppError::NotFound)
    }

    /// The environment a URL names, if the portal has it; anything else is a page not found.
    pub fn known_environment(
        portal: &PortalContext,
        environment: &str,
    ) -> Result<EnvironmentName, AppError> {
        portal.environment(environment).ok_or_else(not_found)
    }

    /// A series from the collector's memory (short ranges) or the rollups (long ranges).
    async fn topic_series(
        portal: &PortalContext,
        environment: &EnvironmentName,
        topic: &str,
        range: ChartRange,
        now: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, f64)>, AppError> {
        let from = now - chrono::Duration::seconds(range.seconds());
        match range.rollup_bin_seconds() {
            None => Ok(portal.health.topic_history(environment, topic, from)),
            Some(bin) => store::topic_rates(&portal.db, environment, topic, from, bin)
                .await
                .map_err(|e| AppError::internal("reading topic rollups failed", &e)),
        }
    }

    async fn group_series(
        portal: &PortalContext,
        environment: &EnvironmentName,
        group: &str,
        range: ChartRange,
        now: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, f64)>, AppError> {
        let from = now - chrono::Duration::seconds(range.seconds());
        match range.rollup_bin_seconds() {
            None => Ok(portal.health.group_history(environment, group, from)),
            Some(bin) => store::group_lags(&portal.db, environment, group, from, bin)
                .await
                .map_err(|e| AppError::internal("reading group rollups failed", &e)),
        }
    }

    pub async fn topic_view(
        portal: &PortalContext,
        user: &UserIdentity,
        environment: &EnvironmentName,
        name: &str,
        range: ChartRange,
    ) -> Result<TopicHealthView, AppError> {
        let snapshot = portal.health.snapshot(environment).ok_or_else(not_found)?;
        let topic = snapshot.topics.get(name).cloned().ok_or_else(not_found)?;
        let now = snapshot.collected_at;
        let mut groups: Vec<&GroupSample> = snapshot
            .groups
            .values()
            .filter(|g| g.topics.iter().any(|t| t == name))
            .collect();
        groups.sort_by(|a, b| b.lag.cmp(&a.lag).then_with(|| a.id.cmp(&b.id)));
        let from = now - chrono::Duration::seconds(range.seconds());
        let tick = portal.health.tick();
        let key = format!("topic|{environment}|{name}|{}", range.as_str());
        let throughput = match portal.health.chart(&key) {
            Some(chart) => chart,
            None => {
                let rates = topic_series(portal, environment, name, range, now).await?;
                let chart = chart::render(
                    &format!("Messages per second, last {}", range.label()),
                    "messages per second",
                    from,
                    now,
                    &[Series {
                        name: name.to_owned(),
                        points: rates,
                    }],
                    format!("{:.1} messages per second", topic.rate),
                );
                portal.health.keep_chart(key, tick, chart.clone());
                chart
            }
        };
        let key = format!("topic-lag|{environment}|{name}|{}", range.as_str());
        let lag = match portal.health.chart(&key) {
            Some(chart) => chart,
            None => {
                let mut lag_series = Vec::new();
                for g in groups.iter().take(5) {
                    lag_series.push(Series {
                        name: g.id.clone(),
                        points: group_series(portal, environment, &g.id, range, now).await?,
                    });
                }
                let total_lag: i64 = groups
                    .iter()
                    .flat_map(|g| g.partitions.iter().filter(|p| p.topic == name))
                    .map(|p| p.lag)
                    .sum();
                let chart = chart::render(
                    &format!("Consumer lag in messages, last {}", range.label()),
                    "messages",
                    from,
                    now,
                    &lag_series,
                    format!("{total_lag} messages behind, all groups"),
                );
                portal.health.keep_chart(key, tick, chart.clone());
                chart
            }
        };
        // Only an admin or a team member may set the interval, so only they need the setting as
        // it stands now; for anyone else the collector's catalog (this environment's, as of this
        // tick) tells whether the topic is in the catalog, without a database round trip.
        let (setting, in_catalog) = if user.has_role(Role::Admin) || !user.teams.is_empty() {
            let setting = store::expected_interval_setting(&portal.db, name)
                .await
                .map_err(|e| AppError::internal("reading the expected interval failed", &e))?;
            let in_catalog = setting.is_some();
            (setting, in_catalog)
        } else {
            (None, topic.owner.is_some())
        };
        let owner = setting.as_ref().map(|(team, _)| team.clone());
        let can_edit = user.has_role(Role::Admin)
            || owner
                .as_deref()
                .is_some_and(|o| user.teams.iter().any(|t| t.as_str() == o));
        Ok(TopicHealthView {
            environment: environment.to_owned(),
            range,
            collected_at: now,
            groups: groups
                .into_iter()
                .map(|g| GroupRow {
                    id: g.id.clone(),
                    state: g.state.clone(),
                    lag: g.lag,
                    seconds_behind: g.seconds_behind,
                    status: g.health.status,
                    reason: g.health.reason.clone(),
                })
                .collect(),
            throughput,
            lag,
            owner_interval_minutes: setting.and_then(|(_, s)| s).map(|s| s / 60),
            can_edit: in_catalog && can_edit,
            in_catalog,
            topic,
        })
    }

    pub async fn group_view(
        portal: &PortalContext,
        environment: &EnvironmentName,
        id: &str,
        range: ChartRange,
    ) -> Result<GroupHealthView, AppError> {
        let snapshot = portal.health.snapshot(environment).ok_or_else(not_found)?;
        let group = snapshot.groups.get(id).cloned().ok_or_else(not_found)?;
        let now = snapshot.collected_at;
        let from = now - chrono::Duration::seconds(range.seconds());
        let tick = portal.health.tick();
        let key = format!("group|{environment}|{id}|{}", range.as_str());
        let lag = match portal.health.chart(&key) {
            Some(chart) => chart,
            None => {
                let points = group_series(portal, environment, id, range, now).await?;
                let chart = chart::render(
                    &format!("Lag in messages, last {}", range.label()),
                    "messages",
                    from,
                    now,
                    &[Series {
                        name: id.to_owned(),
                        points,
                    }],
                    format!(
                        "{} messages behind, about {}",
                        group.lag,
                        eval::duration_words(group.seconds_behind.round() as i64)
                    ),
                );
                portal.health.keep_chart(key, tick, chart.clone());
                chart
            }
        };
        Ok(GroupHealthView {
            environment: environment.to_owned(),
            range,
            collected_at: now,
            group,
            lag,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> crate::domain::EnvironmentName {
        crate::domain::EnvironmentName::parse(name).expect("a valid environment name")
    }

    #[test]
    fn ranges_round_trip_and_unknown_text_is_fifteen_minutes() {
        for range in ChartRange::ALL {
            assert_eq!(ChartRange::parse(range.as_str()), range);
        }
        assert_eq!(ChartRange::parse("forever"), ChartRange::Minutes15);
        assert!(ChartRange::Hour1.rollup_bin_seconds().is_none());
        assert_eq!(ChartRange::Days7.rollup_bin_seconds(), Some(1800));
    }

    #[test]
    fn links_encode_names() {
        assert_eq!(
            health_link(&env("sandbox"), SubjectKind::Group, "team.app/1 x"),
            "/health/sandbox/groups/team.app%2F1%20x"
        );
        assert_eq!(
            health_link(&env("prod"), SubjectKind::Topic, "orders_placed"),
            "/health/prod/topics/orders_placed"
        );
    }
}

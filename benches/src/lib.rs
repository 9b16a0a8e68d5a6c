//! What the benchmarks share: their own database, redacted URLs, the machine's load, people to
//! act as, latency records and percentiles, and the server's request-duration histogram from
//! `/metrics`. Each benchmark is a binary in `src/bin/`, run by one `dev/bench*` command.

use anyhow::Context;
use sqlx::PgConnection;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// The same URL with another database name.
pub fn with_database(url: &str, name: &str) -> anyhow::Result<String> {
    let mut parsed = url::Url::parse(url).context("EBP_DATABASE_URL is not a URL")?;
    parsed.set_path(&format!("/{name}"));
    Ok(parsed.to_string())
}

/// A URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "(unparseable URL)".into(),
    }
}

/// Drops and creates the benchmark's own database.
pub async fn recreate_database(admin: &mut PgConnection, name: &str) -> anyhow::Result<()> {
    sqlx::raw_sql(&format!("drop database if exists {name} with (force)"))
        .execute(&mut *admin)
        .await
        .context("dropping an earlier bench database")?;
    sqlx::raw_sql(&format!("create database {name}"))
        .execute(&mut *admin)
        .await
        .context("creating the bench database (the role needs CREATEDB)")?;
    Ok(())
}

pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or_else(
        |_| "unknown".into(),
        |l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
    )
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Nearest-rank percentile of sorted latencies, in milliseconds.
pub fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    ms(sorted[rank.min(sorted.len()) - 1])
}

pub async fn scrape(client: &reqwest::Client, base: &str) -> anyhow::Result<String> {
    Ok(client
        .get(format!("{base}/metrics"))
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?)
}

#[derive(Debug, Clone, Default)]
pub struct Histogram {
    /// Upper bound in microseconds → cumulative count.
    buckets: BTreeMap<u64, f64>,
    sum: f64,
    count: f64,
}

impl Histogram {
    pub fn parse(text: &str, method: &str, route: &str) -> Self {
        let mut h = Histogram::default();
        for line in text.lines() {
            let Some(rest) = line.strip_prefix("http_request_duration_seconds") else {
                continue;
            };
            let Some((kind, rest)) = rest.split_once('{') else {
                continue;
            };
            let Some((labels, value)) = rest.rsplit_once('}') else {
                continue;
            };
            let Ok(value) = value.trim().parse::<f64>() else {
                continue;
            };
            let labels: HashMap<&str, &str> = labels
                .split(',')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.trim(), v.trim().trim_matches('"')))
                .collect();
            if labels.get("method") != Some(&method) || labels.get("route") != Some(&route) {
                continue;
            }
            match (kind, labels.get("le")) {
                ("_bucket", Some(&"+Inf")) => {}
                ("_bucket", Some(le)) => {
                    if let Ok(le) = le.parse::<f64>() {
                        h.buckets.insert((le * 1e6).round() as u64, value);
                    }
                }
                ("_sum", _) => h.sum = value,
                ("_count", _) => h.count = value,
                _ => {}
            }
        }
        h
    }

    pub fn delta(before: &str, after: &str, method: &str, route: &str) -> Option<Self> {
        let b = Self::parse(before, method, route);
        let a = Self::parse(after, method, route);
        let count = a.count - b.count;
        if count <= 0.0 {
            return None;
        }
        Some(Histogram {
            buckets: a
                .buckets
                .iter()
                .map(|(le, v)| (*le, v - b.buckets.get(le).copied().unwrap_or(0.0)))
                .collect(),
            sum: a.sum - b.sum,
            count,
        })
    }

    /// The requests the histogram counted.
    pub fn count(&self) -> u64 {
        self.count.max(0.0).round() as u64
    }

    pub fn mean_ms(&self) -> f64 {
        self.sum / self.count * 1e3
    }

    /// The bucket bound at or under which `p` percent of requests finished.
    pub fn percentile_bound(&self, p: f64) -> String {
        let wanted = self.count * p / 100.0;
        self.buckets
            .iter()
            .find(|(_, cumulative)| **cumulative >= wanted)
            .map_or_else(
                || {
                    let last = self.buckets.keys().last().copied().unwrap_or(0);
                    format!(">{:.0}", last as f64 / 1e3)
                },
                |(le, _)| format!("<={:.0}", *le as f64 / 1e3),
            )
    }
}

/// A producer-access request for `application` on `topic` in one environment, submitted and
/// approved by the owning team on the portal's own code path: the final (governance) approval
/// is left to the benchmark, which times it.
pub async fn owner_approved_producer_request(
    portal: &app::context::PortalContext,
    requester: &app::domain::UserIdentity,
    owner: &app::domain::UserIdentity,
    application: app::domain::ApplicationId,
    topic: &str,
    environment: &str,
) -> anyhow::Result<app::domain::RequestId> {
    use app::domain::{Decision, RequestKind, RequestState, TopicName};
    use app::requests::kind::{Access, Kind};
    use app::requests::store as requests;
    let draft = app::requests::AccessRequestDraft {
        kind: RequestKind::ProducerAccess,
        topic: TopicName::parse_kafka(topic).map_err(anyhow::Error::msg)?,
        application,
        environments: vec![
            app::domain::EnvironmentName::parse(environment).map_err(anyhow::Error::msg)?,
        ],
        consumer_group: None,
        group_is_prefix: false,
        purpose: "Benchmark: publish events from this application.".into(),
        expiry: None,
        promoted_from: None,
        save_as_draft: false,
    };
    let id = Access::submit(portal, requester, &draft)
        .await
        .context("submitting a request")?;
    let state = requests::decide(portal, owner, id, 1, Decision::Approve, "")
        .await
        .context("the owning team's approval")?;
    if state != RequestState::Submitted {
        anyhow::bail!("after the owning team's approval the request is {state:?}, not submitted");
    }
    Ok(id)
}

/// A numeric knob from the environment (`BENCH_...`), or its default.
pub fn env_number<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("{name}={v:?} is not a number")),
        Err(_) => Ok(default),
    }
}

/// The final (governance) approval on the real code path: when it committed, and how long the
/// call took. The request must then be applying.
pub async fn final_approval(
    portal: &app::context::PortalContext,
    governance: &app::domain::UserIdentity,
    id: app::domain::RequestId,
) -> anyhow::Result<(std::time::Instant, Duration)> {
    use app::domain::{Decision, RequestState};
    let started = std::time::Instant::now();
    let state = app::requests::store::decide(portal, governance, id, 2, Decision::Approve, "")
        .await
        .context("the final approval")?;
    let committed = std::time::Instant::now();
    if state != RequestState::Applying {
        anyhow::bail!("after the final approval the request is {state:?}, not applying");
    }
    Ok((committed, committed - started))
}

/// Someone to act as: the display name is the subject with spaces.
pub fn user(
    subject: &str,
    roles: Vec<app::domain::Role>,
    teams: &[&str],
) -> anyhow::Result<app::domain::UserIdentity> {
    Ok(app::domain::UserIdentity {
        subject: subject.into(),
        display_name: subject.replace('-', " "),
        roles,
        teams: teams
            .iter()
            .map(|t| app::domain::TeamSlug::parse(*t).map_err(anyhow::Error::msg))
            .collect::<anyhow::Result<_>>()?,
    })
}

/// Latencies of the requests that answered, and the failures, of one measured run.
#[derive(Debug, Default)]
pub struct Stats {
    pub latencies: Vec<Duration>,
    pub errors: u64,
    pub first_error: Option<String>,
    pub elapsed: Duration,
}

impl Stats {
    pub fn record(&mut self, result: Result<Duration, String>) {
        match result {
            Ok(d) => self.latencies.push(d),
            Err(e) => {
                self.errors += 1;
                self.first_error.get_or_insert(e);
            }
        }
    }

    pub fn merge(&mut self, other: Stats) {
        self.latencies.extend(other.latencies);
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

/// SQL that registers `count` applications of `team`, named `app-000`, `app-001`, ...
pub fn applications_sql(team: &str, count: usize) -> String {
    format!(
        "insert into application (id, team_slug, name, system_registration_id, security_package_id,
                fisma_rating, ato_status, ato_date, privacy_assessment, contains_pii,
                hosting_location, technical_contact, product_contact)
         select gen_random_uuid(), '{team}', 'app-' || lpad(i::text, 3, '0'), 'SR-' || i, 'SP-' || i,
                'low', 'granted', '2026-01-15', 'completed', false, 'cloud_account',
                'dev@example.test', 'owner@example.test'
           from generate_series(0, {count} - 1) i;"
    )
}

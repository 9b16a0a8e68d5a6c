//! Delivers queued team webhooks. A team member chooses where the portal posts, so every
//! delivery is treated as a request an attacker aimed:
//! - the address is checked against [`WebhookPolicy`] again (scheme, allowed hosts, literal
//!   addresses), and names are resolved by [`GuardedResolver`], which drops loopback, private,
//!   link-local and other internal addresses at connect time, so DNS rebinding cannot bypass
//!   the check made when the address was saved; no proxy, no redirects;
//! - deliveries run side by side (`webhooks.concurrency`), one per team at a time, with short
//!   connect and total timeouts, and a failing address backs off for all its deliveries, so one
//!   slow or dead hook holds up only its own team.
//!
//! Rows are leased (`claimed_until`) rather than locked for the length of the HTTP call, so any
//! number of server replicas can run workers without holding database connections; a lease
//! that runs out (the server died mid-delivery) makes the row due again.

use crate::background::{Next, Task};
use anyhow::Context;
use app::domain::net::IpNet;
use app::domain::webhook::WebhookPolicy;
use openidconnect::reqwest;
use serde::Deserialize;
use sqlx::PgPool;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinSet;

#[derive(Debug, Clone, Deserialize)]
pub struct WebhookSettings {
    pub enabled: bool,
    pub poll_interval_ms: u64,
    pub max_attempts: i32,
    pub connect_timeout_ms: u64,
    pub timeout_ms: u64,
    /// Deliveries under way at once on this server.
    pub concurrency: usize,
    /// When not empty, the only hosts webhooks may reach.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// Blocks exempt from the private-address rule.
    #[serde(default)]
    pub allowed_networks: Vec<String>,
}

impl WebhookSettings {
    pub fn check(&self) -> anyhow::Result<()> {
        if self.concurrency == 0 || self.max_attempts <= 0 {
            anyhow::bail!("webhooks.concurrency and webhooks.max_attempts must be positive");
        }
        for block in &self.allowed_networks {
            if IpNet::parse(block).is_none() {
                anyhow::bail!(
                    "webhooks.allowed_networks: {block:?} is not an address or CIDR block"
                );
            }
        }
        Ok(())
    }

    /// The rules for addresses; plain http only in local development.
    pub fn policy(&self, local_development: bool) -> WebhookPolicy {
        WebhookPolicy {
            require_https: !local_development,
            allowed_hosts: self.allowed_hosts.clone(),
            allowed_networks: self
                .allowed_networks
                .iter()
                .filter_map(|block| IpNet::parse(block))
                .collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing was due.
    Idle,
    Delivered,
    /// Failed; tried again later, or abandoned after the last attempt.
    Failed {
        abandoned: bool,
    },
    /// The address is not one the portal may post to; abandoned at once.
    Refused(String),
}

/// Seconds before the next try after `attempts` failures: 5 s, 10 s, 20 s, ... at most an hour.
pub fn backoff_seconds(attempts: i32) -> i64 {
    let exponent = u32::try_from(attempts.clamp(0, 20)).unwrap_or(20);
    (5_i64 << exponent).min(3600)
}

/// A destination the policy refuses, found while resolving.
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// Resolves webhook host names and keeps only the addresses the policy allows: the HTTP
/// client connects to what this returns, so a name that resolved to a public address when it
/// was saved and to 127.0.0.1 now is refused now.
pub struct GuardedResolver {
    policy: Arc<WebhookPolicy>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refusal = None;
            let allowed: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|address| match policy.check_address(address.ip()) {
                    Ok(()) => true,
                    Err(why) => {
                        refusal.get_or_insert(why);
                        false
                    }
                })
                .collect();
            if allowed.is_empty() {
                let why = refusal.unwrap_or_else(|| format!("{host} has no address"));
                return Err(Box::new(Refused(why)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The refusal inside a client error, if the resolver refused the destination.
fn refusal_in(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(refused) = e.downcast_ref::<Refused>() {
            return Some(refused.0.clone());
        }
        current = e.source();
    }
    None
}

/// A leased delivery.
#[derive(Debug)]
struct Due {
    id: i64,
    team_slug: String,
    url: String,
    payload: serde_json::Value,
    attempts: i32,
}

/// The supervised form of the worker: keeps up to `concurrency` deliveries under way, one per
/// team, claiming more when one finishes or on the polling interval.
pub struct WebhookTask {
    worker: Arc<WebhookWorker>,
    under_way: JoinSet<()>,
    /// Rung when a delivery finishes: a place is free.
    finished: Arc<Notify>,
}

impl WebhookTask {
    pub fn new(worker: WebhookWorker) -> Self {
        Self {
            worker: Arc::new(worker),
            under_way: JoinSet::new(),
            finished: Arc::new(Notify::new()),
        }
    }
}

impl Task for WebhookTask {
    fn name(&self) -> String {
        "webhooks".into()
    }

    async fn step(&mut self) -> anyhow::Result<Next> {
        while let Some(done) = self.under_way.try_join_next() {
            if let Err(error) = done {
                tracing::error!(%error, "a webhook delivery task ended abnormally");
            }
        }
        let idle = Next::After(Duration::from_millis(self.worker.settings.poll_interval_ms));
        let free = self
            .worker
            .settings
            .concurrency
            .saturating_sub(self.under_way.len());
        if free == 0 {
            return Ok(idle);
        }
        let batch = self.worker.claim(free).await?;
        let claimed = batch.len();
        for due in batch {
            let (worker, finished) = (self.worker.clone(), self.finished.clone());
            self.under_way.spawn(async move {
                if let Err(error) = worker.deliver(due).await {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        "recording a webhook delivery failed"
                    );
                }
                finished.notify_waiters();
            });
        }
        // Every free place taken: more may be due.
        Ok(if claimed == free { Next::Now } else { idle })
    }

    fn after_error(&self) -> Duration {
        Duration::from_millis(self.worker.settings.poll_interval_ms)
    }

    fn wake(&self) -> Option<Arc<Notify>> {
        Some(self.finished.clone())
    }

    async fn finish(&mut self) {
        let limit = Duration::from_millis(self.worker.settings.timeout_ms + 1000);
        let under_way = &mut self.under_way;
        let drained = tokio::time::timeout(limit, async {
            while under_way.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            // Their leases run out and the deliveries are tried again.
            self.under_way.abort_all();
        }
    }
}

pub struct WebhookWorker {
    db: PgPool,
    http: reqwest::Client,
    settings: WebhookSettings,
    policy: Arc<WebhookPolicy>,
}

impl WebhookWorker {
    pub fn new(
        db: PgPool,
        settings: WebhookSettings,
        policy: WebhookPolicy,
    ) -> anyhow::Result<Self> {
        let policy = Arc::new(policy);
        let http = reqwest::ClientBuilder::new()
            .connect_timeout(Duration::from_millis(settings.connect_timeout_ms))
            .timeout(Duration::from_millis(settings.timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would resolve the name itself, around the guarded resolver.
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver {
                policy: policy.clone(),
            }))
            .user_agent("event-bus-portal-webhooks")
            .build()
            .context("building the webhook HTTP client")?;
        Ok(Self {
            db,
            http,
            settings,
            policy,
        })
    }

    /// How long a claimed delivery stays reserved: the whole delivery, and a margin.
    fn lease_seconds(&self) -> f64 {
        (self.settings.timeout_ms + self.settings.connect_timeout_ms) as f64 / 1000.0 + 30.0
    }

    /// Claims and sends at most one due delivery, waiting for its outcome (for tests and tools).
    pub async fn try_once(&self) -> anyhow::Result<Outcome> {
        match self.claim(1).await?.pop() {
            Some(due) => self.deliver(due).await,
            None => Ok(Outcome::Idle),
        }
    }

    /// Leases up to `limit` due deliveries, the oldest of each team whose deliveries are not
    /// already under way anywhere.
    async fn claim(&self, limit: usize) -> anyhow::Result<Vec<Due>> {
        sqlx::query_as!(
            Due,
            "with candidate as (
               select distinct on (d.team_slug) d.id, d.next_attempt_at
                 from webhook_delivery d
                where d.delivered_at is null and d.abandoned_at is null
                  and d.next_attempt_at <= now()
                  and (d.claimed_until is null or d.claimed_until < now())
                  and not exists (select 1 from webhook_delivery o
                                   where o.team_slug = d.team_slug and o.claimed_until > now()
                                     and o.delivered_at is null and o.abandoned_at is null)
                order by d.team_slug, d.next_attempt_at, d.id
             ), chosen as (
               select id from candidate order by next_attempt_at, id limit $1
             )
             update webhook_delivery w
                set claimed_until = now() + make_interval(secs => $2)
               from chosen
              where w.id = chosen.id
                and w.delivered_at is null and w.abandoned_at is null
                and (w.claimed_until is null or w.claimed_until < now())
             returning w.id, w.team_slug, w.url, w.payload, w.attempts",
            i64::try_from(limit).unwrap_or(i64::MAX),
            self.lease_seconds(),
        )
        .fetch_all(&self.db)
        .await
        .context("claiming webhook deliveries")
    }

    async fn deliver(&self, due: Due) -> anyhow::Result<Outcome> {
        let checked = url::Url::parse(&due.url)
            .map_err(|_| "the address is not a URL".to_owned())
            .and_then(|url| self.policy.check_url(&url));
        if let Err(why) = checked {
            return self.refuse(&due, why).await;
        }
        let result = self
            .http
            .post(&due.url)
            .header("content-type", "application/json")
            .body(due.payload.to_string())
            .send()
            .await;
        let failure = match result {
            Ok(response) if response.status().is_success() => None,
            Ok(response) => Some(format!(
                "the receiver answered HTTP {}",
                response.status().as_u16()
            )),
            Err(error) => {
                if let Some(why) = refusal_in(&error) {
                    return self.refuse(&due, why).await;
                }
                Some(if error.is_timeout() {
                    "the receiver did not answer in time".to_owned()
                } else {
                    "the receiver could not be reached".to_owned()
                })
            }
        };
        match failure {
            None => {
                sqlx::query!(
                    "update webhook_delivery
                        set delivered_at = now(), attempts = attempts + 1, last_error = null,
                            claimed_until = null
                      where id = $1",
                    due.id,
                )
                .execute(&self.db)
                .await
                .context("marking a delivery done")?;
                tracing::info!(
                    webhook.id = due.id,
                    team = due.team_slug,
                    "webhook delivered"
                );
                Ok(Outcome::Delivered)
            }
            Some(reason) => self.failed(&due, reason).await,
        }
    }

    /// A failure that may pass: back off this delivery, and every other one waiting for the
    /// same address, so a dead receiver is not called once per queued message.
    async fn failed(&self, due: &Due, reason: String) -> anyhow::Result<Outcome> {
        let attempts = due.attempts + 1;
        let abandoned = attempts >= self.settings.max_attempts;
        let backoff = backoff_seconds(attempts) as f64;
        let mut tx = self.db.begin().await.context("starting a transaction")?;
        sqlx::query!(
            "update webhook_delivery
                set attempts = $2, last_error = $3, claimed_until = null,
                    next_attempt_at = now() + make_interval(secs => $4),
                    abandoned_at = case when $5 then now() end
              where id = $1",
            due.id,
            attempts,
            &reason,
            backoff,
            abandoned,
        )
        .execute(&mut *tx)
        .await
        .context("recording a failed delivery")?;
        sqlx::query!(
            "update webhook_delivery
                set next_attempt_at = greatest(next_attempt_at, now() + make_interval(secs => $3))
              where url = $1 and id <> $2 and delivered_at is null and abandoned_at is null",
            &due.url,
            due.id,
            backoff,
        )
        .execute(&mut *tx)
        .await
        .context("backing off the address")?;
        tx.commit().await.context("committing a failed delivery")?;
        tracing::warn!(
            webhook.id = due.id,
            team = due.team_slug,
            attempts,
            abandoned,
            reason,
            "webhook delivery failed"
        );
        Ok(Outcome::Failed { abandoned })
    }

    /// The address is one the portal may not post to: abandoned at once, with the reason.
    async fn refuse(&self, due: &Due, why: String) -> anyhow::Result<Outcome> {
        let reason = format!("refused: {why}");
        sqlx::query!(
            "update webhook_delivery
                set attempts = attempts + 1, last_error = $2, claimed_until = null,
                    abandoned_at = now()
              where id = $1",
            due.id,
            &reason,
        )
        .execute(&self.db)
        .await
        .context("recording a refused delivery")?;
        tracing::warn!(
            webhook.id = due.id,
            team = due.team_slug,
            reason,
            "webhook destination refused"
        );
        Ok(Outcome::Refused(why))
    }
}

#[cfg(test)]
mod tests {
    use super::backoff_seconds;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff_seconds(0), 5);
        assert_eq!(backoff_seconds(1), 10);
        assert_eq!(backoff_seconds(3), 40);
        assert_eq!(backoff_seconds(10), 3600);
        assert_eq!(backoff_seconds(1000), 3600);
        assert_eq!(backoff_seconds(-3), 5);
    }
}

//! Delivers queued team webhooks: one row at a time, claimed with `FOR UPDATE SKIP LOCKED` so
//! any number of server replicas can run workers; failures retry with exponential backoff.

use anyhow::Context;
use serde::Deserialize;
use sqlx::PgPool;
use std::time::Duration;
use tokio::sync::watch;

#[derive(Debug, Clone, Deserialize)]
pub struct WebhookSettings {
    pub enabled: bool,
    pub poll_interval_ms: u64,
    pub max_attempts: i32,
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing was due.
    Idle,
    Delivered,
    /// Failed; tried again later, or abandoned after the last attempt.
    Failed {
        abandoned: bool,
    },
}

pub struct WebhookWorker {
    db: PgPool,
    http: openidconnect::reqwest::Client,
    settings: WebhookSettings,
}

/// Seconds before the next try after `attempts` failures: 5 s, 10 s, 20 s, ... at most an hour.
pub fn backoff_seconds(attempts: i32) -> i64 {
    let exponent = u32::try_from(attempts.clamp(0, 20)).unwrap_or(20);
    (5_i64 << exponent).min(3600)
}

impl WebhookWorker {
    pub fn new(db: PgPool, settings: WebhookSettings) -> anyhow::Result<Self> {
        let http = openidconnect::reqwest::ClientBuilder::new()
            .timeout(Duration::from_millis(settings.timeout_ms))
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .build()
            .context("building the webhook HTTP client")?;
        Ok(Self { db, http, settings })
    }

    /// Runs until `stop` turns true. Each delivery is independent: an error is logged and the
    /// loop goes on.
    pub async fn run_until_stopped(self, mut stop: watch::Receiver<bool>) {
        let idle = Duration::from_millis(self.settings.poll_interval_ms);
        loop {
            if *stop.borrow() {
                break;
            }
            let pause = match self.try_once().await {
                Ok(Outcome::Idle) => idle,
                Ok(_) => Duration::ZERO,
                Err(error) => {
                    tracing::warn!(error = format!("{error:#}"), "webhook worker step failed");
                    idle
                }
            };
            if !pause.is_zero() {
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = stop.changed() => {}
                }
            }
        }
        tracing::info!("webhook worker stopped");
    }

    /// Claims and sends at most one due delivery.
    pub async fn try_once(&self) -> anyhow::Result<Outcome> {
        let mut tx = self.db.begin().await.context("starting a transaction")?;
        let due: Option<(i64, String, String, serde_json::Value, i32)> = sqlx::query_as(
            "select id, team_slug, url, payload, attempts from webhook_delivery
              where delivered_at is null and abandoned_at is null and next_attempt_at <= now()
              order by next_attempt_at limit 1
              for update skip locked",
        )
        .fetch_optional(&mut *tx)
        .await
        .context("claiming a webhook delivery")?;
        let Some((id, team, url, payload, attempts)) = due else {
            return Ok(Outcome::Idle);
        };
        let result = self
            .http
            .post(&url)
            .header("content-type", "application/json")
            .body(payload.to_string())
            .send()
            .await;
        let failure = match result {
            Ok(response) if response.status().is_success() => None,
            Ok(response) => Some(format!(
                "the receiver answered HTTP {}",
                response.status().as_u16()
            )),
            Err(error) if error.is_timeout() => {
                Some("the receiver did not answer in time".to_owned())
            }
            Err(_) => Some("the receiver could not be reached".to_owned()),
        };
        let outcome = match failure {
            None => {
                sqlx::query(
                    "update webhook_delivery set delivered_at = now(), attempts = attempts + 1, last_error = null where id = $1",
                )
                .bind(id)
                .execute(&mut *tx)
                .await
                .context("marking a delivery done")?;
                tracing::info!(webhook.id = id, team, "webhook delivered");
                Outcome::Delivered
            }
            Some(reason) => {
                let attempts = attempts + 1;
                let abandoned = attempts >= self.settings.max_attempts;
                sqlx::query(
                    "update webhook_delivery
                        set attempts = $2, last_error = $3,
                            next_attempt_at = now() + make_interval(secs => $4),
                            abandoned_at = case when $5 then now() end
                      where id = $1",
                )
                .bind(id)
                .bind(attempts)
                .bind(&reason)
                .bind(backoff_seconds(attempts) as f64)
                .bind(abandoned)
                .execute(&mut *tx)
                .await
                .context("recording a failed delivery")?;
                tracing::warn!(
                    webhook.id = id,
                    team,
                    attempts,
                    abandoned,
                    reason,
                    "webhook delivery failed"
                );
                Outcome::Failed { abandoned }
            }
        };
        tx.commit()
            .await
            .context("committing the delivery outcome")?;
        Ok(outcome)
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

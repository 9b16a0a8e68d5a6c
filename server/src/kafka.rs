//! Connections to the Kafka clusters, one per environment, authenticated with SASL/SCRAM.

pub mod admin;

use crate::config::KafkaEnvironmentSettings;
use rdkafka::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, Producer};
use secrecy::ExposeSecret;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// librdkafka settings for one environment and principal. The password is handed straight to
/// librdkafka and never logged.
pub fn client_config(env: &KafkaEnvironmentSettings) -> ClientConfig {
    client_config_as(env, &env.sasl_username, env.sasl_password.expose_secret())
}

/// The same cluster, as another principal (an application's credentials, or a test principal).
pub fn client_config_as(
    env: &KafkaEnvironmentSettings,
    username: &str,
    password: &str,
) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &env.bootstrap_servers)
        .set("security.protocol", &env.security_protocol)
        .set("sasl.mechanism", &env.sasl_mechanism)
        .set("sasl.username", username)
        .set("sasl.password", password)
        .set("client.id", "event-bus-portal")
        .set_log_level(RDKafkaLogLevel::Warning);
    if let Some(ca) = &env.ssl_ca_location {
        config.set("ssl.ca.location", ca);
    }
    config
}

/// Why a cluster could not be used. The text is safe to show operators; it holds no addresses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClusterCheckError {
    #[error("authentication failed: the broker refused the portal's credentials")]
    AuthenticationFailed,
    #[error("unreachable: no broker answered within {0:?}")]
    Unreachable(Duration),
    #[error("the client could not be created")]
    ClientSetup,
}

/// What a successful check saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterInfo {
    pub brokers: usize,
    pub latency: Duration,
}

/// Records the one error that tells "wrong password" apart from "nobody answered".
struct ProbeContext {
    authentication_failed: Arc<AtomicBool>,
}

impl ClientContext for ProbeContext {
    fn error(&self, error: KafkaError, reason: &str) {
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::Authentication) {
            self.authentication_failed.store(true, Ordering::Relaxed);
        }
        tracing::debug!(%error, reason, "kafka client error");
    }
}

impl rdkafka::producer::ProducerContext for ProbeContext {
    type DeliveryOpaque = ();
    fn delivery(&self, _: &rdkafka::message::DeliveryResult<'_>, _: Self::DeliveryOpaque) {}
}

/// Connects with the given settings and asks for cluster metadata.
pub async fn check_cluster(
    config: ClientConfig,
    timeout: Duration,
) -> Result<ClusterInfo, ClusterCheckError> {
    let authentication_failed = Arc::new(AtomicBool::new(false));
    let context = ProbeContext {
        authentication_failed: authentication_failed.clone(),
    };
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        // A producer, because its poll() serves the error events that carry the SASL outcome.
        let probe: BaseProducer<ProbeContext> =
            config.create_with_context(context).map_err(|e| {
                tracing::error!(error = %e, "creating a Kafka client failed");
                ClusterCheckError::ClientSetup
            })?;
        // Metadata only comes back after a successful login. Ask in short slices and serve the
        // error events in between, so a refused login is known as soon as the broker says so
        // rather than at the end of the timeout.
        let deadline = started + timeout;
        loop {
            let slice = deadline
                .saturating_duration_since(Instant::now())
                .min(Duration::from_millis(250));
            let result = probe.client().fetch_metadata(None, slice);
            if result.is_err() {
                probe.poll(Duration::from_millis(10));
            }
            let failed_auth = authentication_failed.load(Ordering::Relaxed);
            match result {
                Ok(metadata) if !failed_auth => {
                    return Ok(ClusterInfo {
                        brokers: metadata.brokers().len(),
                        latency: started.elapsed(),
                    });
                }
                _ if failed_auth => return Err(ClusterCheckError::AuthenticationFailed),
                _ if Instant::now() >= deadline => {
                    return Err(ClusterCheckError::Unreachable(timeout));
                }
                Ok(_) | Err(_) => {}
            }
        }
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "Kafka check task failed");
        ClusterCheckError::ClientSetup
    })?
}

//! Operations endpoints: liveness, readiness per dependency, and Prometheus metrics.
//! Readiness answers from a recent check (at most one check under way, reused for
//! [`READY_FOR`]), so probes and scrapers cannot turn into a stream of Kafka connections.

use crate::kafka::{self, ClusterCheckError};
use crate::state::AppState;
use axum::Json;
use axum::extract::MatchedPath;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use http::{StatusCode, header};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde::Serialize;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

const CHECK_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a readiness result is reused.
pub const READY_FOR: Duration = Duration::from_secs(10);

/// `/healthz`: the process is up and serving.
pub async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok" }))
}

#[derive(Debug, Serialize)]
pub struct Readiness {
    pub status: &'static str,
    /// When the dependencies were last asked; answers within [`READY_FOR`] reuse it.
    pub checked_at: DateTime<Utc>,
    pub checks: Vec<DependencyCheck>,
}

/// The latest readiness result. The lock is held while a check runs, so callers arriving then
/// wait for its answer instead of starting their own.
#[derive(Default)]
pub struct ReadinessCache {
    latest: tokio::sync::Mutex<Option<(Instant, Arc<Readiness>)>>,
}

#[derive(Debug, Serialize)]
pub struct DependencyCheck {
    pub name: String,
    pub status: &'static str,
    pub latency_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `/readyz`: the database and every Kafka cluster answer. 503 with the failing ones otherwise.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let readiness = {
        let mut latest = state.readiness.latest.lock().await;
        match latest.as_ref() {
            Some((at, readiness)) if at.elapsed() < READY_FOR => readiness.clone(),
            _ => {
                let fresh = Arc::new(check_dependencies(&state).await);
                *latest = Some((Instant::now(), fresh.clone()));
                fresh
            }
        }
    };
    let status = if readiness.status == "ready" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(readiness.as_ref())).into_response()
}

async fn check_dependencies(state: &AppState) -> Readiness {
    let checked_at = Utc::now();
    let database = async {
        let started = Instant::now();
        let result = tokio::time::timeout(
            CHECK_TIMEOUT,
            sqlx::query_scalar!("select 1 as one").fetch_one(&state.db),
        )
        .await;
        let error = match result {
            Ok(Ok(_)) => None,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "readiness: database check failed");
                Some("the database did not answer".to_owned())
            }
            Err(_) => Some(format!(
                "the database did not answer within {CHECK_TIMEOUT:?}"
            )),
        };
        check("database".into(), started, error)
    };
    let clusters = state
        .settings
        .environments()
        .into_iter()
        .map(|(name, env)| {
            let config = kafka::client_config(env);
            let name = format!("kafka:{name}");
            async move {
                let started = Instant::now();
                let result = kafka::check_cluster(config, CHECK_TIMEOUT).await;
                let error = result.err().map(|e: ClusterCheckError| e.to_string());
                check(name, started, error)
            }
        });
    let (database, clusters) = tokio::join!(database, futures::future::join_all(clusters));
    let mut checks = vec![database];
    checks.extend(clusters);
    let ready = checks.iter().all(|c| c.error.is_none());
    Readiness {
        status: if ready { "ready" } else { "not_ready" },
        checked_at,
        checks,
    }
}

fn check(name: String, started: Instant, error: Option<String>) -> DependencyCheck {
    DependencyCheck {
        name,
        status: if error.is_none() { "ok" } else { "error" },
        latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        error,
    }
}

/// `/metrics`: Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}

/// The process-wide Prometheus recorder, installed once; concurrent callers wait for it.
pub fn metrics_handle() -> anyhow::Result<PrometheusHandle> {
    static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("http_request_duration_seconds".into()),
                    &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0],
                )
                .map_err(|e| e.to_string())?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder)
                .map_err(|_| "a different metrics recorder is installed".to_owned())?;
            Ok(handle)
        })
        .clone()
        .map_err(anyhow::Error::msg)
}

/// The route pattern a request matched, handed from the router to [`track_requests`].
#[derive(Debug, Clone)]
pub struct RouteLabel(pub String);

/// Runs inside the router (a route layer): records which pattern matched.
pub async fn label_route(matched: Option<MatchedPath>, request: Request, next: Next) -> Response {
    let label = matched.map(|m| m.as_str().to_owned());
    let mut response = next.run(request).await;
    if let Some(label) = label {
        response.extensions_mut().insert(RouteLabel(label));
    }
    response
}

/// A method label from a fixed set, so made-up methods cannot grow the metrics.
pub fn method_label(method: &http::Method) -> &'static str {
    match *method {
        http::Method::GET => "GET",
        http::Method::HEAD => "HEAD",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::PATCH => "PATCH",
        http::Method::DELETE => "DELETE",
        http::Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Counts requests and records their latency, labelled by the route pattern that matched
/// (`/requests/{id}`, `/subjects/{subject}/versions`), never by raw path, which would carry
/// ids and unbounded cardinality. Files served outside the routes are `static`; anything else
/// is `unmatched`.
pub async fn track_requests(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let response = next.run(request).await;
    let route = match response.extensions().get::<RouteLabel>() {
        Some(RouteLabel(pattern)) => pattern.clone(),
        None if response.status().is_success() || response.status().is_redirection() => {
            "static".to_owned()
        }
        None => "unmatched".to_owned(),
    };
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method, "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

//! The read side of a Confluent-compatible Schema Registry, served from the portal's approved
//! schemas: what client serializers call at start-up. Clients authenticate with HTTP basic and
//! their application's Kafka credentials; the portal keeps no password, so it asks the
//! application's cluster whether the password is right and remembers a yes for a few minutes.

use crate::config::Settings;
use crate::kafka::{ClusterCheckError, check_cluster, client_config_as};
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use serde_json::{Value, json};
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";
/// How long a password the cluster accepted is trusted without asking again.
const VERIFIED_FOR: Duration = Duration::from_secs(300);

/// (principal, SHA-256 of the password) -> when the cluster last accepted it.
type Verified = HashMap<(String, [u8; 32]), Instant>;

#[derive(Clone)]
pub struct Registry {
    db: PgPool,
    settings: Arc<Settings>,
    verified: Arc<Mutex<Verified>>,
}

/// A Confluent-style error: HTTP status plus `{"error_code", "message"}`.
fn error(status: StatusCode, code: u32, message: &str) -> Response {
    let mut response = (
        status,
        json!({ "error_code": code, "message": message }).to_string(),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}

fn ok(body: Value) -> Response {
    let mut response = body.to_string().into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}

fn internal(e: sqlx::Error) -> Response {
    tracing::error!(error = %e, "schema registry query failed");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        50001,
        "Error in the backend data store",
    )
}

fn unauthorized() -> Response {
    let mut response = error(StatusCode::UNAUTHORIZED, 40101, "Unauthorized");
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"schema-registry\""),
    );
    response
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

impl Registry {
    pub fn new(db: PgPool, settings: Arc<Settings>) -> Self {
        Self {
            db,
            settings,
            verified: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Whether `password` is the principal's current password, as its cluster says.
    async fn verify(&self, principal: &str, password: &str) -> Result<bool, Response> {
        use sha2::Digest;
        let digest: [u8; 32] = sha2::Sha256::digest(password.as_bytes()).into();
        let key = (principal.to_owned(), digest);
        if let Ok(cache) = self.verified.lock()
            && cache
                .get(&key)
                .is_some_and(|at| at.elapsed() < VERIFIED_FOR)
        {
            return Ok(true);
        }
        let environment: Option<String> = sqlx::query_scalar(
            "select environment from kafka_principal where principal = $1 and credential_set_at is not null",
        )
        .bind(principal)
        .fetch_optional(&self.db)
        .await
        .map_err(internal)?;
        let Some(env) = environment.and_then(|e| self.settings.kafka.environments.get(&e).cloned())
        else {
            return Ok(false);
        };
        match check_cluster(
            client_config_as(&env, principal, password),
            Duration::from_secs(5),
        )
        .await
        {
            Ok(_) => {
                if let Ok(mut cache) = self.verified.lock() {
                    cache.retain(|_, at| at.elapsed() < VERIFIED_FOR);
                    cache.insert(key, Instant::now());
                }
                Ok(true)
            }
            Err(ClusterCheckError::AuthenticationFailed) => Ok(false),
            Err(other) => {
                tracing::warn!(error = %other, "could not check a registry client's password");
                Err(error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    50003,
                    "Could not check the credentials now; try again",
                ))
            }
        }
    }
}

async fn authenticate(State(registry): State<Registry>, request: Request, next: Next) -> Response {
    let Some((user, password)) = basic_credentials(request.headers()) else {
        return unauthorized();
    };
    match registry.verify(&user, &password).await {
        Ok(true) => next.run(request).await,
        Ok(false) => unauthorized(),
        Err(response) => response,
    }
}

async fn subjects(State(r): State<Registry>) -> Response {
    match sqlx::query_scalar::<_, String>(
        "select subject from schema_subject s
          where exists (select 1 from schema_version v where v.subject = s.subject)
          order by subject",
    )
    .fetch_all(&r.db)
    .await
    {
        Ok(list) => ok(json!(list)),
        Err(e) => internal(e),
    }
}

async fn subject_exists(db: &PgPool, subject: &str) -> Result<bool, Response> {
    sqlx::query_scalar("select exists (select 1 from schema_subject where subject = $1)")
        .bind(subject)
        .fetch_one(db)
        .await
        .map_err(internal)
}

async fn versions(State(r): State<Registry>, Path(subject): Path<String>) -> Response {
    match subject_exists(&r.db, &subject).await {
        Ok(true) => {}
        Ok(false) => return error(StatusCode::NOT_FOUND, 40401, "Subject not found."),
        Err(response) => return response,
    }
    match sqlx::query_scalar::<_, i32>(
        "select version from schema_version where subject = $1 order by version",
    )
    .bind(&subject)
    .fetch_all(&r.db)
    .await
    {
        Ok(list) => ok(json!(list)),
        Err(e) => internal(e),
    }
}

async fn version(
    State(r): State<Registry>,
    Path((subject, version)): Path<(String, String)>,
) -> Response {
    let wanted: Option<i32> = match version.as_str() {
        "latest" | "-1" => None,
        v => match v.parse::<i32>() {
            Ok(n) if n >= 1 => Some(n),
            _ => {
                return error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    42202,
                    "The specified version is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\"",
                );
            }
        },
    };
    match subject_exists(&r.db, &subject).await {
        Ok(true) => {}
        Ok(false) => return error(StatusCode::NOT_FOUND, 40401, "Subject not found."),
        Err(response) => return response,
    }
    let row: Result<Option<(i32, i32, String)>, _> = sqlx::query_as(
        "select v.version, v.schema_id, t.canonical
           from schema_version v join schema_text t on t.id = v.schema_id
          where v.subject = $1 and ($2::int is null or v.version = $2)
          order by v.version desc limit 1",
    )
    .bind(&subject)
    .bind(wanted)
    .fetch_optional(&r.db)
    .await;
    match row {
        Ok(Some((version, id, schema))) => ok(json!({
            "subject": subject, "version": version, "id": id, "schema": schema,
        })),
        Ok(None) => error(StatusCode::NOT_FOUND, 40402, "Version not found."),
        Err(e) => internal(e),
    }
}

async fn schema_by_id(State(r): State<Registry>, Path(id): Path<i32>) -> Response {
    match sqlx::query_as::<_, (String,)>("select canonical from schema_text where id = $1")
        .bind(id)
        .fetch_optional(&r.db)
        .await
    {
        Ok(Some((schema,))) => ok(json!({ "schema": schema })),
        Ok(None) => error(StatusCode::NOT_FOUND, 40403, "Schema not found"),
        Err(e) => internal(e),
    }
}

async fn schema_versions(State(r): State<Registry>, Path(id): Path<i32>) -> Response {
    match sqlx::query_as::<_, (String, i32)>(
        "select subject, version from schema_version where schema_id = $1 order by subject, version",
    )
    .bind(id)
    .fetch_all(&r.db)
    .await
    {
        Ok(rows) if rows.is_empty() => error(StatusCode::NOT_FOUND, 40403, "Schema not found"),
        Ok(rows) => ok(json!(rows
            .into_iter()
            .map(|(subject, version)| json!({ "subject": subject, "version": version }))
            .collect::<Vec<_>>())),
        Err(e) => internal(e),
    }
}

async fn config(State(r): State<Registry>, Path(subject): Path<String>) -> Response {
    match sqlx::query_scalar::<_, String>(
        "select compatibility from schema_subject where subject = $1",
    )
    .bind(&subject)
    .fetch_optional(&r.db)
    .await
    {
        Ok(Some(level)) => ok(json!({ "compatibilityLevel": level })),
        Ok(None) => error(StatusCode::NOT_FOUND, 40401, "Subject not found."),
        Err(e) => internal(e),
    }
}

/// The registry's routes, behind HTTP basic authentication.
pub fn router<S: Clone + Send + Sync + 'static>(registry: Registry) -> Router<S> {
    Router::new()
        .route("/subjects", get(subjects))
        .route("/subjects/{subject}/versions", get(versions))
        .route("/subjects/{subject}/versions/{version}", get(version))
        .route("/schemas/ids/{id}", get(schema_by_id))
        .route("/schemas/ids/{id}/versions", get(schema_versions))
        .route("/config/{subject}", get(config))
        .route_layer(middleware::from_fn_with_state(
            registry.clone(),
            authenticate,
        ))
        .with_state(registry)
}

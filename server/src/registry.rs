//! A Confluent-compatible Schema Registry over the portal's approved schemas: what client
//! serializers call (reads, lookups, compatibility checks). Writes are governed: a schema
//! already approved for the subject answers with its id, anything else is refused. Clients
//! authenticate with HTTP basic and their application's Kafka credentials ([`signin`]), and
//! read only subjects of topics their application produces, consumes or whose team owns them,
//! in their own environment; other subjects answer as if they did not exist.
#![expect(
    clippy::result_large_err,
    reason = "handlers answer errors as finished responses; boxing them would only add noise"
)]

use app::domain::EnvironmentName;
mod signin;

pub use signin::RegistrySettings;

use crate::config::Settings;
use crate::kafka::{ClusterCheckError, check_cluster, client_config_as};
use app::domain::ApplicationId;
use app::domain::{Compatibility, SchemaFormat};
use app::schemas::store::{self, StoredVersion};
use axum::Router;
use axum::body::Bytes;
use axum::extract::ConnectInfo;
use axum::extract::{Extension, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, any, get, post};
use base64::Engine;
use chrono::{DateTime, Utc};
use compat::ParsedSchema;
use serde_json::{Value, json};
use signin::{Refusal, SignIn, Verdict};
use sqlx::PgPool;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";
/// Answers kept in memory (schemas by id, numbered versions: they never change).
const CACHED_ANSWERS: usize = 20_000;
/// How long a subject's `latest` answer is reused: a newly approved version is served by every
/// portal server within this time.
const LATEST_FOR: Duration = Duration::from_secs(5);

/// What one application may read in its environment: subjects, and the schema ids under them,
/// as of a `registry_generation` (which moves with every change to grants, topics, their
/// environments and schema versions).
struct Readable {
    generation: i64,
    subjects: HashSet<String>,
    /// Subjects with at least one version, sorted (what `GET /subjects` lists).
    listed: Vec<String>,
    ids: HashSet<i32>,
}

/// What each (application, environment) may read.
type ReadableBy = HashMap<(ApplicationId, EnvironmentName), Arc<Readable>>;

/// A subject and a version number (`None` for `latest`).
type VersionKey = (String, Option<i32>);

/// The application a request signed in as, in its environment, and the registry generation
/// read with its credential.
#[derive(Clone, Debug)]
struct Caller {
    principal: String,
    application: ApplicationId,
    environment: EnvironmentName,
    generation: i64,
}

#[derive(Clone)]
pub struct Registry {
    db: PgPool,
    settings: Arc<Settings>,
    signin: Arc<SignIn>,
    /// `GET /schemas/ids/{id}` answers: an id's schema never changes.
    ids: Arc<Mutex<HashMap<i32, Value>>>,
    /// `GET /subjects/{s}/versions/{v}` answers (version `None` is `latest`), with when they
    /// were read.
    versions: Arc<Mutex<HashMap<VersionKey, (Instant, Value)>>>,
    /// What each application (and environment) may read, reused while the generation stays.
    readable: Arc<Mutex<ReadableBy>>,
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

fn too_many(wait: Duration) -> Response {
    let seconds = wait.as_secs().max(1);
    let mut response = error(
        StatusCode::TOO_MANY_REQUESTS,
        42901,
        &format!(
            "Too many failed sign-ins for this principal or from this address; try again in {seconds} s"
        ),
    );
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

fn busy() -> Response {
    let mut response = error(
        StatusCode::SERVICE_UNAVAILABLE,
        50003,
        "Could not check the credentials now; try again",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

impl Registry {
    pub fn new(db: PgPool, settings: Arc<Settings>) -> Self {
        Self {
            db,
            signin: Arc::new(SignIn::new(
                settings.registry.clone(),
                &settings.server.trusted_proxies,
            )),
            settings,
            ids: Arc::new(Mutex::new(HashMap::new())),
            versions: Arc::new(Mutex::new(HashMap::new())),
            readable: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Who is calling: the principal's current credential, as its cluster says, within the
    /// sign-in limits.
    async fn sign_in(
        &self,
        principal: &str,
        password: &str,
        address: Option<std::net::IpAddr>,
    ) -> Result<Caller, Response> {
        use sha2::Digest;
        // Read on every request: a rotated or deleted credential stops working at once.
        let row = sqlx::query!(
            r#"select application_id as "application_id: ApplicationId",
                      environment as "environment: EnvironmentName",
                      credential_set_at as "credential_set_at: DateTime<Utc>",
                      (select n from registry_generation) as "generation!"
                 from kafka_principal where principal = $1"#,
            principal
        )
        .fetch_optional(&self.db)
        .await
        .map_err(internal)?
        .map(|r| {
            (
                r.application_id,
                r.environment,
                r.credential_set_at,
                r.generation,
            )
        });
        let key = (
            principal.to_owned(),
            sha2::Sha256::digest(password.as_bytes()).into(),
        );
        let current = row.and_then(|(application, environment, version, generation)| {
            version.map(|version| (application, environment, version, generation))
        });
        // What sign-ins met, for operators watching for guessing (`/metrics`).
        let outcome = |outcome: &'static str| {
            metrics::counter!("registry_signins_total", "outcome" => outcome).increment(1);
        };
        if let Some((application, environment, version, generation)) = &current
            && self.signin.accepted(&key, *version)
        {
            outcome("remembered");
            return Ok(Caller {
                principal: principal.to_owned(),
                application: *application,
                environment: environment.clone(),
                generation: *generation,
            });
        }
        if let Some(wait) = self.signin.blocked(principal, address) {
            outcome("locked_out");
            return Err(too_many(wait));
        }
        let refuse = || {
            self.signin.failed(principal, address);
            unauthorized()
        };
        // Unknown principals and deleted credentials never cost a handshake.
        let Some((application, environment, version, generation)) = current else {
            outcome("unknown_principal");
            return Err(refuse());
        };
        let Some(cluster) = self.settings.kafka.environments.get(&environment).cloned() else {
            return Err(refuse());
        };
        // The check runs as a task of its own: a client that hangs up (or gives up) cannot
        // cancel it halfway, which would free its handshake place while the handshake still
        // runs and skip counting the failure.
        let signin = self.signin.clone();
        let (user, password) = (principal.to_owned(), password.to_owned());
        let checked = tokio::spawn(async move {
            let verdict = signin
                .verify(&key, version, address, || async {
                    outcome("handshake");
                    match check_cluster(
                        client_config_as(&cluster, &user, &password),
                        Duration::from_secs(5),
                    )
                    .await
                    {
                        Ok(_) => Verdict::Accepted,
                        Err(ClusterCheckError::AuthenticationFailed) => Verdict::Refused,
                        Err(other) => {
                            tracing::warn!(error = %other, "could not check a registry client's password");
                            Verdict::Unknown
                        }
                    }
                })
                .await;
            match verdict {
                Ok(true) => outcome("accepted"),
                Ok(false) => {
                    outcome("refused");
                    signin.failed(&user, address);
                }
                Err(Refusal::Busy) => outcome("busy"),
                Err(Refusal::Blocked(_)) => outcome("locked_out"),
            }
            verdict
        })
        .await;
        match checked {
            Ok(Ok(true)) => Ok(Caller {
                principal: principal.to_owned(),
                application,
                environment,
                generation,
            }),
            Ok(Ok(false)) => Err(unauthorized()),
            Ok(Err(Refusal::Busy)) => Err(busy()),
            Ok(Err(Refusal::Blocked(wait))) => Err(too_many(wait)),
            Err(error) => {
                tracing::error!(%error, "a registry sign-in check failed");
                Err(busy())
            }
        }
    }
}

async fn authenticate(State(registry): State<Registry>, request: Request, next: Next) -> Response {
    let Some((user, password)) = basic_credentials(request.headers()) else {
        return unauthorized();
    };
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip());
    let forwarded = request
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    let address = registry.signin.client_address(peer, forwarded);
    match registry.sign_in(&user, &password, address).await {
        Ok(caller) => {
            let mut request = request;
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(response) => response,
    }
}

/// Whether the caller may read `subject`: its application's team owns the topic (in the
/// caller's environment), or the application has live access to it there.
impl Registry {
    /// What the caller may read, loaded again when the generation read with its credential
    /// moved since.
    async fn readable_to(&self, caller: &Caller) -> Result<Arc<Readable>, Response> {
        let key = (caller.application, caller.environment.clone());
        let cached = self
            .readable
            .lock()
            .ok()
            .and_then(|all| all.get(&key).cloned())
            .filter(|r| r.generation == caller.generation);
        if let Some(readable) = cached {
            return Ok(readable);
        }
        // Subjects of the application team's own topics in environments they live in, and of
        // topics it holds a live grant on there.
        let rows: Vec<(String, Vec<i32>)> = sqlx::query!(
            r#"select s.subject,
                      coalesce(array_agg(v.schema_id) filter (where v.schema_id is not null), '{}')
                        as "ids!"
                 from schema_subject s left join schema_version v on v.subject = s.subject
                where exists (
                      select 1 from schema_subject vs
                        join topic vt on vt.id = vs.topic_id
                        join application va on va.id = $1
                       where vs.subject = s.subject
                         and ((va.team_slug = vt.owning_team
                               and exists (select 1 from topic_environment ve
                                            where ve.topic_id = vt.id and ve.environment = $2))
                              or exists (select 1 from access_grant vg
                                          where vg.application_id = va.id and vg.topic_id = vt.id
                                            and vg.environment = $2 and vg.revoked_at is null)))
                group by s.subject"#,
            caller.application as ApplicationId,
            &caller.environment as &EnvironmentName,
        )
        .fetch_all(&self.db)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|r| (r.subject, r.ids))
        .collect();
        let mut listed: Vec<String> = rows
            .iter()
            .filter(|(_, ids)| !ids.is_empty())
            .map(|(subject, _)| subject.clone())
            .collect();
        listed.sort();
        let readable = Arc::new(Readable {
            generation: caller.generation,
            ids: rows
                .iter()
                .flat_map(|(_, ids)| ids.iter().copied())
                .collect(),
            subjects: rows.into_iter().map(|(subject, _)| subject).collect(),
            listed,
        });
        if let Ok(mut all) = self.readable.lock() {
            if all.len() >= CACHED_ANSWERS {
                all.clear();
            }
            all.insert(key, readable.clone());
        }
        Ok(readable)
    }

    /// Whether `found` holds for what the caller may read.
    async fn may(
        &self,
        caller: &Caller,
        found: impl Fn(&Readable) -> bool,
    ) -> Result<bool, Response> {
        Ok(found(&*self.readable_to(caller).await?))
    }

    /// 40401 unless the caller may read the subject: a subject it may not see does not exist
    /// for it.
    async fn readable(&self, caller: &Caller, subject: &str) -> Result<(), Response> {
        if self.may(caller, |r| r.subjects.contains(subject)).await? {
            Ok(())
        } else {
            Err(subject_not_found())
        }
    }
}

fn subject_not_found() -> Response {
    error(StatusCode::NOT_FOUND, 40401, "Subject not found.")
}

/// The list parameters the registry's list endpoints take (others are ignored, as Confluent
/// does). Nothing here is ever soft-deleted, so `deleted` adds nothing and `deletedOnly` lists
/// nothing.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListParams {
    subject_prefix: Option<String>,
    deleted_only: Option<bool>,
    latest_only: Option<bool>,
}

impl ListParams {
    fn wants(&self, subject: &str) -> bool {
        self.deleted_only != Some(true)
            && self
                .subject_prefix
                .as_deref()
                .is_none_or(|prefix| subject.starts_with(prefix))
    }
}

/// `GET /subjects`: the subjects the caller may read that have a version.
async fn subjects(
    State(r): State<Registry>,
    Extension(caller): Extension<Caller>,
    Query(params): Query<ListParams>,
) -> Response {
    match r.readable_to(&caller).await {
        Ok(readable) => ok(json!(
            readable
                .listed
                .iter()
                .filter(|s| params.wants(s))
                .collect::<Vec<_>>()
        )),
        Err(response) => response,
    }
}

/// `GET /schemas`: every version of the subjects the caller may read (or only each subject's
/// latest), as `GET /subjects/{s}/versions/{v}` shows them.
async fn schemas(
    State(r): State<Registry>,
    Extension(caller): Extension<Caller>,
    Query(params): Query<ListParams>,
) -> Response {
    let readable = match r.readable_to(&caller).await {
        Ok(readable) => readable,
        Err(response) => return response,
    };
    let wanted: Vec<String> = readable
        .listed
        .iter()
        .filter(|s| params.wants(s))
        .cloned()
        .collect();
    let rows = sqlx::query!(
        r#"select v.subject, v.version, v.schema_id as id, t.format as "format: SchemaFormat",
                  t.canonical, t.original
             from schema_version v join schema_text t on t.id = v.schema_id
            where v.subject = any($1)
              and (not $2 or v.version = (select max(l.version) from schema_version l
                                           where l.subject = v.subject))
            order by v.subject, v.version"#,
        &wanted,
        params.latest_only == Some(true),
    )
    .fetch_all(&r.db)
    .await;
    match rows {
        Ok(rows) => ok(json!(
            rows.into_iter()
                .map(|row| {
                    let version = StoredVersion {
                        version: row.version,
                        id: row.id,
                        format: row.format,
                        canonical: row.canonical,
                        original: row.original,
                    };
                    version_body(&row.subject, &version)
                })
                .collect::<Vec<_>>()
        )),
        Err(e) => internal(e),
    }
}

/// `GET /schemas/types`: the formats served here.
async fn schema_types() -> Response {
    ok(json!([
        SchemaFormat::Avro.schema_type(),
        SchemaFormat::Json.schema_type()
    ]))
}

/// `GET /mode`: writes are governed, not switched off; clients see an ordinary registry.
async fn mode() -> Response {
    ok(json!({ "mode": "READWRITE" }))
}

/// `GET /mode/{subject}`: as `GET /mode`, for a subject the caller may read.
async fn subject_mode_answer(
    State(r): State<Registry>,
    Extension(caller): Extension<Caller>,
    Path(subject): Path<String>,
) -> Response {
    match r.readable(&caller, &subject).await {
        Ok(()) => mode().await,
        Err(response) => response,
    }
}

/// `GET /contexts`: only the default context.
async fn contexts() -> Response {
    ok(json!(["."]))
}

/// A path under the registry that it does not serve: JSON, as from Confluent's registry.
async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, 404, "HTTP 404 Not Found")
}

async fn method_not_allowed() -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        405,
        "HTTP 405 Method Not Allowed",
    )
}

/// What the portal governs instead of the registry, answered to the registry calls that would
/// change it.
#[derive(Debug, Clone, Copy)]
enum Governed {
    Deletion,
    GlobalConfig,
    Mode,
}

impl Governed {
    fn answer(self) -> Response {
        let message = match self {
            Governed::Deletion => {
                "Subjects and versions are not deleted through the registry: a topic's schemas \
                 stay while the topic exists, and a topic is retired in the Event Bus Portal"
            }
            Governed::GlobalConfig => {
                "The registry-wide compatibility level is set by the bus's operators; a \
                 subject's level is requested in the Event Bus Portal"
            }
            Governed::Mode => {
                "The registry's mode is not changed through the registry: writes are governed \
                 in the Event Bus Portal"
            }
        };
        error(StatusCode::FORBIDDEN, 40301, message)
    }

    /// The methods that would change it: PUT and DELETE.
    fn writes(self) -> MethodRouter<Registry> {
        axum::routing::put(move || async move { self.answer() })
            .delete(move || async move { self.answer() })
    }
}

async fn versions(
    State(r): State<Registry>,
    Extension(caller): Extension<Caller>,
    Path(subject): Path<String>,
) -> Response {
    if let Err(response) = r.readable(&caller, &subject).await {
        return response;
    }
    match sqlx::query_scalar!(
        "select version from schema_version where subject = $1 order by version",
        &subject
    )
    .fetch_all(&r.db)
    .await
    {
        Ok(list) => ok(json!(list)),
        Err(e) => internal(e),
    }
}

/// `GET /subjects/{subject}/versions/{version}`.
async fn version(
    State(r): State<Registry>,
    Extension(caller): Extension<Caller>,
    Path((subject, version)): Path<(String, String)>,
) -> Response {
    match version_answer(&r, &caller, subject, &version).await {
        Ok(body) => ok(body),
        Err(response) => response,
    }
}

/// `GET /subjects/{subject}/versions/{version}/schema`: the schema alone, as written in the
/// version's answer.
async fn raw_schema(
    State(r): State<Registry>,
    Extension(caller): Extension<Caller>,
    Path((subject, version)): Path<(String, String)>,
) -> Response {
    match version_answer(&r, &caller, subject, &version).await {
        Ok(body) => {
            let schema = body["schema"].as_str().unwrap_or_default().to_owned();
            let mut response = schema.into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
            response
        }
        Err(response) => response,
    }
}

/// A version of a subject as the API shows it, for a caller who may read the subject.
async fn version_answer(
    r: &Registry,
    caller: &Caller,
    subject: String,
    version: &str,
) -> Result<Value, Response> {
    let wanted: Option<i32> = match version {
        "latest" | "-1" => None,
        v => match v.parse::<i32>() {
            Ok(n) if n >= 1 => Some(n),
            _ => return Err(invalid_version()),
        },
    };
    r.readable(caller, &subject).await?;
    let key = (subject.clone(), wanted);
    if let Some(body) = r.versions.lock().ok().and_then(|cached| {
        cached
            .get(&key)
            .filter(|(at, _)| wanted.is_some() || at.elapsed() < LATEST_FOR)
            .map(|(_, body)| body.clone())
    }) {
        return Ok(body);
    }
    // One round trip: whether the subject exists, and the version if it has it.
    let row = sqlx::query!(
        r#"select exists (select 1 from schema_subject where subject = $1) as "exists!",
                  v.version as "version?", v.schema_id as "schema_id?",
                  t.format as "format?: SchemaFormat", t.canonical as "canonical?"
             from (select 1) one
             left join lateral (select version, schema_id from schema_version
                                 where subject = $1 and ($2::int is null or version = $2)
                                 order by version desc limit 1) v on true
             left join schema_text t on t.id = v.schema_id"#,
        &subject,
        wanted,
    )
    .fetch_one(&r.db)
    .await
    .map(|r| (r.exists, r.version, r.schema_id, r.format, r.canonical));
    match row {
        Ok((false, ..)) => Err(subject_not_found()),
        Ok((true, Some(version), Some(id), Some(format), Some(canonical))) => {
            let body = version_body(
                &subject,
                &StoredVersion {
                    version,
                    id,
                    format,
                    canonical,
                    original: String::new(),
                },
            );
            if let Ok(mut cached) = r.versions.lock() {
                if cached.len() >= CACHED_ANSWERS {
                    cached.clear();
                }
                cached.insert(key, (Instant::now(), body.clone()));
            }
            Ok(body)
        }
        Ok(_) => Err(error(StatusCode::NOT_FOUND, 40402, "Version not found.")),
        Err(e) => Err(internal(e)),
    }
}

async fn schema_by_id(
    State(r): State<Registry>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i32>,
) -> Response {
    // An id is served to callers who may read a subject that has it.
    match r.may(&caller, |readable| readable.ids.contains(&id)).await {
        Ok(true) => {}
        Ok(false) => return error(StatusCode::NOT_FOUND, 40403, "Schema not found"),
        Err(response) => return response,
    }
    if let Some(body) = r.ids.lock().ok().and_then(|ids| ids.get(&id).cloned()) {
        return ok(body);
    }
    let body = match sqlx::query!(
        r#"select canonical, format as "format: SchemaFormat" from schema_text where id = $1"#,
        id
    )
    .fetch_optional(&r.db)
    .await
    .map(|row| row.map(|row| (row.canonical, row.format)))
    {
        Ok(Some((schema, SchemaFormat::Json))) => {
            json!({ "schema": schema, "schemaType": SchemaFormat::Json.schema_type() })
        }
        Ok(Some((schema, SchemaFormat::Avro))) => json!({ "schema": schema }),
        Ok(None) => return error(StatusCode::NOT_FOUND, 40403, "Schema not found"),
        Err(e) => return internal(e),
    };
    if let Ok(mut ids) = r.ids.lock() {
        if ids.len() >= CACHED_ANSWERS {
            ids.clear();
        }
        ids.insert(id, body.clone());
    }
    ok(body)
}

async fn schema_versions(
    State(r): State<Registry>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i32>,
) -> Response {
    let readable = match r.readable_to(&caller).await {
        Ok(readable) => readable,
        Err(response) => return response,
    };
    let rows = sqlx::query!(
        "select subject, version from schema_version where schema_id = $1
          order by subject, version",
        id
    )
    .fetch_all(&r.db)
    .await
    .map(|rows| {
        rows.into_iter()
            .map(|row| (row.subject, row.version))
            .filter(|(subject, _)| readable.subjects.contains(subject))
            .collect::<Vec<_>>()
    });
    match rows {
        Ok(rows) if rows.is_empty() => error(StatusCode::NOT_FOUND, 40403, "Schema not found"),
        Ok(rows) => ok(json!(
            rows.into_iter()
                .map(|(subject, version)| json!({ "subject": subject, "version": version }))
                .collect::<Vec<_>>()
        )),
        Err(e) => internal(e),
    }
}

async fn config(
    State(r): State<Registry>,
    Extension(caller): Extension<Caller>,
    Path(subject): Path<String>,
) -> Response {
    if let Err(response) = r.readable(&caller, &subject).await {
        return response;
    }
    match sqlx::query_scalar!(
        "select compatibility from schema_subject where subject = $1",
        &subject
    )
    .fetch_optional(&r.db)
    .await
    {
        Ok(Some(level)) => ok(json!({ "compatibilityLevel": level })),
        Ok(None) => error(StatusCode::NOT_FOUND, 40401, "Subject not found."),
        Err(e) => internal(e),
    }
}

fn invalid_schema(message: &str) -> Response {
    error(StatusCode::UNPROCESSABLE_ENTITY, 42201, message)
}

/// The schema work did not get a blocking thread in time.
fn overloaded() -> Response {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        50003,
        "The registry is busy checking schemas; try again",
    )
}

/// The schema in a request body (`{"schema": "...", "schemaType": "AVRO" | "JSON"}`), checked
/// on the blocking pool. Schemas have the portal form's size limit.
async fn body_schema(body: Bytes) -> Result<ParsedSchema, Response> {
    let json: Value =
        serde_json::from_slice(&body).map_err(|_| invalid_schema("Invalid request body"))?;
    let format = SchemaFormat::from_schema_type(json.get("schemaType").and_then(Value::as_str))
        .ok_or_else(|| invalid_schema("Only AVRO and JSON schemas are served here"))?;
    if json
        .get("references")
        .and_then(Value::as_array)
        .is_some_and(|references| !references.is_empty())
    {
        return Err(invalid_schema(
            "Schema references are not supported: write the referenced types inline in the \
             schema (Avro named types, JSON Schema definitions) and propose it in the Event Bus \
             Portal",
        ));
    }
    let text = json
        .get("schema")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid_schema("The request has no schema"))?
        .to_owned();
    if text.len() > app::schemas::SCHEMA_MAX_BYTES {
        return Err(invalid_schema(&format!(
            "Invalid schema: larger than {} KiB",
            app::schemas::SCHEMA_MAX_BYTES / 1024
        )));
    }
    store::off_runtime(move || compat::parse(format, &text))
        .await
        .map_err(|_| overloaded())?
        .map_err(|e| invalid_schema(&format!("Invalid schema: {e}")))
}

/// A version as the API shows it: `schemaType` only when it is not Avro, as Confluent does.
fn version_body(subject: &str, v: &StoredVersion) -> Value {
    let mut body = json!({
        "subject": subject, "version": v.version, "id": v.id, "schema": v.canonical,
    });
    if v.format() != SchemaFormat::Avro {
        body["schemaType"] = json!(v.format().schema_type());
    }
    body
}

/// Versions of a subject (oldest first) with their canonical and written schemas.
async fn subject_versions(db: &PgPool, subject: &str) -> Result<Vec<StoredVersion>, Response> {
    let mut conn = db.acquire().await.map_err(internal)?;
    store::subject_versions(&mut conn, subject)
        .await
        .map_err(internal)
}

/// `POST /subjects/{subject}`: is this schema registered under the subject, and as what.
async fn lookup(
    State(r): State<Registry>,
    Extension(caller): Extension<Caller>,
    Path(subject): Path<String>,
    body: Bytes,
) -> Response {
    let schema = match body_schema(body).await {
        Ok(schema) => schema,
        Err(response) => return response,
    };
    if let Err(response) = r.readable(&caller, &subject).await {
        return response;
    }
    match subject_versions(&r.db, &subject).await {
        Ok(versions) => match versions.iter().rev().find(|v| same(v, &schema)) {
            Some(v) => ok(version_body(&subject, v)),
            None => error(StatusCode::NOT_FOUND, 40403, "Schema not found"),
        },
        Err(response) => response,
    }
}

fn same(v: &StoredVersion, schema: &ParsedSchema) -> bool {
    v.format() == schema.format() && v.canonical == schema.canonical()
}

/// Whether the caller's application may write to the subject: an application of the topic's
/// owning team, or one with live producer access to the topic in the caller's environment.
async fn may_write(db: &PgPool, caller: &Caller, subject: &str) -> Result<bool, Response> {
    sqlx::query_scalar!(
        r#"select exists (
             select 1 from kafka_principal p
               join application a on a.id = p.application_id
               join schema_subject s on s.subject = $2
               join topic t on t.id = s.topic_id
              where p.principal = $1 and p.environment = $3
                and (a.team_slug = t.owning_team
                     or exists (select 1 from access_grant g
                                 where g.application_id = a.id and g.topic_id = t.id
                                   and g.role = 'producer' and g.revoked_at is null
                                   and g.environment = p.environment))) as "may_write!""#,
        &caller.principal,
        subject,
        &caller.environment as &EnvironmentName,
    )
    .fetch_one(db)
    .await
    .map_err(internal)
}

/// Whether a subject that does not exist yet is the key or value subject (`<topic>-key`,
/// `<topic>-value`) of a topic the caller may see: of its team, or one it holds a live grant
/// on, in its environment. Other subjects stay unknown to it.
async fn is_new_subject_of_visible_topic(
    db: &PgPool,
    caller: &Caller,
    subject: &str,
) -> Result<bool, Response> {
    let Some(topic) = subject
        .strip_suffix("-value")
        .or_else(|| subject.strip_suffix("-key"))
    else {
        return Ok(false);
    };
    sqlx::query_scalar!(
        r#"select exists (
             select 1 from topic t join application a on a.id = $2
              where t.name = $1
                and not exists (select 1 from schema_subject s where s.subject = $4)
                and ((a.team_slug = t.owning_team
                      and exists (select 1 from topic_environment e
                                   where e.topic_id = t.id and e.environment = $3))
                     or exists (select 1 from access_grant g
                                 where g.application_id = a.id and g.topic_id = t.id
                                   and g.environment = $3 and g.revoked_at is null))) as "new!""#,
        topic,
        caller.application as ApplicationId,
        &caller.environment as &EnvironmentName,
        subject,
    )
    .fetch_one(db)
    .await
    .map_err(internal)
}

fn no_schema_yet(subject: &str) -> Response {
    error(
        StatusCode::FORBIDDEN,
        40301,
        &format!(
            "Subject \"{subject}\" has no schema yet: propose its first schema from the topic's \
             page in the Event Bus Portal's catalog (Propose a schema change); it is served here \
             once approved"
        ),
    )
}

fn not_authorized() -> Response {
    error(
        StatusCode::FORBIDDEN,
        40301,
        "User is denied operation Write on this subject: only the topic's owning team and its producers may write",
    )
}

fn backend_error() -> Response {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        50001,
        "Error in the backend data store",
    )
}

/// `POST /subjects/{subject}/versions`: writes are governed. A schema already approved for the
/// subject answers with its id (what a client configured to register expects); an incompatible
/// one gets 409 as from any registry; anything else has to be proposed in the portal.
async fn register(
    State(r): State<Registry>,
    Extension(caller): Extension<Caller>,
    Path(subject): Path<String>,
    body: Bytes,
) -> Response {
    let schema = match body_schema(body).await {
        Ok(schema) => schema,
        Err(response) => return response,
    };
    if let Err(not_found) = r.readable(&caller, &subject).await {
        // A first schema for a topic the caller can see is proposed in the portal; any other
        // unknown subject stays unknown.
        return match is_new_subject_of_visible_topic(&r.db, &caller, &subject).await {
            Ok(true) => no_schema_yet(&subject),
            Ok(false) => not_found,
            Err(response) => response,
        };
    }
    match may_write(&r.db, &caller, &subject).await {
        Ok(true) => {}
        Ok(false) => return not_authorized(),
        Err(response) => return response,
    }
    let versions = match subject_versions(&r.db, &subject).await {
        Ok(versions) => versions,
        Err(response) => return response,
    };
    if let Some(v) = versions.iter().find(|v| same(v, &schema)) {
        return ok(json!({ "id": v.id }));
    }
    let mode = match subject_mode(&r.db, &subject).await {
        Ok(mode) => mode.unwrap_or_default(),
        Err(response) => return response,
    };
    match findings(mode, &schema, &versions).await {
        Ok(found) if !found.is_empty() => error(
            StatusCode::CONFLICT,
            409,
            &format!(
                "Schema being registered is incompatible with an earlier schema for subject \"{subject}\": {}",
                found.join("; ")
            ),
        ),
        Ok(_) => error(
            StatusCode::FORBIDDEN,
            40301,
            "Schemas are registered by approval: propose this schema in the Event Bus Portal",
        ),
        Err(response) => response,
    }
}

async fn subject_mode(db: &PgPool, subject: &str) -> Result<Option<Compatibility>, Response> {
    let mut conn = db.acquire().await.map_err(internal)?;
    store::subject_mode(&mut conn, subject).await.map_err(|e| {
        tracing::error!(error = %e, "reading a subject's mode failed");
        backend_error()
    })
}

/// What breaks if `schema` follows `against` under `mode`, one line each.
/// Runs on the blocking pool, bounded by the engine's limits; a schema too complex to check
/// is refused (42201) with the reason.
async fn findings(
    mode: Compatibility,
    schema: &ParsedSchema,
    against: &[StoredVersion],
) -> Result<Vec<String>, Response> {
    let (schema, against) = (schema.clone(), against.to_vec());
    let checked = store::off_runtime(move || {
        let mut earlier = Vec::with_capacity(against.len());
        for v in &against {
            match compat::parse(v.format(), &v.original) {
                Ok(parsed) => earlier.push((v.version, parsed)),
                Err(e) => {
                    tracing::error!(error = %e, schema.version = v.version, "a stored schema no longer parses");
                    return Err(backend_error());
                }
            }
        }
        store::findings(mode, &schema, &earlier)
            .map_err(|too| invalid_schema(&format!("Invalid schema: {too}")))
    })
    .await
    .map_err(|_| overloaded())??;
    Ok(checked
        .into_iter()
        .map(|f| {
            format!(
                "{} (version {}): {}. {}",
                f.path, f.version, f.change, f.why
            )
        })
        .collect())
}

/// `POST /compatibility/subjects/{subject}/versions/{version}`: the check the portal makes,
/// with its reasons as `messages`. Against `latest` it honours a transitive mode; against a
/// numbered version it compares with that version alone.
async fn compatibility(
    State(r): State<Registry>,
    Extension(caller): Extension<Caller>,
    Path((subject, version)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let schema = match body_schema(body).await {
        Ok(schema) => schema,
        Err(response) => return response,
    };
    if let Err(response) = r.readable(&caller, &subject).await {
        return response;
    }
    let mode = match subject_mode(&r.db, &subject).await {
        Ok(Some(mode)) => mode,
        Ok(None) => return error(StatusCode::NOT_FOUND, 40401, "Subject not found."),
        Err(response) => return response,
    };
    let versions = match subject_versions(&r.db, &subject).await {
        Ok(versions) => versions,
        Err(response) => return response,
    };
    let against: Vec<StoredVersion> = match version.as_str() {
        "latest" | "-1" => versions,
        v => match v.parse::<i32>() {
            Ok(n) if n >= 1 => match versions.into_iter().find(|found| found.version == n) {
                Some(found) => vec![found],
                None => return error(StatusCode::NOT_FOUND, 40402, "Version not found."),
            },
            _ => return invalid_version(),
        },
    };
    match findings(mode, &schema, &against).await {
        Ok(messages) => ok(json!({ "is_compatible": messages.is_empty(), "messages": messages })),
        Err(response) => response,
    }
}

/// `GET /config`: the mode new subjects start with.
async fn global_config() -> Response {
    ok(json!({ "compatibilityLevel": Compatibility::default().as_str() }))
}

/// `PUT /config/{subject}`: governed like schemas. Asking for the mode a subject already has is
/// answered as done; a different mode is requested in the portal, where lowering it needs
/// governance.
async fn set_config(
    State(r): State<Registry>,
    Extension(caller): Extension<Caller>,
    Path(subject): Path<String>,
    body: Bytes,
) -> Response {
    let wanted: Option<Compatibility> = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| {
            v.get("compatibility")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .and_then(|m| m.parse().ok());
    let Some(wanted) = wanted else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            42203,
            "Invalid compatibility level. Valid values are NONE, BACKWARD, FORWARD, FULL, BACKWARD_TRANSITIVE, FORWARD_TRANSITIVE, and FULL_TRANSITIVE",
        );
    };
    if let Err(response) = r.readable(&caller, &subject).await {
        return response;
    }
    let current = match subject_mode(&r.db, &subject).await {
        Ok(Some(mode)) => mode,
        Ok(None) => return error(StatusCode::NOT_FOUND, 40401, "Subject not found."),
        Err(response) => return response,
    };
    match may_write(&r.db, &caller, &subject).await {
        Ok(true) => {}
        Ok(false) => return not_authorized(),
        Err(response) => return response,
    }
    if wanted == current {
        return ok(json!({ "compatibility": current.as_str() }));
    }
    error(
        StatusCode::FORBIDDEN,
        40301,
        "Compatibility changes are requested in the Event Bus Portal and approved there",
    )
}

fn invalid_version() -> Response {
    error(
        StatusCode::UNPROCESSABLE_ENTITY,
        42202,
        "The specified version is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\"",
    )
}

/// The registry's routes, behind HTTP basic authentication. Every path under the registry's
/// prefixes answers JSON with Confluent's error codes: calls that would change what the portal
/// governs get 40301 with where to go instead, other methods 405, unknown paths 404.
pub fn router<S: Clone + Send + Sync + 'static>(registry: Registry) -> Router<S> {
    let json = |route: MethodRouter<Registry>| route.fallback(method_not_allowed);
    Router::new()
        .route("/subjects", json(get(subjects)))
        .route(
            "/subjects/{subject}",
            json(post(lookup).delete(|| async { Governed::Deletion.answer() })),
        )
        .route(
            "/subjects/{subject}/versions",
            json(get(versions).post(register)),
        )
        .route(
            "/subjects/{subject}/versions/{version}",
            json(get(version).delete(|| async { Governed::Deletion.answer() })),
        )
        .route(
            "/subjects/{subject}/versions/{version}/schema",
            json(get(raw_schema)),
        )
        .route("/subjects/{subject}/{*rest}", any(not_found))
        .route(
            "/compatibility/subjects/{subject}/versions/{version}",
            json(post(compatibility)),
        )
        .route("/compatibility/{*rest}", any(not_found))
        .route("/schemas", json(get(schemas)))
        .route("/schemas/types", json(get(schema_types)))
        .route("/schemas/ids/{id}", json(get(schema_by_id)))
        .route("/schemas/ids/{id}/versions", json(get(schema_versions)))
        .route("/schemas/{*rest}", any(not_found))
        .route(
            "/config",
            json(get(global_config)).merge(Governed::GlobalConfig.writes()),
        )
        .route(
            "/config/{subject}",
            json(
                get(config)
                    .put(set_config)
                    .delete(|| async { Governed::Deletion.answer() }),
            ),
        )
        .route("/config/{subject}/{*rest}", any(not_found))
        .route("/mode", json(get(mode)).merge(Governed::Mode.writes()))
        .route(
            "/mode/{subject}",
            json(get(subject_mode_answer)).merge(Governed::Mode.writes()),
        )
        .route("/mode/{subject}/{*rest}", any(not_found))
        .route("/contexts", json(get(contexts)))
        .route("/contexts/{*rest}", any(not_found))
        .route("/exporters", any(not_found))
        .route("/exporters/{*rest}", any(not_found))
        .route_layer(middleware::from_fn_with_state(
            registry.clone(),
            authenticate,
        ))
        .with_state(registry)
}

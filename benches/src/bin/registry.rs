//! Schema Registry benchmark: the two reads every consumer makes at start-up,
//! `GET /schemas/ids/{id}` and `GET /subjects/{subject}/versions/latest`, against the portal
//! served in-process on a real TCP port, with its real authentication (HTTP basic with an
//! application's Kafka SCRAM credentials, checked by a SASL/SCRAM handshake against the local
//! sandbox cluster and then remembered for five minutes).
//!
//! Set-up: its own database (`event_bus_portal_registry_bench`) with 1,000 subjects
//! (`<topic>-value`) of 1 to 5 versions each (about 3 on average; Avro records of 6 to 120
//! fields with enums, arrays, nested records and logical types), applications with a
//! `kafka_principal` row, and a SCRAM-SHA-512 credential per application on the sandbox cluster
//! (`KafkaAdmin::upsert_scram_credential`), checked live before anything is timed.
//!
//! Measured, per endpoint: sequential latency (one keep-alive connection), then a closed loop of
//! 100 clients for BENCH_SECONDS, each with its own keep-alive connection and credential
//! (spread over BENCH_PRINCIPALS applications), asking for random ids / subjects: throughput,
//! p50/p95/p99, errors. Also "cold": the first request with a credential the portal has not yet
//! verified (includes the SCRAM handshake), beside the raw `check_cluster` handshake; and a
//! start-up stampede: 100 clients sending their first request at once with one credential the
//! portal has not verified yet (one application's 100 replicas starting together).
//!
//! It prints numbers; it is not a test and exits 0 when a target is missed (non-zero only when
//! set-up fails). The SCRAM credentials it creates on the sandbox cluster are removed at the
//! end, and at the start (left-overs of an interrupted run).
//!
//! Run it with `dev/bench-registry`. Knobs (environment):
//!   BENCH_SUBJECTS    subjects to seed (default 1000)
//!   BENCH_REQUESTS    requests in each sequential run (default 500)
//!   BENCH_SECONDS     length of each concurrent run in seconds (default 10)
//!   BENCH_CLIENTS     concurrent clients, comma-separated (default 100; the targets are at 100)
//!   BENCH_PRINCIPALS  applications whose credentials the concurrent clients use (default 10)
//!   BENCH_COLD        cold first requests, one fresh credential each (default 10)
//!   BENCH_ONLY        comma-separated parts: ids, latest, cold, stampede
//!   BENCH_KEEP_DB=1   keep the `event_bus_portal_registry_bench` database afterwards
//!   RUST_LOG          install the server's log subscriber (e.g. RUST_LOG=warn)

use anyhow::{Context, bail};
use app::domain::principal_name;
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use server::config::{KafkaEnvironmentSettings, Settings};
use server::kafka::admin::KafkaAdmin;
use server::kafka::{ClusterCheckError, check_cluster, client_config, client_config_as};
use server::{db, startup};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgPool};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Barrier;
use tokio::task::JoinSet;
use uuid::Uuid;

use benches::*;

const BENCH_DB: &str = "event_bus_portal_registry_bench";
const ENV: &str = "sandbox";
const TEAM: &str = "registry-bench";
/// Sequential requests before each measured endpoint (connections, plan caches, allocator).
const WARM_UP: usize = 50;
/// The portal's target for the start-up reads, at `TARGET_CLIENTS` concurrent clients.
const TARGET_CLIENTS: usize = 100;
const P99_TARGET_MS: f64 = 50.0;
const RPS_TARGET: f64 = 1000.0;
const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::from_env()?;
    let mut settings = Settings::load().context("loading the portal configuration")?;
    if std::env::var_os("RUST_LOG").is_some() {
        server::telemetry::init(&settings.log);
    }
    let admin_url = std::env::var("EBP_DATABASE_URL")
        .unwrap_or_else(|_| settings.database.url.expose_secret().to_owned());
    let bench_url = with_database(&admin_url, BENCH_DB)?;
    let env = settings
        .kafka
        .environments
        .get(ENV)
        .with_context(|| format!("no Kafka environment {ENV} in the configuration"))?
        .clone();
    let timeout = Duration::from_millis(settings.apply.operation_timeout_ms.max(5000));
    let kafka = KafkaAdmin::new(&client_config(&env), timeout)
        .context("connecting to the sandbox cluster")?;
    let credentials = Credentials::new(&options);
    let leftovers = remove_credentials(&kafka, &credentials.names()).await?;
    if leftovers > 0 {
        println!("removed {leftovers} SCRAM credentials left by an earlier run");
    }

    let mut admin = PgConnection::connect(&admin_url)
        .await
        .with_context(|| format!("connecting to PostgreSQL at {}", redact(&admin_url)))?;
    recreate_database(&mut admin, BENCH_DB).await?;
    settings.database.url = SecretString::from(bench_url.clone());

    let outcome = run(settings, &bench_url, &options, &env, &kafka, &credentials).await;

    let removed = remove_credentials(&kafka, &credentials.names()).await;
    match &removed {
        Ok(n) => println!("\nclean-up: removed {n} SCRAM credentials from the sandbox cluster"),
        Err(e) => eprintln!("\nclean-up: removing the benchmark's SCRAM credentials failed: {e:#}"),
    }
    if options.keep_db {
        println!(
            "BENCH_KEEP_DB=1: kept database {BENCH_DB} ({})",
            redact(&bench_url)
        );
    } else {
        sqlx::raw_sql(&format!("drop database if exists {BENCH_DB} with (force)"))
            .execute(&mut admin)
            .await
            .context("dropping the bench database")?;
    }
    outcome?;
    removed.map(|_| ())
}

struct Options {
    subjects: usize,
    sequential: usize,
    duration: Duration,
    clients: Vec<usize>,
    principals: usize,
    cold: usize,
    only: Vec<String>,
    keep_db: bool,
}

impl Options {
    fn from_env() -> anyhow::Result<Self> {
        let clients = std::env::var("BENCH_CLIENTS").unwrap_or_else(|_| "100".into());
        let clients = clients
            .split(',')
            .map(|c| {
                c.trim()
                    .parse::<usize>()
                    .with_context(|| format!("BENCH_CLIENTS: {c:?} is not a number"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let only = std::env::var("BENCH_ONLY")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect();
        Ok(Self {
            subjects: env_number::<usize>("BENCH_SUBJECTS", 1000)?.clamp(1, 9999),
            sequential: env_number::<usize>("BENCH_REQUESTS", 500)?.max(1),
            duration: Duration::from_secs(env_number::<usize>("BENCH_SECONDS", 10)?.max(1) as u64),
            clients,
            principals: env_number::<usize>("BENCH_PRINCIPALS", 10)?.clamp(1, 999),
            cold: env_number::<usize>("BENCH_COLD", 10)?.min(999),
            only,
            keep_db: std::env::var("BENCH_KEEP_DB").is_ok_and(|v| v == "1"),
        })
    }

    fn wants(&self, part: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| o == part)
    }
}

// ---------------------------------------------------------------------------------------------
// Credentials: one application per principal, each with a SCRAM credential on the sandbox

#[derive(Clone)]
struct Credential {
    application: String,
    principal: String,
    password: String,
    /// `Basic base64(principal:password)`.
    header: String,
}

impl Credential {
    fn new(application: String) -> Self {
        let principal = principal_name(
            TEAM,
            &application,
            &app::domain::EnvironmentName::parse(ENV).expect("a valid environment name"),
        );
        let password = format!("rb{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
        let header = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{principal}:{password}"))
        );
        Self {
            application,
            principal,
            password,
            header,
        }
    }
}

struct Credentials {
    /// Used by the sequential and concurrent runs (verified during warm-up).
    hot: Vec<Credential>,
    /// One cold first request each.
    cold: Vec<Credential>,
    /// The credential 100 clients present at once, not verified before.
    stampede: Credential,
}

impl Credentials {
    fn new(options: &Options) -> Self {
        Self {
            hot: (0..options.principals)
                .map(|i| Credential::new(format!("hot-{i:03}")))
                .collect(),
            cold: (0..options.cold)
                .map(|i| Credential::new(format!("cold-{i:03}")))
                .collect(),
            stampede: Credential::new("stampede".into()),
        }
    }

    fn all(&self) -> impl Iterator<Item = &Credential> {
        self.hot
            .iter()
            .chain(&self.cold)
            .chain(std::iter::once(&self.stampede))
    }

    fn names(&self) -> Vec<String> {
        self.all().map(|c| c.principal.clone()).collect()
    }
}

/// Deletes the SCRAM credentials these principals have on the sandbox; returns how many.
async fn remove_credentials(kafka: &KafkaAdmin, principals: &[String]) -> anyhow::Result<usize> {
    let mut removed = 0;
    for chunk in principals.chunks(100) {
        let names: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let existing = kafka
            .scram_users(&names)
            .await
            .context("listing the benchmark's SCRAM credentials")?;
        for batch in existing.chunks(10) {
            let deletions = batch.iter().map(|u| kafka.delete_scram_credential(u));
            for result in futures::future::join_all(deletions).await {
                result.context("deleting a benchmark SCRAM credential")?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}

/// Creates every credential on the cluster, then waits until the cluster accepts each one
/// (a handshake with `check_cluster`, as the portal makes it, outside the portal's cache).
async fn create_credentials(
    kafka: &KafkaAdmin,
    env: &KafkaEnvironmentSettings,
    credentials: &Credentials,
) -> anyhow::Result<(Duration, Vec<Duration>)> {
    let started = Instant::now();
    let all: Vec<&Credential> = credentials.all().collect();
    for batch in all.chunks(10) {
        let secrets: Vec<SecretString> = batch
            .iter()
            .map(|c| SecretString::from(c.password.clone()))
            .collect();
        let upserts = batch
            .iter()
            .zip(&secrets)
            .map(|(c, secret)| kafka.upsert_scram_credential(&c.principal, secret));
        for result in futures::future::join_all(upserts).await {
            result.context("creating a SCRAM credential on the sandbox cluster")?;
        }
    }
    let created = started.elapsed();
    let mut handshakes = Vec::new();
    for c in all {
        let mut attempt = 0;
        loop {
            let started = Instant::now();
            match check_cluster(
                client_config_as(env, &c.principal, &c.password),
                Duration::from_secs(5),
            )
            .await
            {
                Ok(_) => {
                    handshakes.push(started.elapsed());
                    break;
                }
                Err(ClusterCheckError::AuthenticationFailed) if attempt < 40 => {
                    // SCRAM credentials reach every broker shortly after the upsert.
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(e) => bail!("the sandbox cluster does not accept {}: {e}", c.principal),
            }
        }
    }
    Ok((created, handshakes))
}

// ---------------------------------------------------------------------------------------------
// Seeding

const DOMAINS: &[&str] = &[
    "claims",
    "benefits",
    "health",
    "pharmacy",
    "appointments",
    "profile",
    "identity",
    "payments",
    "education",
    "housing",
    "memorials",
    "notifications",
];
const NOUNS: &[&str] = &[
    "claim",
    "evidence",
    "letter",
    "address",
    "enrollment",
    "eligibility",
    "prescription",
    "refill",
    "appointment",
    "referral",
    "payment",
    "debt",
    "invoice",
    "document",
    "decision",
    "award",
    "dependent",
    "facility",
    "provider",
    "consent",
    "device",
    "account",
    "case",
    "review",
    "exam",
    "lab_result",
    "vaccination",
    "transcript",
    "certificate",
    "loan",
];
const EVENTS: &[&str] = &[
    "created",
    "updated",
    "submitted",
    "approved",
    "rejected",
    "cancelled",
    "completed",
    "scheduled",
    "received",
    "assigned",
    "closed",
    "expired",
    "verified",
    "status_changed",
];
const FIELD_WORDS: &[&str] = &[
    "person_id",
    "status",
    "amount",
    "reason",
    "station",
    "region",
    "channel",
    "source_system",
    "effective_date",
    "due_date",
    "reference",
    "category",
    "priority",
    "owner",
    "phone",
    "email",
    "country",
    "postal_code",
    "count",
    "score",
];
const DOCS: &[&str] = &[
    "Set by the source system when the change was recorded.",
    "Empty when the person has not given one.",
    "Stable across updates of the same record; use it to deduplicate.",
    "As entered by the person, not normalised.",
    "In the reporting currency, minor units.",
    "One of the values the source system publishes in its data dictionary.",
    "Kept for older consumers; prefer the newer field with the same meaning.",
];

/// SplitMix64: deterministic, so every run seeds the same schemas.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

fn camel(text: &str) -> String {
    text.split(['_', '-', '.'])
        .map(|w| {
            let mut c = w.chars();
            c.next().map_or_else(String::new, |f| {
                f.to_uppercase().collect::<String>() + c.as_str()
            })
        })
        .collect()
}

/// One subject: its topic, domain and the written text of each version (oldest first). Every
/// version adds an optional field, so the versions are backward compatible, as approved ones are.
struct SubjectSeed {
    topic: String,
    domain: &'static str,
    versions: Vec<String>,
}

fn subject_seed(i: usize) -> anyhow::Result<SubjectSeed> {
    let mut rng = Rng(0x5EED_0000 + i as u64);
    let domain = rng.pick(DOMAINS);
    let noun = rng.pick(NOUNS);
    let event = rng.pick(EVENTS);
    let topic = format!("bench.{domain}.{noun}_{event}.{i:04}");
    // Mostly small records, some medium, a few large.
    let count = match rng.below(10) {
        0..=5 => 4 + rng.below(12),
        6..=8 => 15 + rng.below(26),
        _ => 40 + rng.below(81),
    };
    let mut fields = vec![
        json!({"name": "event_id", "type": {"type": "string", "logicalType": "uuid"},
               "doc": "Unique per event; consumers deduplicate on it."}),
        json!({"name": "occurred_at", "type": {"type": "long", "logicalType": "timestamp-millis"},
               "doc": "When the change happened in the source system."}),
    ];
    for k in 0..count {
        let name = format!("{}_{k}", rng.pick(FIELD_WORDS));
        let doc = rng.pick(DOCS);
        let field = match rng.below(12) {
            0..=2 => json!({"name": name, "type": "string", "doc": doc}),
            3 => json!({"name": name, "type": "long", "doc": doc}),
            4 => json!({"name": name, "type": "int", "doc": doc}),
            5 => json!({"name": name, "type": "boolean", "doc": doc}),
            6 => json!({"name": name, "type": "double", "doc": doc}),
            7 => json!({"name": name, "type": {"type": "int", "logicalType": "date"}, "doc": doc}),
            8 => {
                json!({"name": name, "doc": doc, "type": {"type": "enum", "name": format!("Kind{k}"),
                        "symbols": ["UNKNOWN", "NEW", "ACTIVE", "SUSPENDED", "CLOSED"]}})
            }
            9 => json!({"name": name, "doc": doc, "type": {"type": "array", "items": "string"}}),
            10 => {
                json!({"name": name, "doc": doc, "type": {"type": "record", "name": format!("Part{k}"),
                "fields": [
                    {"name": "id", "type": "string"},
                    {"name": "code", "type": "int"},
                    {"name": "label", "type": ["null", "string"], "default": null},
                    {"name": "updated_at", "type": {"type": "long", "logicalType": "timestamp-millis"}}
                ]}})
            }
            _ => json!({"name": name, "type": ["null", "string"], "default": null, "doc": doc}),
        };
        fields.push(field);
    }
    let version_count = 1 + rng.below(5);
    let mut versions = Vec::with_capacity(version_count);
    for v in 1..=version_count {
        let mut all = fields.clone();
        for added in 2..=v {
            all.push(json!({"name": format!("note_v{added}"), "type": ["null", "string"],
                            "default": null, "doc": "Added in a later version; null from older producers."}));
        }
        let record = json!({
            "type": "record",
            "name": camel(&format!("{noun}_{event}")),
            "namespace": format!("gov.bus.{domain}.s{i:04}"),
            "doc": format!("A {} was {} ({domain}).", noun.replace('_', " "), event.replace('_', " ")),
            "fields": all,
        });
        versions.push(serde_json::to_string(&record).context("writing a schema")?);
    }
    Ok(SubjectSeed {
        topic,
        domain,
        versions,
    })
}

/// What the clients ask for and what the answers must be.
struct Dataset {
    /// Schema id -> canonical text.
    schemas: Vec<(i32, String)>,
    /// Subject -> (latest version, its schema id).
    subjects: Vec<(String, i32, i32)>,
    summary: String,
}

async fn seed(
    pool: &PgPool,
    options: &Options,
    credentials: &Credentials,
) -> anyhow::Result<Dataset> {
    let mut tx = pool.begin().await?;
    sqlx::query("insert into team (slug, display_name) values ($1, 'Registry bench')")
        .bind(TEAM)
        .execute(&mut *tx)
        .await
        .context("seeding the team")?;
    let (apps, principals): (Vec<String>, Vec<String>) = credentials
        .all()
        .map(|c| (c.application.clone(), c.principal.clone()))
        .unzip();
    sqlx::query(
        "insert into application (id, team_slug, name, system_registration_id, security_package_id,
                fisma_rating, ato_status, ato_date, privacy_assessment, contains_pii,
                hosting_location, technical_contact, product_contact)
         select gen_random_uuid(), $1, n, 'SR-' || n, 'SP-' || n, 'low', 'granted', '2026-01-15',
                'completed', false, 'cloud_account', 'dev@example.test', 'owner@example.test'
           from unnest($2::text[]) n",
    )
    .bind(TEAM)
    .bind(&apps)
    .execute(&mut *tx)
    .await
    .context("seeding applications")?;
    // What the registry's authentication looks up: the principal's environment, with a
    // credential set.
    sqlx::query(
        "insert into kafka_principal (application_id, environment, principal, credential_set_at)
         select a.id, $2, u.p, now()
           from unnest($3::text[], $4::text[]) as u(n, p)
           join application a on a.team_slug = $1 and a.name = u.n",
    )
    .bind(TEAM)
    .bind(ENV)
    .bind(&apps)
    .bind(&principals)
    .execute(&mut *tx)
    .await
    .context("seeding kafka principals")?;

    let seeds = (0..options.subjects)
        .map(subject_seed)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let topics: Vec<&str> = seeds.iter().map(|s| s.topic.as_str()).collect();
    let domains: Vec<&str> = seeds.iter().map(|s| s.domain).collect();
    sqlx::query(
        "insert into topic (id, name, title, description, business_domain, lifecycle, owning_team,
                data_classification, contains_pii, partitions, retention_ms, cleanup_policy)
         select gen_random_uuid(), u.name, 'Registry bench topic ' || u.ord,
                'Events whose schemas the registry benchmark serves.', u.domain, 'production', $1,
                'low', false, 3, 604800000, 'delete'
           from unnest($2::text[], $3::text[]) with ordinality as u(name, domain, ord)",
    )
    .bind(TEAM)
    .bind(&topics)
    .bind(&domains)
    .execute(&mut *tx)
    .await
    .context("seeding topics")?;
    // In the sandbox, where the applications' credentials are: an application reads the
    // subjects of its team's topics in its own environment.
    sqlx::query(
        "insert into topic_environment (topic_id, environment)
         select id, $2 from topic where owning_team = $1",
    )
    .bind(TEAM)
    .bind(ENV)
    .execute(&mut *tx)
    .await
    .context("seeding the topics' environment")?;
    sqlx::query(
        "insert into schema_subject (subject, topic_id)
         select name || '-value', id from topic where owning_team = $1",
    )
    .bind(TEAM)
    .execute(&mut *tx)
    .await
    .context("seeding subjects")?;

    // The texts the portal stores for approved schemas: canonical form and the written one.
    let mut parsed = Vec::new();
    for s in &seeds {
        for (v, text) in s.versions.iter().enumerate() {
            let schema = app::schemas::ssr::parse_avro(text)
                .map_err(|e| anyhow::anyhow!("seed schema of {} v{}: {e}", s.topic, v + 1))?;
            parsed.push((format!("{}-value", s.topic), v + 1, schema));
        }
    }
    let mut ids: HashMap<String, i32> = HashMap::new();
    for chunk in parsed.chunks(500) {
        let canonical: Vec<&str> = chunk.iter().map(|(_, _, s)| s.canonical.as_str()).collect();
        let original: Vec<&str> = chunk.iter().map(|(_, _, s)| s.original.as_str()).collect();
        let rows: Vec<(i32, String)> = sqlx::query_as(
            "insert into schema_text (format, canonical, original)
             select 'avro', c, o from unnest($1::text[], $2::text[]) as u(c, o)
             returning id, canonical",
        )
        .bind(&canonical)
        .bind(&original)
        .fetch_all(&mut *tx)
        .await
        .context("seeding schema texts")?;
        ids.extend(rows.into_iter().map(|(id, c)| (c, id)));
    }
    let mut version_subjects = Vec::new();
    let mut version_numbers = Vec::new();
    let mut version_ids = Vec::new();
    let mut latest: BTreeMap<String, (i32, i32)> = BTreeMap::new();
    let mut schemas = Vec::new();
    for (subject, version, schema) in &parsed {
        let id = *ids
            .get(&schema.canonical)
            .context("a seeded schema has no id")?;
        let version = i32::try_from(*version)?;
        version_subjects.push(subject.clone());
        version_numbers.push(version);
        version_ids.push(id);
        latest.insert(subject.clone(), (version, id));
        schemas.push((id, schema.canonical.clone()));
    }
    sqlx::query(
        "insert into schema_version (subject, version, schema_id)
         select * from unnest($1::text[], $2::int[], $3::int[])",
    )
    .bind(&version_subjects)
    .bind(&version_numbers)
    .bind(&version_ids)
    .execute(&mut *tx)
    .await
    .context("seeding schema versions")?;
    tx.commit().await?;
    sqlx::raw_sql("analyze")
        .execute(pool)
        .await
        .context("analyze")?;

    let (subjects, versions, texts, min, avg, max): (i64, i64, i64, i32, f64, i32) =
        sqlx::query_as(
            "select (select count(*) from schema_subject), (select count(*) from schema_version),
                    count(*), min(length(canonical)), avg(length(canonical))::float8,
                    max(length(canonical))
               from schema_text",
        )
        .fetch_one(pool)
        .await
        .context("counting the seeded rows")?;
    let summary = format!(
        "{subjects} subjects, {versions} versions, {texts} schemas (canonical {min}-{max} bytes, mean {avg:.0}), \
         {} applications with a SCRAM credential",
        apps.len()
    );
    Ok(Dataset {
        schemas,
        subjects: latest
            .into_iter()
            .map(|(subject, (version, id))| (subject, version, id))
            .collect(),
        summary,
    })
}

// ---------------------------------------------------------------------------------------------
// Running

async fn run(
    mut settings: Settings,
    bench_url: &str,
    options: &Options,
    env: &KafkaEnvironmentSettings,
    kafka: &KafkaAdmin,
    credentials: &Credentials,
) -> anyhow::Result<()> {
    let seed_pool = PgPoolOptions::new()
        .max_connections(2)
        .connect(bench_url)
        .await
        .context("connecting to the bench database")?;
    db::migrate(&seed_pool).await?;
    let seeded = Instant::now();
    let dataset = Arc::new(seed(&seed_pool, options, credentials).await?);
    let seed_time = seeded.elapsed();
    let pg_version: String = sqlx::query_scalar("show server_version")
        .fetch_one(&seed_pool)
        .await?;
    seed_pool.close().await;

    let (created, handshakes) = create_credentials(kafka, env, credentials).await?;

    // The portal, built and served as the integration tests do, on a real TCP port.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding a free port")?;
    let port = listener.local_addr().context("local address")?.port();
    settings.server.port = port;
    settings.server.public_url = format!("http://127.0.0.1:{port}")
        .parse()
        .context("public url")?;
    let pool_size = settings.database.max_connections;
    let pool = db::pool(&settings.database)?;
    let application = startup::build(settings, pool)
        .await
        .context("building the application")?;
    let portal_db = application.state.db.clone();
    tokio::spawn(async move {
        if let Err(e) = server::startup::serve(listener, application.router).await {
            eprintln!("the portal stopped: {e}");
        }
    });
    let base = format!("http://127.0.0.1:{port}");

    let checks = validate(&base, &dataset, credentials).await?;

    let nproc = std::thread::available_parallelism().map_or(0, usize::from);
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let load_before = load_average();
    println!("\n== set-up");
    println!(
        "machine      : {nproc} CPUs (nproc), PostgreSQL {pg_version}, loopback HTTP; clients and portal share the CPUs"
    );
    println!("load average : {load_before} (1, 5, 15 min) before measuring");
    println!("profile      : {profile}");
    println!(
        "portal pool  : {pool_size} database connections (database.max_connections), acquire timeout 3 s"
    );
    println!(
        "seed         : {:.2} s  ({})",
        seed_time.as_secs_f64(),
        dataset.summary
    );
    let mut sorted = handshakes.clone();
    sorted.sort_unstable();
    println!(
        "credentials  : {} SCRAM-SHA-512 upserts on {ENV} in {:.2} s; raw check_cluster handshake p50 {:.1} ms, max {:.1} ms",
        sorted.len(),
        created.as_secs_f64(),
        percentile(&sorted, 50.0),
        percentile(&sorted, 100.0)
    );
    for line in &checks {
        println!("check        : {line}");
    }
    println!(
        "plan         : {WARM_UP} warm-up, {} sequential, then {} s closed loop at {:?} clients \
         (own keep-alive connection each, credentials of {} applications), per endpoint",
        options.sequential,
        options.duration.as_secs(),
        options.clients,
        credentials.hot.len()
    );

    let mut rows = Vec::new();
    for endpoint in [Endpoint::Ids, Endpoint::Latest] {
        if !options.wants(endpoint.part()) {
            continue;
        }
        println!(
            "\n== {}   (load average {})",
            endpoint.label(),
            load_average()
        );
        let targets = Arc::new(endpoint.paths(&dataset));
        // Warm-up: every hot credential verified, connections, plan caches.
        let client = http_client()?;
        for (i, c) in credentials.hot.iter().enumerate() {
            let _ = timed(&client, &base, &targets[i % targets.len()], &c.header).await;
        }
        let mut rng = Rng(7);
        for _ in 0..WARM_UP {
            let path = &targets[rng.below(targets.len())];
            let _ = timed(&client, &base, path, &credentials.hot[0].header).await;
        }
        let phases = std::iter::once(None).chain(options.clients.iter().copied().map(Some));
        for clients in phases {
            let before = scrape(&client, &base).await;
            let stats = match clients {
                None => {
                    sequential(
                        &client,
                        &base,
                        &targets,
                        &credentials.hot[0].header,
                        options.sequential,
                    )
                    .await
                }
                Some(n) => {
                    closed_loop(&base, &targets, &credentials.hot, n, options.duration).await?
                }
            };
            let after = scrape(&client, &base).await;
            let server = match (before, after) {
                (Ok(b), Ok(a)) => Histogram::delta(&b, &a, "GET", endpoint.route()),
                _ => None,
            };
            let row = Row::new(endpoint, clients, stats, server);
            println!("{}", row.line());
            rows.push(row);
        }
    }

    let cold = if options.wants("cold") && !credentials.cold.is_empty() {
        println!(
            "\n== cold: first request with a credential the portal has not verified   (load average {})",
            load_average()
        );
        Some(cold_requests(env, &base, &dataset, &credentials.cold).await?)
    } else {
        None
    };
    let stampede_clients = options
        .clients
        .iter()
        .copied()
        .max()
        .unwrap_or(TARGET_CLIENTS);
    let stampede = if options.wants("stampede") {
        println!(
            "\n== stampede: {stampede_clients} clients, first request at once with one unverified credential   (load average {})",
            load_average()
        );
        let s = stampede_run(&base, &dataset, &credentials.stampede, stampede_clients).await?;
        println!("{}", s.line());
        Some(s)
    } else {
        None
    };

    let load = format!("{load_before} before, {} after", load_average());
    print_report(
        &rows,
        cold.as_ref(),
        stampede.as_ref(),
        nproc,
        profile,
        &dataset.summary,
        &load,
    );
    breakdown(&portal_db, &dataset, options.sequential).await?;
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Ids,
    Latest,
}

impl Endpoint {
    fn part(self) -> &'static str {
        match self {
            Endpoint::Ids => "ids",
            Endpoint::Latest => "latest",
        }
    }

    /// The route pattern the server's metrics label it with.
    fn route(self) -> &'static str {
        match self {
            Endpoint::Ids => "/schemas/ids/{id}",
            Endpoint::Latest => "/subjects/{subject}/versions/{version}",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Endpoint::Ids => "GET /schemas/ids/{id} (random id)",
            Endpoint::Latest => "GET /subjects/{s}/versions/latest (random subject)",
        }
    }

    fn paths(self, dataset: &Dataset) -> Vec<String> {
        match self {
            Endpoint::Ids => dataset
                .schemas
                .iter()
                .map(|(id, _)| format!("/schemas/ids/{id}"))
                .collect(),
            Endpoint::Latest => dataset
                .subjects
                .iter()
                .map(|(s, _, _)| format!("/subjects/{s}/versions/latest"))
                .collect(),
        }
    }
}

fn http_client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .tcp_nodelay(true)
        .pool_max_idle_per_host(1)
        .timeout(Duration::from_secs(30))
        .build()
        .context("building the HTTP client")
}

async fn get(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    auth: &str,
) -> Result<(reqwest::StatusCode, Vec<u8>), String> {
    let response = client
        .get(format!("{base}{path}"))
        .header(reqwest::header::AUTHORIZATION, auth)
        .header(reqwest::header::ACCEPT, CONTENT_TYPE)
        .send()
        .await
        .map_err(|e| format!("transport: {e}"))?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("reading the body: {e}"))?;
    Ok((status, body.to_vec()))
}

/// One request, timed at the client from send to the last body byte; a non-200 answer or a
/// body that is not a JSON object is an error.
async fn timed(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    auth: &str,
) -> Result<Duration, String> {
    let started = Instant::now();
    let (status, body) = get(client, base, path, auth).await?;
    let elapsed = started.elapsed();
    if status != reqwest::StatusCode::OK {
        return Err(format!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(120)])
        ));
    }
    if body.first() != Some(&b'{') {
        return Err("HTTP 200 but the body is not a JSON object".into());
    }
    Ok(elapsed)
}

/// Checks, once, that both endpoints answer with the seeded data, and that a wrong password is
/// refused, before anything is timed.
async fn validate(
    base: &str,
    dataset: &Dataset,
    credentials: &Credentials,
) -> anyhow::Result<Vec<String>> {
    let client = http_client()?;
    let auth = &credentials.hot[0].header;
    let mut lines = Vec::new();
    let mut rng = Rng(11);
    let samples = 25;
    for _ in 0..samples {
        let (id, canonical) = &dataset.schemas[rng.below(dataset.schemas.len())];
        let (status, body) = get(&client, base, &format!("/schemas/ids/{id}"), auth)
            .await
            .map_err(anyhow::Error::msg)?;
        let json: Value = serde_json::from_slice(&body).unwrap_or_default();
        if status != reqwest::StatusCode::OK || json["schema"].as_str() != Some(canonical) {
            bail!(
                "GET /schemas/ids/{id} answered {status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(300)])
            );
        }
        let (subject, version, id) = &dataset.subjects[rng.below(dataset.subjects.len())];
        let path = format!("/subjects/{subject}/versions/latest");
        let (status, body) = get(&client, base, &path, auth)
            .await
            .map_err(anyhow::Error::msg)?;
        let json: Value = serde_json::from_slice(&body).unwrap_or_default();
        if status != reqwest::StatusCode::OK
            || json["version"].as_i64() != Some(i64::from(*version))
            || json["id"].as_i64() != Some(i64::from(*id))
        {
            bail!(
                "GET {path} answered {status} (wanted version {version}, id {id}): {}",
                String::from_utf8_lossy(&body[..body.len().min(300)])
            );
        }
    }
    lines.push(format!(
        "{samples} random ids and {samples} random subjects answer with the seeded schema / latest version"
    ));
    let wrong = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{}:wrong-password", credentials.hot[0].principal))
    );
    let (status, _) = get(&client, base, "/schemas/ids/1", &wrong)
        .await
        .map_err(anyhow::Error::msg)?;
    if status != reqwest::StatusCode::UNAUTHORIZED {
        bail!("a wrong password got HTTP {status}, not 401");
    }
    lines.push("a wrong password is refused (401)".into());
    Ok(lines)
}

async fn sequential(
    client: &reqwest::Client,
    base: &str,
    targets: &[String],
    auth: &str,
    requests: usize,
) -> Stats {
    let mut stats = Stats::default();
    let mut rng = Rng(42);
    let started = Instant::now();
    for _ in 0..requests {
        let path = &targets[rng.below(targets.len())];
        stats.record(timed(client, base, path, auth).await);
    }
    stats.elapsed = started.elapsed();
    stats
}

/// `clients` loops, each with its own HTTP client (one keep-alive connection), opened before
/// the start, sending its next request as soon as the last one answered until the deadline.
async fn closed_loop(
    base: &str,
    targets: &Arc<Vec<String>>,
    credentials: &[Credential],
    clients: usize,
    duration: Duration,
) -> anyhow::Result<Stats> {
    let start = Arc::new(Barrier::new(clients + 1));
    let mut tasks = JoinSet::new();
    for i in 0..clients {
        let client = http_client()?;
        let (base, targets, start) = (base.to_owned(), Arc::clone(targets), Arc::clone(&start));
        let auth = credentials[i % credentials.len()].header.clone();
        tasks.spawn(async move {
            let mut rng = Rng(1000 + i as u64);
            // Opens the connection (the credential is already verified by the warm-up).
            let _ = timed(&client, &base, &targets[0], &auth).await;
            start.wait().await;
            let deadline = Instant::now() + duration;
            let mut stats = Stats::default();
            while Instant::now() < deadline {
                let path = &targets[rng.below(targets.len())];
                stats.record(timed(&client, &base, path, &auth).await);
            }
            stats
        });
    }
    start.wait().await;
    let started = Instant::now();
    let mut total = Stats::default();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(stats) => total.merge(stats),
            Err(e) => total.record(Err(format!("client task failed: {e}"))),
        }
    }
    total.elapsed = started.elapsed();
    Ok(total)
}

// ---------------------------------------------------------------------------------------------
// Cold credentials

struct Cold {
    /// First request per fresh credential (portal verifies it with the cluster).
    first: Vec<Duration>,
    /// The second request on the same connection (cached).
    second: Vec<Duration>,
    /// `check_cluster` alone, with the same credential, just before.
    raw: Vec<Duration>,
    errors: u64,
    first_error: Option<String>,
}

async fn cold_requests(
    env: &KafkaEnvironmentSettings,
    base: &str,
    dataset: &Dataset,
    credentials: &[Credential],
) -> anyhow::Result<Cold> {
    let mut cold = Cold {
        first: Vec::new(),
        second: Vec::new(),
        raw: Vec::new(),
        errors: 0,
        first_error: None,
    };
    let mut rng = Rng(99);
    for c in credentials {
        let started = Instant::now();
        check_cluster(
            client_config_as(env, &c.principal, &c.password),
            Duration::from_secs(5),
        )
        .await
        .map_err(|e| anyhow::anyhow!("raw handshake for {}: {e}", c.principal))?;
        cold.raw.push(started.elapsed());

        let client = http_client()?;
        // The connection first, so the figure is the request alone.
        client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .context("opening a connection (/healthz)")?;
        let (id, _) = &dataset.schemas[rng.below(dataset.schemas.len())];
        let path = format!("/schemas/ids/{id}");
        for (n, sink) in [(1, &mut cold.first), (2, &mut cold.second)] {
            match timed(&client, base, &path, &c.header).await {
                Ok(d) => sink.push(d),
                Err(e) => {
                    cold.errors += 1;
                    cold.first_error
                        .get_or_insert(format!("request {n} of {}: {e}", c.principal));
                }
            }
        }
    }
    cold.first.sort_unstable();
    cold.second.sort_unstable();
    cold.raw.sort_unstable();
    println!(
        "  first request  p50 {:>7.1}  max {:>7.1} ms   (n={}, errors {})",
        percentile(&cold.first, 50.0),
        percentile(&cold.first, 100.0),
        cold.first.len(),
        cold.errors
    );
    println!(
        "  second request p50 {:>7.1}  max {:>7.1} ms   (same connection, credential cached)",
        percentile(&cold.second, 50.0),
        percentile(&cold.second, 100.0)
    );
    println!(
        "  raw check_cluster p50 {:>7.1}  max {:>7.1} ms (the handshake the portal makes, alone)",
        percentile(&cold.raw, 50.0),
        percentile(&cold.raw, 100.0)
    );
    Ok(cold)
}

struct Stampede {
    clients: usize,
    stats: Stats,
    /// Threads of this process just before the stampede, and the most seen during it.
    threads_before: usize,
    threads_peak: usize,
}

/// `Threads:` of /proc/self/status (0 where there is no /proc).
fn process_threads() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Threads:"))
                .and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or(0)
}

impl Stampede {
    fn line(&self) -> String {
        let l = &self.stats.latencies;
        let mut s = format!(
            "  {} clients   done in {:>7.1} ms   p50 {:>7.1}  p99 {:>7.1}  max {:>7.1} ms   errors {}   process threads {} before, peak {}",
            self.clients,
            ms(self.stats.elapsed),
            percentile(l, 50.0),
            percentile(l, 99.0),
            percentile(l, 100.0),
            self.stats.errors,
            self.threads_before,
            self.threads_peak
        );
        if let Some(e) = &self.stats.first_error {
            let _ = write!(s, "   first error: {e}");
        }
        s
    }
}

/// One application's replicas starting together: `clients` connections, opened first, then one
/// request each at the same moment with a credential the portal has not verified yet.
async fn stampede_run(
    base: &str,
    dataset: &Dataset,
    credential: &Credential,
    clients: usize,
) -> anyhow::Result<Stampede> {
    let start = Arc::new(Barrier::new(clients + 1));
    let mut tasks = JoinSet::new();
    for i in 0..clients {
        let client = http_client()?;
        let (base, start, auth) = (
            base.to_owned(),
            Arc::clone(&start),
            credential.header.clone(),
        );
        let (subject, _, _) = &dataset.subjects[i % dataset.subjects.len()];
        let path = format!("/subjects/{subject}/versions/latest");
        tasks.spawn(async move {
            let opened = client.get(format!("{base}/healthz")).send().await;
            start.wait().await;
            let mut stats = Stats::default();
            match opened {
                Ok(_) => stats.record(timed(&client, &base, &path, &auth).await),
                Err(e) => stats.record(Err(format!("opening a connection: {e}"))),
            }
            stats
        });
    }
    // Every credential check runs a new librdkafka client (several threads) on a blocking
    // thread: the process's peak thread count shows how many checks ran at once.
    let threads_before = process_threads();
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let sampler = tokio::spawn(async move {
        let mut peak = 0;
        loop {
            peak = peak.max(process_threads());
            tokio::select! {
                _ = stopped.changed() => return peak,
                () = tokio::time::sleep(Duration::from_millis(2)) => {}
            }
        }
    });
    start.wait().await;
    let started = Instant::now();
    let mut total = Stats::default();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(stats) => total.merge(stats),
            Err(e) => total.record(Err(format!("client task failed: {e}"))),
        }
    }
    total.elapsed = started.elapsed();
    total.latencies.sort_unstable();
    let _ = stop.send(true);
    let threads_peak = sampler.await.unwrap_or(0);
    Ok(Stampede {
        clients,
        stats: total,
        threads_before,
        threads_peak,
    })
}

// ---------------------------------------------------------------------------------------------
// The server's own view: `http_request_duration_seconds` from /metrics

// ---------------------------------------------------------------------------------------------
// Where the time goes: the handlers' SQL, without HTTP

/// Times the statements the two handlers run, directly on the portal's pool, sequentially:
/// the database share of each request.
async fn breakdown(db: &PgPool, dataset: &Dataset, requests: usize) -> anyhow::Result<()> {
    println!(
        "\nDATABASE SHARE: the handlers' statements (as in server/src/registry.rs) on the portal's pool, \
         {requests} sequential calls each, ms"
    );
    let report = |label: &str, mut times: Vec<Duration>| {
        times.sort_unstable();
        println!(
            "  {label:<74} p50 {:>7.2}  p95 {:>7.2}  p99 {:>7.2}",
            percentile(&times, 50.0),
            percentile(&times, 95.0),
            percentile(&times, 99.0)
        );
    };
    let mut rng = Rng(5);
    let mut times = Vec::with_capacity(requests);
    for _ in 0..requests {
        let (id, _) = &dataset.schemas[rng.below(dataset.schemas.len())];
        let started = Instant::now();
        let _: Option<(String, String)> =
            sqlx::query_as("select canonical, format::text from schema_text where id = $1")
                .bind(id)
                .fetch_optional(db)
                .await?;
        times.push(started.elapsed());
    }
    report(
        "schemas/ids, not in memory: 1 query (schema_text by id)",
        times,
    );
    let mut times = Vec::with_capacity(requests);
    for _ in 0..requests {
        let (subject, _, _) = &dataset.subjects[rng.below(dataset.subjects.len())];
        let started = Instant::now();
        let _: (bool, Option<i32>) = sqlx::query_as(
            "select exists (select 1 from schema_subject where subject = $1), v.version
               from (select 1) one
               left join lateral (select version, schema_id from schema_version
                                   where subject = $1 and ($2::int is null or version = $2)
                                   order by version desc limit 1) v on true
               left join schema_text t on t.id = v.schema_id",
        )
        .bind(subject)
        .bind(None::<i32>)
        .fetch_one(db)
        .await?;
        times.push(started.elapsed());
    }
    report(
        "versions/latest, not in memory: 1 query (subject, latest version, its text)",
        times,
    );
    let principal = principal_name(
        TEAM,
        "hot-000",
        &app::domain::EnvironmentName::parse(ENV).expect("a valid environment name"),
    );
    let mut times = Vec::with_capacity(requests);
    for _ in 0..requests {
        let started = Instant::now();
        let _: Option<String> = sqlx::query_scalar(
            "select environment from kafka_principal where principal = $1 and credential_set_at is not null",
        )
        .bind(&principal)
        .fetch_optional(db)
        .await?;
        times.push(started.elapsed());
    }
    report(
        "auth, cache miss only: kafka_principal lookup (before the handshake)",
        times,
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Reporting

struct Row {
    endpoint: Endpoint,
    clients: Option<usize>,
    requests: usize,
    rps: f64,
    p50: f64,
    p95: f64,
    p99: f64,
    max: f64,
    errors: u64,
    first_error: Option<String>,
    server: Option<Histogram>,
}

impl Row {
    fn new(
        endpoint: Endpoint,
        clients: Option<usize>,
        mut stats: Stats,
        server: Option<Histogram>,
    ) -> Self {
        stats.latencies.sort_unstable();
        let requests = stats.latencies.len() + usize::try_from(stats.errors).unwrap_or(0);
        Row {
            endpoint,
            clients,
            requests,
            rps: requests as f64 / stats.elapsed.as_secs_f64().max(1e-9),
            p50: percentile(&stats.latencies, 50.0),
            p95: percentile(&stats.latencies, 95.0),
            p99: percentile(&stats.latencies, 99.0),
            max: percentile(&stats.latencies, 100.0),
            errors: stats.errors,
            first_error: stats.first_error,
            server,
        }
    }

    fn phase(&self) -> String {
        self.clients
            .map_or_else(|| "sequential".into(), |n| format!("{n} clients"))
    }

    fn verdict(&self) -> String {
        if self.clients != Some(TARGET_CLIENTS) {
            return String::new();
        }
        let pass = |ok: bool| if ok { "PASS" } else { "MISS" };
        format!(
            "p99<={P99_TARGET_MS:.0}ms {}, >={RPS_TARGET:.0}req/s {}, 0 err {}",
            pass(self.p99 <= P99_TARGET_MS),
            pass(self.rps >= RPS_TARGET),
            pass(self.errors == 0)
        )
    }

    fn server_view(&self) -> String {
        self.server.as_ref().map_or_else(
            || "-".into(),
            |h| {
                format!(
                    "{:.1} / {} / {}",
                    h.mean_ms(),
                    h.percentile_bound(50.0),
                    h.percentile_bound(99.0)
                )
            },
        )
    }

    fn line(&self) -> String {
        let mut s = format!(
            "  {:<11} {:>7} req {:>8.1} req/s   p50 {:>7.1}  p95 {:>7.1}  p99 {:>7.1}  max {:>7.1} ms   errors {:>4}   server mean/p50/p99 ms {}",
            self.phase(),
            self.requests,
            self.rps,
            self.p50,
            self.p95,
            self.p99,
            self.max,
            self.errors,
            self.server_view()
        );
        if let Some(e) = &self.first_error {
            let _ = write!(s, "   first error: {e}");
        }
        s
    }
}

fn print_report(
    rows: &[Row],
    cold: Option<&Cold>,
    stampede: Option<&Stampede>,
    nproc: usize,
    profile: &str,
    dataset: &str,
    load: &str,
) {
    let rule = "-".repeat(150);
    println!("\n{rule}");
    println!("RESULTS  machine: {nproc} CPUs (nproc)  profile: {profile}  data: {dataset}");
    println!("load average (1, 5, 15 min): {load}");
    println!(
        "Latency is per request at the client over loopback, in ms (send to last body byte), with the \
         credential already verified. `server` is the portal's http_request_duration_seconds for \
         the endpoint's route pattern (mean, and p50/p99 as bucket bounds)."
    );
    println!("{rule}");
    println!(
        "{:<52} {:<11} {:>7} {:>8} {:>7} {:>7} {:>7} {:>8} {:>6} {:>20}  verdict",
        "endpoint",
        "phase",
        "reqs",
        "req/s",
        "p50",
        "p95",
        "p99",
        "max",
        "errors",
        "server mean/p50/p99"
    );
    let mut last = None;
    for r in rows {
        let name = if last == Some(r.endpoint) {
            ""
        } else {
            r.endpoint.label()
        };
        last = Some(r.endpoint);
        println!(
            "{:<52} {:<11} {:>7} {:>8.1} {:>7.1} {:>7.1} {:>7.1} {:>8.1} {:>6} {:>20}  {}",
            name,
            r.phase(),
            r.requests,
            r.rps,
            r.p50,
            r.p95,
            r.p99,
            r.max,
            r.errors,
            r.server_view(),
            r.verdict()
        );
    }
    if let Some(c) = cold {
        println!(
            "{:<52} {:<11} {:>7} {:>8} {:>7.1} {:>7} {:>7} {:>8.1} {:>6} {:>20}  (no target)",
            "cold: first request, credential not yet verified",
            "sequential",
            c.first.len() as u64 + c.errors,
            "-",
            percentile(&c.first, 50.0),
            "-",
            "-",
            percentile(&c.first, 100.0),
            c.errors,
            "-"
        );
        println!(
            "{:<52} {:<11} {:>7} {:>8} {:>7.1} {:>7} {:>7} {:>8.1} {:>6} {:>20}",
            "  its second request (same connection, cached)",
            "sequential",
            c.second.len(),
            "-",
            percentile(&c.second, 50.0),
            "-",
            "-",
            percentile(&c.second, 100.0),
            "-",
            "-"
        );
        println!(
            "{:<52} {:<11} {:>7} {:>8} {:>7.1} {:>7} {:>7} {:>8.1} {:>6} {:>20}",
            "  raw check_cluster handshake (no HTTP)",
            "sequential",
            c.raw.len(),
            "-",
            percentile(&c.raw, 50.0),
            "-",
            "-",
            percentile(&c.raw, 100.0),
            "-",
            "-"
        );
        if let Some(e) = &c.first_error {
            println!("  cold first error: {e}");
        }
    }
    if let Some(s) = stampede {
        let l = &s.stats.latencies;
        println!(
            "{:<52} {:<11} {:>7} {:>8} {:>7.1} {:>7.1} {:>7.1} {:>8.1} {:>6} {:>20}  (no target; all done in {:.0} ms; threads {} -> peak {})",
            "stampede: 1 unverified credential, all at once",
            format!("{} clients", s.clients),
            l.len() as u64 + s.stats.errors,
            "-",
            percentile(l, 50.0),
            percentile(l, 95.0),
            percentile(l, 99.0),
            percentile(l, 100.0),
            s.stats.errors,
            "-",
            ms(s.stats.elapsed),
            s.threads_before,
            s.threads_peak
        );
        if let Some(e) = &s.stats.first_error {
            println!("  stampede first error: {e}");
        }
    }
    println!("{rule}");
    println!(
        "TARGETS (the portal's target for the registry's start-up reads, set by this benchmark): at {TARGET_CLIENTS} \
         concurrent clients, each endpoint p99 <= {P99_TARGET_MS:.0} ms, >= {RPS_TARGET:.0} req/s, 0 errors"
    );
    for endpoint in [Endpoint::Ids, Endpoint::Latest] {
        let Some(r) = rows
            .iter()
            .find(|r| r.endpoint == endpoint && r.clients == Some(TARGET_CLIENTS))
        else {
            println!(
                "  {:<52} not measured (BENCH_CLIENTS has no {TARGET_CLIENTS}, or BENCH_ONLY left it out)",
                endpoint.label()
            );
            continue;
        };
        println!(
            "  {:<52} p99 {:>6.1} ms, {:>7.0} req/s, {} errors   {}",
            endpoint.label(),
            r.p99,
            r.rps,
            r.errors,
            r.verdict()
        );
    }
    println!("{rule}");
}

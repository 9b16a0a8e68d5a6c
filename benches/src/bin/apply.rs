//! Apply benchmark: how long an approval takes to reach Kafka, against the local sandbox cluster,
//! with the portal's own code on every step that matters.
//!
//!   1. Approval -> ACL effective. 200 applications (each its own principal) ask for producer
//!      access; the final approval goes through `app::requests::store::decide`, which writes the
//!      outbox steps in the approving transaction; two `ApplyWorker`s (as in production), woken
//!      by LISTEN/NOTIFY, apply them. Measured from the approving commit (when `decide` returns)
//!      until a client with the application's SCRAM credentials gets its first successful
//!      produce. The client gets the password the portal's way (`app::apply::store::reveal`) as
//!      soon as the credential step has stored it, and tries to produce every BENCH_POLL_MS.
//!      Three workloads:
//!        - sequential, new application: credential and ACLs (one approval at a time);
//!        - sequential, existing credential: the same applications ask for a second topic, with
//!          a client already connected before the approval (the ACL path alone);
//!        - burst: 200 other new applications approved at once.
//!   2. Raw CreateAcls round trip (`KafkaAdmin::create_acls`, 2 bindings), for the ratio target:
//!      200 calls up front, and one between every two sequential approvals (same load), plus
//!      the raw SCRAM upsert the credential step makes.
//!   3. Drift check of 50,000 ACLs (`Reconciler::run_once("sandbox")`): desired (grants in the
//!      database), then unknown (the same ACLs with their requests revoked), then after clean-up.
//!
//! It prints numbers; it is not a test, and exits 0 when a target is missed (non-zero only when
//! set-up fails). Everything it creates on the shared sandbox cluster (ACLs, SCRAM credentials,
//! two topics) is removed at the end, and also at the start (left-overs of an interrupted run).
//!
//! Run it with `dev/bench-apply`. Knobs (environment):
//!   BENCH_APPROVALS   approvals per workload (default 200)
//!   BENCH_RAW         raw CreateAcls calls (default 200)
//!   BENCH_DRIFT_ACLS  ACLs for the drift check (default 50000; 0 skips it)
//!   BENCH_BURST_CONCURRENCY  approvals in flight at once in the burst (default 8: the portal's
//!                     pool has 10 connections, shared with the workers)
//!   BENCH_POLL_MS     how often the client tries to produce (default 20)
//!   BENCH_ONLY        comma-separated stages: raw, new, existing (runs new first), burst, drift
//!   BENCH_KEEP_DB=1   keep the `event_bus_portal_apply_bench` database afterwards
//!   RUST_LOG          install the server's log subscriber (e.g. RUST_LOG=warn: failed steps)

use anyhow::{Context, bail};
use app::apply::store::{self as apply_store, GrantAcl};
use app::context::PortalContext;
use app::credentials::CredentialVault;
use app::domain::{GrantRole, Role, UserIdentity, principal_name};
use chrono::{DateTime, Utc};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::producer::{FutureProducer, FutureRecord};
use secrecy::{ExposeSecret, SecretString};
use server::apply::{ApplyWorker, Clusters, grant_bindings, supervise_workers};
use server::config::{KafkaEnvironmentSettings, Settings};
use server::db;
use server::kafka::admin::{AclBinding, AclFilter, KafkaAdmin, TopicSpec};
use server::kafka::{client_config, client_config_as};
use server::reconcile::Reconciler;
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgPool};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, oneshot, watch};
use tokio::task::JoinSet;
use uuid::Uuid;

use benches::*;

const BENCH_DB: &str = "event_bus_portal_apply_bench";
const ENV: &str = "sandbox";

fn environment() -> app::domain::EnvironmentName {
    app::domain::EnvironmentName::parse(ENV).expect("a valid environment name")
}
/// The topic new applications ask for, and the second one existing applications ask for.
const TOPIC_NEW: &str = "apply_bench_orders";
const TOPIC_SECOND: &str = "apply_bench_payments";
const OWNERS: &str = "apply-bench-owners";
const SEQ_TEAM: &str = "apply-bench-seq";
const BURST_TEAM: &str = "apply-bench-burst";
const DRIFT_TEAM: &str = "apply-bench-drift";
const REQUESTER: &str = "apply-bench-requester";
const OWNER_APPROVER: &str = "apply-bench-owner-approver";
const GOVERNANCE: &str = "apply-bench-governance";
/// Topics each drift principal is granted (two ACLs per grant).
const DRIFT_TOPICS: usize = 100;
/// Raw CreateAcls calls before the measured ones (connection, controller warm-up).
const RAW_WARM_UP: usize = 10;
/// How often the bench looks for a stored credential (the client's "is my password ready?").
const CREDENTIAL_POLL: Duration = Duration::from_millis(5);
/// Longest wait for one approval to take effect before it counts as an error.
const EFFECT_LIMIT: Duration = Duration::from_secs(60);

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
    let mut admin = PgConnection::connect(&admin_url)
        .await
        .with_context(|| format!("connecting to PostgreSQL at {}", redact(&admin_url)))?;
    recreate_database(&mut admin, BENCH_DB).await?;
    settings.database.url = SecretString::from(bench_url.clone());

    let outcome = run(settings, &bench_url, &options).await;

    if options.keep_db {
        println!(
            "\nBENCH_KEEP_DB=1: kept database {BENCH_DB} ({})",
            redact(&bench_url)
        );
    } else {
        sqlx::raw_sql(&format!("drop database if exists {BENCH_DB} with (force)"))
            .execute(&mut admin)
            .await
            .context("dropping the bench database")?;
    }
    outcome
}

#[derive(Clone)]
struct Options {
    approvals: usize,
    raw: usize,
    drift_acls: usize,
    burst_concurrency: usize,
    poll: Duration,
    only: Vec<String>,
    keep_db: bool,
}

impl Options {
    fn from_env() -> anyhow::Result<Self> {
        let only = std::env::var("BENCH_ONLY")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect();
        Ok(Self {
            approvals: env_number::<usize>("BENCH_APPROVALS", 200)?.clamp(1, 999),
            raw: env_number::<usize>("BENCH_RAW", 200)?.max(1),
            drift_acls: env_number::<usize>("BENCH_DRIFT_ACLS", 50_000)?,
            burst_concurrency: env_number::<usize>("BENCH_BURST_CONCURRENCY", 8)?.max(1),
            poll: Duration::from_millis(u64::try_from(
                env_number::<usize>("BENCH_POLL_MS", 20)?.max(1),
            )?),
            only,
            keep_db: std::env::var("BENCH_KEEP_DB").is_ok_and(|v| v == "1"),
        })
    }

    fn runs(&self, stage: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| o == stage)
    }

    fn drift_principals(&self) -> usize {
        self.drift_acls.div_ceil(2 * DRIFT_TOPICS)
    }
}

fn ms_between(later: DateTime<Utc>, earlier: DateTime<Utc>) -> f64 {
    (later - earlier)
        .num_microseconds()
        .map_or(f64::NAN, |us| us as f64 / 1e3)
}

/// Nearest-rank percentile of values in milliseconds (NaN when there are none).
fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

// ---------------------------------------------------------------------------------------------
// Set-up

/// What the stages share.
struct Bench {
    options: Options,
    settings: Settings,
    /// The portal's pool (production size), shared by approvals, reveals and the workers.
    pool: PgPool,
    /// The bench's own reads (credential polling, timings), outside the portal's pool.
    probe: PgPool,
    portal: PortalContext,
    admin: KafkaAdmin,
    clusters: Clusters,
    env: KafkaEnvironmentSettings,
    requester: UserIdentity,
    owner: UserIdentity,
    governance: UserIdentity,
    watch: CredentialWatch,
}

#[derive(Clone)]
struct BenchApp {
    id: Uuid,
    principal: String,
}

async fn seed(pool: &PgPool, approvals: usize) -> anyhow::Result<()> {
    let topic = |name: &str, title: &str| {
        format!(
            "insert into topic (id, name, title, description, business_domain, lifecycle, owning_team,
                    data_classification, contains_pii, partitions, retention_ms, cleanup_policy)
             values (gen_random_uuid(), '{name}', '{title}', 'Events the apply benchmark produces.',
                    'bench', 'production', '{OWNERS}', 'low', false, 1, 3600000, 'delete');"
        )
    };
    let sql = format!(
        "insert into team (slug, display_name) values
            ('{OWNERS}', 'Apply bench owners'), ('{SEQ_TEAM}', 'Apply bench sequential'),
            ('{BURST_TEAM}', 'Apply bench burst'), ('{DRIFT_TEAM}', 'Apply bench drift');
         insert into app_user (subject, display_name, groups) values
            ('{REQUESTER}', 'Bench requester', '{{team-{SEQ_TEAM},team-{BURST_TEAM}}}'),
            ('{OWNER_APPROVER}', 'Bench owner approver', '{{team-{OWNERS},team-approvers}}'),
            ('{GOVERNANCE}', 'Bench governance', '{{governance}}');
         {seq}
         {burst}
         {orders}
         {payments}
         insert into topic_environment (topic_id, environment) select id, '{ENV}' from topic;",
        seq = applications_sql(SEQ_TEAM, approvals),
        burst = applications_sql(BURST_TEAM, approvals),
        orders = topic(TOPIC_NEW, "Orders (apply bench)"),
        payments = topic(TOPIC_SECOND, "Payments (apply bench)"),
    );
    sqlx::raw_sql(&sql)
        .execute(pool)
        .await
        .context("seeding teams, applications and topics")?;
    Ok(())
}

async fn apps_of(pool: &PgPool, team: &str) -> anyhow::Result<Vec<BenchApp>> {
    let rows: Vec<(Uuid, String)> =
        sqlx::query_as("select id, name from application where team_slug = $1 order by name")
            .bind(team)
            .fetch_all(pool)
            .await
            .context("loading the applications")?;
    Ok(rows
        .into_iter()
        .map(|(id, name)| BenchApp {
            id,
            principal: principal_name(team, &name, &environment()),
        })
        .collect())
}

fn all_bench_principals(options: &Options) -> Vec<String> {
    let n = options.approvals;
    let mut principals = Vec::new();
    for team in [SEQ_TEAM, BURST_TEAM] {
        principals
            .extend((0..n).map(|i| principal_name(team, &format!("app-{i:03}"), &environment())));
    }
    principals.extend((0..RAW_WARM_UP + options.raw).map(raw_principal));
    principals.extend((0..2 * n).map(paired_principal));
    principals.extend((0..options.drift_principals()).map(drift_principal));
    principals
}

/// Principals of the raw CreateAcls calls made between sequential approvals.
fn paired_principal(i: usize) -> String {
    format!("apply-bench-raw.p{i:04}")
}

/// One raw CreateAcls (2 bindings) between two approvals, so the ratio target compares numbers
/// taken under the same load (the machine and the shared cluster are busy with other work).
async fn paired_raw(bench: &Bench, i: usize) -> anyhow::Result<f64> {
    let bindings = grant_bindings(&producer_grant(&paired_principal(i), TOPIC_NEW));
    let started = Instant::now();
    bench
        .admin
        .create_acls(&bindings)
        .await
        .context("raw CreateAcls between approvals")?;
    Ok(ms(started.elapsed()))
}

fn raw_principal(i: usize) -> String {
    format!("apply-bench-raw.r{i:04}")
}

fn drift_principal(i: usize) -> String {
    format!("{DRIFT_TEAM}.p{i:04}.{ENV}")
}

/// Deletes every ACL of these principals, in batches of filters; returns how many went.
async fn delete_acls_of(admin: &KafkaAdmin, principals: &[String]) -> anyhow::Result<usize> {
    let mut deleted = 0;
    for chunk in principals.chunks(50) {
        let filters: Vec<AclFilter> = chunk
            .iter()
            .map(|p| AclFilter {
                principal: Some(format!("User:{p}")),
                ..AclFilter::default()
            })
            .collect();
        deleted += admin
            .delete_acls(&filters)
            .await
            .context("deleting benchmark ACLs")?;
    }
    Ok(deleted)
}

/// Removes what the benchmark may have left on the sandbox cluster: ACLs of its principals and
/// the SCRAM credentials of its applications. Topics only when `topics` (deleting and creating
/// a topic right away races with Kafka's asynchronous deletion).
async fn clean_cluster(bench: &Bench, topics: bool) -> anyhow::Result<String> {
    let principals = all_bench_principals(&bench.options);
    let acls = delete_acls_of(&bench.admin, &principals).await?;
    let scram: Vec<String> = (0..scram_samples(&bench.options))
        .map(scram_principal)
        .collect();
    let apps: Vec<&str> = principals
        .iter()
        .filter(|p| p.starts_with(SEQ_TEAM) || p.starts_with(BURST_TEAM))
        .chain(&scram)
        .map(String::as_str)
        .collect();
    let mut credentials = 0;
    for chunk in apps.chunks(100) {
        let existing = bench
            .admin
            .scram_users(chunk)
            .await
            .context("listing benchmark credentials")?;
        for batch in existing.chunks(10) {
            let deletions = batch
                .iter()
                .map(|user| bench.admin.delete_scram_credential(user));
            for result in futures::future::join_all(deletions).await {
                result.context("deleting a benchmark credential")?;
                credentials += 1;
            }
        }
    }
    let mut removed_topics = 0;
    if topics {
        for topic in [TOPIC_NEW, TOPIC_SECOND] {
            if bench.admin.delete_topic(topic).await.is_ok() {
                removed_topics += 1;
            }
        }
    }
    Ok(format!(
        "{acls} ACLs, {credentials} SCRAM credentials, {removed_topics} topics removed"
    ))
}

// ---------------------------------------------------------------------------------------------
// The client side: when is the password ready, and when does producing work

/// Polls `credential_reveal` for the applications someone waits on, every CREDENTIAL_POLL, with
/// one query for all of them (the burst has up to 200 waiting at once).
#[derive(Clone)]
struct CredentialWatch {
    waiting: Arc<Mutex<HashMap<Uuid, oneshot::Sender<Instant>>>>,
}

impl CredentialWatch {
    fn start(db: PgPool, mut stop: watch::Receiver<bool>) -> Self {
        let waiting: Arc<Mutex<HashMap<Uuid, oneshot::Sender<Instant>>>> = Arc::default();
        let shared = waiting.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(CREDENTIAL_POLL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stop.changed() => return,
                }
                let ids: Vec<Uuid> = shared
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .keys()
                    .copied()
                    .collect();
                if ids.is_empty() {
                    continue;
                }
                let found: Vec<Uuid> = match sqlx::query_scalar(
                    "select application_id from credential_reveal where application_id = any($1)",
                )
                .bind(&ids)
                .fetch_all(&db)
                .await
                {
                    Ok(found) => found,
                    Err(error) => {
                        eprintln!("credential poll failed: {error}");
                        continue;
                    }
                };
                let now = Instant::now();
                let mut map = shared.lock().unwrap_or_else(PoisonError::into_inner);
                for id in found {
                    if let Some(tx) = map.remove(&id) {
                        let _ = tx.send(now);
                    }
                }
            }
        });
        Self { waiting }
    }

    fn register(&self, application: Uuid) -> oneshot::Receiver<Instant> {
        let (tx, rx) = oneshot::channel();
        self.waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(application, tx);
        rx
    }
}

/// A client as the application would run it, tuned to notice a new ACL quickly: topic metadata
/// (which carries the authorization outcome) is refreshed every `poll`, nothing lingers, and
/// reconnects after a refused login are fast. Not idempotent: librdkafka treats a refused
/// InitProducerId as fatal, which would end the client before its ACL exists.
fn producer(
    env: &KafkaEnvironmentSettings,
    principal: &str,
    password: &str,
    poll: Duration,
) -> anyhow::Result<FutureProducer> {
    let mut config = client_config_as(env, principal, password);
    config
        .set("client.id", "apply-bench")
        .set("message.timeout.ms", "5000")
        .set("linger.ms", "0")
        .set("socket.nagle.disable", "true")
        .set(
            "topic.metadata.refresh.interval.ms",
            poll.as_millis().to_string(),
        )
        .set("retry.backoff.ms", "10")
        .set("reconnect.backoff.ms", "10")
        .set("reconnect.backoff.max.ms", "100");
    config.create().context("creating a producer")
}

/// Drops a client off the async runtime (librdkafka's destroy joins its threads).
async fn close(producer: FutureProducer) {
    let _ = tokio::task::spawn_blocking(move || drop(producer)).await;
}

async fn produce_once(producer: &FutureProducer, topic: &str) -> Result<(), String> {
    producer
        .send(
            FutureRecord::to(topic).key("bench").payload("approved"),
            Duration::from_secs(1),
        )
        .await
        .map(|_| ())
        .map_err(|(e, _)| match e.rdkafka_error_code() {
            Some(code) => format!("{code:?}"),
            None => e.to_string(),
        })
}

/// When the client's tries were answered.
struct Produced {
    /// The first answer (refused or not): the client had logged in and read the topic's metadata.
    first_answer: Instant,
    /// The first successful produce.
    ok: Instant,
    attempts: u32,
}

/// Tries to produce every `poll` until it works.
async fn produce_until_ok(
    producer: &FutureProducer,
    topic: &str,
    poll: Duration,
) -> anyhow::Result<Produced> {
    let started = Instant::now();
    let mut first_answer = None;
    let mut attempts = 0;
    loop {
        let attempt = tokio::time::Instant::now();
        attempts += 1;
        let result = produce_once(producer, topic).await;
        let answered = Instant::now();
        let first_answer = *first_answer.get_or_insert(answered);
        match result {
            Ok(()) => {
                return Ok(Produced {
                    first_answer,
                    ok: answered,
                    attempts,
                });
            }
            Err(error) if started.elapsed() > EFFECT_LIMIT => {
                bail!("no successful produce within {EFFECT_LIMIT:?}; last error: {error}")
            }
            Err(_) => tokio::time::sleep_until(attempt + poll).await,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Approvals

/// A request submitted and approved by the owning team: one approval (governance) to go.
async fn prepare(
    bench: &Bench,
    app: &BenchApp,
    topic: &str,
) -> anyhow::Result<app::domain::RequestId> {
    owner_approved_producer_request(
        &bench.portal,
        &bench.requester,
        &bench.owner,
        app.id.into(),
        topic,
        ENV,
    )
    .await
}

/// The final approval on the real code path; returns when it has committed.
async fn approve(bench: &Bench, id: app::domain::RequestId) -> anyhow::Result<(Instant, Duration)> {
    final_approval(&bench.portal, &bench.governance, id).await
}

/// One approval, from the client's side.
struct Sample {
    request: app::domain::RequestId,
    /// The `decide` call itself.
    approve: Duration,
    /// Approving commit -> first successful produce: the headline number.
    effective: Duration,
    /// Approving commit -> the password is there to be shown (new applications only).
    password: Option<Duration>,
    /// Approving commit -> the client's first produce attempt was answered.
    first_answer: Duration,
    effective_wall: DateTime<Utc>,
    attempts: u32,
}

/// Final approval of a new application's request, then: wait for its password, reveal it,
/// start a client and produce until it works.
async fn new_application(
    bench: &Bench,
    app: &BenchApp,
    request: app::domain::RequestId,
    gate: Option<&Semaphore>,
) -> anyhow::Result<(Sample, String)> {
    let ready = bench.watch.register(app.id);
    let (committed, approve_time) = {
        let _permit = match gate {
            Some(gate) => Some(gate.acquire().await?),
            None => None,
        };
        approve(bench, request).await?
    };
    let seen = tokio::time::timeout(EFFECT_LIMIT, ready)
        .await
        .context("the credential was not stored within the limit")?
        .context("the credential watch stopped")?;
    let revealed = apply_store::reveal(
        &bench.portal,
        &bench.requester,
        app.id.into(),
        &environment(),
    )
    .await
    .context("revealing the password")?;
    if revealed.principal != app.principal {
        bail!(
            "principal {} is not the expected {}",
            revealed.principal,
            app.principal
        );
    }
    let client = producer(
        &bench.env,
        &revealed.principal,
        &revealed.password,
        bench.options.poll,
    )?;
    let outcome = produce_until_ok(&client, TOPIC_NEW, bench.options.poll).await;
    let effective_wall = Utc::now();
    close(client).await;
    let produced = outcome?;
    Ok((
        Sample {
            request,
            approve: approve_time,
            effective: produced.ok - committed,
            password: Some(seen.saturating_duration_since(committed)),
            first_answer: produced.first_answer - committed,
            effective_wall,
            attempts: produced.attempts,
        },
        revealed.password,
    ))
}

/// Final approval for a second topic of an application whose client is already connected.
async fn existing_application(
    bench: &Bench,
    app: &BenchApp,
    password: &str,
    request: app::domain::RequestId,
) -> anyhow::Result<Sample> {
    let client = producer(&bench.env, &app.principal, password, bench.options.poll)?;
    // Connected, logged in and refused: the client knows the topic and keeps asking about it.
    match produce_once(&client, TOPIC_SECOND).await {
        Err(code) if code == format!("{:?}", RDKafkaErrorCode::TopicAuthorizationFailed) => {}
        Err(other) => eprintln!("  note: before approval the client saw {other}, not a refusal"),
        Ok(()) => bail!("the application could produce to {TOPIC_SECOND} before its approval"),
    }
    let (committed, approve_time) = approve(bench, request).await?;
    let outcome = produce_until_ok(&client, TOPIC_SECOND, bench.options.poll).await;
    let effective_wall = Utc::now();
    close(client).await;
    let produced = outcome?;
    Ok(Sample {
        request,
        approve: approve_time,
        effective: produced.ok - committed,
        password: None,
        first_answer: produced.first_answer - committed,
        effective_wall,
        attempts: produced.attempts,
    })
}

/// Where the time of one approval went, from the database's clock (same host as the bench):
/// approving commit -> credential step claimed -> ACL step claimed (the credential step's
/// commit) -> ACL step settled -> the client's first successful produce.
#[derive(Default, Clone, Copy)]
struct Breakdown {
    wake: f64,
    credential: f64,
    acl: f64,
    tail: f64,
}

struct Workload {
    name: String,
    samples: Vec<Sample>,
    errors: Vec<String>,
    breakdown: Vec<Breakdown>,
    retried_steps: i64,
    elapsed: Duration,
    /// Raw CreateAcls round trips taken between this workload's approvals (sequential only).
    paired_raw: Vec<f64>,
}

type TimingRow = (
    Uuid,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    i64,
);

async fn breakdown(probe: &PgPool, samples: &[Sample]) -> anyhow::Result<(Vec<Breakdown>, i64)> {
    let ids: Vec<Uuid> = samples.iter().map(|s| s.request.uuid()).collect();
    // `done_at` is now() of the worker's transaction: the moment it began, just before the
    // claim. The audit log's time is clock_timestamp() at the insert, near the commit.
    let rows: Vec<TimingRow> = sqlx::query_as(
        "select r.id,
                (select max(l.occurred_at) from audit_log l where l.entity_type = 'access_request'
                    and l.entity_id = r.id::text and l.action = 'request.approved'),
                (select s.done_at from apply_step s where s.request_id = r.id and s.kind = 'create_credentials'),
                (select s.done_at from apply_step s where s.request_id = r.id and s.kind = 'create_acls'),
                (select max(l.occurred_at) from audit_log l where l.entity_type = 'access_request'
                    and l.entity_id = r.id::text and l.action = 'request.applied'),
                (select coalesce(sum(s.attempts - 1), 0) from apply_step s where s.request_id = r.id)::bigint
           from access_request r where r.id = any($1)",
    )
    .bind(&ids)
    .fetch_all(probe)
    .await
    .context("reading step timings")?;
    let by_id: HashMap<Uuid, TimingRow> = rows.into_iter().map(|r| (r.0, r)).collect();
    let mut out = Vec::new();
    let mut retried = 0;
    for sample in samples {
        let Some(&(_, Some(approved), Some(credential), Some(acl), Some(applied), extra)) =
            by_id.get(&sample.request.uuid())
        else {
            continue;
        };
        retried += extra;
        out.push(Breakdown {
            wake: ms_between(credential, approved),
            credential: ms_between(acl, credential),
            acl: ms_between(applied, acl),
            tail: ms_between(sample.effective_wall, applied),
        });
    }
    Ok((out, retried))
}

async fn finish(
    bench: &Bench,
    name: String,
    samples: Vec<Sample>,
    errors: Vec<String>,
    elapsed: Duration,
    paired_raw: Vec<f64>,
) -> anyhow::Result<Workload> {
    let (breakdown, retried_steps) = breakdown(&bench.probe, &samples).await?;
    let workload = Workload {
        name,
        samples,
        errors,
        breakdown,
        retried_steps,
        elapsed,
        paired_raw,
    };
    println!("{}", workload.line());
    Ok(workload)
}

async fn sequential_new(
    bench: &Bench,
    apps: &[BenchApp],
) -> anyhow::Result<(Workload, HashMap<Uuid, String>)> {
    println!(
        "\n== sequential, new application: {} approvals one at a time (credential + ACLs)   (load {})",
        apps.len(),
        load_average()
    );
    let mut prepared = Vec::new();
    for app in apps {
        prepared.push(prepare(bench, app, TOPIC_NEW).await?);
    }
    let started = Instant::now();
    let (mut samples, mut errors, mut passwords) = (Vec::new(), Vec::new(), HashMap::new());
    let mut raw = Vec::new();
    for (i, (app, request)) in apps.iter().zip(&prepared).enumerate() {
        match new_application(bench, app, *request, None).await {
            Ok((sample, password)) => {
                samples.push(sample);
                passwords.insert(app.id, password);
            }
            Err(e) => errors.push(format!("{}: {e:#}", app.principal)),
        }
        raw.push(paired_raw(bench, i).await?);
        progress(i, apps.len(), &samples);
    }
    let elapsed = started.elapsed();
    let paired: Vec<String> = (0..apps.len()).map(paired_principal).collect();
    delete_acls_of(&bench.admin, &paired).await?;
    let workload = finish(
        bench,
        "sequential, new application (credential + ACLs)".into(),
        samples,
        errors,
        elapsed,
        raw,
    )
    .await?;
    Ok((workload, passwords))
}

async fn sequential_existing(
    bench: &Bench,
    apps: &[BenchApp],
    passwords: &HashMap<Uuid, String>,
) -> anyhow::Result<Workload> {
    let apps: Vec<&BenchApp> = apps
        .iter()
        .filter(|a| passwords.contains_key(&a.id))
        .collect();
    println!(
        "\n== sequential, existing credential: {} approvals of a second topic, client connected before   (load {})",
        apps.len(),
        load_average()
    );
    let mut prepared = Vec::new();
    for app in &apps {
        prepared.push(prepare(bench, app, TOPIC_SECOND).await?);
    }
    let started = Instant::now();
    let (mut samples, mut errors, mut raw) = (Vec::new(), Vec::new(), Vec::new());
    let offset = bench.options.approvals;
    for (i, (app, request)) in apps.iter().zip(&prepared).enumerate() {
        let password = passwords.get(&app.id).map_or("", String::as_str);
        match existing_application(bench, app, password, *request).await {
            Ok(sample) => samples.push(sample),
            Err(e) => errors.push(format!("{}: {e:#}", app.principal)),
        }
        raw.push(paired_raw(bench, offset + i).await?);
        progress(i, apps.len(), &samples);
    }
    let elapsed = started.elapsed();
    let paired: Vec<String> = (offset..offset + apps.len())
        .map(paired_principal)
        .collect();
    delete_acls_of(&bench.admin, &paired).await?;
    finish(
        bench,
        "sequential, existing credential, 2nd topic (ACLs)".into(),
        samples,
        errors,
        elapsed,
        raw,
    )
    .await
}

async fn burst(bench: &Arc<Bench>, apps: &[BenchApp]) -> anyhow::Result<Workload> {
    let concurrency = bench.options.burst_concurrency;
    println!(
        "\n== burst: {} new applications approved at once ({concurrency} approvals in flight)   (load {})",
        apps.len(),
        load_average()
    );
    let mut prepared = Vec::new();
    for app in apps {
        prepared.push(prepare(bench, app, TOPIC_NEW).await?);
    }
    let gate = Arc::new(Semaphore::new(concurrency));
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for (app, request) in apps.iter().cloned().zip(prepared) {
        let (bench, gate) = (bench.clone(), gate.clone());
        tasks.spawn(async move {
            new_application(&bench, &app, request, Some(&gate))
                .await
                .map(|(sample, _)| sample)
                .map_err(|e| format!("{}: {e:#}", app.principal))
        });
    }
    let (mut samples, mut errors) = (Vec::new(), Vec::new());
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(sample)) => samples.push(sample),
            Ok(Err(e)) => errors.push(e),
            Err(e) => errors.push(format!("task failed: {e}")),
        }
    }
    let elapsed = started.elapsed();
    let approving: Vec<f64> = samples.iter().map(|s| ms(s.approve)).collect();
    println!(
        "   decide() under the burst: p50 {:.1} ms, p99 {:.1} ms; all {} effective after {:.1} s",
        percentile(&approving, 50.0),
        percentile(&approving, 99.0),
        samples.len(),
        elapsed.as_secs_f64()
    );
    finish(
        bench,
        format!(
            "burst, {} approvals at once ({concurrency} in flight)",
            apps.len()
        ),
        samples,
        errors,
        elapsed,
        Vec::new(),
    )
    .await
}

fn progress(i: usize, total: usize, samples: &[Sample]) {
    if (i + 1).is_multiple_of(50) || i + 1 == total {
        let values: Vec<f64> = samples.iter().map(|s| ms(s.effective)).collect();
        println!(
            "   {:>4}/{total}  p50 {:>7.1} ms  max {:>7.1} ms  (load {})",
            i + 1,
            percentile(&values, 50.0),
            percentile(&values, 100.0),
            load_average()
        );
    }
}

impl Workload {
    fn effective(&self) -> Vec<f64> {
        self.samples.iter().map(|s| ms(s.effective)).collect()
    }

    fn line(&self) -> String {
        let v = self.effective();
        format!(
            "{:<52} {:>4} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>6}",
            self.name,
            v.len(),
            percentile(&v, 50.0),
            percentile(&v, 95.0),
            percentile(&v, 99.0),
            percentile(&v, 100.0),
            self.errors.len()
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Raw CreateAcls

fn producer_grant(principal: &str, topic: &str) -> GrantAcl {
    GrantAcl {
        grant_id: Uuid::nil().into(),
        environment: environment(),
        principal: principal.into(),
        role: GrantRole::Producer,
        topic: topic.into(),
        consumer_group: None,
        consumer_group_is_prefix: false,
    }
}

async fn raw_create_acls(bench: &Bench) -> anyhow::Result<Vec<f64>> {
    println!(
        "\n== raw CreateAcls: {} calls of 2 bindings (KafkaAdmin::create_acls), after {RAW_WARM_UP} warm-up   (load {})",
        bench.options.raw,
        load_average()
    );
    let mut times = Vec::new();
    for i in 0..RAW_WARM_UP + bench.options.raw {
        let bindings = grant_bindings(&producer_grant(&raw_principal(i), TOPIC_NEW));
        let started = Instant::now();
        bench
            .admin
            .create_acls(&bindings)
            .await
            .context("raw CreateAcls")?;
        if i >= RAW_WARM_UP {
            times.push(ms(started.elapsed()));
        }
    }
    let principals: Vec<String> = (0..RAW_WARM_UP + bench.options.raw)
        .map(raw_principal)
        .collect();
    delete_acls_of(&bench.admin, &principals).await?;
    println!(
        "   p50 {:.1} ms  p95 {:.1} ms  p99 {:.1} ms  max {:.1} ms",
        percentile(&times, 50.0),
        percentile(&times, 95.0),
        percentile(&times, 99.0),
        percentile(&times, 100.0)
    );
    Ok(times)
}

/// The credential step's Kafka call on its own: one AlterUserScramCredentials upsert (librdkafka
/// salts the password with SCRAM_ITERATIONS HMACs on the calling side before sending it).
async fn raw_scram_upserts(bench: &Bench) -> anyhow::Result<Vec<f64>> {
    let n = scram_samples(&bench.options);
    println!(
        "\n== raw SCRAM upsert: {n} calls of KafkaAdmin::upsert_scram_credential   (load {})",
        load_average()
    );
    let mut times = Vec::new();
    for i in 0..n {
        let password = SecretString::from(format!("bench-{}", Uuid::new_v4().simple()));
        let started = Instant::now();
        bench
            .admin
            .upsert_scram_credential(&scram_principal(i), &password)
            .await
            .context("raw SCRAM upsert")?;
        times.push(ms(started.elapsed()));
    }
    for i in 0..n {
        bench
            .admin
            .delete_scram_credential(&scram_principal(i))
            .await
            .context("deleting a raw SCRAM credential")?;
    }
    println!(
        "   p50 {:.1} ms  p95 {:.1} ms  p99 {:.1} ms  max {:.1} ms",
        percentile(&times, 50.0),
        percentile(&times, 95.0),
        percentile(&times, 99.0),
        percentile(&times, 100.0)
    );
    Ok(times)
}

fn scram_samples(options: &Options) -> usize {
    (options.raw / 4).max(10)
}

fn scram_principal(i: usize) -> String {
    format!("apply-bench-raw.s{i:04}")
}

// ---------------------------------------------------------------------------------------------
// Drift

struct DriftRow {
    scenario: String,
    total: Duration,
    pass_ms: u64,
    acls_seen: usize,
    restored: usize,
    unknown: i32,
}

async fn drift_pass(
    bench: &Bench,
    reconciler: &Reconciler,
    scenario: &str,
) -> anyhow::Result<DriftRow> {
    let started = Instant::now();
    let stats = reconciler
        .run_once(&environment())
        .await
        .with_context(|| format!("drift check: {scenario}"))?;
    let total = started.elapsed();
    let unknown: i32 = sqlx::query_scalar(
        "select unknown from reconcile_run where environment = $1 order by id desc limit 1",
    )
    .bind(ENV)
    .fetch_one(&bench.probe)
    .await?;
    let row = DriftRow {
        scenario: scenario.into(),
        total,
        pass_ms: stats.elapsed_ms,
        acls_seen: stats.acls_seen,
        restored: stats.restored.len(),
        unknown,
    };
    println!("{}", row.line());
    Ok(row)
}

impl DriftRow {
    fn line(&self) -> String {
        format!(
            "{:<58} {:>9.0} {:>9} {:>9} {:>8} {:>8}  {}",
            self.scenario,
            ms(self.total),
            self.pass_ms,
            self.acls_seen,
            self.restored,
            self.unknown,
            if ms(self.total) <= 5000.0 {
                "PASS"
            } else {
                "MISS"
            }
        )
    }
}

async fn count_drift_acls(admin: &KafkaAdmin) -> anyhow::Result<usize> {
    let prefix = format!("User:{DRIFT_TEAM}.");
    Ok(admin
        .describe_acls(&AclFilter::default())
        .await
        .context("describing ACLs")?
        .iter()
        .filter(|a| a.principal.starts_with(&prefix))
        .count())
}

async fn drift(bench: &Bench) -> anyhow::Result<(Vec<DriftRow>, Vec<String>)> {
    let principals = bench.options.drift_principals();
    let wanted = principals * DRIFT_TOPICS * 2;
    println!(
        "\n== drift check: {wanted} ACLs ({principals} principals x {DRIFT_TOPICS} topics x 2)   (load {})",
        load_average()
    );
    let mut notes = Vec::new();
    // The approvals' grants are no longer wanted (their ACLs were removed): not restored.
    sqlx::query(
        "update access_grant set revoked_at = now()
          where revoked_at is null
            and application_id in (select id from application where team_slug = any($1))",
    )
    .bind(vec![SEQ_TEAM, BURST_TEAM])
    .execute(&bench.probe)
    .await?;
    let seeded = Instant::now();
    let sql = format!(
        "insert into application (id, team_slug, name, system_registration_id, security_package_id,
                fisma_rating, ato_status, ato_date, privacy_assessment, contains_pii,
                hosting_location, technical_contact, product_contact)
         select gen_random_uuid(), '{DRIFT_TEAM}', 'p' || lpad(i::text, 4, '0'), 'SR-D' || i, 'SP-D' || i,
                'low', 'granted', '2026-01-15', 'completed', false, 'cloud_account',
                'dev@example.test', 'owner@example.test'
           from generate_series(0, {last_p}) i;
         insert into kafka_principal (application_id, environment, principal, credential_set_at)
         select id, '{ENV}', '{DRIFT_TEAM}.' || name || '.{ENV}', now()
           from application where team_slug = '{DRIFT_TEAM}';
         insert into topic (id, name, title, description, business_domain, lifecycle, owning_team,
                data_classification, contains_pii, partitions, retention_ms, cleanup_policy)
         select gen_random_uuid(), 'apply_bench_drift_t' || lpad(i::text, 3, '0'), 'Drift bench topic',
                'A topic the drift benchmark grants on; never created on a cluster.', 'bench',
                'production', '{DRIFT_TEAM}', 'low', false, 1, 3600000, 'delete'
           from generate_series(0, {last_t}) i;
         insert into access_request (id, kind, state, requester, application_id, topic_id, environments, purpose)
         select gen_random_uuid(), 'producer_access', 'active', '{REQUESTER}', a.id,
                (select id from topic where name = 'apply_bench_drift_t000'), '{{{ENV}}}',
                'Drift benchmark: many grants of one application.'
           from application a where a.team_slug = '{DRIFT_TEAM}';
         insert into access_grant (id, request_id, topic_id, application_id, role, environment)
         select gen_random_uuid(), r.id, t.id, r.application_id, 'producer'::grant_role, '{ENV}'
           from access_request r
           join application a on a.id = r.application_id and a.team_slug = '{DRIFT_TEAM}'
           cross join topic t where t.owning_team = '{DRIFT_TEAM}';",
        last_p = principals - 1,
        last_t = DRIFT_TOPICS - 1,
    );
    sqlx::raw_sql(&sql)
        .execute(&bench.probe)
        .await
        .context("seeding the drift grants")?;
    // The bindings exactly as the reconciler derives them from the grants.
    let desired: Vec<AclBinding> =
        server::apply::store::desired_grants(&bench.pool, &environment())
            .await?
            .iter()
            .filter(|g| g.principal.starts_with(DRIFT_TEAM))
            .flat_map(grant_bindings)
            .collect();
    println!(
        "   seeded {} grants in {:.1} s",
        desired.len() / 2,
        seeded.elapsed().as_secs_f64()
    );
    let created = Instant::now();
    let mut batch_times = Vec::new();
    for chunk in desired.chunks(1000) {
        let started = Instant::now();
        bench
            .admin
            .create_acls(chunk)
            .await
            .context("creating the drift ACLs")?;
        batch_times.push(ms(started.elapsed()));
    }
    let create_time = created.elapsed();
    let mut visible = count_drift_acls(&bench.admin).await?;
    let waited = Instant::now();
    while visible < desired.len() && waited.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        visible = count_drift_acls(&bench.admin).await?;
    }
    let note = format!(
        "created {} ACLs in {:.1} s with CreateAcls batches of 1000 (batch p50 {:.0} ms, max {:.0} ms); {visible} visible to DescribeAcls",
        desired.len(),
        create_time.as_secs_f64(),
        percentile(&batch_times, 50.0),
        percentile(&batch_times, 100.0)
    );
    println!("   {note}");
    notes.push(note);

    // The pass's parts on their own: the one DescribeAcls and the desired-grants query.
    let started = Instant::now();
    let all = bench.admin.describe_acls(&AclFilter::default()).await?;
    let describe_time = started.elapsed();
    let started = Instant::now();
    let grants = server::apply::store::desired_grants(&bench.pool, &environment()).await?;
    let grants_time = started.elapsed();
    let note = format!(
        "parts: DescribeAcls of all {} ACLs on the cluster {:.0} ms; desired_grants ({} grants) {:.0} ms",
        all.len(),
        ms(describe_time),
        grants.len(),
        ms(grants_time)
    );
    println!("   {note}");
    notes.push(note);

    let reconciler = Reconciler::new(
        bench.pool.clone(),
        bench.clusters.clone(),
        bench.settings.apply.clone(),
    );
    println!(
        "   {:<58} {:>9} {:>9} {:>9} {:>8} {:>8}",
        "scenario", "total ms", "pass ms", "acls seen", "restored", "unknown"
    );
    let mut rows = Vec::new();
    let label = |what: &str| format!("{wanted} {what}");
    rows.push(
        drift_pass(
            bench,
            &reconciler,
            &label("desired (in the database), 1st pass"),
        )
        .await?,
    );
    rows.push(
        drift_pass(
            bench,
            &reconciler,
            &label("desired (in the database), 2nd pass"),
        )
        .await?,
    );
    sqlx::query(
        "update access_request set state = 'revoked'
          where application_id in (select id from application where team_slug = $1)",
    )
    .bind(DRIFT_TEAM)
    .execute(&bench.probe)
    .await?;
    rows.push(
        drift_pass(
            bench,
            &reconciler,
            &label("unknown, 1st pass (findings inserted)"),
        )
        .await?,
    );
    rows.push(
        drift_pass(
            bench,
            &reconciler,
            &label("unknown, 2nd pass (findings already open)"),
        )
        .await?,
    );
    let cleaned = Instant::now();
    let drift_principals: Vec<String> = (0..principals).map(drift_principal).collect();
    let deleted = delete_acls_of(&bench.admin, &drift_principals).await?;
    let deleted_in = cleaned.elapsed();
    // DeleteAcls answers once the controller committed; the broker serving DescribeAcls applies
    // the removals a moment later.
    let mut left = count_drift_acls(&bench.admin).await?;
    let first_left = left;
    while left > 0 && cleaned.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        left = count_drift_acls(&bench.admin).await?;
    }
    let note = format!(
        "clean-up: DeleteAcls removed {deleted} ACLs in {:.1} s; right after, DescribeAcls still \
         showed {first_left} of them, none after {:.1} s",
        deleted_in.as_secs_f64(),
        cleaned.elapsed().as_secs_f64()
    );
    println!("   {note}");
    notes.push(note);
    rows.push(
        drift_pass(
            bench,
            &reconciler,
            &format!("after clean-up ({wanted} findings closed as gone)"),
        )
        .await?,
    );
    Ok((rows, notes))
}

// ---------------------------------------------------------------------------------------------
// The run

#[derive(Default)]
struct Report {
    raw: Option<Vec<f64>>,
    scram: Option<Vec<f64>>,
    workloads: Vec<Workload>,
    drift: Vec<DriftRow>,
    notes: Vec<String>,
}

async fn run(settings: Settings, bench_url: &str, options: &Options) -> anyhow::Result<()> {
    let run_started = Instant::now();
    let load_before = load_average();
    let pool = db::pool(&settings.database)?;
    db::migrate(&pool).await?;
    let probe = PgPoolOptions::new()
        .max_connections(3)
        .connect(bench_url)
        .await
        .context("connecting to the bench database")?;
    seed(&pool, options.approvals).await?;
    let env = settings
        .kafka
        .environments
        .get(ENV)
        .with_context(|| format!("no Kafka environment {ENV} in the configuration"))?
        .clone();
    let timeout = Duration::from_millis(settings.apply.operation_timeout_ms);
    let admin = KafkaAdmin::new(&client_config(&env), timeout)?;
    let clusters = Clusters::from_settings(&settings)?;
    let vault = CredentialVault::from_base64(&settings.kafka.credential_key)?;

    // The portal's workers, as `main` starts them.
    let worker = ApplyWorker::new(
        pool.clone(),
        clusters.clone(),
        vault,
        settings.apply.clone(),
    );
    let mut workers = server::background::Supervisor::default();
    supervise_workers(&mut workers, &worker, settings.apply.workers)?;
    let (stop, stopped) = watch::channel(false);

    let bench = Arc::new(Bench {
        portal: server::startup::portal_context(&settings, &pool)?,
        requester: user(REQUESTER, vec![Role::Member], &[SEQ_TEAM, BURST_TEAM])?,
        owner: user(
            OWNER_APPROVER,
            vec![Role::Member, Role::TeamApprover],
            &[OWNERS],
        )?,
        governance: user(GOVERNANCE, vec![Role::Approver], &[])?,
        watch: CredentialWatch::start(probe.clone(), stopped.clone()),
        options: options.clone(),
        settings,
        pool,
        probe,
        admin,
        clusters,
        env,
    });

    let pg_version: String = sqlx::query_scalar("show server_version")
        .fetch_one(&bench.probe)
        .await?;
    let brokers = bench.admin.broker_count().await?;
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let nproc = std::thread::available_parallelism().map_or(0, usize::from);
    println!("\n== set-up");
    println!(
        "machine      : {nproc} CPUs (nproc), PostgreSQL {pg_version}, Kafka sandbox {brokers} broker(s) (shared)"
    );
    println!("profile      : {profile}");
    println!("load average : {load_before} (1, 5, 15 min) before the run");
    println!(
        "portal       : pool of {} connections; {} apply workers (LISTEN apply_step, poll fallback {} ms); admin timeout {} ms",
        bench.settings.database.max_connections,
        bench.settings.apply.workers,
        bench.settings.apply.poll_interval_ms,
        bench.settings.apply.operation_timeout_ms
    );
    println!(
        "client       : produce attempt every {} ms (topic.metadata.refresh.interval.ms = {}), password polled every {} ms",
        options.poll.as_millis(),
        options.poll.as_millis(),
        CREDENTIAL_POLL.as_millis()
    );
    let pre = clean_cluster(&bench, false).await?;
    println!("pre-clean    : {pre}");
    for topic in [TOPIC_NEW, TOPIC_SECOND] {
        bench
            .admin
            .create_topic(&TopicSpec {
                name: topic.into(),
                partitions: 1,
                replication_factor: 1,
                configs: vec![],
            })
            .await
            .with_context(|| format!("creating topic {topic}"))?;
    }

    let mut report = Report::default();
    let outcome = stages(&bench, &mut report).await;
    if let Err(e) = &outcome {
        println!("\nSTOPPED: {e:#}");
    }

    println!("\n== clean-up");
    let cleanup = clean_cluster(&bench, true).await;
    match &cleanup {
        Ok(done) => println!("cluster      : {done}"),
        Err(e) => println!("cluster      : clean-up failed: {e:#}"),
    }
    let _ = stop.send(true);
    workers.stop(Duration::from_secs(15)).await;

    print_report(
        &report,
        profile,
        nproc,
        &format!("{load_before} before, {} after", load_average()),
        run_started.elapsed(),
    );
    outcome.and(cleanup.map(|_| ()))
}

async fn stages(bench: &Arc<Bench>, report: &mut Report) -> anyhow::Result<()> {
    let options = &bench.options;
    if options.runs("raw") {
        report.raw = Some(raw_create_acls(bench).await?);
        report.scram = Some(raw_scram_upserts(bench).await?);
    }
    let seq_apps = apps_of(&bench.pool, SEQ_TEAM).await?;
    let burst_apps = apps_of(&bench.pool, BURST_TEAM).await?;
    let mut passwords = HashMap::new();
    if options.runs("new") || options.runs("existing") {
        let (workload, known) = sequential_new(bench, &seq_apps).await?;
        report.workloads.push(workload);
        passwords = known;
    }
    if options.runs("existing") {
        report
            .workloads
            .push(sequential_existing(bench, &seq_apps, &passwords).await?);
    }
    if options.runs("burst") {
        report.workloads.push(burst(bench, &burst_apps).await?);
    }
    // The approvals' ACLs and credentials go before the drift check reads the whole cluster.
    let cleaned = clean_cluster(bench, false).await?;
    report.notes.push(format!("after the approvals: {cleaned}"));
    if options.runs("drift") && options.drift_acls > 0 {
        let (rows, notes) = drift(bench).await?;
        report.drift = rows;
        report.notes.extend(notes);
    }
    Ok(())
}

fn print_report(report: &Report, profile: &str, nproc: usize, load: &str, took: Duration) {
    let rule = "-".repeat(118);
    println!("\n{rule}");
    println!(
        "RESULTS  profile: {profile}  machine: {nproc} CPUs  load average (1, 5, 15 min): {load}  run took {:.0} s",
        took.as_secs_f64()
    );
    println!("{rule}");
    println!(
        "{:<52} {:>4} {:>8} {:>8} {:>8} {:>8} {:>6}",
        "approving commit -> first successful produce (ms)",
        "n",
        "p50",
        "p95",
        "p99",
        "max",
        "errors"
    );
    for w in &report.workloads {
        println!("{}", w.line());
    }
    let raw_p99 = report.raw.as_ref().map(|r| percentile(r, 99.0));
    let stat_row = |label: &str, values: &[f64]| {
        println!(
            "{:<52} {:>4} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>6}",
            label,
            values.len(),
            percentile(values, 50.0),
            percentile(values, 95.0),
            percentile(values, 99.0),
            percentile(values, 100.0),
            0
        );
    };
    if let Some(raw) = &report.raw {
        stat_row("raw CreateAcls round trip, 2 bindings (ms)", raw);
    }
    for w in report.workloads.iter().filter(|w| !w.paired_raw.is_empty()) {
        let which = if w.name.contains("existing") {
            "existing-credential"
        } else {
            "new-application"
        };
        stat_row(
            &format!("  same, between the {which} approvals"),
            &w.paired_raw,
        );
    }
    if let Some(scram) = &report.scram {
        stat_row("raw SCRAM upsert round trip (ms)", scram);
    }
    if !report.workloads.is_empty() {
        println!(
            "\nwhere the time goes, p50 / p99 in ms (database clock; steps claimed and settled by the workers):"
        );
        println!(
            "{:<52} {:>15} {:>15} {:>15} {:>17} {:>13} {:>13} {:>9}",
            "",
            "commit->claim",
            "credential step",
            "ACL step",
            "ACL commit->prod.",
            "password at",
            "1st answer at",
            "attempts"
        );
        for w in &report.workloads {
            let col = |f: fn(&Breakdown) -> f64| {
                let v: Vec<f64> = w.breakdown.iter().map(f).collect();
                format!(
                    "{:>6.1} / {:>6.1}",
                    percentile(&v, 50.0),
                    percentile(&v, 99.0)
                )
            };
            let password: Vec<f64> = w
                .samples
                .iter()
                .filter_map(|s| s.password.map(ms))
                .collect();
            let attempts: Vec<f64> = w.samples.iter().map(|s| f64::from(s.attempts)).collect();
            let first: Vec<f64> = w.samples.iter().map(|s| ms(s.first_answer)).collect();
            println!(
                "{:<52} {:>15} {:>15} {:>15} {:>17} {:>13} {:>13} {:>9}",
                w.name,
                col(|b| b.wake),
                col(|b| b.credential),
                col(|b| b.acl),
                col(|b| b.tail),
                if password.is_empty() {
                    "-".to_owned()
                } else {
                    format!("{:.0} ms p50", percentile(&password, 50.0))
                },
                format!("{:.0} ms p50", percentile(&first, 50.0)),
                format!("{:.0} p50", percentile(&attempts, 50.0)),
            );
            let approve: Vec<f64> = w.samples.iter().map(|s| ms(s.approve)).collect();
            let slow_wake = w.breakdown.iter().filter(|b| b.wake > 500.0).count();
            let wake_max = percentile(
                &w.breakdown.iter().map(|b| b.wake).collect::<Vec<_>>(),
                100.0,
            );
            println!(
                "{:<52} decide() p50 {:.1} ms, p99 {:.1} ms; commit->claim max {:.0} ms, {} over 500 ms; steps tried again: {}; took {:.1} s",
                "",
                percentile(&approve, 50.0),
                percentile(&approve, 99.0),
                wake_max,
                slow_wake,
                w.retried_steps,
                w.elapsed.as_secs_f64()
            );
            for e in w.errors.iter().take(5) {
                println!("{:<52} error: {e}", "");
            }
        }
        println!(
            "\nTARGETS (approving commit -> first successful produce). The ratio uses the raw CreateAcls \
             calls made between the same workload's approvals (same load) where there are some, \
             else the raw stage above."
        );
        for w in &report.workloads {
            let p99 = percentile(&w.effective(), 99.0);
            let (raw, source) = if w.paired_raw.is_empty() {
                (raw_p99, "raw stage")
            } else {
                (Some(percentile(&w.paired_raw, 99.0)), "paired")
            };
            let ratio = raw.map(|r| p99 / r);
            println!(
                "  {:<52} p99 {:>7.1} ms <= 1000 ms: {}   p99 / raw p99 ({source} {}) = {} <= 3: {}",
                w.name,
                p99,
                if p99 <= 1000.0 { "PASS" } else { "MISS" },
                raw.map_or("n/a".into(), |r| format!("{r:.1} ms")),
                ratio.map_or("n/a".into(), |r| format!("{r:.1}")),
                match ratio {
                    Some(r) if r <= 3.0 => "PASS",
                    Some(_) => "MISS",
                    None => "n/a",
                }
            );
        }
    }
    if !report.drift.is_empty() {
        println!(
            "\nDRIFT CHECK: Reconciler::run_once(\"sandbox\"), target <= 5000 ms (total includes recording the findings)"
        );
        println!(
            "{:<58} {:>9} {:>9} {:>9} {:>8} {:>8}",
            "scenario", "total ms", "pass ms", "acls seen", "restored", "unknown"
        );
        for row in &report.drift {
            println!("{}", row.line());
        }
    }
    for note in &report.notes {
        println!("note: {note}");
    }
    println!("{rule}");
}

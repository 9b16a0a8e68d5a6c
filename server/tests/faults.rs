//! A Kafka outage, end to end: "broker stopped, 100 requests approved, broker started: all 100
//! applied, none twice".
//!
//! Stopping the shared sandbox cluster would break every other test, so this test starts a
//! single-node cluster of its own with `dev/kafka/kafka.sh` (in a temporary state directory, on
//! free ports) and stops and starts it at will. Requests are submitted and approved through the
//! real server functions over HTTP: the approving transaction is what writes the outbox steps.
//! Needs PostgreSQL of the local stack (`dev/stack.sh up`), Java and the fetched Kafka jars.

use app::domain::{Role, TeamSlug, UserIdentity, principal_name};
use futures::{StreamExt, stream};
use rdkafka::producer::{FutureProducer, FutureRecord};
use server::apply::{ApplyWorker, Clusters, Outcome};
use server::config::{KafkaEnvironmentSettings, Settings};
use server::kafka::admin::{
    AclBinding, AclFilter, AclOperation, AclPermission, KafkaAdmin, PatternType, ResourceType,
    TopicSpec,
};
use server::kafka::{client_config, client_config_as};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use tower_sessions_sqlx_store::PostgresStore;
use uuid::Uuid;

/// How many requests are approved while the broker is down.
const REQUESTS: usize = 100;
/// The environment (and cluster name) this test adds to the settings.
const ENV: &str = "faults";

fn environment() -> app::domain::EnvironmentName {
    app::domain::EnvironmentName::parse(ENV).expect("a valid name")
}
/// Each admin call to the cluster waits at most this long, so calls to a stopped broker fail fast.
const OPERATION_TIMEOUT_MS: u64 = 2000;
/// Workers trying steps concurrently while the broker is down (each call waits the timeout).
const DOWN_WORKERS: usize = 20;
/// How long the workers keep trying while the broker is stopped.
const DOWN_FOR: Duration = Duration::from_secs(8);

// ------------------------------------------------------------------------- the cluster of our own

/// A single-node cluster run by `dev/kafka/kafka.sh`; stopped and its state removed on drop,
/// also when the test panics.
struct OwnCluster {
    script: PathBuf,
    state: PathBuf,
    port: u16,
    controller_port: u16,
}

/// Two distinct free ports on 127.0.0.1 (both listeners are held until both are known). The
/// broker binds them later, so another process may take one first: [`OwnCluster::started`]
/// tries again with new ports when the broker cannot start.
fn free_ports() -> (u16, u16) {
    let a = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let b = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let ports = (
        a.local_addr().expect("address").port(),
        b.local_addr().expect("address").port(),
    );
    drop((a, b));
    ports
}

/// Runs `kafka.sh` with `args`; panics with its output when it fails. How long it took.
fn kafka_sh(script: &Path, args: &[String]) -> Duration {
    try_kafka_sh(script, args).unwrap_or_else(|failure| panic!("{failure}"))
}

/// Runs `kafka.sh` with `args`: how long it took, or what it said when it failed.
fn try_kafka_sh(script: &Path, args: &[String]) -> Result<Duration, String> {
    let started = Instant::now();
    let output = Command::new(script)
        .args(args)
        .output()
        .expect("running dev/kafka/kafka.sh");
    if output.status.success() {
        Ok(started.elapsed())
    } else {
        Err(format!(
            "kafka.sh {args:?} failed ({}):\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

impl OwnCluster {
    /// A broker of its own, started on free ports (new ports and a new state folder when the
    /// ones picked were taken before the broker bound them). How long the start took.
    async fn started() -> (Self, Duration) {
        let mut failures = Vec::new();
        for _ in 0..3 {
            let cluster = Self::new();
            let args = cluster.start_args();
            let script = cluster.script.clone();
            let attempt = tokio::task::spawn_blocking(move || try_kafka_sh(&script, &args))
                .await
                .expect("kafka.sh task");
            match attempt {
                Ok(took) => return (cluster, took),
                Err(failure) => failures.push(failure),
            }
        }
        panic!(
            "the broker did not start on three pairs of ports:\n{}",
            failures.join("\n")
        );
    }

    fn new() -> Self {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let script = root.join("dev/kafka/kafka.sh");
        let (port, controller_port) = free_ports();
        let state = std::env::temp_dir().join(format!("ebp-faults-{}", Uuid::new_v4().simple()));
        kafka_sh(&script, &["fetch".to_owned()]);
        Self {
            script,
            state,
            port,
            controller_port,
        }
    }

    fn bootstrap_servers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Starts the broker (formats the state dir the first time) and waits until it accepts
    /// SCRAM logins. How long that took.
    async fn start(&self) -> Duration {
        self.run(self.start_args()).await
    }

    fn start_args(&self) -> Vec<String> {
        vec![
            "start".to_owned(),
            ENV.to_owned(),
            self.port.to_string(),
            self.controller_port.to_string(),
            self.state.display().to_string(),
        ]
    }

    async fn stop(&self) -> Duration {
        self.run(vec!["stop".to_owned(), self.state.display().to_string()])
            .await
    }

    /// Off the runtime's only thread: the portal and its HTTP server run on it too.
    async fn run(&self, args: Vec<String>) -> Duration {
        let script = self.script.clone();
        tokio::task::spawn_blocking(move || kafka_sh(&script, &args))
            .await
            .expect("kafka.sh task")
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        if self.state.exists() {
            let stopped = Command::new(&self.script)
                .arg("stop")
                .arg(&self.state)
                .output();
            if !stopped.is_ok_and(|o| o.status.success()) {
                eprintln!(
                    "faults: could not stop the broker of {}; stop it with dev/kafka/kafka.sh stop",
                    self.state.display()
                );
                return; // keep the state dir: its pid file is what `kafka.sh stop` needs
            }
            let _ = std::fs::remove_dir_all(&self.state);
        }
    }
}

// ------------------------------------------------------------------------------------ the portal

/// The portal served on a free port, with the settings of this test.
struct Portal {
    address: String,
    client: reqwest::Client,
    store: PostgresStore,
}

impl Portal {
    async fn spawn(pool: PgPool, mut settings: Settings) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port");
        let port = listener.local_addr().expect("local address").port();
        settings.server.port = port;
        settings.server.public_url = format!("http://127.0.0.1:{port}").parse().expect("url");
        let application = server::startup::build(settings, pool)
            .await
            .expect("application builds");
        tokio::spawn(async move {
            server::startup::serve(listener, application.router)
                .await
                .expect("server runs");
        });
        Self {
            address: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            store: application.session_store,
        }
    }

    /// A session written straight into the session store (sign-in is tested elsewhere).
    async fn session_for(&self, user: &UserIdentity) -> String {
        server::auth::write_signed_in_session(&self.store, user, time::Duration::hours(1))
            .await
            .expect("store session")
    }

    /// Calls a server function as a browser form does; the answer must be 200. Its JSON.
    async fn call(
        &self,
        endpoint: &str,
        cookie: &str,
        fields: &[(&str, &str)],
    ) -> serde_json::Value {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in fields {
            form.append_pair(name, value);
        }
        let response = self
            .client
            .post(format!("{}/api/{endpoint}", self.address))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", cookie)
            .body(form.finish())
            .send()
            .await
            .expect("request");
        let status = response.status();
        let body = response.text().await.expect("body");
        assert_eq!(status.as_u16(), 200, "{endpoint} answered {status}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{endpoint}: no JSON ({e}): {body}"))
    }
}

fn user(subject: &str, roles: &[Role], teams: &[&str]) -> UserIdentity {
    UserIdentity {
        subject: subject.to_owned(),
        display_name: format!("{subject} tester"),
        roles: roles.to_vec(),
        teams: teams
            .iter()
            .map(|t| TeamSlug::parse(*t).expect("team"))
            .collect(),
    }
}

// ------------------------------------------------------------------------------------- the world

/// An owning team with one topic, and a requesting team with `REQUESTS` applications.
struct World {
    owners: String,
    requesters: String,
    topic: String,
    /// (id, name) of each application.
    apps: Vec<(Uuid, String)>,
}

async fn world(pool: &PgPool) -> World {
    let tag = &Uuid::new_v4().simple().to_string()[..10];
    let w = World {
        owners: format!("own-{tag}"),
        requesters: format!("req-{tag}"),
        topic: format!("orders_faults_{tag}"),
        apps: (1..=REQUESTS)
            .map(|i| (Uuid::new_v4(), format!("Ledger {i:03}")))
            .collect(),
    };
    let apps: Vec<String> = w
        .apps
        .iter()
        .enumerate()
        .map(|(i, (id, name))| {
            format!(
                "('{id}', '{r}', '{name}', 'SR-{i}', 'SP-{i}', 'low', 'granted', '2026-01-15',
                  'completed', false, 'cloud_account', 'dev@example.test', 'owner@example.test')",
                r = w.requesters
            )
        })
        .collect();
    sqlx::raw_sql(&format!(
        "insert into team (slug, display_name) values ('{o}', 'Owners'), ('{r}', 'Requesters');
         insert into application (id, team_slug, name, system_registration_id, security_package_id,
                fisma_rating, ato_status, ato_date, privacy_assessment, contains_pii,
                hosting_location, technical_contact, product_contact) values {apps};
         insert into topic (id, name, title, description, business_domain, lifecycle, owning_team,
                data_classification, contains_pii, partitions, retention_ms, cleanup_policy) values
            (gen_random_uuid(), '{t}', 'Order applied', 'An order reached the ledger.', 'orders',
                'production', '{o}', 'low', false, 2, 604800000, 'delete');
         insert into topic_environment (topic_id, environment) select id, '{ENV}' from topic;",
        o = w.owners,
        r = w.requesters,
        t = w.topic,
        apps = apps.join(",\n"),
    ))
    .execute(pool)
    .await
    .expect("world");
    w
}

// ----------------------------------------------------------------------------------- the workers

#[derive(Debug, Default)]
struct Tally {
    applied: usize,
    not_applied: usize,
    idle: usize,
    errors: Vec<String>,
    /// When this worker applied its first step.
    first_applied: Option<Instant>,
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Runs one worker until every request is active or the deadline passes.
async fn drive(worker: ApplyWorker, pool: PgPool, deadline: Instant) -> Tally {
    let mut tally = Tally::default();
    while Instant::now() < deadline {
        match worker.try_once().await {
            Ok(Outcome::Applied) => {
                tally.applied += 1;
                tally.first_applied.get_or_insert_with(Instant::now);
            }
            Ok(Outcome::NotApplied) => tally.not_applied += 1,
            Ok(Outcome::Idle) => {
                tally.idle += 1;
                let active = count(
                    &pool,
                    "select count(*) from access_request where state = 'active'",
                )
                .await;
                if active == REQUESTS as i64 {
                    break;
                }
                // Steps backing off after the outage: poll like the real worker, a bit faster.
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => {
                tally.errors.push(format!("{error:#}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    tally
}

/// Retries `check` for up to 20 s (ACLs and credentials reach the broker a moment after the
/// controller commits them).
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("{what}: not within 20 s");
}

fn producer_binding(principal: &str, topic: &str, operation: AclOperation) -> AclBinding {
    AclBinding {
        resource_type: ResourceType::Topic,
        resource_name: topic.to_owned(),
        pattern: PatternType::Literal,
        principal: format!("User:{principal}"),
        host: "*".to_owned(),
        operation,
        permission: AclPermission::Allow,
    }
}

async fn produce(env: &KafkaEnvironmentSettings, user: &str, password: &str, topic: &str) -> bool {
    let mut config = client_config_as(env, user, password);
    config
        .set("message.timeout.ms", "4000")
        .set("enable.idempotence", "true");
    let producer: FutureProducer = config.create().expect("producer");
    producer
        .send(
            FutureRecord::to(topic).key("k").payload("after the outage"),
            Duration::from_secs(5),
        )
        .await
        .is_ok()
}

// -------------------------------------------------------------------------------------- the test

#[sqlx::test(migrations = "../migrations")]
async fn broker_stopped_100_requests_approved_broker_started_all_applied_none_twice(
    _limited: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    // A pool of its own instead of the test's (at most 5 connections, under a 20-connection
    // parent): 20 workers hold one each while their Kafka call times out, and the portal serves
    // requests alongside.
    let pool = PgPoolOptions::new()
        .max_connections(30)
        .connect_with(connect_options)
        .await
        .expect("test pool");

    // 1. A cluster of our own, with the world's topic on it.
    let (cluster, first_start) = OwnCluster::started().await;
    let mut settings = Settings::load().expect("configuration for the local stack");
    settings.apply.operation_timeout_ms = OPERATION_TIMEOUT_MS;
    let mut faults = settings.kafka.environments["sandbox"].clone();
    faults.bootstrap_servers = cluster.bootstrap_servers();
    faults.display_name = "Faults".to_owned();
    faults.order = 99;
    settings
        .kafka
        .environments
        .insert(environment(), faults.clone());
    let admin = KafkaAdmin::new(&client_config(&faults), Duration::from_secs(10)).expect("admin");
    let w = world(&pool).await;
    admin
        .create_topic(&TopicSpec {
            name: w.topic.clone(),
            partitions: 2,
            replication_factor: 1,
            configs: vec![],
        })
        .await
        .expect("topic on the faults cluster");

    // The worker exists before the outage, as in a running portal: its admin clients were
    // connected to the broker that goes away.
    let clusters = Clusters::from_settings(&settings).expect("clusters");
    let worker = ApplyWorker::new(
        pool.clone(),
        clusters.clone(),
        app::credentials::CredentialVault::from_base64(&settings.kafka.credential_key)
            .expect("credential key"),
        settings.apply.clone(),
    );
    clusters
        .get(&environment())
        .expect("faults admin")
        .broker_count()
        .await
        .expect("the faults cluster answers before the outage");
    let portal = Portal::spawn(pool.clone(), settings.clone()).await;

    // 2. The broker goes away.
    let stop_time = cluster.stop().await;

    // 3. 100 requests, each of its own application, submitted and approved (owning team, then
    //    governance) through the server functions.
    let rita = portal
        .session_for(&user("rita", &[Role::Member], &[&w.requesters]))
        .await;
    let otto = portal
        .session_for(&user(
            "otto",
            &[Role::Member, Role::TeamApprover],
            &[&w.owners],
        ))
        .await;
    let gwen = portal
        .session_for(&user("gov-1", &[Role::Approver], &[]))
        .await;
    let approvals_started = Instant::now();
    let ids: Vec<Uuid> = stream::iter(w.apps.iter())
        .map(|(app, _)| {
            let (portal, rita, otto, gwen, topic) = (&portal, &rita, &otto, &gwen, &w.topic);
            async move {
                let app = app.to_string();
                let submitted = portal
                    .call(
                        "requests/access",
                        rita,
                        &[
                            ("input[kind]", "producer_access"),
                            ("input[topic]", topic),
                            ("input[application]", &app),
                            ("input[environments][]", ENV),
                            ("input[consumer_group]", ""),
                            ("input[group_is_prefix]", ""),
                            (
                                "input[purpose]",
                                "Record every applied order in the ledger.",
                            ),
                            ("input[expiry]", ""),
                        ],
                    )
                    .await;
                let id: Uuid = serde_json::from_value(submitted).expect("request id");
                let id_text = id.to_string();
                for (cookie, version, after) in [(otto, "1", "submitted"), (gwen, "2", "applying")]
                {
                    let state = portal
                        .call(
                            "requests/decide",
                            cookie,
                            &[
                                ("id", &id_text),
                                ("version", version),
                                ("decision", "approve"),
                                ("reason", ""),
                            ],
                        )
                        .await;
                    assert_eq!(state, after, "request {id} after an approval");
                }
                id
            }
        })
        .buffer_unordered(10)
        .collect()
        .await;
    let approvals_took = approvals_started.elapsed();
    assert_eq!(ids.len(), REQUESTS);
    assert_eq!(
        count(
            &pool,
            "select count(*) from access_request where state = 'applying'"
        )
        .await,
        REQUESTS as i64
    );

    // With the broker down, workers try for a while. The first refusal holds every open step of
    // the environment (one problem, not one per step), so workers do not spend their time on a
    // cluster that is away: few tries, and every step waits for the cluster.
    let down_started = Instant::now();
    let down_deadline = down_started + DOWN_FOR;
    let tries = (0..DOWN_WORKERS).map(|_| {
        let worker = worker.clone();
        async move {
            let mut tally = Tally::default();
            while Instant::now() < down_deadline {
                match worker.try_once().await {
                    Ok(Outcome::Applied) => tally.applied += 1,
                    Ok(Outcome::NotApplied) => tally.not_applied += 1,
                    Ok(Outcome::Idle) => {
                        tally.idle += 1;
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    Err(error) => tally.errors.push(format!("{error:#}")),
                }
            }
            tally
        }
    });
    let down: Vec<Tally> = futures::future::join_all(tries).await;
    let down_took = down_started.elapsed();
    let down_errors: Vec<&String> = down.iter().flat_map(|t| &t.errors).collect();
    assert!(
        down_errors.is_empty(),
        "worker errors while down: {down_errors:?}"
    );
    assert_eq!(
        down.iter().map(|t| t.applied).sum::<usize>(),
        0,
        "nothing can be applied to a stopped broker"
    );
    let down_tries: usize = down.iter().map(|t| t.not_applied).sum();
    assert!(down_tries >= 1, "the workers tried the cluster");
    assert!(
        down_tries < 3 * DOWN_WORKERS,
        "{down_tries} tries in {down_took:?}: the environment should be held after a refusal"
    );

    let steps: Vec<(String, String, i32, Option<String>)> = sqlx::query_as(
        "select kind::text, status::text, attempts, last_error from apply_step order by kind, request_id",
    )
    .fetch_all(&pool)
    .await
    .expect("steps");
    assert_eq!(
        steps.len(),
        2 * REQUESTS,
        "two steps per request, none lost"
    );
    for (kind, status, attempts, last_error) in &steps {
        assert_eq!(
            status, "waiting_for_cluster",
            "{kind} {attempts} {last_error:?}"
        );
        let error = last_error.as_deref().unwrap_or_default();
        assert!(
            error.contains("did not answer"),
            "a step's error while the broker is down: {error:?}"
        );
    }
    assert_eq!(
        count(
            &pool,
            "select count(*) from access_request where state = 'applying'"
        )
        .await,
        REQUESTS as i64,
        "requests stay applying while the cluster is away"
    );
    assert_eq!(
        count(
            &pool,
            "select count(*) from audit_log where action in ('request.applied', 'request.failed')"
        )
        .await,
        0
    );

    // 4. The broker comes back (same state dir); two workers share the backlog.
    let restart = cluster.start().await;
    let back = Instant::now();
    let deadline = back + Duration::from_secs(120);
    let (a, b) = tokio::join!(
        drive(worker.clone(), pool.clone(), deadline),
        drive(worker.clone(), pool.clone(), deadline)
    );
    let to_all_applied = back.elapsed();
    let to_first_applied = [a.first_applied, b.first_applied]
        .into_iter()
        .flatten()
        .min()
        .map(|first| first - back);
    let mut last_errors: BTreeMap<String, i64> = BTreeMap::new();
    for (error, n) in sqlx::query_as::<_, (String, i64)>(
        "select coalesce(last_error, '(none)'), count(*) from apply_step group by 1",
    )
    .fetch_all(&pool)
    .await
    .expect("errors")
    {
        last_errors.insert(error, n);
    }
    let attempts: Vec<(i32, i64)> = sqlx::query_as(
        "select attempts, count(*) from apply_step group by attempts order by attempts",
    )
    .fetch_all(&pool)
    .await
    .expect("attempts");
    eprintln!(
        "faults: first start {first_start:.1?}, stop {stop_time:.1?}, {REQUESTS} submissions + \
         {} approvals over HTTP {approvals_took:.1?}, {down_tries} tries while down in \
         {down_took:.1?} ({DOWN_WORKERS} workers, {OPERATION_TIMEOUT_MS} ms timeout)",
        2 * REQUESTS
    );
    eprintln!(
        "faults: broker restart {restart:.1?}; broker back -> first step applied \
         {to_first_applied:.1?}, all {REQUESTS} applied {to_all_applied:.1?}"
    );
    eprintln!(
        "faults: after restart worker A applied {} / not applied {} / idle {}, worker B {} / {} / \
         {}; attempts per step {attempts:?}",
        a.applied, a.not_applied, a.idle, b.applied, b.not_applied, b.idle
    );

    // 5. All applied, none twice.
    let errors: Vec<&String> = a.errors.iter().chain(&b.errors).collect();
    assert!(
        errors.is_empty(),
        "worker errors after the restart: {errors:?}"
    );
    let states: Vec<(String, i64)> =
        sqlx::query_as("select state::text, count(*) from access_request group by 1 order by 1")
            .fetch_all(&pool)
            .await
            .expect("states");
    assert_eq!(
        states,
        vec![("active".to_owned(), REQUESTS as i64)],
        "within {to_all_applied:?}; step errors {last_errors:?}"
    );
    let statuses: Vec<(String, String, bool, i64)> = sqlx::query_as(
        "select kind::text, status::text, done_at is not null, count(*) from apply_step
          group by 1, 2, 3 order by 1, 2, 3",
    )
    .fetch_all(&pool)
    .await
    .expect("statuses");
    let done = |kind: &str| (kind.to_owned(), "done".to_owned(), true, REQUESTS as i64);
    assert_eq!(
        statuses,
        vec![done("create_acls"), done("create_credentials")],
        "every step done, none left in another status"
    );
    assert_eq!(
        a.applied + b.applied,
        2 * REQUESTS,
        "every step applied exactly once (A {a:?}, B {b:?})"
    );
    let applied: Vec<(String, i64)> = sqlx::query_as(
        "select entity_id, count(*) from audit_log where action = 'request.applied'
          group by entity_id order by entity_id",
    )
    .fetch_all(&pool)
    .await
    .expect("audit");
    let mut expected: Vec<(String, i64)> = ids.iter().map(|id| (id.to_string(), 1)).collect();
    expected.sort();
    assert_eq!(applied, expected, "one request.applied per request");
    assert_eq!(
        count(
            &pool,
            "select count(*) from audit_log where action = 'request.failed'"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &pool,
            "select count(*) from notification where message like '%is active: Kafka now enforces it.'"
        )
        .await,
        REQUESTS as i64,
        "the requester hears once per request"
    );

    // The principals, their credentials (set once, waiting to be shown) and exactly their ACLs.
    let principals: Vec<(Uuid, String)> = sqlx::query_as(
        "select application_id, principal from kafka_principal
          where environment = $1 and credential_set_at is not null order by principal",
    )
    .bind(ENV)
    .fetch_all(&pool)
    .await
    .expect("principals");
    assert_eq!(principals.len(), REQUESTS);
    for (app, name) in &w.apps {
        let wanted = principal_name(&w.requesters, name, &environment());
        assert!(
            principals.contains(&(*app, wanted.clone())),
            "principal {wanted} of {app}"
        );
    }
    assert_eq!(
        count(&pool, "select count(*) from credential_reveal").await,
        REQUESTS as i64
    );
    let names: Vec<&str> = principals.iter().map(|(_, p)| p.as_str()).collect();
    let mut scram = admin.scram_users(&names).await.expect("scram users");
    scram.sort();
    let mut sorted_names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    sorted_names.sort();
    assert_eq!(
        scram, sorted_names,
        "every principal has a SCRAM credential"
    );

    let wanted: BTreeSet<AclBinding> = names
        .iter()
        .flat_map(|p| {
            [AclOperation::Write, AclOperation::Describe]
                .map(|op| producer_binding(p, &w.topic, op))
        })
        .collect();
    assert_eq!(wanted.len(), 2 * REQUESTS);
    eventually("the cluster holds exactly the granted ACLs", || {
        let (admin, wanted) = (&admin, &wanted);
        async move {
            admin
                .describe_acls(&AclFilter::default())
                .await
                .is_ok_and(|acls| acls.into_iter().collect::<BTreeSet<_>>() == *wanted)
        }
    })
    .await;
    let all = admin
        .describe_acls(&AclFilter::default())
        .await
        .expect("describe");
    assert_eq!(all.len(), 2 * REQUESTS, "no binding twice, none extra");
    for principal in names.iter().take(5) {
        let mine = admin
            .describe_acls(&AclFilter {
                principal: Some(format!("User:{principal}")),
                ..AclFilter::default()
            })
            .await
            .expect("describe one principal");
        assert_eq!(mine.len(), 2, "{principal}: {mine:?}");
    }

    // A real producer with one application's credentials, shown once to its team.
    let (first_app, _) = &w.apps[0];
    let shown = portal
        .call(
            "apply/reveal-credential",
            &rita,
            &[
                ("application", &first_app.to_string()),
                ("environment", ENV),
            ],
        )
        .await;
    let principal = shown["principal"].as_str().expect("principal").to_owned();
    let password = shown["password"].as_str().expect("password").to_owned();
    assert_eq!(
        principal,
        principal_name(&w.requesters, &w.apps[0].1, &environment())
    );
    eventually("the application's producer writes to the topic", || {
        produce(&faults, &principal, &password, &w.topic)
    })
    .await;

    drop(portal);
    pool.close().await;
    let final_stop = cluster.stop().await;
    eprintln!("faults: final stop {final_stop:.1?}");
    drop(cluster);
}

//! Registry flood benchmark: does a flood of wrong passwords at the Schema Registry slow down
//! what the portal exists for? Measured in one run, on the local sandbox cluster, with the
//! portal served in-process (its real sign-in limits, apply workers and health collector):
//!
//!   1. quiet: BENCH_APPROVALS approvals, each from the final `decide` until the request is
//!      active (credential and ACLs applied on the cluster by two `ApplyWorker`s woken by
//!      LISTEN/NOTIFY), one at a time; then BENCH_CYCLES health collection cycles;
//!   2. flood: the same, while BENCH_FLOOD_CLIENTS clients send `GET /subjects` with wrong
//!      passwords for BENCH_SECONDS, each request naming one of BENCH_PRINCIPALS existing
//!      principals (each with a current credential, so a naive registry would ask the cluster
//!      every time) and, through a trusted proxy's `X-Forwarded-For`, a different client
//!      address every time: the worst case, where per-address limits cannot help and only the
//!      per-principal backoff, lockouts and the global handshake limit stand between the flood
//!      and the brokers.
//!
//! Prints apply latency and cycle time of both phases side by side, their ratio (target: the
//! flood within 10% of quiet), and what the flood got (answers by status, handshakes made).
//! It prints numbers; it is not a test, and exits 0 when the target is missed.
//!
//! Run it with `dev/bench-registry-flood`. Knobs (environment):
//!   BENCH_APPROVALS      approvals per phase (default 30)
//!   BENCH_CYCLES         health cycles per phase (default 40)
//!   BENCH_SECONDS        length of the flood (default 30)
//!   BENCH_FLOOD_CLIENTS  concurrent flooding clients, each giving up on an answer after 1 s
//!                        and sending the next (default 256)
//!   BENCH_PRINCIPALS     principals the flood names (default 50)
//!   BENCH_KEEP_DB=1      keep the `event_bus_portal_flood_bench` database afterwards

use anyhow::{Context, bail};
use app::context::PortalContext;
use app::domain::{Role, UserIdentity};
use server::apply::{ApplyWorker, Clusters, supervise_workers};
use server::config::Settings;
use server::health::Collector;
use server::kafka::admin::{AclFilter, KafkaAdmin, TopicSpec};
use server::kafka::client_config;
use server::startup;
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgPool};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;
use uuid::Uuid;

use benches::*;

const BENCH_DB: &str = "event_bus_portal_flood_bench";
const ENV: &str = "sandbox";
const TOPIC: &str = "flood_bench_orders";
const OWNERS: &str = "flood-bench-owners";
const REQUESTERS: &str = "flood-bench-apps";
const FLOODED: &str = "flood-bench-flooded";

/// Teams, the applications that ask for access (two per approval: one per phase), the
/// applications whose principals the flood names, and the topic.
async fn seed(pool: &PgPool, approvals: usize, flooded: usize) -> anyhow::Result<()> {
    let sql = format!(
        "insert into team (slug, display_name) values
            ('{OWNERS}', 'Flood bench owners'), ('{REQUESTERS}', 'Flood bench applications'),
            ('{FLOODED}', 'Flood bench flooded');
         insert into app_user (subject, display_name, groups) values
            ('flood-requester', 'Requester', '{{team-{REQUESTERS}}}'),
            ('flood-owner', 'Owner', '{{team-{OWNERS},team-approvers}}'),
            ('flood-governance', 'Governance', '{{governance}}');
         {requesting}
         {flooded}
         insert into topic (id, name, title, description, business_domain, lifecycle, owning_team,
                data_classification, contains_pii, partitions, retention_ms, cleanup_policy)
         values (gen_random_uuid(), '{TOPIC}', 'Orders (flood bench)', 'Events of the flood bench.',
                'bench', 'production', '{OWNERS}', 'low', false, 1, 3600000, 'delete');
         insert into topic_environment (topic_id, environment) select id, '{ENV}' from topic;
         -- The flooded principals have a current credential: a wrong password for them is worth
         -- a handshake to a registry without limits.
         insert into kafka_principal (application_id, environment, principal, credential_set_at)
         select id, '{ENV}', 'flood-bench-flooded.' || name || '.sandbox', now() - interval '1 hour'
           from application where team_slug = '{FLOODED}';",
        requesting = applications_sql(REQUESTERS, 2 * approvals),
        flooded = applications_sql(FLOODED, flooded),
    );
    sqlx::raw_sql(&sql).execute(pool).await.context("seeding")?;
    Ok(())
}

struct Bench {
    portal: PortalContext,
    pool: PgPool,
    requester: UserIdentity,
    owner: UserIdentity,
    governance: UserIdentity,
    apps: Vec<Uuid>,
}

/// Approval to active, for one application: submitted and approved by the owning team first
/// (not timed), then the final approval and the wait for the workers.
async fn apply_once(bench: &Bench, application: Uuid) -> anyhow::Result<Duration> {
    let id = owner_approved_producer_request(
        &bench.portal,
        &bench.requester,
        &bench.owner,
        application.into(),
        TOPIC,
        ENV,
    )
    .await?;
    let (started, _) = final_approval(&bench.portal, &bench.governance, id).await?;
    let deadline = started + Duration::from_secs(60);
    loop {
        let state: String =
            sqlx::query_scalar("select state::text from access_request where id = $1")
                .bind(id)
                .fetch_one(&bench.pool)
                .await?;
        match state.as_str() {
            "active" => return Ok(started.elapsed()),
            "failed" => bail!("request {id} failed to apply"),
            _ if Instant::now() > deadline => bail!("request {id} not active within 60 s"),
            _ => tokio::time::sleep(Duration::from_millis(2)).await,
        }
    }
}

/// One phase: approvals one at a time, then collection cycles.
async fn measure(
    bench: &Bench,
    apps: &[Uuid],
    collector: &mut Collector,
    cycles: usize,
) -> anyhow::Result<(Vec<Duration>, Vec<Duration>)> {
    let mut applied = Vec::new();
    for app in apps {
        applied.push(apply_once(bench, *app).await?);
    }
    let mut collected = Vec::new();
    for _ in 0..cycles {
        collected.push(collector.try_once().await?.elapsed);
    }
    applied.sort();
    collected.sort();
    Ok((applied, collected))
}

#[derive(Default)]
struct FloodCounts {
    sent: AtomicUsize,
    by_status: std::sync::Mutex<BTreeMap<u16, usize>>,
}

/// Wrong passwords until `stop`, each naming a random flooded principal, from a new address.
async fn flood_client(
    client: reqwest::Client,
    url: String,
    principals: Arc<Vec<String>>,
    counts: Arc<FloodCounts>,
    stop: Arc<AtomicBool>,
    seed: u64,
) {
    let mut n = seed;
    while !stop.load(Ordering::Relaxed) {
        n = n
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let principal = &principals[(n >> 33) as usize % principals.len()];
        let address = format!(
            "198.{}.{}.{}",
            (n >> 8) as u8 % 100 + 18,
            (n >> 16) as u8,
            (n >> 24) as u8
        );
        let answer = client
            .get(&url)
            .basic_auth(principal, Some(format!("guess-{n}")))
            .header("x-forwarded-for", address)
            .send()
            .await;
        counts.sent.fetch_add(1, Ordering::Relaxed);
        let status = match answer {
            Ok(answer) => {
                let status = answer.status().as_u16();
                let _ = answer.bytes().await;
                status
            }
            // Gave up waiting (0 in the table).
            Err(_) => 0,
        };
        *counts
            .by_status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(status)
            .or_default() += 1;
    }
}

fn median(sorted: &[Duration]) -> f64 {
    percentile(sorted, 50.0)
}

/// `registry_signins_total` by outcome, between two scrapes of `/metrics`.
fn signin_outcomes(before: &str, after: &str) -> String {
    let read = |text: &str| -> BTreeMap<String, f64> {
        text.lines()
            .filter_map(|line| line.strip_prefix("registry_signins_total{outcome=\""))
            .filter_map(|rest| rest.split_once("\"} "))
            .filter_map(|(outcome, value)| Some((outcome.to_owned(), value.trim().parse().ok()?)))
            .collect()
    };
    let (before, after) = (read(before), read(after));
    after
        .iter()
        .map(|(outcome, n)| {
            format!(
                "{outcome}: {:.0}",
                n - before.get(outcome).copied().unwrap_or(0.0)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

async fn clean_cluster(admin: &KafkaAdmin, principals: &[String]) -> anyhow::Result<()> {
    for principal in principals {
        admin
            .delete_acls(&[AclFilter {
                principal: Some(format!("User:{principal}")),
                ..AclFilter::default()
            }])
            .await
            .context("removing bench ACLs")?;
        admin
            .delete_scram_credential(principal)
            .await
            .context("removing bench credentials")?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let approvals = env_number::<usize>("BENCH_APPROVALS", 30)?;
    let cycles = env_number::<usize>("BENCH_CYCLES", 40)?;
    let seconds = env_number::<usize>("BENCH_SECONDS", 30)?;
    let clients = env_number::<usize>("BENCH_FLOOD_CLIENTS", 256)?;
    let flooded = env_number::<usize>("BENCH_PRINCIPALS", 50)?.max(1);
    if std::env::var("RUST_LOG").is_ok() {
        server::telemetry::init(&server::config::LogSettings {
            format: server::config::LogFormat::Pretty,
            filter: "warn".into(),
        });
    }

    let mut settings = Settings::load()?;
    let admin_url = settings.database.url.clone();
    let bench_url = with_database(secrecy::ExposeSecret::expose_secret(&admin_url), BENCH_DB)?;
    let mut admin_db = PgConnection::connect(secrecy::ExposeSecret::expose_secret(&admin_url))
        .await
        .with_context(|| {
            format!(
                "connecting to {}",
                redact(secrecy::ExposeSecret::expose_secret(&admin_url))
            )
        })?;
    recreate_database(&mut admin_db, BENCH_DB).await?;
    settings.database.url = secrecy::SecretString::from(bench_url.clone());
    // The flood comes through a proxy on this machine that names a new client every time.
    settings.server.trusted_proxies = vec!["127.0.0.1".into()];
    settings.health.enabled = false;
    let pool = PgPoolOptions::new()
        .max_connections(settings.database.max_connections)
        .connect(&bench_url)
        .await
        .context("connecting to the bench database")?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    settings.server.port = port;
    settings.server.public_url = format!("http://127.0.0.1:{port}").parse()?;
    let application = startup::build(settings.clone(), pool.clone()).await?;
    tokio::spawn(async move {
        if let Err(e) = startup::serve(listener, application.router).await {
            eprintln!("the portal stopped: {e}");
        }
    });

    seed(&pool, approvals, flooded).await?;
    let env = settings.kafka.environments[ENV].clone();
    let admin = KafkaAdmin::new(&client_config(&env), Duration::from_secs(10))?;
    let principals: Vec<String> = sqlx::query_scalar(
        "select 'flood-bench-apps.' || name || '.sandbox' from application where team_slug = $1",
    )
    .bind(REQUESTERS)
    .fetch_all(&pool)
    .await?;
    clean_cluster(&admin, &principals).await?;
    let _ = admin
        .create_topic(&TopicSpec {
            name: TOPIC.into(),
            partitions: 1,
            replication_factor: 1,
            configs: vec![],
        })
        .await;

    let portal = startup::portal_context(&settings, &pool)?;
    let clusters = Clusters::from_settings(&settings)?;
    let worker = ApplyWorker::new(
        pool.clone(),
        clusters,
        portal.vault.clone(),
        settings.apply.clone(),
    );
    let mut workers = server::background::Supervisor::default();
    supervise_workers(&mut workers, &worker, 2)?;
    let mut collector = Collector::new(
        &app::domain::EnvironmentName::parse(ENV).expect("a valid environment name"),
        &env,
        pool.clone(),
        portal.health.clone(),
        settings.health.clone(),
        Arc::new(settings.auth.roles.clone()),
        settings.server.public_url.as_str(),
        Duration::from_secs(30),
    )?;
    collector.try_once().await?;
    let apps: Vec<Uuid> =
        sqlx::query_scalar("select id from application where team_slug = $1 order by name")
            .bind(REQUESTERS)
            .fetch_all(&pool)
            .await?;
    let bench = Bench {
        portal,
        pool: pool.clone(),
        requester: user("flood-requester", vec![Role::Member], &[REQUESTERS])?,
        owner: user(
            "flood-owner",
            vec![Role::Member, Role::TeamApprover],
            &[OWNERS],
        )?,
        governance: user("flood-governance", vec![Role::Approver], &[])?,
        apps,
    };
    let (quiet_apps, flood_apps) = bench.apps.split_at(approvals);

    println!(
        "registry flood bench: {approvals} approvals and {cycles} health cycles per phase; flood of \
         {clients} clients for {seconds} s naming {flooded} principals from a new address each time"
    );
    let took = Instant::now();
    let (quiet_apply, quiet_cycle) = measure(&bench, quiet_apps, &mut collector, cycles).await?;

    let flood_principals: Arc<Vec<String>> = Arc::new(
        sqlx::query_scalar(
            "select principal from kafka_principal where principal like 'flood-bench-flooded.%'",
        )
        .fetch_all(&pool)
        .await?,
    );
    let counts = Arc::new(FloodCounts::default());
    let stop = Arc::new(AtomicBool::new(false));
    // An attacker does not wait for answers: a second without one and the next guess goes.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .build()?;
    let scrape_client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let before = scrape(&scrape_client, &base).await?;
    let mut flood = JoinSet::new();
    for i in 0..clients {
        flood.spawn(flood_client(
            http.clone(),
            format!("http://127.0.0.1:{port}/subjects"),
            flood_principals.clone(),
            counts.clone(),
            stop.clone(),
            i as u64 * 7919 + 1,
        ));
    }
    let flood_started = Instant::now();
    // Let the flood reach its steady state before measuring.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (flood_apply, flood_cycle) = measure(&bench, flood_apps, &mut collector, cycles).await?;
    let measured_in = flood_started.elapsed();
    if let Some(rest) = Duration::from_secs(seconds as u64).checked_sub(measured_in) {
        tokio::time::sleep(rest).await;
    }
    stop.store(true, Ordering::Relaxed);
    while flood.join_next().await.is_some() {}
    let flood_for = flood_started.elapsed();
    let after = scrape(&scrape_client, &base).await?;
    let signins = signin_outcomes(&before, &after);

    workers.stop(Duration::from_secs(15)).await;
    clean_cluster(&admin, &principals).await?;
    let _ = admin.delete_topic(TOPIC).await;
    drop(pool);
    if std::env::var("BENCH_KEEP_DB").as_deref() != Ok("1") {
        sqlx::raw_sql(&format!("drop database if exists {BENCH_DB} with (force)"))
            .execute(&mut admin_db)
            .await?;
    }

    let ratio = |flood: f64, quiet: f64| flood / quiet;
    let verdict = |r: f64| if r <= 1.10 { "MET" } else { "MISSED" };
    let apply_ratio = ratio(median(&flood_apply), median(&quiet_apply));
    let cycle_ratio = ratio(median(&flood_cycle), median(&quiet_cycle));
    println!();
    println!(
        "| measure | quiet p50 | quiet p95 | flood p50 | flood p95 | flood / quiet (p50) | target <= 1.10 |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    println!(
        "| approval -> active | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {apply_ratio:.2} | {} |",
        median(&quiet_apply),
        percentile(&quiet_apply, 95.0),
        median(&flood_apply),
        percentile(&flood_apply, 95.0),
        verdict(apply_ratio)
    );
    println!(
        "| health cycle | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {cycle_ratio:.2} | {} |",
        median(&quiet_cycle),
        percentile(&quiet_cycle, 95.0),
        median(&flood_cycle),
        percentile(&flood_cycle, 95.0),
        verdict(cycle_ratio)
    );
    let sent = counts.sent.load(Ordering::Relaxed);
    let statuses = counts
        .by_status
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .map(|(status, n)| format!("{status}: {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    println!();
    println!(
        "flood: {sent} requests in {:.1} s ({:.0} req/s); answers by status (0: gave up after 1 s) {statuses}",
        flood_for.as_secs_f64(),
        sent as f64 / flood_for.as_secs_f64()
    );
    println!("sign-ins during the flood, by outcome: {signins}");
    println!(
        "took {:.0} s; {} CPUs; load average {}",
        took.elapsed().as_secs_f64(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average()
    );
    Ok(())
}

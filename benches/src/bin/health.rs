//! Benchmark of topic health (`dev/bench-health`): fills the sandbox cluster of the local stack
//! with many topics and consumer groups, then measures
//!
//! 1. the collection cycle time and the collector's CPU (process CPU time from /proc over the
//!    cycles, nothing else running in the process but an idle portal), at the 5 s interval;
//! 2. the health pages' latency under 100 concurrent clients (closed loop), while the collector
//!    keeps running, served in-process exactly as `dev/run` serves them.
//!
//! Prints the figures next to the targets (cycle <= 5 s, collector < 10% of one core, page p95
//! <= 50 ms) and exits 0 even when a target is missed; non-zero only when set-up fails.
//! Knobs: BENCH_TOPICS (10000), BENCH_PARTITIONS (1), BENCH_GROUPS (500), BENCH_CYCLES (12),
//! BENCH_CLIENTS (100), BENCH_SECONDS (20), BENCH_DELETE_TOPICS=1 (remove the topics afterwards).

use app::domain::{Role, UserIdentity};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use server::config::Settings;
use server::health::Collector;
use server::kafka::client_config;
use server::{db, startup};
use sqlx::{Connection, PgConnection};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

use benches::*;

const BENCH_DB: &str = "event_bus_portal_health_bench";
const ENV: &str = "sandbox";
const PREFIX: &str = "bench_health_";

fn topic_name(i: usize) -> String {
    format!("{PREFIX}{i:05}")
}

/// CPU time of this process (user + system), from /proc/self/stat, in seconds.
fn process_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    // Fields after the command name (which is in parentheses and may hold spaces).
    let Some(rest) = stat.rsplit(')').next() else {
        return f64::NAN;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the stat line: 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut settings = Settings::load()?;
    let topics = env_number::<usize>("BENCH_TOPICS", 10_000)?;
    let partitions = env_number::<usize>("BENCH_PARTITIONS", 1)?;
    let groups = env_number::<usize>("BENCH_GROUPS", 500)?;
    let cycles = env_number::<usize>("BENCH_CYCLES", 12)?;
    let clients = env_number::<usize>("BENCH_CLIENTS", 100)?;
    let seconds = env_number::<usize>("BENCH_SECONDS", 20)?;
    let env = settings.kafka.environments[ENV].clone();

    // 1. The cluster: topics (in batches; stops at the first batch the broker refuses), a
    //    message in some partitions, and consumer groups with committed offsets.
    let admin: AdminClient<DefaultClientContext> = client_config(&env).create()?;
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(60)));
    let started = Instant::now();
    let mut refused = None;
    for batch in (0..topics).collect::<Vec<_>>().chunks(500) {
        let names: Vec<String> = batch.iter().map(|i| topic_name(*i)).collect();
        let new: Vec<NewTopic> = names
            .iter()
            .map(|n| {
                NewTopic::new(
                    n,
                    i32::try_from(partitions).unwrap_or(1),
                    TopicReplication::Fixed(1),
                )
            })
            .collect();
        match admin.create_topics(&new, &options).await {
            Ok(results) => {
                if let Some(Err((name, code))) = results.into_iter().find(|r| {
                    matches!(r, Err((_, c)) if *c != rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists)
                }) {
                    refused = Some(format!("{name}: {code}"));
                    break;
                }
            }
            Err(e) => {
                refused = Some(e.to_string());
                break;
            }
        }
    }
    // The controller acknowledges creations before the broker's metadata shows them.
    let consumer: BaseConsumer = client_config(&env).create()?;
    let wait = Instant::now();
    let metadata = loop {
        let metadata = consumer.fetch_metadata(None, Duration::from_secs(60))?;
        let seen = metadata
            .topics()
            .iter()
            .filter(|t| {
                t.name().starts_with(PREFIX) && t.partitions().iter().all(|p| p.leader() >= 0)
            })
            .count();
        if seen >= topics || refused.is_some() || wait.elapsed() > Duration::from_secs(120) {
            break metadata;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let present: Vec<(String, usize)> = metadata
        .topics()
        .iter()
        .filter(|t| t.name().starts_with(PREFIX))
        .map(|t| (t.name().to_owned(), t.partitions().len()))
        .collect();
    let cluster_topics = metadata.topics().len();
    let cluster_partitions: usize = metadata.topics().iter().map(|t| t.partitions().len()).sum();
    println!(
        "topics       : {} bench topics present ({} partitions on the cluster in {} topics), created in {:.1} s{}",
        present.len(),
        cluster_partitions,
        cluster_topics,
        started.elapsed().as_secs_f64(),
        refused
            .map(|r| format!("; the broker refused more: {r}"))
            .unwrap_or_default()
    );

    // One message in each of the first 2000 bench topics, so offsets and lag are not all zero.
    let producer: BaseProducer = client_config(&env).create()?;
    for (name, _) in present.iter().take(2000) {
        let mut record = BaseRecord::to(name).key("k").payload("bench");
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((_, back)) => {
                    producer.poll(Duration::from_millis(10));
                    record = back;
                }
            }
        }
    }
    producer.flush(Duration::from_secs(30))?;

    // Groups: each commits offset 0 on four topics' partitions (a group that reads and is behind).
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    let present = Arc::new(present);
    let next = Arc::new(AtomicUsize::new(0));
    for _ in 0..16 {
        let (env, present, next) = (env.clone(), Arc::clone(&present), Arc::clone(&next));
        tasks.spawn_blocking(move || -> anyhow::Result<()> {
            loop {
                let g = next.fetch_add(1, Ordering::Relaxed);
                if g >= groups || present.is_empty() {
                    return Ok(());
                }
                let mut config = client_config(&env);
                config
                    .set("group.id", format!("bench_health_group_{g:04}"))
                    .set("enable.auto.commit", "false");
                let consumer: BaseConsumer = config.create()?;
                let mut list = TopicPartitionList::new();
                for k in 0..4 {
                    let (name, count) = &present[(g * 4 + k) % present.len()];
                    for p in 0..*count {
                        list.add_partition_offset(
                            name,
                            i32::try_from(p).unwrap_or(0),
                            Offset::Offset(0),
                        )?;
                    }
                }
                consumer.commit(&list, CommitMode::Sync)?;
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined??;
    }
    println!(
        "groups       : {groups} consumer groups with committed offsets, in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // 2. The portal, in-process, on a database of its own.
    let admin_url = settings.database.url.clone();
    let bench_url = {
        let mut parsed = url::Url::parse(secrecy::ExposeSecret::expose_secret(&admin_url))?;
        parsed.set_path(&format!("/{BENCH_DB}"));
        parsed.to_string()
    };
    let mut admin_db =
        PgConnection::connect(secrecy::ExposeSecret::expose_secret(&admin_url)).await?;
    sqlx::raw_sql(&format!("drop database if exists {BENCH_DB} with (force)"))
        .execute(&mut admin_db)
        .await?;
    sqlx::raw_sql(&format!("create database {BENCH_DB}"))
        .execute(&mut admin_db)
        .await?;
    settings.database.url = bench_url.into();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    settings.server.port = port;
    settings.server.public_url = format!("http://127.0.0.1:{port}").parse()?;
    let pool = db::pool(&settings.database)?;
    let application = startup::build(settings.clone(), pool.clone()).await?;
    let cache = application.health.clone();
    let store = application.session_store.clone();
    tokio::spawn(async move {
        let _ = server::startup::serve(listener, application.router).await;
    });

    // 3. Collection cycles at the configured interval; process CPU over them.
    let interval = Duration::from_millis(settings.health.interval_ms);
    let mut collector = Collector::new(
        &app::domain::EnvironmentName::parse(ENV).expect("a valid environment name"),
        &env,
        pool.clone(),
        cache.clone(),
        settings.health.clone(),
        Arc::new(settings.auth.roles.clone()),
        settings.server.public_url.as_str(),
        Duration::from_secs(30),
    )?;
    let first = collector.try_once().await?;
    println!(
        "first cycle  : {:.0} ms ({} topics, {} partitions, {} groups; loads the catalog)",
        first.elapsed.as_secs_f64() * 1e3,
        first.topics,
        first.partitions,
        first.groups
    );
    let mut times = Vec::new();
    let cpu_before = process_cpu_seconds();
    let wall = Instant::now();
    let mut last = first;
    for _ in 0..cycles {
        let tick = Instant::now();
        last = collector.try_once().await?;
        times.push(last.elapsed);
        tokio::time::sleep(interval.saturating_sub(tick.elapsed())).await;
    }
    let cpu = process_cpu_seconds() - cpu_before;
    let wall = wall.elapsed().as_secs_f64();
    times.sort();
    let cycle_p50 = percentile(&times, 50.0);
    let cycle_max = percentile(&times, 100.0);
    let cpu_percent = 100.0 * cpu / wall;

    // 4. Pages under load, with the collector running on its interval in the background.
    let mut background = server::background::Supervisor::default();
    background.spawn_task(collector);
    let viewer = UserIdentity {
        subject: "bench-viewer".into(),
        display_name: "Bench Viewer".into(),
        roles: vec![Role::Viewer],
        teams: vec![],
    };
    let cookie =
        server::auth::write_signed_in_session(&store, &viewer, time::Duration::hours(2)).await?;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()?;
    let base = format!("http://127.0.0.1:{port}");
    let sample_topic = present
        .first()
        .map(|(n, _)| n.clone())
        .unwrap_or_else(|| "none".into());
    let pages = [
        format!("/health/{ENV}/topics/{sample_topic}"),
        format!("/health/{ENV}/topics/{sample_topic}?range=1h"),
        "/health".to_owned(),
        format!("/health/{ENV}/groups/bench_health_group_0001"),
    ];
    for page in &pages {
        let response = client
            .get(format!("{base}{page}"))
            .header("cookie", &cookie)
            .send()
            .await?;
        println!("check        : GET {page} -> {}", response.status());
    }
    let mut rows = Vec::new();
    for page in &pages {
        let deadline = Instant::now() + Duration::from_secs(u64::try_from(seconds).unwrap_or(20));
        let mut tasks = JoinSet::new();
        for _ in 0..clients {
            let (client, url, cookie) = (client.clone(), format!("{base}{page}"), cookie.clone());
            tasks.spawn(async move {
                let mut times = Vec::new();
                let mut errors = 0_usize;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    match client.get(&url).header("cookie", &cookie).send().await {
                        Ok(r) if r.status().is_success() => {
                            let _ = r.bytes().await;
                            times.push(t.elapsed());
                        }
                        _ => errors += 1,
                    }
                }
                (times, errors)
            });
        }
        let mut all = Vec::new();
        let mut errors = 0;
        while let Some(joined) = tasks.join_next().await {
            let (times, e) = joined?;
            all.extend(times);
            errors += e;
        }
        all.sort();
        rows.push((
            page.clone(),
            all.len(),
            errors,
            percentile(&all, 50.0),
            percentile(&all, 95.0),
            percentile(&all, 99.0),
        ));
    }
    background.stop(Duration::from_secs(15)).await;

    println!(
        "\n== topic health benchmark (release build, {} CPUs, loopback)",
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    println!(
        "cluster      : {} topics / {} partitions (bench topics {} x {} partitions), {} consumer groups",
        last.topics,
        last.partitions,
        present.len(),
        partitions,
        last.groups
    );
    println!(
        "cycle        : p50 {cycle_p50:.0} ms, max {cycle_max:.0} ms over {cycles} cycles (target <= 5000 ms) {}",
        if cycle_max <= 5000.0 { "MET" } else { "MISSED" }
    );
    println!(
        "collector CPU: {cpu:.2} s CPU in {wall:.1} s = {cpu_percent:.1}% of one core at a {} ms interval (target < 10%) {}",
        interval.as_millis(),
        if cpu_percent < 10.0 { "MET" } else { "MISSED" }
    );
    for (page, n, errors, p50, p95, p99) in rows {
        println!(
            "page         : GET {page}: {n} requests, {errors} errors, {clients} clients, p50 {p50:.1} ms, p95 {p95:.1} ms, p99 {p99:.1} ms (target p95 <= 50 ms) {}",
            if p95 <= 50.0 { "MET" } else { "MISSED" }
        );
    }

    if std::env::var("BENCH_DELETE_TOPICS").is_ok_and(|v| v == "1") {
        let names: Vec<String> = present.iter().map(|(n, _)| n.clone()).collect();
        for chunk in names.chunks(500) {
            let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
            let _ = admin.delete_topics(&refs, &options).await;
        }
        println!("cleanup      : {} bench topics deleted", names.len());
    }
    Ok(())
}

//! Topic health against the real sandbox broker: the measured rate, lag that turns critical and
//! raises an alert (with a recovery notice when the consumer comes back), and silence. The
//! collector is driven cycle by cycle with small thresholds so each test takes seconds.

use crate::fixtures::{self, OWNERS};
use crate::helpers::{TestApp, settings, user};
use app::domain::Role;
use app::health::cache::HealthCache;
use app::health::{Status, TopicSample};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use server::config::{KafkaEnvironmentSettings, Settings};
use server::health::{Collector, HealthSettings};
use server::kafka::client_config;
use sqlx::PgPool;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const ENV: &str = "sandbox";

fn environment() -> app::domain::EnvironmentName {
    app::domain::EnvironmentName::parse(ENV).expect("a valid name")
}

fn sandbox(settings: &Settings) -> KafkaEnvironmentSettings {
    settings.kafka.environments[ENV].clone()
}

fn fast_health(settings: &Settings) -> HealthSettings {
    let mut health = settings.health.clone();
    health.interval_ms = 1000;
    health.rate_window_seconds = 8;
    health.catalog_refresh_seconds = 1;
    health.default_silence_seconds = 2;
    health.silence_critical_factor = 3.0;
    health.lag_warning_seconds = 2.0;
    health.lag_critical_seconds = 4.0;
    health.lag_growing_warning_seconds = 3;
    health.lag_growing_critical_seconds = 5;
    health
}

fn collector(
    pool: &PgPool,
    settings: &Settings,
    health: HealthSettings,
) -> (Collector, HealthCache) {
    let cache = HealthCache::new(health.history_points());
    let collector = Collector::new(
        &environment(),
        &sandbox(settings),
        pool.clone(),
        cache.clone(),
        health,
        Arc::new(settings.auth.roles.clone()),
        "http://portal.test",
        Duration::from_secs(10),
    )
    .expect("collector");
    (collector, cache)
}

async fn create_topic(env: &KafkaEnvironmentSettings, name: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> =
        client_config(env).create().expect("admin client");
    for result in admin
        .create_topics(
            &[NewTopic::new(name, partitions, TopicReplication::Fixed(1))],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .expect("create topics")
    {
        result.expect("topic created");
    }
}

async fn delete_topic(env: &KafkaEnvironmentSettings, name: &str) {
    let admin: AdminClient<DefaultClientContext> =
        client_config(env).create().expect("admin client");
    let _ = admin
        .delete_topics(
            &[name],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        )
        .await;
}

fn producer(env: &KafkaEnvironmentSettings) -> FutureProducer {
    let mut config = client_config(env);
    config
        .set("linger.ms", "5")
        .set("message.timeout.ms", "10000");
    config.create().expect("producer")
}

/// Produces `per_second` messages a second until `stop`; returns how many were acknowledged.
fn start_producing(
    env: &KafkaEnvironmentSettings,
    topic: &str,
    per_second: u64,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<u64> {
    let producer = producer(env);
    let topic = topic.to_owned();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / per_second));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut sent = 0_u64;
        let mut pending = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            ticker.tick().await;
            let key = sent.to_string();
            let delivery = producer.send_result(
                FutureRecord::to(&topic)
                    .key(&key)
                    .payload("{\"health\":true}"),
            );
            if let Ok(delivery) = delivery {
                pending.push(delivery);
            }
            sent += 1;
        }
        let mut acknowledged = 0;
        for delivery in pending {
            if matches!(delivery.await, Ok(Ok(_))) {
                acknowledged += 1;
            }
        }
        acknowledged
    })
}

fn consumer(env: &KafkaEnvironmentSettings, group: &str, topic: &str) -> StreamConsumer {
    let mut config = client_config(env);
    config
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", "200")
        .set("session.timeout.ms", "6000");
    let consumer: StreamConsumer = config.create().expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    consumer
}

/// Reads until `stop`; dropping the consumer afterwards leaves the group.
fn start_consuming(
    env: &KafkaEnvironmentSettings,
    group: &str,
    topic: &str,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<()> {
    let consumer = consumer(env, group, topic);
    tokio::spawn(async move {
        while !stop.load(Ordering::Relaxed) {
            let _ = tokio::time::timeout(Duration::from_millis(200), consumer.recv()).await;
        }
        consumer.unsubscribe();
    })
}

/// A catalog topic owned by `orders` in the sandbox, a member of `orders` the portal knows, and
/// a webhook for the team.
async fn catalog_topic(pool: &PgPool, name: &str) {
    fixtures::seed(pool).await;
    sqlx::query(
        "insert into topic (id, name, title, description, business_domain, lifecycle, owning_team,
                data_classification, contains_pii, partitions, retention_ms, cleanup_policy)
         values (gen_random_uuid(), $1, 'Health test', 'A topic the health tests watch.', 'orders',
                 'production', $2, 'low', false, 3, 604800000, 'delete')",
    )
    .bind(name)
    .bind(OWNERS)
    .execute(pool)
    .await
    .expect("catalog topic");
    sqlx::query(
        "insert into topic_environment (topic_id, environment) select id, $2 from topic where name = $1",
    )
    .bind(name)
    .bind(ENV)
    .execute(pool)
    .await
    .expect("topic environment");
    sqlx::query(
        "insert into app_user (subject, display_name, groups) values ('orders-dev', 'Orders Dev', '{team-orders}')",
    )
    .execute(pool)
    .await
    .expect("member");
    sqlx::query("update team set webhook_url = 'http://127.0.0.1:9/hook' where slug = $1")
        .bind(OWNERS)
        .execute(pool)
        .await
        .expect("webhook");
}

async fn cycle(collector: &mut Collector) {
    collector.try_once().await.expect("a collection cycle");
}

fn topic_of(cache: &HealthCache, name: &str) -> Option<TopicSample> {
    cache
        .snapshot(&environment())
        .and_then(|s| s.topics.get(name).cloned())
}

fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

async fn notifications(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "select message from notification where recipient = 'orders-dev' order by id",
    )
    .fetch_all(pool)
    .await
    .expect("notifications")
}

#[sqlx::test(migrations = "../migrations")]
async fn the_measured_rate_is_within_ten_percent_of_the_produced_rate(pool: PgPool) {
    let settings = settings();
    let env = sandbox(&settings);
    let topic = unique("health_rate");
    create_topic(&env, &topic, 3).await;
    let (mut collector, cache) = collector(&pool, &settings, fast_health(&settings));
    cycle(&mut collector).await;

    const RATE: u64 = 200;
    let stop = Arc::new(AtomicBool::new(false));
    let producing = start_producing(&env, &topic, RATE, stop.clone());
    let started = Instant::now();
    let mut measured = Vec::new();
    while started.elapsed() < Duration::from_secs(14) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        cycle(&mut collector).await;
        // Once the whole 8-second window is filled with steady production.
        if started.elapsed() > Duration::from_secs(10) {
            measured.push(topic_of(&cache, &topic).expect("topic collected").rate);
        }
    }
    stop.store(true, Ordering::Relaxed);
    let acknowledged = producing.await.expect("producer task");
    assert!(acknowledged > 0, "the producer wrote nothing");
    cycle(&mut collector).await;
    let sample = topic_of(&cache, &topic).expect("topic");
    assert_eq!(sample.partitions.len(), 3);
    assert!(sample.partitions.iter().all(|p| p.leader.is_some()));
    assert_eq!(
        sample.latest_total,
        i64::try_from(acknowledged).expect("count")
    );
    for rate in &measured {
        let error = (rate - RATE as f64).abs() / RATE as f64;
        assert!(
            error <= 0.10,
            "measured {rate:.1} msg/s for a produced {RATE} msg/s ({:.1}% off); all: {measured:?}",
            error * 100.0
        );
    }
    println!("health rate test: produced {RATE} msg/s, measured {measured:?}");
    delete_topic(&env, &topic).await;
}

#[sqlx::test(migrations = "../migrations")]
async fn a_stopped_consumer_turns_critical_raises_an_alert_and_recovers(pool: PgPool) {
    let settings = settings();
    let env = sandbox(&settings);
    let topic = unique("health_lag");
    let group = unique("health_group");
    catalog_topic(&pool, &topic).await;
    create_topic(&env, &topic, 2).await;
    let (mut collector, cache) = collector(&pool, &settings, fast_health(&settings));

    let producing_stop = Arc::new(AtomicBool::new(false));
    let producing = start_producing(&env, &topic, 50, producing_stop.clone());
    let consuming_stop = Arc::new(AtomicBool::new(false));
    let consuming = start_consuming(&env, &group, &topic, consuming_stop.clone());

    // While the consumer keeps up, the group is OK.
    let group_status = |cache: &HealthCache| {
        cache
            .snapshot(&environment())
            .and_then(|s| s.groups.get(&group).map(|g| (g.health.clone(), g.lag)))
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        cycle(&mut collector).await;
        if let Some((health, _)) = group_status(&cache)
            && health.status == Status::Ok
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the group never showed up as OK: {:?}",
            group_status(&cache)
        );
    }

    // Stop the consumer: lag grows until the group is critical and the owners are told.
    consuming_stop.store(true, Ordering::Relaxed);
    consuming.await.expect("consumer task");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut lags = Vec::new();
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        cycle(&mut collector).await;
        let (health, lag) = group_status(&cache).expect("group collected");
        lags.push(lag);
        if health.status == Status::Critical {
            assert!(
                health.reason.contains("messages behind")
                    || health.reason.contains("Lag has grown"),
                "{}",
                health.reason
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never critical: {health:?}, lags {lags:?}"
        );
    }
    assert!(
        lags.windows(2).any(|w| w[1] > w[0]),
        "lag did not grow: {lags:?}"
    );
    let mut conn = pool.acquire().await.expect("connection");
    let alerts = server::health::store::alerts_for(&mut conn, &environment(), "group", &group)
        .await
        .expect("alerts");
    assert_eq!(
        alerts.iter().filter(|a| !a.2).count(),
        1,
        "one open alert: {alerts:?}"
    );
    assert_eq!(alerts[0].0, Status::Critical);
    let told = notifications(&pool).await;
    assert!(
        told.iter()
            .any(|m| m.starts_with("Critical group") && m.contains(&group)),
        "{told:?}"
    );
    let webhooks: i64 = sqlx::query_scalar(
        "select count(*) from webhook_delivery where team_slug = $1 and payload->>'text' like '%' || $2 || '%'",
    )
    .bind(OWNERS)
    .bind(&group)
    .fetch_one(&pool)
    .await
    .expect("webhooks");
    assert!(webhooks >= 1);

    // More cycles at critical do not alert again.
    let before = notifications(&pool).await.len();
    cycle(&mut collector).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    cycle(&mut collector).await;
    assert_eq!(notifications(&pool).await.len(), before, "de-duplicated");

    // Resume: the group catches up, the alert closes and the owners get a recovery notice.
    let consuming_stop = Arc::new(AtomicBool::new(false));
    let consuming = start_consuming(&env, &group, &topic, consuming_stop.clone());
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        cycle(&mut collector).await;
        if group_status(&cache).is_some_and(|(h, _)| h.status == Status::Ok) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never recovered: {:?}",
            group_status(&cache)
        );
    }
    let alerts = server::health::store::alerts_for(&mut conn, &environment(), "group", &group)
        .await
        .expect("alerts");
    assert!(alerts.iter().all(|a| a.2), "every alert closed: {alerts:?}");
    let told = notifications(&pool).await;
    assert!(
        told.iter()
            .any(|m| m.starts_with("Recovered: group") && m.contains(&group)),
        "{told:?}"
    );

    consuming_stop.store(true, Ordering::Relaxed);
    producing_stop.store(true, Ordering::Relaxed);
    consuming.await.expect("consumer task");
    producing.await.expect("producer task");
    delete_topic(&env, &topic).await;
}

#[sqlx::test(migrations = "../migrations")]
async fn a_topic_that_goes_silent_is_flagged_and_its_owners_told(pool: PgPool) {
    let settings = settings();
    let env = sandbox(&settings);
    let topic = unique("health_silent");
    catalog_topic(&pool, &topic).await;
    create_topic(&env, &topic, 1).await;
    let (mut collector, cache) = collector(&pool, &settings, fast_health(&settings));
    cycle(&mut collector).await;
    assert_eq!(
        topic_of(&cache, &topic).expect("collected").health.status,
        Status::Ok,
        "a topic that never had a message is not silent"
    );

    let producer = producer(&env);
    for i in 0..5 {
        producer
            .send(
                FutureRecord::to(&topic).key(&i.to_string()).payload("x"),
                Duration::from_secs(5),
            )
            .await
            .expect("delivered");
    }
    cycle(&mut collector).await;
    let sample = topic_of(&cache, &topic).expect("collected");
    assert_eq!(sample.health.status, Status::Ok, "{:?}", sample.health);
    assert!(sample.last_message_at.is_some());

    // The default expected interval is 2 s here: silence beyond it is flagged.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        cycle(&mut collector).await;
        let health = topic_of(&cache, &topic).expect("collected").health;
        if health.status != Status::Ok {
            assert!(
                health.reason.starts_with("No messages for"),
                "{}",
                health.reason
            );
            break;
        }
        assert!(Instant::now() < deadline, "never flagged: {health:?}");
    }
    let mut conn = pool.acquire().await.expect("connection");
    let alerts = server::health::store::alerts_for(&mut conn, &environment(), "topic", &topic)
        .await
        .expect("alerts");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(
        notifications(&pool)
            .await
            .iter()
            .any(|m| m.contains(&topic))
    );

    // A new message is a recovery.
    producer
        .send(
            FutureRecord::to(&topic).key("again").payload("x"),
            Duration::from_secs(5),
        )
        .await
        .expect("delivered");
    cycle(&mut collector).await;
    assert_eq!(
        topic_of(&cache, &topic).expect("collected").health.status,
        Status::Ok
    );
    assert!(
        notifications(&pool)
            .await
            .iter()
            .any(|m| m.starts_with("Recovered: topic"))
    );
    delete_topic(&env, &topic).await;
}

#[sqlx::test(migrations = "../migrations")]
async fn health_pages_and_events_need_a_signed_in_viewer_and_read_only_the_cache(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    // Anonymous people are sent to sign in, for pages and the event stream alike.
    for path in ["/health", "/health/events", "/health/sandbox/topics/x"] {
        let response = app.get(path).await;
        assert_eq!(response.status().as_u16(), 303, "{path}");
    }
    assert_eq!(
        app.call("health/overview", None).await.status().as_u16(),
        401
    );
    let viewer = app
        .session_cookie_for(&user("viewer-1", &[Role::Viewer], &[]))
        .await;
    let overview = app.call("health/overview", Some(&viewer)).await;
    assert_eq!(overview.status().as_u16(), 200);
    let body: serde_json::Value = overview.json().await.expect("json");
    // Nothing collected in this server yet: the page says so rather than asking Kafka.
    assert_eq!(body[0]["error"], "Not collected yet.");
    let page = app.get_as("/health", &viewer).await;
    assert_eq!(page.status().as_u16(), 200);
    let missing = app
        .call_with(
            "health/topic",
            Some(&viewer),
            crate::helpers::Form::new()
                .field("environment", "nowhere")
                .field("topic", "x")
                .field("range", "15m"),
        )
        .await;
    assert_eq!(missing.status().as_u16(), 404);
    // Setting an expected interval is for the owning team only.
    fixtures::seed(&pool).await;
    let outsider = app
        .session_cookie_for(&user("payments-dev", &[Role::Member], &["payments"]))
        .await;
    let refused = app
        .call_with(
            "health/expected-interval",
            Some(&outsider),
            crate::helpers::Form::new()
                .field("topic", fixtures::LOW_TOPIC)
                .field("minutes", "30"),
        )
        .await;
    assert_eq!(refused.status().as_u16(), 403);
    let owner = app
        .session_cookie_for(&user("orders-dev", &[Role::Member], &[OWNERS]))
        .await;
    let invalid = app
        .call_with(
            "health/expected-interval",
            Some(&owner),
            crate::helpers::Form::new()
                .field("topic", fixtures::LOW_TOPIC)
                .field("minutes", "0"),
        )
        .await;
    assert_eq!(invalid.status().as_u16(), 422);
    let saved = app
        .call_with(
            "health/expected-interval",
            Some(&owner),
            crate::helpers::Form::new()
                .field("topic", fixtures::LOW_TOPIC)
                .field("minutes", "30"),
        )
        .await;
    assert!(
        saved.status().is_success() || saved.status().is_redirection(),
        "{}",
        saved.status()
    );
    let (seconds, audited): (Option<i32>, i64) = sqlx::query_as(
        "select (select expected_interval_seconds from topic_health_setting),
                (select count(*) from audit_log where action = 'topic.expected_interval_set')",
    )
    .fetch_one(&pool)
    .await
    .expect("setting");
    assert_eq!((seconds, audited), (Some(1800), 1));
}

#[sqlx::test(migrations = "../migrations")]
async fn rollups_feed_the_long_ranges_and_expire_after_the_retention(pool: PgPool) {
    use chrono::{DurationRound, Utc};
    use server::health::store::{self, GroupMinute, TopicMinute};
    let now = Utc::now()
        .duration_trunc(chrono::Duration::minutes(1))
        .expect("minute");
    for (ago, messages) in [(3, 600), (2, 300), (20 * 24 * 60, 999)] {
        let minute = now - chrono::Duration::minutes(ago);
        store::write_minute(
            &pool,
            &environment(),
            minute,
            &[TopicMinute {
                topic: "orders".into(),
                messages,
                max_rate: 10.0,
                under_replicated: 0,
            }],
            &[GroupMinute {
                group: "readers".into(),
                max_lag: messages,
                max_seconds_behind: 1.0,
            }],
        )
        .await
        .expect("written");
    }
    // Written twice (another server), the minute is replaced, not doubled.
    store::write_minute(
        &pool,
        &environment(),
        now - chrono::Duration::minutes(2),
        &[TopicMinute {
            topic: "orders".into(),
            messages: 300,
            max_rate: 10.0,
            under_replicated: 0,
        }],
        &[],
    )
    .await
    .expect("written again");
    let day_ago = Utc::now() - chrono::Duration::hours(24);
    let rates = app::health::store::topic_rates(&pool, &environment(), "orders", day_ago, 300)
        .await
        .expect("rates");
    assert!(rates.len() >= 288, "one bin per 5 minutes: {}", rates.len());
    let total: f64 = rates.iter().map(|(_, r)| r * 300.0).sum();
    assert!(
        (total - 900.0).abs() < 1e-6,
        "messages in the last day: {total}"
    );
    let lags = app::health::store::group_lags(&pool, &environment(), "readers", day_ago, 300)
        .await
        .expect("lags");
    assert_eq!(lags.iter().map(|(_, l)| *l).fold(0.0, f64::max), 600.0);
    let last = store::last_traffic(&pool, &environment())
        .await
        .expect("last traffic");
    assert_eq!(last["orders"], now - chrono::Duration::minutes(1));

    let deleted = store::delete_rollups_before(&pool, Utc::now() - chrono::Duration::days(14))
        .await
        .expect("cleanup");
    assert_eq!(deleted, 2, "the topic and group minutes of 20 days ago");
}

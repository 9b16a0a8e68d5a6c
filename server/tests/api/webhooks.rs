//! Team webhooks: retried, delivered once, never into the portal's own network (checked when
//! saved and again when connecting), one slow hook holding up only its own team, and names
//! people chose escaped inside Slack's markup.

use crate::fixtures::{self, REQUESTERS, requester};
use crate::helpers::{Form, TestApp};
use app::domain::net::IpNet;
use app::domain::webhook::WebhookPolicy;
use axum::Router;
use axum::extract::State;
use axum::routing::post;
use http::StatusCode;
use server::webhooks::{Outcome, WebhookSettings, WebhookWorker};
use sqlx::PgPool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A receiver that fails the first `failures` calls, then accepts, and keeps what it got.
#[derive(Clone, Default)]
struct Receiver {
    failures_left: Arc<Mutex<u32>>,
    received: Arc<Mutex<Vec<serde_json::Value>>>,
}

async fn receive(State(receiver): State<Receiver>, body: String) -> StatusCode {
    let mut failures = receiver.failures_left.lock().expect("lock");
    if *failures > 0 {
        *failures -= 1;
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let value = serde_json::from_str(&body).expect("the payload is JSON");
    receiver.received.lock().expect("lock").push(value);
    StatusCode::OK
}

async fn start_receiver(failures: u32) -> (String, Receiver) {
    let receiver = Receiver {
        failures_left: Arc::new(Mutex::new(failures)),
        ..Receiver::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("address"));
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(receiver.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.expect("receiver runs") });
    (url, receiver)
}

fn settings(max_attempts: i32) -> WebhookSettings {
    WebhookSettings {
        enabled: true,
        poll_interval_ms: 50,
        max_attempts,
        connect_timeout_ms: 1000,
        timeout_ms: 2000,
        concurrency: 8,
        allowed_hosts: vec![],
        allowed_networks: vec![],
    }
}

/// The test receivers listen on loopback, which webhooks may reach only when configuration
/// exempts it.
fn loopback_allowed() -> WebhookPolicy {
    WebhookPolicy {
        allowed_networks: vec![IpNet::parse("127.0.0.0/8").expect("block")],
        ..WebhookPolicy::default()
    }
}

fn worker(pool: &PgPool, settings: WebhookSettings) -> WebhookWorker {
    WebhookWorker::new(pool.clone(), settings, loopback_allowed()).expect("worker")
}

async fn queue_for(pool: &PgPool, team: &str, url: &str) -> i64 {
    sqlx::query(
        "insert into team (slug, display_name, webhook_url) values ($1, $1, $2)
         on conflict (slug) do nothing",
    )
    .bind(team)
    .bind(url)
    .execute(pool)
    .await
    .expect("team");
    sqlx::query_scalar(
        "insert into webhook_delivery (team_slug, url, payload)
         values ($1, $2, '{\"text\": \"A request was approved.\"}') returning id",
    )
    .bind(team)
    .bind(url)
    .fetch_one(pool)
    .await
    .expect("delivery")
}

async fn queue_one(pool: &PgPool, url: &str) -> i64 {
    queue_for(pool, "hooks", url).await
}

async fn make_due(pool: &PgPool, id: i64) {
    sqlx::query("update webhook_delivery set next_attempt_at = now() where id = $1")
        .bind(id)
        .execute(pool)
        .await
        .expect("due");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_failed_delivery_is_retried_later_and_then_delivered_once(pool: PgPool) {
    let (url, receiver) = start_receiver(1).await;
    let id = queue_one(&pool, &url).await;
    let worker = worker(&pool, settings(5));

    assert_eq!(
        worker.try_once().await.expect("step"),
        Outcome::Failed { abandoned: false }
    );
    let (attempts, error, wait): (i32, Option<String>, f64) = sqlx::query_as(
        "select attempts, last_error, extract(epoch from next_attempt_at - now())::float8 from webhook_delivery where id = $1",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .expect("row");
    assert_eq!(attempts, 1);
    assert_eq!(error.as_deref(), Some("the receiver answered HTTP 503"));
    assert!(wait > 5.0, "backs off before the next try ({wait} s)");
    assert_eq!(
        worker.try_once().await.expect("step"),
        Outcome::Idle,
        "not due yet"
    );

    make_due(&pool, id).await;
    assert_eq!(worker.try_once().await.expect("step"), Outcome::Delivered);
    assert_eq!(
        worker.try_once().await.expect("step"),
        Outcome::Idle,
        "never sent twice"
    );
    let received = receiver.received.lock().expect("lock").clone();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["text"], "A request was approved.");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_delivery_is_abandoned_after_the_last_attempt(pool: PgPool) {
    let (url, receiver) = start_receiver(10).await;
    let id = queue_one(&pool, &url).await;
    let worker = worker(&pool, settings(2));
    assert_eq!(
        worker.try_once().await.expect("step"),
        Outcome::Failed { abandoned: false }
    );
    make_due(&pool, id).await;
    assert_eq!(
        worker.try_once().await.expect("step"),
        Outcome::Failed { abandoned: true }
    );
    make_due(&pool, id).await;
    assert_eq!(worker.try_once().await.expect("step"), Outcome::Idle);
    assert!(receiver.received.lock().expect("lock").is_empty());
}

#[sqlx::test(migrations = "../migrations")]
async fn two_workers_never_send_the_same_delivery(pool: PgPool) {
    let (url, receiver) = start_receiver(0).await;
    queue_one(&pool, &url).await;
    let a = worker(&pool, settings(5));
    let b = worker(&pool, settings(5));
    let (first, second) = tokio::join!(a.try_once(), b.try_once());
    let outcomes = [first.expect("a"), second.expect("b")];
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == Outcome::Delivered)
            .count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(receiver.received.lock().expect("lock").len(), 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_webhook_into_the_portals_own_network_is_refused_when_saved(pool: PgPool) {
    fixtures::seed(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let rita = app.session_cookie_for(&requester()).await;
    let save = |hook: &'static str| {
        Form::new()
            .field("input[slug]", REQUESTERS)
            .field("input[display_name]", "Payments")
            .field("input[contact_email]", "")
            .field("input[webhook_url]", hook)
    };
    for (hook, why) in [
        ("http://127.0.0.1:8080/hook", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("https://10.1.2.3/hook", "private"),
        ("https://[::1]/hook", "loopback"),
        (
            "https://user:pass@hooks.example.gov/x",
            "user name and password",
        ),
    ] {
        let refused = app.answer("teams/update", Some(&rita), save(hook)).await;
        refused.expect_status(422);
        assert_eq!(refused.invalid_fields(), vec!["Webhook URL"], "{hook}");
        assert!(refused.body.contains(why), "{hook}: {}", refused.body);
    }
    let stored: Option<String> = sqlx::query_scalar("select webhook_url from team where slug = $1")
        .bind(REQUESTERS)
        .fetch_one(&pool)
        .await
        .expect("team");
    assert_eq!(stored, None, "nothing was written");
    app.answer(
        "teams/update",
        Some(&rita),
        save("https://hooks.example.gov/T1/B2"),
    )
    .await
    .expect_status(200);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_name_that_resolves_into_the_portals_network_is_refused_at_connect_time(pool: PgPool) {
    // Saved as a name (checked then), the name now resolves to loopback: DNS rebinding.
    let (url, receiver) = start_receiver(0).await;
    let rebound = url.replace("127.0.0.1", "localhost");
    let id = queue_one(&pool, &rebound).await;
    let worker =
        WebhookWorker::new(pool.clone(), settings(5), WebhookPolicy::default()).expect("worker");
    match worker.try_once().await.expect("step") {
        Outcome::Refused(why) => assert!(why.contains("loopback"), "{why}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(receiver.received.lock().expect("lock").is_empty());
    let (error, abandoned): (Option<String>, bool) = sqlx::query_as(
        "select last_error, abandoned_at is not null from webhook_delivery where id = $1",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .expect("row");
    assert!(abandoned, "not retried against the same address");
    assert!(
        error.as_deref().is_some_and(|e| e.starts_with("refused: ")),
        "{error:?}"
    );
}

/// A receiver that accepts connections and never answers.
async fn start_silent_receiver() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    url
}

#[sqlx::test(migrations = "../migrations")]
async fn a_hook_that_never_answers_holds_up_only_its_own_team(pool: PgPool) {
    let silent = start_silent_receiver().await;
    let (url, receiver) = start_receiver(0).await;
    queue_for(&pool, "stuck", &silent).await;
    sqlx::query("update webhook_delivery set next_attempt_at = now() - interval '1 minute'")
        .execute(&pool)
        .await
        .expect("the stuck team's delivery is the oldest");
    queue_for(&pool, "prompt", &url).await;

    let settings = WebhookSettings {
        timeout_ms: 8000,
        ..settings(5)
    };
    let started = Instant::now();
    let mut running = server::background::Supervisor::default();
    running.spawn_task(server::webhooks::WebhookTask::new(worker(&pool, settings)));
    let deadline = started + Duration::from_secs(5);
    while receiver.received.lock().expect("lock").is_empty() {
        assert!(
            Instant::now() < deadline,
            "the other team's hook was not delivered while the silent one was pending"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let waited = started.elapsed();
    let stuck_pending: bool = sqlx::query_scalar(
        "select delivered_at is null and abandoned_at is null from webhook_delivery
          where team_slug = 'stuck'",
    )
    .fetch_one(&pool)
    .await
    .expect("row");
    assert!(stuck_pending, "the silent hook is still under way");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    // The silent delivery is abandoned at shutdown (its lease runs out and it is tried again).
    let _ = running.stop(Duration::from_millis(100)).await;
}

#[sqlx::test(migrations = "../migrations")]
async fn a_dead_address_backs_off_every_delivery_waiting_for_it(pool: PgPool) {
    // A port nobody listens on: connections are refused at once.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}/hook", listener.local_addr().expect("address"))
    };
    let first = queue_for(&pool, "dead", &closed).await;
    let second = queue_for(&pool, "dead", &closed).await;
    let worker = worker(&pool, settings(5));
    assert_eq!(
        worker.try_once().await.expect("step"),
        Outcome::Failed { abandoned: false }
    );
    assert_eq!(worker.try_once().await.expect("step"), Outcome::Idle);
    let waits: Vec<f64> = sqlx::query_scalar(
        "select extract(epoch from next_attempt_at - now())::float8 from webhook_delivery
          where id = any($1) order by id",
    )
    .bind([first, second])
    .fetch_all(&pool)
    .await
    .expect("rows");
    assert!(waits.iter().all(|w| *w > 5.0), "{waits:?}");
}

#[sqlx::test(migrations = "../migrations")]
async fn names_people_chose_cannot_plant_links_in_slack_messages(pool: PgPool) {
    sqlx::query("insert into team (slug, display_name, webhook_url) values ('t', 'T', 'https://hooks.example.gov/x')")
        .execute(&pool)
        .await
        .expect("team");
    let mut tx = pool.begin().await.expect("transaction");
    app::notifications::ssr::enqueue_webhooks(
        &mut tx,
        &["t"],
        "Application <https://evil.example|Approve> & <!channel> was approved.",
        "https://portal.example.gov/requests/1",
    )
    .await
    .expect("queued");
    tx.commit().await.expect("commit");
    let text: String =
        sqlx::query_scalar("select payload->>'text' from webhook_delivery where team_slug = 't'")
            .fetch_one(&pool)
            .await
            .expect("payload");
    assert_eq!(
        text,
        "Application &lt;https://evil.example|Approve&gt; &amp; &lt;!channel&gt; was approved. \
         <https://portal.example.gov/requests/1|Open in the portal>"
    );
}

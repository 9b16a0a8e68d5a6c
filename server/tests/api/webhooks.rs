use axum::Router;
use axum::extract::State;
use axum::routing::post;
use http::StatusCode;
use server::webhooks::{Outcome, WebhookSettings, WebhookWorker};
use sqlx::PgPool;
use std::sync::{Arc, Mutex};

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
        timeout_ms: 2000,
    }
}

async fn queue_one(pool: &PgPool, url: &str) -> i64 {
    sqlx::query("insert into team (slug, display_name, webhook_url) values ('hooks', 'Hooks', $1)")
        .bind(url)
        .execute(pool)
        .await
        .expect("team");
    sqlx::query_scalar(
        "insert into webhook_delivery (team_slug, url, payload)
         values ('hooks', $1, '{\"text\": \"A request was approved.\"}') returning id",
    )
    .bind(url)
    .fetch_one(pool)
    .await
    .expect("delivery")
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
    let worker = WebhookWorker::new(pool.clone(), settings(5)).expect("worker");

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
    let worker = WebhookWorker::new(pool.clone(), settings(2)).expect("worker");
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
    let a = WebhookWorker::new(pool.clone(), settings(5)).expect("worker");
    let b = WebhookWorker::new(pool.clone(), settings(5)).expect("worker");
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

use crate::helpers::{TestApp, settings};
use secrecy::SecretString;
use serde_json::Value;
use sqlx::PgPool;

#[sqlx::test(migrations = "../migrations")]
async fn healthz_answers_while_the_process_is_up(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["status"], "ok");
}

fn check<'a>(body: &'a Value, name: &str) -> &'a Value {
    body["checks"]
        .as_array()
        .expect("checks array")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check named {name} in {body}"))
}

#[sqlx::test(migrations = "../migrations")]
async fn readyz_reports_the_database_and_every_cluster(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let response = app.get("/readyz").await;
    let status = response.status();
    let body: Value = response.json().await.expect("json");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ready");
    for name in ["database", "kafka:sandbox", "kafka:prod"] {
        assert_eq!(check(&body, name)["status"], "ok", "{body}");
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn readyz_names_an_unreachable_cluster_and_a_refused_password(pool: PgPool) {
    let mut settings = settings();
    settings
        .kafka
        .environments
        .get_mut("prod")
        .expect("prod configured")
        .bootstrap_servers = "127.0.0.1:1".into();
    settings
        .kafka
        .environments
        .get_mut("sandbox")
        .expect("sandbox configured")
        .sasl_password = SecretString::from("not-the-password");
    let app = TestApp::spawn_with(pool, settings).await;

    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["status"], "not_ready");
    assert_eq!(check(&body, "database")["status"], "ok");
    let prod = check(&body, "kafka:prod");
    assert_eq!(prod["status"], "error");
    assert!(
        prod["error"]
            .as_str()
            .expect("error text")
            .starts_with("unreachable"),
        "{body}"
    );
    let sandbox = check(&body, "kafka:sandbox");
    assert!(
        sandbox["error"]
            .as_str()
            .expect("error text")
            .starts_with("authentication failed"),
        "{body}"
    );
    // Operators see the cause, never the secret or the broker address.
    let text = body.to_string();
    assert!(!text.contains("not-the-password") && !text.contains("127.0.0.1:1"));
}

#[sqlx::test(migrations = "../migrations")]
async fn metrics_count_requests_by_route_and_status(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    app.get("/healthz").await;
    app.get("/no-such-page-for-metrics").await;
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/plain")
    );
    let text = response.text().await.expect("body");
    assert!(
        text.contains(r#"http_requests_total{method="GET",route="/healthz",status="200"}"#),
        "{text}"
    );
    assert!(
        text.contains(r#"route="unmatched",status="404""#),
        "unknown paths are grouped, not labelled one by one: {text}"
    );
    assert!(text.contains("http_request_duration_seconds_bucket"));
    assert!(!text.contains("no-such-page-for-metrics"));
}

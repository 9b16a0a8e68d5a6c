//! Schema changes: the check while writing, routing by compatibility, registration on approval,
//! the consumers told, and refusals that write nothing.

use crate::fixtures::{
    AccessForm, LOW_TOPIC, OWNERS, PAYMENTS_APP_NAME, Snapshot, decide, detail, governance,
    owner_approver, requester, seed, slots, submit,
};
use crate::helpers::{Form, TestApp, user};
use app::domain::Role;
use sqlx::PgPool;
use uuid::Uuid;

const ORDERS_APP: Uuid = Uuid::from_u128(0xb1);

const V1: &str = r#"{"type": "record", "name": "OrderPlaced", "namespace": "bus.orders",
  "fields": [
    {"name": "order_id", "type": "string", "doc": "The order's id."},
    {"name": "amount_cents", "type": "long"}
  ]}"#;
/// V1 plus an optional field: BACKWARD and FORWARD compatible.
const V2_COMPATIBLE: &str = r#"{"type": "record", "name": "OrderPlaced", "namespace": "bus.orders",
  "fields": [
    {"name": "order_id", "type": "string", "doc": "The order's id."},
    {"name": "amount_cents", "type": "long"},
    {"name": "currency", "type": "string", "default": "EUR"}
  ]}"#;
/// A new field without a default: new readers cannot read old events.
const V2_BREAKING: &str = r#"{"type": "record", "name": "OrderPlaced", "namespace": "bus.orders",
  "fields": [
    {"name": "order_id", "type": "string"},
    {"name": "amount_cents", "type": "long"},
    {"name": "currency", "type": "string"}
  ]}"#;

/// The orders team's own application, and version 1 of `orders_placed-value`.
async fn with_first_version(pool: &PgPool) {
    seed(pool).await;
    sqlx::raw_sql(&format!(
        "insert into application (id, team_slug, name, system_registration_id, security_package_id,
                fisma_rating, ato_status, ato_date, privacy_assessment, contains_pii,
                hosting_location, technical_contact, product_contact) values
            ('{ORDERS_APP}', '{OWNERS}', 'Order Service', 'SR-9', 'SP-9', 'low', 'granted',
                '2026-01-15', 'completed', false, 'cloud_account', 'orders-dev@example.test',
                'orders-owner@example.test');"
    ))
    .execute(pool)
    .await
    .expect("orders app");
    let topic: Uuid = sqlx::query_scalar("select id from topic where name = $1")
        .bind(LOW_TOPIC)
        .fetch_one(pool)
        .await
        .expect("topic");
    let parsed = compat::parse(app::domain::SchemaFormat::Avro, V1).expect("v1");
    let mut conn = pool.acquire().await.expect("connection");
    app::schemas::store::register_version(
        &mut conn,
        topic.into(),
        &format!("{LOW_TOPIC}-value"),
        &parsed,
        V1,
        None,
    )
    .await
    .expect("v1 registered");
}

fn olga() -> app::domain::UserIdentity {
    user("olga", &[Role::Member], &[OWNERS])
}

fn form(schema: &str, mode: &str) -> Form {
    Form::new()
        .field("input[topic]", LOW_TOPIC)
        .field("input[part]", "value")
        .field("input[format]", "avro")
        .field("input[compatibility]", mode)
        .field("input[schema]", schema)
        .field("input[application]", ORDERS_APP.to_string())
        .field(
            "input[purpose]",
            "Orders now say which currency they are in.",
        )
}

async fn versions(pool: &PgPool) -> Vec<i32> {
    sqlx::query_scalar("select version from schema_version where subject = $1 order by version")
        .bind(format!("{LOW_TOPIC}-value"))
        .fetch_all(pool)
        .await
        .expect("versions")
}

#[sqlx::test(migrations = "../migrations")]
async fn the_check_names_what_breaks_while_the_change_is_written(pool: PgPool) {
    with_first_version(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    // Anyone signed in may try a schema; the check writes nothing.
    let cookie = app.session_cookie_for(&requester()).await;
    let before = Snapshot::take(&pool).await;

    let check = app
        .answer(
            "requests/schema-check",
            Some(&cookie),
            form(V2_BREAKING, "BACKWARD"),
        )
        .await;
    check.expect_status(200);
    let body = check.json();
    assert_eq!(body["subject"], format!("{LOW_TOPIC}-value"));
    assert_eq!(body["latest_version"], 1);
    let findings = body["findings"].as_array().expect("findings");
    assert!(!findings.is_empty(), "{body}");
    assert_eq!(
        findings[0]["path"].as_str().map(|p| p.contains("currency")),
        Some(true),
        "{body}"
    );
    assert!(
        findings[0]["change"]
            .as_str()
            .is_some_and(|c| !c.is_empty())
    );
    assert!(findings[0]["why"].as_str().is_some_and(|c| !c.is_empty()));
    assert!(
        body["governance_because"]
            .as_str()
            .is_some_and(|w| w.contains("not BACKWARD compatible with version 1")),
        "{body}"
    );
    let diff = body["diff"].as_array().expect("diff");
    assert!(
        diff.iter().any(|row| row["side"] != "Same"),
        "the diff shows the new field: {body}"
    );

    let fine = app
        .answer(
            "requests/schema-check",
            Some(&cookie),
            form(V2_COMPATIBLE, "BACKWARD"),
        )
        .await;
    fine.expect_status(200);
    assert_eq!(fine.json()["findings"], serde_json::json!([]));
    assert_eq!(fine.json()["governance_because"], serde_json::Value::Null);

    let lowered = app
        .answer(
            "requests/schema-check",
            Some(&cookie),
            form(V2_COMPATIBLE, "NONE"),
        )
        .await;
    assert!(
        lowered.json()["governance_because"]
            .as_str()
            .is_some_and(|w| w.contains("from BACKWARD to NONE")),
        "{}",
        lowered.json()
    );

    let broken = app
        .answer(
            "requests/schema-check",
            Some(&cookie),
            form(
                "{\"type\": \"record\",\n \"name\": \"X\" \"fields\": []}",
                "BACKWARD",
            ),
        )
        .await;
    broken.expect_status(200);
    assert!(
        broken.json()["problem"]
            .as_str()
            .is_some_and(|p| p.contains("line 2")),
        "{}",
        broken.json()
    );
    before.assert_unchanged(&Snapshot::take(&pool).await, "checks write nothing");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_compatible_change_needs_only_the_owning_team_and_is_served_once_approved(pool: PgPool) {
    with_first_version(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    // Payments consumes the topic: it is listed as affected and told on approval.
    let rita = app.session_cookie_for(&requester()).await;
    let otto = app.session_cookie_for(&owner_approver()).await;
    let consumer = submit(&app, &rita, &AccessForm::consumer(LOW_TOPIC)).await;
    decide(&app, &otto, consumer, 1, "approve", "")
        .await
        .expect_status(200);
    let gov = app.session_cookie_for(&governance(1)).await;
    decide(&app, &gov, consumer, 2, "approve", "")
        .await
        .expect_status(200);

    let olga = app.session_cookie_for(&olga()).await;
    let proposed = app
        .answer(
            "requests/schema-change",
            Some(&olga),
            form(V2_COMPATIBLE, "BACKWARD"),
        )
        .await;
    proposed.expect_status(200);
    let id: Uuid = serde_json::from_value(proposed.json()).expect("id");
    let required: Vec<String> = slots(&pool, id).await.into_iter().map(|s| s.slot).collect();
    assert_eq!(required, vec!["owning_team"]);

    let shown = detail(&app, &otto, id).await;
    assert_eq!(
        shown["schema_change"]["consumers"],
        serde_json::json!([format!("payments / {PAYMENTS_APP_NAME}")])
    );
    assert_eq!(shown["schema_change"]["change"]["follows_version"], 1);
    // Not even a team approver of the owning team approves their own proposal.
    decide(&app, &olga, id, 1, "approve", "")
        .await
        .expect_status(403);
    assert_eq!(versions(&pool).await, vec![1]);

    // Sign-in records a person's groups; the portal finds a team's members by them.
    sqlx::query("update app_user set groups = '{team-payments}' where subject = 'rita'")
        .execute(&pool)
        .await
        .expect("groups");
    decide(&app, &otto, id, 1, "approve", "")
        .await
        .expect_status(200);
    let state: String = sqlx::query_scalar("select state::text from access_request where id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .expect("state");
    assert_eq!(state, "active");
    assert_eq!(versions(&pool).await, vec![1, 2]);
    let told: i64 = sqlx::query_scalar(
        "select count(*) from notification where recipient = 'rita' and message like '%new schema%'
            and link = '/catalog/orders_placed'",
    )
    .fetch_one(&pool)
    .await
    .expect("notifications");
    assert_eq!(told, 1, "the consumer team's member is told");

    let topic = app
        .answer(
            "catalog/topic",
            Some(&rita),
            Form::new().field("name", LOW_TOPIC),
        )
        .await;
    let value = &topic.json()["value_schema"];
    assert_eq!(value["version"], 2);
    assert_eq!(value["versions"].as_array().map(Vec::len), Some(2));
    assert!(
        value["fields"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f["name"] == "currency")),
        "{value}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn an_incompatible_change_or_a_lowered_mode_also_needs_governance(pool: PgPool) {
    with_first_version(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let olga = app.session_cookie_for(&olga()).await;
    let otto = app.session_cookie_for(&owner_approver()).await;
    let gov = app.session_cookie_for(&governance(1)).await;

    let breaking = app
        .answer(
            "requests/schema-change",
            Some(&olga),
            form(V2_BREAKING, "BACKWARD"),
        )
        .await;
    breaking.expect_status(200);
    let id: Uuid = serde_json::from_value(breaking.json()).expect("id");
    let required = slots(&pool, id).await;
    assert_eq!(
        required.iter().map(|s| s.slot.as_str()).collect::<Vec<_>>(),
        vec!["owning_team", "governance"]
    );
    assert!(
        required[1].reason.contains("not BACKWARD compatible"),
        "{}",
        required[1].reason
    );
    // A second change to the same subject waits for this one.
    let second = app
        .answer(
            "requests/schema-change",
            Some(&olga),
            form(V2_COMPATIBLE, "BACKWARD"),
        )
        .await;
    second.expect_status(409);

    decide(&app, &otto, id, 1, "approve", "")
        .await
        .expect_status(200);
    assert_eq!(
        versions(&pool).await,
        vec![1],
        "governance has not agreed yet"
    );
    decide(
        &app,
        &gov,
        id,
        2,
        "approve",
        "Consumers upgrade first; agreed in review.",
    )
    .await
    .expect_status(200);
    assert_eq!(versions(&pool).await, vec![1, 2]);

    let lowered = app
        .answer(
            "requests/schema-change",
            Some(&olga),
            form(V2_BREAKING, "NONE"),
        )
        .await;
    lowered.expect_status(200);
    let id: Uuid = serde_json::from_value(lowered.json()).expect("id");
    let required = slots(&pool, id).await;
    assert!(
        required
            .iter()
            .any(|s| s.slot == "governance" && s.reason.contains("from BACKWARD to NONE")),
        "{required:?}"
    );
    decide(&app, &otto, id, 1, "approve", "")
        .await
        .expect_status(200);
    decide(&app, &gov, id, 2, "approve", "Agreed.")
        .await
        .expect_status(200);
    let mode: String =
        sqlx::query_scalar("select compatibility from schema_subject where subject = $1")
            .bind(format!("{LOW_TOPIC}-value"))
            .fetch_one(&pool)
            .await
            .expect("mode");
    assert_eq!(mode, "NONE");
    assert_eq!(
        versions(&pool).await,
        vec![1, 2],
        "a mode-only change adds no version"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn refused_schema_changes_say_why_and_write_nothing(pool: PgPool) {
    with_first_version(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let olga = app.session_cookie_for(&olga()).await;
    let rita = app.session_cookie_for(&requester()).await;
    let before = Snapshot::take(&pool).await;

    let unreadable = app
        .answer(
            "requests/schema-change",
            Some(&olga),
            form(r#"{"type": "record", "name": "OrderPlaced", "fields": [{"name": "amount", "type": "decmial"}]}"#, "BACKWARD"),
        )
        .await;
    unreadable.expect_status(422);
    assert_eq!(unreadable.invalid_fields(), vec!["Schema"]);

    let not_owner = app
        .answer(
            "requests/schema-change",
            Some(&rita),
            form(V2_COMPATIBLE, "BACKWARD"),
        )
        .await;
    not_owner.expect_status(422);
    assert!(not_owner.invalid_fields().contains(&"Topic".to_owned()));

    let same = app
        .answer("requests/schema-change", Some(&olga), form(V1, "BACKWARD"))
        .await;
    same.expect_status(422);

    let bad_mode = app
        .answer(
            "requests/schema-change",
            Some(&olga),
            form(V2_COMPATIBLE, "SOMETIMES"),
        )
        .await;
    bad_mode.expect_status(422);
    assert_eq!(bad_mode.invalid_fields(), vec!["Compatibility mode"]);

    let anonymous = app
        .answer(
            "requests/schema-change",
            None,
            form(V2_COMPATIBLE, "BACKWARD"),
        )
        .await;
    anonymous.expect_status(401);
    let anonymous_check = app
        .answer(
            "requests/schema-check",
            None,
            form(V2_COMPATIBLE, "BACKWARD"),
        )
        .await;
    anonymous_check.expect_status(401);
    before.assert_unchanged(&Snapshot::take(&pool).await, "refusals write nothing");
    assert_eq!(versions(&pool).await, vec![1]);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_json_schema_becomes_the_first_key_schema_of_a_topic(pool: PgPool) {
    with_first_version(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let olga = app.session_cookie_for(&olga()).await;
    let otto = app.session_cookie_for(&owner_approver()).await;
    let key = r#"{"type": "object", "properties": {"order_id": {"type": "string", "description": "The order."}},
                 "required": ["order_id"], "additionalProperties": false}"#;
    let bad = app
        .answer(
            "requests/schema-change",
            Some(&olga),
            form(
                r#"{"type": "object", "properties": {"order_id": {"type": "strng"}}}"#,
                "FULL",
            )
            .without("input[part]")
            .without("input[format]")
            .field("input[part]", "key")
            .field("input[format]", "json"),
        )
        .await;
    bad.expect_status(422);
    assert!(
        bad.body.contains("/properties/order_id/type"),
        "{}",
        bad.body
    );

    let proposed = app
        .answer(
            "requests/schema-change",
            Some(&olga),
            form(key, "FULL")
                .without("input[part]")
                .without("input[format]")
                .field("input[part]", "key")
                .field("input[format]", "json"),
        )
        .await;
    proposed.expect_status(200);
    let id: Uuid = serde_json::from_value(proposed.json()).expect("id");
    decide(&app, &otto, id, 1, "approve", "")
        .await
        .expect_status(200);
    let topic = app
        .answer(
            "catalog/topic",
            Some(&olga),
            Form::new().field("name", LOW_TOPIC),
        )
        .await;
    let shown = &topic.json()["key_schema"];
    assert_eq!(shown["subject"], format!("{LOW_TOPIC}-key"));
    assert_eq!(shown["format"], "JSON Schema");
    assert_eq!(shown["compatibility"], "FULL");
    assert_eq!(shown["fields"][0]["doc"], "The order.");
}

#[sqlx::test(migrations = "../migrations")]
async fn schemas_built_to_exhaust_the_check_are_answered_quickly_while_the_server_serves_others(
    pool: PgPool,
) {
    with_first_version(&pool).await;
    // An open model (additional properties allowed) as the first key schema.
    let topic: Uuid = sqlx::query_scalar("select id from topic where name = $1")
        .bind(LOW_TOPIC)
        .fetch_one(&pool)
        .await
        .expect("topic");
    let open = r#"{"type":"object","properties":{"id":{"type":"string"}}}"#;
    let parsed = compat::parse(app::domain::SchemaFormat::Json, open).expect("v1");
    let mut conn = pool.acquire().await.expect("connection");
    app::schemas::store::register_version(
        &mut conn,
        topic.into(),
        &format!("{LOW_TOPIC}-key"),
        &parsed,
        open,
        None,
    )
    .await
    .expect("key v1");
    drop(conn);
    let app = TestApp::spawn(pool.clone()).await;
    let cookie = app.session_cookie_for(&olga()).await;
    let ref_chain = compat::hostile::ref_chain;
    let check = |schema: String| {
        let (app, cookie) = (&app, cookie.clone());
        async move {
            let form = form(&schema, "BACKWARD")
                .without("input[part]")
                .without("input[format]")
                .field("input[part]", "key")
                .field("input[format]", "json");
            let started = std::time::Instant::now();
            let answer = app
                .answer("requests/schema-check", Some(&cookie), form)
                .await;
            (started.elapsed(), answer)
        }
    };

    // Meanwhile, the server keeps answering everyone else.
    let probing = tokio::spawn({
        let url = app.url("/healthz");
        let client = app.client.clone();
        async move {
            let mut slowest = std::time::Duration::ZERO;
            for _ in 0..100 {
                let started = std::time::Instant::now();
                let status = client.get(&url).send().await.expect("healthz").status();
                assert_eq!(status, 200);
                slowest = slowest.max(started.elapsed());
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            slowest
        }
    });

    // 2^40 paths through shared definitions: answered, with the reason, well under a second.
    let (took, answer) = check(ref_chain(40, 2)).await;
    answer.expect_status(200);
    let body = answer.json();
    assert!(took < std::time::Duration::from_millis(1000), "{took:?}");
    assert!(
        body["findings"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f["path"] == "/properties/p")),
        "{body}"
    );

    // A chain deeper than the check follows: refused with a clear message.
    let (took, answer) = check(ref_chain(900, 1)).await;
    answer.expect_status(200);
    let body = answer.json();
    assert!(took < std::time::Duration::from_millis(1000), "{took:?}");
    assert!(
        body["problem"]
            .as_str()
            .is_some_and(|p| p.contains("nests more than 64 levels")),
        "{body}"
    );

    // 10,000 references do not fit in a request of the size the portal accepts.
    let (_, answer) = check(ref_chain(10_000, 1)).await;
    answer.expect_status(413);

    let slowest = probing.await.expect("probe");
    assert!(
        slowest < std::time::Duration::from_millis(250),
        "the slowest /healthz took {slowest:?}"
    );
}

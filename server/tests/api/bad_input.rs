//! Bad input to the request form and the catalog filter: 422, the field named, nothing written.

use crate::fixtures::{
    self, AccessForm, LOW_TOPIC, SANDBOX_ONLY_TOPIC, SHIPPING_APP, Snapshot, governance, requester,
    submit,
};
use crate::helpers::{Form, TestApp, user};
use app::domain::Role;
use app::requests::form::{
    FIELD_APPLICATION, FIELD_ENVIRONMENTS, FIELD_EXPIRY, FIELD_GROUP, FIELD_KIND, FIELD_PURPOSE,
    FIELD_TOPIC,
};
use sqlx::PgPool;
use uuid::Uuid;

fn with(change: impl FnOnce(&mut AccessForm)) -> Form {
    let mut form = AccessForm::consumer(LOW_TOPIC);
    change(&mut form);
    form.form()
}

async fn counts(pool: &PgPool) -> [i64; 3] {
    [
        fixtures::count(pool, "access_request").await,
        fixtures::count(pool, "approval_slot").await,
        fixtures::count(pool, "audit_log").await,
    ]
}

#[sqlx::test(migrations = "../migrations")]
async fn each_bad_access_request_is_refused_naming_its_field_and_writes_nothing(pool: PgPool) {
    fixtures::seed(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let rita = app.session_cookie_for(&requester()).await;
    let yesterday = (chrono::Utc::now().date_naive() - chrono::Days::new(1)).to_string();

    let cases: Vec<(&str, Form, &str)> = vec![
        (
            "purpose of 2001 characters",
            with(|f| f.purpose = "p".repeat(2001)),
            FIELD_PURPOSE,
        ),
        (
            "topic name of 250 characters",
            with(|f| f.topic = "t".repeat(250)),
            FIELD_TOPIC,
        ),
        (
            "topic name with spaces and !",
            with(|f| f.topic = "orders placed!".into()),
            FIELD_TOPIC,
        ),
        (
            "unknown kind",
            with(|f| f.kind = "admin_access".into()),
            FIELD_KIND,
        ),
        (
            "unknown environment",
            with(|f| f.environments = vec!["sandbox".into(), "staging".into()]),
            FIELD_ENVIRONMENTS,
        ),
        (
            "empty purpose",
            with(|f| f.purpose = "   ".into()),
            FIELD_PURPOSE,
        ),
        (
            "no purpose field at all",
            AccessForm::consumer(LOW_TOPIC)
                .form()
                .without("input[purpose]"),
            FIELD_PURPOSE,
        ),
        (
            "no environments",
            AccessForm::consumer(LOW_TOPIC)
                .form()
                .without("input[environments]"),
            FIELD_ENVIRONMENTS,
        ),
        (
            "consumer without a group",
            with(|f| f.consumer_group = String::new()),
            FIELD_GROUP,
        ),
        (
            "producer naming a group",
            with(|f| {
                *f = AccessForm::producer(LOW_TOPIC);
                f.consumer_group = "payments-ledger".into();
            }),
            FIELD_GROUP,
        ),
        (
            "expiry in the past",
            with(|f| f.expiry = yesterday),
            FIELD_EXPIRY,
        ),
        (
            "malformed application id",
            with(|f| f.application = "app-1".into()),
            FIELD_APPLICATION,
        ),
        (
            "application of another team",
            with(|f| f.application = SHIPPING_APP.to_string()),
            FIELD_APPLICATION,
        ),
        (
            "topic not in the catalog",
            with(|f| f.topic = "orders_refunded".into()),
            FIELD_TOPIC,
        ),
        (
            "topic absent from a requested environment",
            with(|f| f.topic = SANDBOX_ONLY_TOPIC.into()),
            FIELD_ENVIRONMENTS,
        ),
    ];

    let before = Snapshot::take(&pool).await;
    let mut failures = Vec::new();
    for (case, form, field) in cases {
        let answer = app.answer("requests/access", Some(&rita), form).await;
        let named = (answer.status == 422).then(|| answer.invalid_fields());
        if named.as_deref() != Some(&[field.to_owned()][..]) {
            failures.push(format!(
                "{case}: expected 422 naming only {field:?}, got {}: {}",
                answer.status, answer.body
            ));
        }
        let now = Snapshot::take(&pool).await;
        if now != before {
            failures.push(format!("{case}: wrote to the database"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let unchanged = counts(&pool).await;
    assert_eq!(unchanged, [0, 0, 0], "requests, slots, audit rows");

    // The same form, corrected, goes through: the refusals were about the input.
    submit(&app, &rita, &AccessForm::consumer(LOW_TOPIC)).await;
    assert_eq!(counts(&pool).await, [1, 2, 1]);
}

#[sqlx::test(migrations = "../migrations")]
async fn bad_catalog_filters_are_refused_naming_the_filter(pool: PgPool) {
    fixtures::seed(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let viewer = app
        .session_cookie_for(&user("val", &[Role::Viewer], &[]))
        .await;
    let page = Form::new();

    let cases = [
        (
            "unknown lifecycle",
            page.clone().field("filter[lifecycle]", "retired"),
            "Lifecycle",
        ),
        (
            "a page after a name longer than any topic's",
            Form::new().field("filter[after]", "a".repeat(250)),
            "Page",
        ),
        (
            "a page both after and before a name",
            Form::new()
                .field("filter[after]", "a")
                .field("filter[before]", "z"),
            "Page",
        ),
        (
            "201-character search",
            page.clone().field("filter[q]", "q".repeat(201)),
            "Search",
        ),
    ];
    let mut failures = Vec::new();
    for (case, form, field) in cases {
        let answer = app.answer("catalog/topics", Some(&viewer), form).await;
        let named = (answer.status == 422).then(|| answer.invalid_fields());
        if named.as_deref() != Some(&[field.to_owned()][..]) {
            failures.push(format!(
                "{case}: expected 422 naming {field:?}, got {}: {}",
                answer.status, answer.body
            ));
        }
        if answer.body.contains(LOW_TOPIC) {
            failures.push(format!("{case}: a refusal listed topics"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    let longest = app
        .answer(
            "catalog/topics",
            Some(&viewer),
            page.clone().field("filter[q]", "o".repeat(200)),
        )
        .await;
    assert_eq!(
        longest.expect_status(200).json()["topics"],
        serde_json::json!([])
    );
    let fine = app
        .answer(
            "catalog/topics",
            Some(&viewer),
            page.field("filter[lifecycle]", "production")
                .field("filter[q]", "placed"),
        )
        .await;
    assert_eq!(
        fine.expect_status(200).json()["topics"][0]["name"],
        LOW_TOPIC
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn bad_decisions_are_refused_with_their_own_status_and_write_nothing(pool: PgPool) {
    fixtures::seed(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let rita = app.session_cookie_for(&requester()).await;
    let gwen = app.session_cookie_for(&governance(1)).await;
    let id = submit(&app, &rita, &AccessForm::consumer(LOW_TOPIC)).await;
    let decision = |id: String, decision: &str, reason: String| {
        Form::new()
            .field("id", id)
            .field("version", "1")
            .field("decision", decision)
            .field("reason", reason)
    };

    let cases = [
        (
            "unknown decision",
            decision(id.to_string(), "rubber_stamp", String::new()),
            422,
        ),
        (
            "note of 2001 characters",
            decision(id.to_string(), "approve", "n".repeat(2001)),
            422,
        ),
        (
            "reason of 2001 characters",
            decision(id.to_string(), "decline", "n".repeat(2001)),
            422,
        ),
        (
            "unknown request",
            decision(Uuid::new_v4().to_string(), "approve", String::new()),
            404,
        ),
        (
            "malformed request id",
            decision("42".into(), "approve", String::new()),
            400,
        ),
        (
            "no version",
            decision(id.to_string(), "approve", String::new()).without("version"),
            400,
        ),
    ];
    let before = Snapshot::take(&pool).await;
    let mut failures = Vec::new();
    for (case, form, status) in cases {
        let answer = app.answer("requests/decide", Some(&gwen), form).await;
        if answer.status != status {
            failures.push(format!(
                "{case}: expected {status}, got {}: {}",
                answer.status, answer.body
            ));
        }
        if Snapshot::take(&pool).await != before {
            failures.push(format!("{case}: wrote to the database"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_topic_that_does_not_exist_is_404(pool: PgPool) {
    fixtures::seed(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let viewer = app
        .session_cookie_for(&user("val", &[Role::Viewer], &[]))
        .await;
    let answer = app
        .answer(
            "catalog/topic",
            Some(&viewer),
            Form::new().field("name", "orders_refunded"),
        )
        .await;
    assert_eq!((answer.status, answer.body.as_str()), (404, "\"NotFound\""));
}

//! Who may call which server function: every endpoint against every role, from one table.

use crate::fixtures::{
    self, AccessForm, LOW_TOPIC, OWNERS, PAYMENTS_APP, PAYMENTS_APP_NAME, REQUESTERS, Snapshot,
    TOPICS, submit,
};
use crate::helpers::{Form, TestApp, user};
use app::domain::{Role, UserIdentity};
use sqlx::PgPool;
use std::fmt::Write;
use uuid::Uuid;

/// The callers, in the order of the table's columns.
const CALLERS: [&str; 7] = [
    "anonymous",
    "member",
    "approver",
    "team approver",
    "admin",
    "viewer",
    "no role",
];

fn identity(caller: &str) -> Option<UserIdentity> {
    Some(match caller {
        "anonymous" => return None,
        "member" => user("mia", &[Role::Member], &[REQUESTERS]),
        "approver" => user("gus", &[Role::Approver], &[]),
        "team approver" => user("tom", &[Role::TeamApprover], &[OWNERS]),
        "admin" => user("ada", &[Role::Admin], &[]),
        "viewer" => user("val", &[Role::Viewer], &[]),
        "no role" => user("nobody", &[], &[]),
        other => panic!("unknown caller {other}"),
    })
}

/// Expected status per caller (columns as in [`CALLERS`]). 404 on `requests/get`: a request the
/// caller has no business seeing does not exist for them.
#[rustfmt::skip]
const MATRIX: [(&str, [u16; 7]); 43] = [
    //                          anon member approver team admin viewer none
    ("environments",           [401, 200, 200, 200, 200, 200, 403]),
    ("session/user",           [200, 200, 200, 200, 200, 200, 200]),
    ("catalog/topics",         [401, 200, 200, 200, 200, 200, 403]),
    ("catalog/topic",          [401, 200, 200, 200, 200, 200, 403]),
    ("catalog/suggest",        [401, 200, 200, 200, 200, 200, 403]),
    ("catalog/naming",         [401, 200, 200, 200, 200, 200, 403]),
    ("requests/applications",  [401, 200, 403, 403, 403, 403, 403]),
    ("requests/access",        [401, 200, 403, 403, 403, 403, 403]),
    ("requests/decide",        [401, 403, 200, 200, 403, 403, 403]),
    ("requests/withdraw",      [401, 200, 403, 403, 403, 403, 403]),
    ("requests/get",           [401, 200, 200, 200, 200, 404, 403]),
    ("requests/mine",          [401, 200, 403, 403, 200, 403, 403]),
    ("requests/queue",         [401, 403, 200, 200, 200, 403, 403]),
    ("requests/pending-count", [401, 200, 200, 200, 200, 200, 403]),
    ("requests/topic",         [401, 200, 403, 403, 403, 403, 403]),
    ("requests/resubmit",      [401, 200, 403, 403, 403, 403, 403]),
    ("applications/register",  [401, 200, 403, 403, 403, 403, 403]),
    // The application's team, governance, admins, and the team approver whose topic it asked for.
    ("applications/get",       [401, 200, 200, 200, 200, 404, 403]),
    ("notifications/list",     [401, 200, 200, 200, 200, 200, 403]),
    ("notifications/unread",   [401, 200, 200, 200, 200, 200, 403]),
    ("audit/verify",           [401, 403, 403, 403, 200, 403, 403]),
    ("requests/topic-change",  [401, 200, 403, 403, 403, 403, 403]),
    ("requests/schema-check",  [401, 200, 200, 200, 200, 200, 403]),
    ("requests/topic-schema-check", [401, 200, 403, 403, 403, 403, 403]),
    ("requests/schema-change", [401, 200, 403, 403, 403, 403, 403]),
    ("apply/status",           [401, 200, 200, 200, 200, 404, 403]),
    ("apply/reveal-credential",[401, 200, 403, 403, 403, 403, 403]),
    ("apply/rotate-credential",[401, 200, 403, 403, 403, 403, 403]),
    ("apply/retry",            [401, 403, 403, 403, 200, 403, 403]),
    ("apply/revoke",           [401, 200, 403, 403, 200, 403, 403]),
    ("drift/report",           [401, 403, 403, 403, 200, 403, 403]),
    ("drift/check",            [401, 403, 403, 403, 200, 403, 403]),
    ("drift/resolve",          [401, 403, 403, 403, 200, 403, 403]),
    ("drift/adopt-all",        [401, 403, 403, 403, 200, 403, 403]),
    // Only a member of the topic's owning team may ask; the matrix's member asks for access.
    ("requests/revoke",        [401, 403, 403, 403, 403, 403, 403]),
    ("teams/mine",             [401, 200, 403, 403, 200, 403, 403]),
    ("teams/update",           [401, 200, 403, 403, 200, 403, 403]),
    ("health/overview",        [401, 200, 200, 200, 200, 200, 403]),
    // Nothing is collected in the test server (collectors run in `main`): allowed callers get 404.
    ("health/topic",           [401, 404, 404, 404, 404, 404, 403]),
    ("health/group",           [401, 404, 404, 404, 404, 404, 403]),
    ("health/mine",            [401, 200, 200, 200, 200, 200, 403]),
    ("home/waiting",           [401, 200, 200, 200, 200, 200, 403]),
    // Members of the owning team and admins; the matrix's member is not in the owning team.
    ("health/expected-interval",[401, 403, 403, 403, 200, 403, 403]),
];

/// What an allowed answer must show, proving it was real data and not an empty refusal.
fn shows(endpoint: &str, shared: Uuid) -> Option<String> {
    match endpoint {
        "environments" => Some("sandbox".into()),
        "catalog/naming" => Some("reserved_prefixes".into()),
        "catalog/topics" | "catalog/topic" | "catalog/suggest" => Some(LOW_TOPIC.into()),
        "requests/applications" | "applications/get" => Some(PAYMENTS_APP_NAME.into()),
        "requests/get" => Some(shared.to_string()),
        "audit/verify" => Some("rows_checked".into()),
        "apply/status" => Some("grants_in_words".into()),
        "apply/reveal-credential" => Some("SCRAM-SHA-512".into()),
        "drift/report" => Some("findings".into()),
        "teams/mine" => Some(REQUESTERS.into()),
        "requests/schema-check" => Some("payments_settled-value".into()),
        _ => None,
    }
}

struct Setup {
    app: TestApp,
    pool: PgPool,
    member: String,
    /// A request by the member, open for both approvals.
    shared: Uuid,
}

impl Setup {
    /// A topic the member's own team owns.
    async fn own_topic(&self) {
        sqlx::raw_sql(&format!(
            "insert into topic (id, name, title, description, business_domain, lifecycle,
                    owning_team, data_classification, contains_pii, partitions, retention_ms,
                    cleanup_policy)
             values (gen_random_uuid(), 'payments_settled', 'Payment settled',
                    'A payment reached the bank.', 'payments', 'production', '{REQUESTERS}',
                    'low', false, 3, 604800000, 'delete')
             on conflict (name) do nothing;
             insert into topic_environment (topic_id, environment)
             select id, 'sandbox' from topic where name = 'payments_settled'
             on conflict do nothing;"
        ))
        .execute(&self.pool)
        .await
        .expect("own topic");
    }

    /// Valid arguments for `endpoint`, and the request they act on, if any. Decisions and
    /// withdrawals act on a fresh request, so each allowed call finds it open at version 1.
    async fn arguments(&self, endpoint: &str) -> (Form, Option<Uuid>) {
        let open = AccessForm::consumer(LOW_TOPIC);
        let fresh = || submit(&self.app, &self.member, &open);
        match endpoint {
            "catalog/topics" => (Form::new(), None),
            "catalog/topic" => (Form::new().field("name", LOW_TOPIC), None),
            "catalog/suggest" => (Form::new().field("text", &LOW_TOPIC[..4]), None),
            "requests/schema-check" | "requests/schema-change" => {
                self.own_topic().await;
                let form = Form::new()
                    .field("input[topic]", "payments_settled")
                    .field("input[part]", "value")
                    .field("input[format]", "avro")
                    .field("input[compatibility]", "BACKWARD")
                    .field(
                        "input[schema]",
                        r#"{"type": "record", "name": "PaymentSettled", "fields": [{"name": "id", "type": "string"}]}"#,
                    )
                    .field("input[application]", PAYMENTS_APP.to_string())
                    .field("input[purpose]", "Settlements get their first schema.");
                (form, None)
            }
            "requests/access" => (AccessForm::consumer(LOW_TOPIC).form(), None),
            "requests/topic-schema-check" => (
                Form::new()
                    .field("part", "key")
                    .field("schema", r#"{"type": "string"}"#),
                None,
            ),
            "requests/decide" => {
                let id = fresh().await;
                let form = Form::new()
                    .field("id", id.to_string())
                    .field("version", "1")
                    .field("decision", "approve");
                (form, Some(id))
            }
            "requests/withdraw" => {
                let id = fresh().await;
                let form = Form::new()
                    .field("id", id.to_string())
                    .field("version", "1");
                (form, Some(id))
            }
            "requests/get" => (
                Form::new().field("id", self.shared.to_string()),
                Some(self.shared),
            ),
            "requests/topic" => {
                let name = format!("orders_proposed_{}", Uuid::new_v4().simple());
                let form = Form::new()
                    .field("input[name]", name)
                    .field("input[title]", "Orders proposed")
                    .field("input[description]", "Published when an order is proposed.")
                    .field("input[business_domain]", "orders")
                    .field("input[classification]", "low")
                    .field("input[partitions]", "3")
                    .field("input[retention_days]", "7")
                    .field("input[cleanup_policy]", "delete")
                    .field("input[application]", PAYMENTS_APP.to_string())
                    .field("input[environments][]", "sandbox")
                    .field("input[fit_independent_consumers]", "yes")
                    .field("input[fit_replaces_polling]", "yes")
                    .field("input[fit_needs_answer]", "no")
                    .field("input[fit_prototype]", "no")
                    .field("input[fit_high_sensitivity]", "no");
                (form, None)
            }
            "applications/register" => {
                let form = Form::new()
                    .field("input[team]", REQUESTERS)
                    .field("input[name]", format!("Ledger {}", Uuid::new_v4().simple()))
                    .field("input[system_registration_id]", "SR-9")
                    .field("input[security_package_id]", "SP-9")
                    .field("input[fisma_rating]", "low")
                    .field("input[ato_status]", "in_progress")
                    .field("input[privacy_assessment]", "not_required")
                    .field("input[hosting_location]", "on_premises")
                    .field("input[technical_contact]", "dev@example.test")
                    .field("input[product_contact]", "owner@example.test");
                (form, None)
            }
            "requests/resubmit" => {
                let id = fresh().await;
                sqlx::query("update access_request set state = 'changes_requested' where id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .expect("send back");
                let form = Form::new()
                    .field("id", id.to_string())
                    .field("version", "1")
                    .field(
                        "purpose",
                        "Reconcile payments against placed orders, daily.",
                    )
                    .field("consumer_group", "payments-orders");
                (form, Some(id))
            }
            "requests/topic-change" => {
                self.own_topic().await;
                let form = Form::new()
                    .field("input[topic]", "payments_settled")
                    .field("input[application]", PAYMENTS_APP.to_string())
                    .field("input[partitions]", "6")
                    .field("input[retention_days]", "7")
                    .field("input[cleanup_policy]", "delete")
                    .field("input[purpose]", "Settlement volume doubles at month end.");
                (form, None)
            }
            "applications/get" => (Form::new().field("id", PAYMENTS_APP.to_string()), None),
            "apply/status" => (
                Form::new().field("id", self.shared.to_string()),
                Some(self.shared),
            ),
            "apply/reveal-credential" | "apply/rotate-credential" => {
                // The application has a principal and a password waiting to be shown.
                let settings = crate::helpers::settings();
                let vault =
                    app::credentials::CredentialVault::from_base64(&settings.kafka.credential_key)
                        .expect("vault");
                let sealed = vault.seal(
                    &secrecy::SecretString::from("waiting-password".to_owned()),
                    &app::credentials::seal_context(
                        PAYMENTS_APP.into(),
                        &crate::helpers::sandbox(),
                    ),
                );
                sqlx::query(
                    "insert into kafka_principal (application_id, environment, principal, credential_set_at)
                     values ($1, 'sandbox', 'payments.ledger.sandbox', now()) on conflict do nothing",
                )
                .bind(PAYMENTS_APP)
                .execute(&self.pool)
                .await
                .expect("principal");
                sqlx::query(
                    "insert into credential_reveal (application_id, environment, nonce, sealed)
                     values ($1, 'sandbox', $2, $3)
                     on conflict (application_id, environment) do update set nonce = excluded.nonce, sealed = excluded.sealed",
                )
                .bind(PAYMENTS_APP)
                .bind(&sealed.nonce)
                .bind(&sealed.sealed)
                .execute(&self.pool)
                .await
                .expect("sealed password");
                // ... and live access there (a credential follows its grants).
                sqlx::query(
                    "insert into access_grant (id, request_id, topic_id, application_id, role, environment)
                     select gen_random_uuid(), $1, t.id, $2, 'producer'::grant_role, 'sandbox'
                       from topic t where t.name = $3
                        and not exists (select 1 from access_grant where application_id = $2)",
                )
                .bind(self.shared)
                .bind(PAYMENTS_APP)
                .bind(crate::fixtures::LOW_TOPIC)
                .execute(&self.pool)
                .await
                .expect("grant");
                let form = Form::new()
                    .field("application", PAYMENTS_APP.to_string())
                    .field("environment", "sandbox");
                (form, None)
            }
            "apply/retry" | "apply/revoke" => {
                let id = fresh().await;
                let state = if endpoint == "apply/retry" {
                    "failed"
                } else {
                    "active"
                };
                sqlx::query("update access_request set state = $2::request_state where id = $1")
                    .bind(id)
                    .bind(state)
                    .execute(&self.pool)
                    .await
                    .expect("state");
                let form = Form::new()
                    .field("id", id.to_string())
                    .field("version", "1");
                (form, Some(id))
            }
            "drift/resolve" => {
                let id = Uuid::new_v4();
                sqlx::query(
                    "insert into drift_finding (id, environment, kind, resource_key, resource, description)
                     values ($1, 'sandbox', 'unknown_topic', $2, '{}', 'Topic legacy, not in the catalog')",
                )
                .bind(id)
                .bind(format!("topic:legacy_{}", id.simple()))
                .execute(&self.pool)
                .await
                .expect("finding");
                let form = Form::new()
                    .field("id", id.to_string())
                    .field("action", "adopt");
                (form, None)
            }
            "drift/adopt-all" => (Form::new().field("environment", "sandbox"), None),
            "health/topic" => (
                Form::new()
                    .field("environment", "sandbox")
                    .field("topic", LOW_TOPIC)
                    .field("range", "15m"),
                None,
            ),
            "health/group" => (
                Form::new()
                    .field("environment", "sandbox")
                    .field("group", "orders-readers")
                    .field("range", "1h"),
                None,
            ),
            "health/expected-interval" => (
                Form::new().field("topic", LOW_TOPIC).field("minutes", "30"),
                None,
            ),
            "requests/revoke" => (
                Form::new()
                    .field("id", self.shared.to_string())
                    .field("reason", "The ledger no longer needs these events."),
                Some(self.shared),
            ),
            "teams/update" => {
                let form = Form::new()
                    .field("input[slug]", REQUESTERS)
                    .field("input[display_name]", "Payments")
                    .field("input[contact_email]", "payments@example.gov")
                    .field("input[webhook_url]", "");
                (form, None)
            }
            _ => (Form::new(), None),
        }
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn every_server_function_answers_every_role_as_the_matrix_says_and_refusals_carry_no_data(
    pool: PgPool,
) {
    fixtures::seed(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let member = app
        .session_cookie_for(&identity("member").expect("member"))
        .await;
    let shared = submit(&app, &member, &AccessForm::consumer(LOW_TOPIC)).await;
    let setup = Setup {
        app,
        pool: pool.clone(),
        member,
        shared,
    };
    let mut cookies = Vec::new();
    for caller in CALLERS {
        cookies.push(match identity(caller) {
            Some(who) => Some(setup.app.session_cookie_for(&who).await),
            None => None,
        });
    }

    let mut report = format!("{:<24}", "");
    for caller in CALLERS {
        write!(report, "{caller:>15}").expect("write");
    }
    report.push('\n');
    let mut failures = Vec::new();
    for (endpoint, expected) in MATRIX {
        write!(report, "{endpoint:<24}").expect("write");
        for ((caller, cookie), want) in CALLERS.iter().zip(&cookies).zip(expected) {
            let (form, acted_on) = setup.arguments(endpoint).await;
            let before = Snapshot::take(&pool).await;
            let answer = setup.app.answer(endpoint, cookie.as_deref(), form).await;
            let mut problems = Vec::new();
            if answer.status != want {
                problems.push(format!("status {} instead of {want}", answer.status));
            }
            if answer.status == 200 {
                if let Some(marker) = shows(endpoint, shared)
                    && !answer.body.contains(&marker)
                {
                    problems.push(format!("allowed but shows no {marker:?}"));
                }
            } else {
                let mut secrets: Vec<String> = TOPICS.iter().map(|t| t.to_string()).collect();
                secrets.extend([
                    PAYMENTS_APP_NAME.into(),
                    "sandbox".into(),
                    shared.to_string(),
                ]);
                secrets.extend(acted_on.map(|id| id.to_string()));
                if let Some(leak) = secrets.iter().find(|s| answer.body.contains(s.as_str())) {
                    problems.push(format!("refusal shows {leak:?}"));
                }
                let bare = ["\"Unauthenticated\"", "\"Forbidden\"", "\"NotFound\""];
                if !bare.contains(&answer.body.as_str()) {
                    problems.push("refusal is not a bare error".into());
                }
                if Snapshot::take(&pool).await != before {
                    problems.push("refusal wrote to the database".into());
                }
            }
            let cell = format!(
                "{}{}",
                answer.status,
                if problems.is_empty() { "" } else { "!" }
            );
            write!(report, "{cell:>15}").expect("write");
            for problem in problems {
                failures.push(format!(
                    "{endpoint} as {caller}: {problem}: {}",
                    answer.body
                ));
            }
        }
        report.push('\n');
    }
    println!("{report}");
    assert!(
        failures.is_empty(),
        "authorization matrix (status, ! = wrong):\n{report}\n{}",
        failures.join("\n")
    );
}

#[test]
fn the_matrix_covers_every_server_function() {
    let mut registered: Vec<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.trim_start_matches("/api/").to_owned())
        .collect();
    registered.sort();
    let mut listed: Vec<String> = MATRIX.iter().map(|(e, _)| (*e).to_owned()).collect();
    listed.sort();
    assert_eq!(
        registered, listed,
        "every server function has a row in the matrix"
    );
}

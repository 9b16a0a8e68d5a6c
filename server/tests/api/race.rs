//! Many approvers deciding on one request at the same moment: exactly one decision counts.

use crate::fixtures::{
    self, AccessForm, LOW_TOPIC, decide, governance, owner_approver, requester, submit,
};
use crate::helpers::{Answer, TestApp};
use serde_json::Value;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::sync::Arc;
use tokio::sync::Barrier;
use uuid::Uuid;

const APPROVERS: usize = 20;

#[sqlx::test(migrations = "../migrations")]
async fn many_concurrent_decisions_on_one_request_yield_exactly_one_outcome(
    pool_options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    // Three times the default test pool, so the decisions really overlap in the database. The
    // harness shares 20 connections between all tests running at once; leave some to them.
    let pool: PgPool = pool_options
        .max_connections(15)
        .connect_with(connect)
        .await
        .expect("test pool");
    fixtures::seed(&pool).await;
    let app = Arc::new(TestApp::spawn(pool.clone()).await);
    let rita = app.session_cookie_for(&requester()).await;
    let otto = app.session_cookie_for(&owner_approver()).await;
    let id = submit(&app, &rita, &AccessForm::consumer(LOW_TOPIC)).await;
    let kinds: Vec<String> = fixtures::slots(&pool, id)
        .await
        .into_iter()
        .map(|s| s.slot)
        .collect();
    assert_eq!(kinds, vec!["owning_team", "governance"]);
    decide(&app, &otto, id, 1, "approve", "")
        .await
        .expect_status(200);
    let version = 2;

    let mut approvers = Vec::new();
    for n in 0..APPROVERS {
        let who = governance(n);
        let cookie = app.session_cookie_for(&who).await;
        // Random, so that over runs both kinds of winner are seen.
        let decision = if Uuid::new_v4().as_bytes()[0] < 128 {
            "approve"
        } else {
            "decline"
        };
        approvers.push((who.subject, cookie, decision));
    }

    let barrier = Arc::new(Barrier::new(APPROVERS));
    let tasks: Vec<_> = approvers
        .into_iter()
        .map(|(subject, cookie, decision)| {
            let app = Arc::clone(&app);
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                let reason = if decision == "decline" {
                    format!("{subject} declines: purpose too broad.")
                } else {
                    String::new()
                };
                barrier.wait().await;
                let answer = decide(&app, &cookie, id, version, decision, &reason).await;
                (subject, decision, reason, answer)
            })
        })
        .collect();
    let mut results: Vec<(String, &str, String, Answer)> = Vec::new();
    for task in tasks {
        results.push(task.await.expect("task finished"));
    }
    let table: String = results
        .iter()
        .map(|(who, decision, _, a)| format!("{who:>6} {decision:<8} {} {}\n", a.status, a.body))
        .collect();

    let winners: Vec<_> = results.iter().filter(|r| r.3.status == 200).collect();
    assert_eq!(winners.len(), 1, "exactly one decision wins:\n{table}");
    for (who, _, _, answer) in results.iter().filter(|r| r.3.status != 200) {
        assert_eq!(
            answer.status, 409,
            "{who} must be told it changed:\n{table}"
        );
        assert!(
            answer.conflict().starts_with("This request changed"),
            "{who}:\n{table}"
        );
    }
    let (winner, decision, reason, answer) = winners[0];
    let (state, stored) = match *decision {
        "approve" => ("applying", "approved"),
        _ => ("declined", "declined"),
    };
    assert_eq!(answer.json(), state, "{table}");

    let (stored_state, stored_version, shown_reason): (String, i32, Option<String>) =
        sqlx::query_as(
            "select state::text, version, decision_reason from access_request where id = $1",
        )
        .bind(id)
        .fetch_one(&pool)
        .await
        .expect("request");
    assert_eq!(stored_state, state, "{table}");
    assert_eq!(stored_version, version + 1, "one change only:\n{table}");
    assert_eq!(
        shown_reason,
        (state == "declined").then(|| reason.clone()),
        "{table}"
    );

    let governance_slot = &fixtures::slots(&pool, id).await[1];
    assert_eq!(governance_slot.slot, "governance");
    assert_eq!(governance_slot.decided_by.as_deref(), Some(winner.as_str()));
    assert_eq!(governance_slot.decision.as_deref(), Some(stored));
    let decided: i64 = sqlx::query_scalar(
        "select count(*) from approval_slot where request_id = $1 and decided_by like 'gov-%'",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .expect("count");
    assert_eq!(decided, 1, "{table}");

    let grants: i64 = sqlx::query_scalar("select count(*) from access_grant where request_id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .expect("grants");
    assert_eq!(grants, if state == "applying" { 2 } else { 0 }, "{table}");
    // One approval, one set of steps: a credential and an ACL step per environment.
    let steps: i64 = sqlx::query_scalar("select count(*) from apply_step where request_id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .expect("steps");
    assert_eq!(steps, if state == "applying" { 4 } else { 0 }, "{table}");

    let entries: Vec<(String, String, Value)> = sqlx::query_as(
        "select actor, action, after from audit_log
          where entity_type = 'access_request' and entity_id = $1
            and after->>'slot' = 'governance'",
    )
    .bind(id.to_string())
    .fetch_all(&pool)
    .await
    .expect("audit");
    assert_eq!(
        entries.len(),
        1,
        "one audited decision:\n{entries:?}\n{table}"
    );
    assert_eq!(&entries[0].0, winner);
    assert_eq!(entries[0].1, format!("request.{stored}"));
    assert_eq!(entries[0].2["state"], state);
    assert_eq!(fixtures::count(&pool, "audit_log").await, 3, "{table}");

    let ada = app.session_cookie_for(&fixtures::admin()).await;
    let chain = app
        .answer("audit/verify", Some(&ada), crate::helpers::Form::new())
        .await;
    assert_eq!(
        chain.expect_status(200).json()["first_broken_id"],
        Value::Null
    );
    // This test opened the pool itself, so it closes it (the server holds clones), letting the
    // harness drop the test database.
    pool.close().await;
}

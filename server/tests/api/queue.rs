//! The approvals queue pages by keyset (a request's last change, then its id): every waiting
//! request is shown once, oldest first, forwards and backwards; each approver sees only what they
//! may decide; the count in the navigation stops at its cap.

use crate::fixtures::{
    LOW_TOPIC, PAYMENTS_APP, governance, other_team_approver, owner_approver, seed,
};
use crate::helpers::{Form, TestApp};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

/// 120 submitted requests by rita, two at each minute (so the id breaks ties), each waiting for
/// the owning team (orders) and governance. Returns their ids in queue order.
async fn waiting_requests(pool: &PgPool) -> Vec<Uuid> {
    seed(pool).await;
    sqlx::raw_sql(&format!(
        "insert into app_user (subject, display_name) values ('rita', 'rita tester');
         insert into access_request (id, kind, state, requester, application_id, topic_id,
                environments, consumer_group, purpose, updated_at)
         select gen_random_uuid(), 'consumer_access', 'submitted', 'rita', '{PAYMENTS_APP}',
                (select id from topic where name = '{LOW_TOPIC}'), array['sandbox'],
                'payments-ledger', 'Reconcile payments against placed orders.',
                timestamptz '2026-12-01 08:00Z' + (n / 2) * interval '1 minute'
           from generate_series(0, 119) n;
         insert into approval_slot (request_id, slot, team_slug, reason)
         select id, 'owning_team', 'orders', 'The topic''s owning team decides.' from access_request;
         insert into approval_slot (request_id, slot, reason)
         select id, 'governance', 'Governance decides.' from access_request;"
    ))
    .execute(pool)
    .await
    .expect("waiting requests");
    sqlx::query_scalar("select id from access_request order by updated_at, id")
        .fetch_all(pool)
        .await
        .expect("ids")
}

fn ids(page: &Value) -> Vec<Uuid> {
    page["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .map(|r| r["id"].as_str().expect("id").parse().expect("uuid"))
        .collect()
}

/// A page's boundary as links write it.
fn cursor(page: &Value, which: &str) -> Option<String> {
    let key = &page[which];
    (!key.is_null()).then(|| {
        let at: chrono::DateTime<chrono::Utc> =
            serde_json::from_value(key["updated_at"].clone()).expect("time");
        format!(
            "{}_{}",
            at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            key["id"].as_str().expect("id")
        )
    })
}

#[sqlx::test(migrations = "../migrations")]
async fn the_queue_pages_oldest_first_forwards_and_backwards(pool: PgPool) {
    let expected = waiting_requests(&pool).await;
    let app = TestApp::spawn(pool).await;
    let gwen = app.session_cookie_for(&governance(1)).await;
    let queue = |form: Form| app.page("requests/queue", &gwen, form);

    // Forwards: 50, 50, 20, each after the last request of the one before.
    let pages = app
        .pages_forward("requests/queue", &gwen, |page| {
            cursor(page, "next").map(|after| Form::new().field("after", after))
        })
        .await;
    let seen: Vec<Uuid> = pages.iter().flat_map(ids).collect();
    assert_eq!(
        seen, expected,
        "every request once, oldest first, ties by id"
    );
    assert_eq!(pages.len(), 3);
    assert!(pages[0]["previous"].is_null());
    assert!(pages[2]["next"].is_null());
    // Each page carries its rows drawn on the server, in the same order.
    for page in &pages {
        let rows = page["rows"].as_str().expect("rows");
        let linked: Vec<Uuid> = rows
            .split("<a href=\"/requests/")
            .skip(1)
            .map(|rest| rest[..36].parse().expect("a request id"))
            .collect();
        assert_eq!(linked, ids(page));
    }

    // Backwards from the last page: the second page again, then the first.
    let before = cursor(&pages[2], "previous").expect("the last page has a previous one");
    let second = queue(Form::new().field("before", before)).await;
    assert_eq!(ids(&second), expected[50..100]);
    let before = cursor(&second, "previous").expect("the second page has a previous one");
    let first = queue(Form::new().field("before", before)).await;
    assert_eq!(ids(&first), expected[..50]);
    assert!(first["previous"].is_null());
    assert_eq!(cursor(&first, "next"), cursor(&pages[0], "next"));

    // The count in the navigation stops past its cap: 101 means "100+".
    let count = app
        .answer("requests/pending-count", Some(&gwen), Form::new())
        .await;
    assert_eq!(count.expect_status(200).json(), 101);
}

#[sqlx::test(migrations = "../migrations")]
async fn each_approver_pages_through_only_what_they_may_decide(pool: PgPool) {
    let expected = waiting_requests(&pool).await;
    // Governance (gwen) has decided the ten oldest: they wait for the owning team only.
    sqlx::query("insert into app_user (subject, display_name) values ('gov-1', 'gov-1 tester')")
        .execute(&pool)
        .await
        .expect("user");
    for id in &expected[..10] {
        sqlx::query(
            "update approval_slot set decided_by = 'gov-1', decision = 'approved',
                    decided_at = now()
              where request_id = $1 and slot = 'governance'",
        )
        .bind(id)
        .execute(&pool)
        .await
        .expect("decided");
    }
    let app = TestApp::spawn(pool).await;
    let otto = app.session_cookie_for(&owner_approver()).await;
    let gwen = app.session_cookie_for(&governance(1)).await;
    let sam = app.session_cookie_for(&other_team_approver()).await;

    let page = app.answer("requests/queue", Some(&otto), Form::new()).await;
    assert_eq!(ids(&page.expect_status(200).json()), expected[..50]);
    let page = app.answer("requests/queue", Some(&gwen), Form::new()).await;
    assert_eq!(
        ids(&page.expect_status(200).json()),
        expected[10..60],
        "what gwen decided is not hers to decide again"
    );
    let page = app.answer("requests/queue", Some(&sam), Form::new()).await;
    let page = page.expect_status(200).json();
    assert!(ids(&page).is_empty(), "another team's approver: {page}");
    assert!(page["next"].is_null());
    let count = app
        .answer("requests/pending-count", Some(&sam), Form::new())
        .await;
    assert_eq!(count.expect_status(200).json(), 0);

    // The owning team's approver pages through all of it, forwards and back; so does someone
    // who approves both for governance and for the team, each request once though it waits
    // for both of their roles.
    let gus = app
        .session_cookie_for(&crate::helpers::user(
            "gus",
            &[
                app::domain::Role::Member,
                app::domain::Role::Approver,
                app::domain::Role::TeamApprover,
            ],
            &["orders"],
        ))
        .await;
    for cookie in [&otto, &gus] {
        let pages = app
            .pages_forward("requests/queue", cookie, |page| {
                cursor(page, "next").map(|after| Form::new().field("after", after))
            })
            .await;
        let seen: Vec<Uuid> = pages.iter().flat_map(ids).collect();
        assert_eq!(seen, expected, "every request once, oldest first");
        let before = cursor(&pages[2], "previous").expect("a previous page");
        let back = app
            .page(
                "requests/queue",
                cookie,
                Form::new().field("before", before),
            )
            .await;
        assert_eq!(ids(&back), expected[50..100]);
        let count = app
            .answer("requests/pending-count", Some(cookie), Form::new())
            .await;
        assert_eq!(count.expect_status(200).json(), 101);
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_bad_page_of_the_queue_is_refused_with_what_is_wrong(pool: PgPool) {
    let expected = waiting_requests(&pool).await;
    let app = TestApp::spawn(pool).await;
    let gwen = app.session_cookie_for(&governance(1)).await;
    let key = format!("2026-12-01T08:00:00.000000Z_{}", expected[0]);
    for (form, message) in [
        (
            Form::new().field("after", "yesterday"),
            "a page of the queue starts after a request",
        ),
        (
            Form::new().field("after", "2026-12-01T08:00:00Z_not-an-id"),
            "a page of the queue starts after a request",
        ),
        (
            Form::new()
                .field("after", key.clone())
                .field("before", key.clone()),
            "not both",
        ),
    ] {
        let answer = app.answer("requests/queue", Some(&gwen), form).await;
        answer.expect_status(422);
        assert!(answer.body.contains(message), "{}", answer.body);
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_queue_page_is_reused_until_a_request_or_a_name_on_it_changes(pool: PgPool) {
    let expected = waiting_requests(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let gwen = app.session_cookie_for(&governance(1)).await;
    let otto = app.session_cookie_for(&owner_approver()).await;
    let first = app.page("requests/queue", &gwen, Form::new()).await;
    let hits = app.listings.queue.hits();
    assert_eq!(app.page("requests/queue", &gwen, Form::new()).await, first);
    assert_eq!(
        app.listings.queue.hits(),
        hits + 1,
        "the second read reuses the page"
    );
    assert_eq!(
        ids(&app.page("requests/queue", &otto, Form::new()).await),
        expected[..50]
    );

    // Each change below is made by another writer (a worker, another server, an operator's SQL)
    // and shows on the next pages.
    let write = |sql: &'static str| {
        let pool = pool.clone();
        async move { sqlx::raw_sql(sql).execute(&pool).await.expect(sql) }
    };
    // Another governance approver decides the oldest request: it leaves gwen's queue, not
    // the owning team's.
    write(
        "insert into app_user (subject, display_name) values ('gov-2', 'gov-2 tester');
         update approval_slot set decided_by = 'gov-2', decision = 'approved', decided_at = now()
          where slot = 'governance'
            and request_id = (select id from access_request order by updated_at, id limit 1);",
    )
    .await;
    let oldest = expected[0];
    let page = app
        .page_until("requests/queue", &gwen, Form::new, |page| {
            !ids(page).contains(&oldest)
        })
        .await;
    assert_eq!(ids(&page), expected[1..51]);
    assert_eq!(
        ids(&app.page("requests/queue", &otto, Form::new()).await),
        expected[..50]
    );

    // The names a row shows: the requester's, the application's, the topic's.
    let shows = |field: &'static str, name: &'static str| {
        move |page: &Value| page["requests"][0][field] == name
    };
    write("update app_user set display_name = 'Rita Renamed' where subject = 'rita'").await;
    app.page_until(
        "requests/queue",
        &gwen,
        Form::new,
        shows("requester", "Rita Renamed"),
    )
    .await;
    write("update application set name = 'payments-renamed' where id in (select application_id from access_request)").await;
    app.page_until(
        "requests/queue",
        &gwen,
        Form::new,
        shows("application", "payments-renamed"),
    )
    .await;
    write("update topic set name = 'orders.renamed' where id in (select topic_id from access_request)").await;
    app.page_until(
        "requests/queue",
        &gwen,
        Form::new,
        shows("topic", "orders.renamed"),
    )
    .await;
}

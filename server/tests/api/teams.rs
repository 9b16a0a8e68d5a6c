//! Team settings: members keep their own team's name and contacts; bad input writes nothing.

use crate::fixtures::{self, OTHERS, REQUESTERS, Snapshot, admin, requester};
use crate::helpers::{Form, TestApp};
use sqlx::PgPool;

fn settings(slug: &str, email: &str, hook: &str) -> Form {
    Form::new()
        .field("input[slug]", slug)
        .field("input[display_name]", "Payments and Ledger")
        .field("input[contact_email]", email)
        .field("input[webhook_url]", hook)
}

#[sqlx::test(migrations = "../migrations")]
async fn members_edit_their_own_team_and_nothing_else(pool: PgPool) {
    fixtures::seed(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let rita = app.session_cookie_for(&requester()).await;

    let before = Snapshot::take(&pool).await;
    let foreign = app
        .answer("teams/update", Some(&rita), settings(OTHERS, "", ""))
        .await;
    foreign.expect_status(422);
    assert!(
        foreign.body.contains("only your own teams"),
        "{}",
        foreign.body
    );
    let bad = app
        .answer(
            "teams/update",
            Some(&rita),
            settings(REQUESTERS, "not-an-email", "ftp://hooks.example.gov/x"),
        )
        .await;
    bad.expect_status(422);
    assert_eq!(bad.invalid_fields(), vec!["Contact email", "Webhook URL"]);
    before.assert_unchanged(&Snapshot::take(&pool).await, "refused team settings");

    app.answer(
        "teams/update",
        Some(&rita),
        settings(
            REQUESTERS,
            "payments@example.gov",
            "https://hooks.example.gov/T1/secret-token",
        ),
    )
    .await
    .expect_status(200);
    let row: (String, Option<String>, Option<String>) =
        sqlx::query_as("select display_name, contact_email, webhook_url from team where slug = $1")
            .bind(REQUESTERS)
            .fetch_one(&pool)
            .await
            .expect("team");
    assert_eq!(row.0, "Payments and Ledger");
    assert_eq!(row.1.as_deref(), Some("payments@example.gov"));
    assert!(row.2.is_some());
    let audited: String = sqlx::query_scalar(
        "select after::text from audit_log where action = 'team.updated' and entity_id = $1",
    )
    .bind(REQUESTERS)
    .fetch_one(&pool)
    .await
    .expect("audit");
    assert!(
        !audited.contains("secret-token"),
        "the webhook's token stays out of the audit log"
    );

    // An admin edits any team and sees them all.
    let ada = app.session_cookie_for(&admin()).await;
    let all = app.answer("teams/mine", Some(&ada), Form::new()).await;
    all.expect_status(200);
    assert!(all.body.contains(OTHERS) && all.body.contains(REQUESTERS));
    app.answer("teams/update", Some(&ada), settings(OTHERS, "", ""))
        .await
        .expect_status(200);
}

//! Routing rules, the four-eyes rule, decisions, withdrawal and the audit chain, against real
//! Postgres through the server functions.

use crate::fixtures::{
    self, AccessForm, LOW_TOPIC, MODERATE_TOPIC, OWNERS, PII_TOPIC, REQUESTERS, Snapshot, admin,
    decide, detail, governance, other_team_approver, owner_approver, requester, submit, withdraw,
};
use crate::helpers::{Form, TestApp, user};
use app::domain::Role;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

const STALE: &str = "This request changed while you were looking at it";

async fn start(pool: &PgPool) -> TestApp {
    fixtures::seed(pool).await;
    TestApp::spawn(pool.clone()).await
}

async fn state_and_version(pool: &PgPool, id: Uuid) -> (String, i32) {
    sqlx::query_as("select state::text, version from access_request where id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("request row")
}

async fn audit_actions(pool: &PgPool, id: Uuid) -> Vec<(String, String)> {
    sqlx::query_as(
        "select actor, action from audit_log
          where entity_type = 'access_request' and entity_id = $1 order by id",
    )
    .bind(id.to_string())
    .fetch_all(pool)
    .await
    .expect("audit rows")
}

async fn verify_chain(app: &TestApp, admin_cookie: &str) -> Value {
    let answer = app
        .answer("audit/verify", Some(admin_cookie), Form::new())
        .await;
    answer.expect_status(200);
    answer.json()
}

#[sqlx::test(migrations = "../migrations")]
async fn consumer_access_is_routed_to_the_owning_team_and_governance_and_sensitive_data_adds_a_second_governance_review(
    pool: PgPool,
) {
    let app = start(&pool).await;
    let rita = app.session_cookie_for(&requester()).await;

    let cases = [
        (LOW_TOPIC, vec!["owning_team", "governance"], None),
        (
            MODERATE_TOPIC,
            vec!["owning_team", "governance", "second_governance"],
            Some("Moderate data"),
        ),
        (
            PII_TOPIC,
            vec!["owning_team", "governance", "second_governance"],
            Some("PII"),
        ),
    ];
    for (topic, expected, why_second) in cases {
        let id = submit(&app, &rita, &AccessForm::consumer(topic)).await;
        let slots = fixtures::slots(&pool, id).await;
        let kinds: Vec<&str> = slots.iter().map(|s| s.slot.as_str()).collect();
        assert_eq!(kinds, expected, "{topic}");
        for slot in &slots {
            let team = (slot.slot == "owning_team").then(|| OWNERS.to_owned());
            assert_eq!(slot.team_slug, team, "{topic}: {slot:?}");
            assert!(slot.reason.trim().len() > 10, "{topic}: {slot:?}");
            assert_eq!(slot.decided_by, None, "{topic}: {slot:?}");
        }
        if let Some(why) = why_second {
            assert!(slots[2].reason.contains(why), "{topic}: {:?}", slots[2]);
        }
        assert_eq!(
            state_and_version(&pool, id).await,
            ("submitted".into(), 1),
            "{topic}"
        );
        assert_eq!(
            audit_actions(&pool, id).await,
            vec![("rita".into(), "request.submitted".into())],
            "{topic}"
        );
        // The requester sees the same slots, with their reasons, and can decide none of them.
        let seen = detail(&app, &rita, id).await;
        let shown: Vec<&str> = seen["slots"]
            .as_array()
            .expect("slots")
            .iter()
            .map(|s| s["kind"].as_str().expect("kind"))
            .collect();
        assert_eq!(shown, expected, "{topic}");
        assert_eq!(seen["decidable_slot"], Value::Null);
        assert_eq!(seen["can_withdraw"], true);
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn the_requester_cannot_approve_their_own_request_whatever_approver_roles_they_hold(
    pool: PgPool,
) {
    let app = start(&pool).await;
    let identities = [
        user("gov-member", &[Role::Member, Role::Approver], &[REQUESTERS]),
        user(
            "owner-member",
            &[Role::Member, Role::TeamApprover],
            &[REQUESTERS, OWNERS],
        ),
        user(
            "both",
            &[Role::Member, Role::Approver, Role::TeamApprover],
            &[REQUESTERS, OWNERS],
        ),
    ];
    for who in identities {
        let cookie = app.session_cookie_for(&who).await;
        let id = submit(&app, &cookie, &AccessForm::consumer(MODERATE_TOPIC)).await;
        let seen = detail(&app, &cookie, id).await;
        assert_eq!(seen["decidable_slot"], Value::Null, "{}", who.subject);

        let before = Snapshot::take(&pool).await;
        decide(&app, &cookie, id, 1, "approve", "")
            .await
            .expect_status(403);
        decide(
            &app,
            &cookie,
            id,
            1,
            "decline",
            "I changed my mind about this.",
        )
        .await
        .expect_status(403);
        decide(
            &app,
            &cookie,
            id,
            1,
            "request_changes",
            "Please add a group.",
        )
        .await
        .expect_status(403);
        before.assert_unchanged(&Snapshot::take(&pool).await, "deciding one's own request");
        assert_eq!(state_and_version(&pool, id).await, ("submitted".into(), 1));

        let queue = app
            .answer("requests/queue", Some(&cookie), Form::new())
            .await;
        queue.expect_status(200);
        assert!(
            !queue.body.contains(&id.to_string()),
            "own request in own queue: {}",
            queue.body
        );
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn one_person_never_fills_two_slots_and_a_second_governance_approver_completes_the_request(
    pool: PgPool,
) {
    let app = start(&pool).await;
    let rita = app.session_cookie_for(&requester()).await;
    let otto = app.session_cookie_for(&owner_approver()).await;
    let first = app.session_cookie_for(&governance(1)).await;
    let second = app.session_cookie_for(&governance(2)).await;
    let id = submit(&app, &rita, &AccessForm::consumer(MODERATE_TOPIC)).await;

    let state = decide(&app, &otto, id, 1, "approve", "").await;
    assert_eq!(state.expect_status(200).json(), "submitted");
    let state = decide(&app, &first, id, 2, "approve", "Fine by governance.").await;
    assert_eq!(state.expect_status(200).json(), "submitted");

    // The same approver reloads and tries again, on the version they now see.
    let seen = detail(&app, &first, id).await;
    assert_eq!(seen["version"], 3);
    assert_eq!(
        seen["decidable_slot"],
        Value::Null,
        "no slot is offered to someone who already decided"
    );
    let before = Snapshot::take(&pool).await;
    let again = decide(&app, &first, id, 3, "approve", "").await;
    again.expect_status(409);
    assert!(
        again.conflict().contains("already given your approval"),
        "{}",
        again.body
    );
    before.assert_unchanged(
        &Snapshot::take(&pool).await,
        "a second approval by one person",
    );
    let open = fixtures::slots(&pool, id).await;
    assert_eq!(open[2].slot, "second_governance");
    assert_eq!(open[2].decided_by, None);
    assert_eq!(open[1].decided_by.as_deref(), Some("gov-1"));
    assert_eq!(state_and_version(&pool, id).await, ("submitted".into(), 3));
    let grants = fixtures::count(&pool, "access_grant").await;
    assert_eq!(grants, 0, "no access before the last approval");

    assert_eq!(
        detail(&app, &second, id).await["decidable_slot"],
        "second_governance"
    );
    let state = decide(&app, &second, id, 3, "approve", "").await;
    assert_eq!(state.expect_status(200).json(), "applying");
    assert_eq!(state_and_version(&pool, id).await, ("applying".into(), 4));
    // The approval wrote the steps that apply it, in the same transaction (the outbox).
    let steps: Vec<String> = sqlx::query_scalar(
        "select kind::text from apply_step where request_id = $1 order by environment, position",
    )
    .bind(id)
    .fetch_all(&pool)
    .await
    .expect("steps");
    assert!(
        steps.starts_with(&["create_credentials".to_owned(), "create_acls".to_owned()]),
        "{steps:?}"
    );

    let deciders: Vec<Option<String>> = fixtures::slots(&pool, id)
        .await
        .into_iter()
        .map(|s| s.decided_by)
        .collect();
    assert_eq!(
        deciders,
        vec![
            Some("otto".into()),
            Some("gov-1".into()),
            Some("gov-2".into())
        ]
    );
    let grants: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "select environment, role::text, consumer_group from access_grant
          where request_id = $1 order by environment",
    )
    .bind(id)
    .fetch_all(&pool)
    .await
    .expect("grants");
    assert_eq!(
        grants,
        vec![
            (
                "prod".into(),
                "consumer".into(),
                Some("payments-ledger".into())
            ),
            (
                "sandbox".into(),
                "consumer".into(),
                Some("payments-ledger".into())
            ),
        ]
    );
    let actions = audit_actions(&pool, id).await;
    assert_eq!(
        actions,
        vec![
            ("rita".into(), "request.submitted".into()),
            ("otto".into(), "request.approved".into()),
            ("gov-1".into(), "request.approved".into()),
            ("gov-2".into(), "request.approved".into()),
        ]
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_team_approver_of_another_team_cannot_fill_the_owning_team_slot(pool: PgPool) {
    let app = start(&pool).await;
    let rita = app.session_cookie_for(&requester()).await;
    let sam = app.session_cookie_for(&other_team_approver()).await;
    let otto = app.session_cookie_for(&owner_approver()).await;
    let id = submit(&app, &rita, &AccessForm::consumer(LOW_TOPIC)).await;

    // Not theirs to see, so for them it does not exist.
    let before = Snapshot::take(&pool).await;
    decide(&app, &sam, id, 1, "approve", "")
        .await
        .expect_status(404);
    decide(&app, &sam, id, 1, "decline", "Not your events to share.")
        .await
        .expect_status(404);
    before.assert_unchanged(&Snapshot::take(&pool).await, "a foreign team approver");
    assert_eq!(fixtures::slots(&pool, id).await[0].decided_by, None);

    let queue_of = |cookie: String| {
        let app = &app;
        async move {
            let answer = app
                .answer("requests/queue", Some(&cookie), Form::new())
                .await;
            answer.expect_status(200);
            answer.body
        }
    };
    assert!(!queue_of(sam.clone()).await.contains(&id.to_string()));
    assert!(queue_of(otto.clone()).await.contains(&id.to_string()));

    decide(&app, &otto, id, 1, "approve", "")
        .await
        .expect_status(200);
    assert_eq!(
        fixtures::slots(&pool, id).await[0].decided_by.as_deref(),
        Some("otto")
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn the_slot_offered_to_an_approver_is_the_slot_their_decision_fills(pool: PgPool) {
    let app = start(&pool).await;
    let rita = app.session_cookie_for(&requester()).await;
    // Governance staff who also approve for the owning team: both open slots fit them.
    let bea = app
        .session_cookie_for(&user(
            "bea",
            &[Role::Member, Role::Approver, Role::TeamApprover],
            &[OWNERS],
        ))
        .await;
    let id = submit(&app, &rita, &AccessForm::consumer(LOW_TOPIC)).await;

    let offered = detail(&app, &bea, id).await["decidable_slot"].clone();
    assert_ne!(offered, Value::Null);
    decide(&app, &bea, id, 1, "approve", "")
        .await
        .expect_status(200);
    let filled: Vec<String> = fixtures::slots(&pool, id)
        .await
        .into_iter()
        .filter(|s| s.decided_by.as_deref() == Some("bea"))
        .map(|s| s.slot)
        .collect();
    assert_eq!(
        filled,
        vec![offered.as_str().expect("slot").to_owned()],
        "the page offered {offered} but the decision filled {filled:?}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn declining_or_sending_back_needs_a_reason_that_the_requester_then_reads(pool: PgPool) {
    let app = start(&pool).await;
    let rita = app.session_cookie_for(&requester()).await;
    let gwen = app.session_cookie_for(&governance(1)).await;

    for (decision, outcome) in [
        ("decline", "declined"),
        ("request_changes", "changes_requested"),
    ] {
        let id = submit(&app, &rita, &AccessForm::consumer(LOW_TOPIC)).await;
        let before = Snapshot::take(&pool).await;
        for blank in ["", "   ", "no"] {
            let refused = decide(&app, &gwen, id, 1, decision, blank).await;
            refused.expect_status(422);
            assert_eq!(
                refused.invalid_fields(),
                vec!["Reason"],
                "{decision} {blank:?}"
            );
        }
        before.assert_unchanged(&Snapshot::take(&pool).await, "a decision without a reason");

        let reason = format!("{decision}: use the payments-ledger-v2 group instead.");
        let answer = decide(&app, &gwen, id, 1, decision, &format!("  {reason} ")).await;
        assert_eq!(answer.expect_status(200).json(), outcome);
        assert_eq!(state_and_version(&pool, id).await, (outcome.into(), 2));

        let seen = detail(&app, &rita, id).await;
        assert_eq!(seen["summary"]["state"], outcome);
        assert_eq!(seen["decision_reason"], reason.as_str());
        assert_eq!(seen["slots"][1]["decision_reason"], reason.as_str());
        assert_eq!(seen["slots"][1]["decision"], outcome);
        assert!(
            seen["timeline"]
                .as_array()
                .expect("timeline")
                .iter()
                .any(|e| e["detail"] == reason.as_str()),
            "{seen}"
        );
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_decision_on_a_stale_version_is_refused_and_writes_nothing(pool: PgPool) {
    let app = start(&pool).await;
    let rita = app.session_cookie_for(&requester()).await;
    let otto = app.session_cookie_for(&owner_approver()).await;
    let gwen = app.session_cookie_for(&governance(1)).await;
    let id = submit(&app, &rita, &AccessForm::consumer(LOW_TOPIC)).await;
    decide(&app, &otto, id, 1, "approve", "")
        .await
        .expect_status(200);

    let before = Snapshot::take(&pool).await;
    for (decision, reason) in [
        ("approve", ""),
        ("decline", "Too broad a purpose for these events."),
        ("request_changes", "Please name an expiry date."),
    ] {
        let stale = decide(&app, &gwen, id, 1, decision, reason).await;
        stale.expect_status(409);
        assert!(stale.conflict().starts_with(STALE), "{}", stale.body);
    }
    let ahead = decide(&app, &gwen, id, 7, "approve", "").await;
    ahead.expect_status(409);
    assert!(ahead.conflict().starts_with(STALE), "{}", ahead.body);
    let stale_withdrawal = withdraw(&app, &rita, id, 1).await;
    stale_withdrawal.expect_status(409);
    assert!(stale_withdrawal.conflict().starts_with(STALE));
    before.assert_unchanged(
        &Snapshot::take(&pool).await,
        "a decision on a stale version",
    );

    assert_eq!(state_and_version(&pool, id).await, ("submitted".into(), 2));
    decide(&app, &gwen, id, 2, "approve", "")
        .await
        .expect_status(200);
}

#[sqlx::test(migrations = "../migrations")]
async fn only_the_requester_may_withdraw_and_only_before_the_request_is_approved(pool: PgPool) {
    let app = start(&pool).await;
    let rita = app.session_cookie_for(&requester()).await;
    let teammate = app
        .session_cookie_for(&user("pia", &[Role::Member], &[REQUESTERS]))
        .await;
    let otto = app.session_cookie_for(&owner_approver()).await;
    let gwen = app.session_cookie_for(&governance(1)).await;

    let id = submit(&app, &rita, &AccessForm::consumer(LOW_TOPIC)).await;
    let before = Snapshot::take(&pool).await;
    withdraw(&app, &teammate, id, 1).await.expect_status(403);
    withdraw(&app, &otto, id, 1).await.expect_status(403);
    withdraw(&app, &gwen, id, 1).await.expect_status(403);
    // A member of an unrelated team may not even learn that the request exists.
    let stranger = app
        .session_cookie_for(&user("sid", &[Role::Member], &[crate::fixtures::OTHERS]))
        .await;
    withdraw(&app, &stranger, id, 1).await.expect_status(404);
    before.assert_unchanged(&Snapshot::take(&pool).await, "a withdrawal by someone else");

    let withdrawn = withdraw(&app, &rita, id, 1).await;
    assert_eq!(withdrawn.expect_status(200).json(), "withdrawn");
    assert_eq!(state_and_version(&pool, id).await, ("withdrawn".into(), 2));
    assert_eq!(
        audit_actions(&pool, id).await.last(),
        Some(&("rita".to_owned(), "request.withdrawn".to_owned()))
    );
    assert_eq!(detail(&app, &rita, id).await["can_withdraw"], false);
    withdraw(&app, &rita, id, 2).await.expect_status(409);
    decide(&app, &gwen, id, 2, "approve", "")
        .await
        .expect_status(409);

    let approved = submit(&app, &rita, &AccessForm::producer(LOW_TOPIC)).await;
    decide(&app, &otto, approved, 1, "approve", "")
        .await
        .expect_status(200);
    decide(&app, &gwen, approved, 2, "approve", "")
        .await
        .expect_status(200);
    assert_eq!(detail(&app, &rita, approved).await["can_withdraw"], false);
    let before = Snapshot::take(&pool).await;
    let refused = withdraw(&app, &rita, approved, 3).await;
    refused.expect_status(409);
    assert!(
        refused.conflict().contains("cannot be withdrawn"),
        "{}",
        refused.body
    );
    before.assert_unchanged(
        &Snapshot::take(&pool).await,
        "withdrawing an approved request",
    );
    assert_eq!(
        state_and_version(&pool, approved).await,
        ("applying".into(), 3)
    );
}

/// Submits, approves, declines and withdraws: every kind of audit entry.
async fn full_journey(app: &TestApp) {
    let rita = app.session_cookie_for(&requester()).await;
    let otto = app.session_cookie_for(&owner_approver()).await;
    let first = app.session_cookie_for(&governance(1)).await;
    let second = app.session_cookie_for(&governance(2)).await;

    let approved = submit(app, &rita, &AccessForm::consumer(PII_TOPIC)).await;
    for (version, cookie) in [(1, &otto), (2, &first), (3, &second)] {
        decide(app, cookie, approved, version, "approve", "")
            .await
            .expect_status(200);
    }
    let declined = submit(app, &rita, &AccessForm::producer(MODERATE_TOPIC)).await;
    decide(
        app,
        &first,
        declined,
        1,
        "decline",
        "Producers of invoices are finance only.",
    )
    .await
    .expect_status(200);
    let sent_back = submit(app, &rita, &AccessForm::consumer(LOW_TOPIC)).await;
    decide(
        app,
        &otto,
        sent_back,
        1,
        "request_changes",
        "Name the expiry date, please.",
    )
    .await
    .expect_status(200);
    let withdrawn = submit(app, &rita, &AccessForm::consumer(LOW_TOPIC)).await;
    withdraw(app, &rita, withdrawn, 1).await.expect_status(200);
}

#[sqlx::test(migrations = "../migrations")]
async fn after_a_full_journey_the_audit_chain_verifies_intact(pool: PgPool) {
    let app = start(&pool).await;
    full_journey(&app).await;
    let ada = app.session_cookie_for(&admin()).await;

    let status = verify_chain(&app, &ada).await;
    let rows = fixtures::count(&pool, "audit_log").await;
    assert_eq!(
        rows, 10,
        "4 submissions, 3 approvals, 1 decline, 1 send-back, 1 withdrawal"
    );
    assert_eq!(status["first_broken_id"], Value::Null, "{status}");
    assert_eq!(status["rows_checked"], rows, "{status}");

    // Every row links to the one before it.
    let unlinked: i64 = sqlx::query_scalar(
        "select count(*) from audit_log l
          where l.prev_hash <> coalesce(
                (select p.hash from audit_log p where p.id < l.id order by p.id desc limit 1),
                '\\x00'::bytea)",
    )
    .fetch_one(&pool)
    .await
    .expect("links");
    assert_eq!(unlinked, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn the_database_refuses_to_update_or_delete_audit_rows(pool: PgPool) {
    let app = start(&pool).await;
    full_journey(&app).await;
    let rows = fixtures::count(&pool, "audit_log").await;

    for statement in [
        "update audit_log set actor = 'mallory' where id = (select min(id) from audit_log)",
        "update audit_log set after = null",
        "delete from audit_log where id = (select max(id) from audit_log)",
        "truncate audit_log",
    ] {
        let error = sqlx::query(statement)
            .execute(&pool)
            .await
            .expect_err(statement);
        assert!(
            error.to_string().contains("append-only"),
            "{statement}: {error}"
        );
    }
    assert_eq!(fixtures::count(&pool, "audit_log").await, rows);
    let mallory: i64 = sqlx::query_scalar("select count(*) from audit_log where actor = 'mallory'")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(mallory, 0);
    let ada = app.session_cookie_for(&admin()).await;
    assert_eq!(
        verify_chain(&app, &ada).await["first_broken_id"],
        Value::Null
    );
}

/// After a full journey: the app, an admin's cookie, and the fifth audit row's id.
async fn journey_with_row_to_tamper(pool: &PgPool) -> (TestApp, String, i64) {
    let app = start(pool).await;
    full_journey(&app).await;
    let ada = app.session_cookie_for(&admin()).await;
    let ids: Vec<i64> = sqlx::query_scalar("select id from audit_log order by id")
        .fetch_all(pool)
        .await
        .expect("ids");
    (app, ada, ids[4])
}

/// Runs statements as the owner of the table, in one transaction, with the append-only guard
/// off in between.
async fn behind_the_triggers_back(pool: &PgPool, statements: Vec<String>) {
    let mut tx = pool.begin().await.expect("transaction");
    let guarded =
        std::iter::once("alter table audit_log disable trigger audit_log_no_update".into())
            .chain(statements)
            .chain(std::iter::once(
                "alter table audit_log enable trigger audit_log_no_update".into(),
            ));
    for statement in guarded {
        sqlx::query(&statement)
            .execute(&mut *tx)
            .await
            .expect("the table owner may do this");
    }
    tx.commit().await.expect("commit");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_row_changed_behind_the_triggers_back_is_reported_by_verify(pool: PgPool) {
    let (app, ada, tampered) = journey_with_row_to_tamper(&pool).await;
    behind_the_triggers_back(
        &pool,
        vec![format!(
            "update audit_log set actor = 'mallory' where id = {tampered}"
        )],
    )
    .await;

    let status = verify_chain(&app, &ada).await;
    assert_eq!(status["first_broken_id"], tampered, "{status}");
    assert_eq!(status["rows_checked"], 5, "{status}");
    // The guard is back on.
    assert!(
        sqlx::query("delete from audit_log")
            .execute(&pool)
            .await
            .is_err()
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_chain_recomputed_with_plain_sha256_after_an_edit_is_still_reported(pool: PgPool) {
    let (app, ada, tampered) = journey_with_row_to_tamper(&pool).await;
    // Everything the database role allows: edit a row, then recompute every later link and
    // SHA-256 hash exactly as the chaining trigger does, so the chain alone looks intact.
    behind_the_triggers_back(
        &pool,
        vec![
            format!("update audit_log set actor = 'mallory' where id = {tampered}"),
            format!(
                "do $$
                 declare r audit_log; prev bytea := '\\x00'::bytea; fresh bytea;
                 begin
                   for r in select * from audit_log order by id loop
                     if r.id >= {tampered} then
                       fresh := audit_log_row_digest(prev, r);
                       update audit_log set prev_hash = prev, hash = fresh where id = r.id;
                       prev := fresh;
                     else
                       prev := r.hash;
                     end if;
                   end loop;
                 end $$"
            ),
        ],
    )
    .await;

    let (_, chain_alone): (i64, Option<i64>) =
        sqlx::query_as("select rows_checked, first_broken_id from audit_log_verify()")
            .fetch_one(&pool)
            .await
            .expect("plain verification");
    assert_eq!(chain_alone, None, "the SHA-256 chain alone was rewritten");
    let status = verify_chain(&app, &ada).await;
    assert_eq!(status["first_broken_id"], tampered, "{status}");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_consumer_group_belongs_to_one_team(pool: PgPool) {
    let app = start(&pool).await;
    // Shipping asks first for the groups starting with `dispatch-`.
    let sam = app
        .session_cookie_for(&user("sam", &[Role::Member], &[fixtures::OTHERS]))
        .await;
    let mut theirs = AccessForm::consumer(LOW_TOPIC);
    theirs.application = fixtures::SHIPPING_APP.to_string();
    theirs.environments = vec!["sandbox".into()];
    theirs.consumer_group = "dispatch-".into();
    app.answer(
        "requests/access",
        Some(&sam),
        theirs.form().field("input[group_is_prefix]", "1"),
    )
    .await
    .expect_status(200);

    let rita = app.session_cookie_for(&requester()).await;
    let before = Snapshot::take(&pool).await;
    for (group, prefix, why) in [
        ("dispatch-eu", false, "belong to team shipping"),
        ("dispatch", true, "belong to team shipping"),
        ("disp-", true, "at least 6 characters"),
    ] {
        let mut mine = AccessForm::consumer(LOW_TOPIC);
        mine.consumer_group = group.into();
        let mut form = mine.form();
        if prefix {
            form = form.field("input[group_is_prefix]", "1");
        }
        let refused = app.answer("requests/access", Some(&rita), form).await;
        refused.expect_status(422);
        assert_eq!(refused.invalid_fields(), vec!["Consumer group"], "{group}");
        assert!(refused.body.contains(why), "{group}: {}", refused.body);
    }
    before.assert_unchanged(&Snapshot::take(&pool).await, "refused consumer groups");

    // A group of its own is fine, and shipping may use more of its own prefix.
    submit(&app, &rita, &AccessForm::consumer(LOW_TOPIC)).await;
    let mut more = theirs.clone();
    more.consumer_group = "dispatch-board".into();
    app.answer("requests/access", Some(&sam), more.form())
        .await
        .expect_status(200);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_request_is_shown_only_to_the_people_concerned(pool: PgPool) {
    let app = start(&pool).await;
    let rita = app.session_cookie_for(&requester()).await;
    let id = submit(&app, &rita, &AccessForm::consumer(LOW_TOPIC)).await;

    let cases = [
        (user("pia", &[Role::Member], &[REQUESTERS]), 200),
        (owner_approver(), 200),
        (governance(1), 200),
        (admin(), 200),
        (other_team_approver(), 404),
        (user("vic", &[Role::Viewer], &[]), 404),
        (user("mo", &[Role::Member], &[OWNERS]), 404),
    ];
    for (who, status) in cases {
        let cookie = app.session_cookie_for(&who).await;
        let answer = app
            .answer(
                "requests/get",
                Some(&cookie),
                Form::new().field("id", id.to_string()),
            )
            .await;
        assert_eq!(answer.status, status, "{}: {}", who.subject, answer.body);
        if status == 404 {
            assert_eq!(answer.json(), "NotFound");
        }
    }
    let unknown = app
        .answer(
            "requests/get",
            Some(&rita),
            Form::new().field("id", Uuid::new_v4().to_string()),
        )
        .await;
    unknown.expect_status(404);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_draft_waits_for_its_requester_and_reaches_approvers_only_when_sent(pool: PgPool) {
    let app = start(&pool).await;
    let rita = app.session_cookie_for(&requester()).await;
    let gwen = app.session_cookie_for(&governance(1)).await;
    let form = AccessForm::consumer(LOW_TOPIC)
        .form()
        .field("input[save_as_draft]", "1");
    let answer = app.answer("requests/access", Some(&rita), form).await;
    answer.expect_status(200);
    let id: Uuid = serde_json::from_value(answer.json()).expect("id");
    assert_eq!(state_and_version(&pool, id).await, ("draft".into(), 1));
    let queue = app.answer("requests/queue", Some(&gwen), Form::new()).await;
    assert!(
        !queue.body.contains(&id.to_string()),
        "approvers do not see drafts"
    );
    decide(&app, &gwen, id, 1, "approve", "")
        .await
        .expect_status(409);
    assert_eq!(detail(&app, &rita, id).await["can_resubmit"], true);

    let sent = app
        .answer(
            "requests/resubmit",
            Some(&rita),
            Form::new()
                .field("id", id.to_string())
                .field("version", "1")
                .field(
                    "purpose",
                    "Reconcile payments against placed orders every night.",
                )
                .field("consumer_group", "payments-ledger"),
        )
        .await;
    assert_eq!(sent.expect_status(200).json(), "submitted");
    let queue = app.answer("requests/queue", Some(&gwen), Form::new()).await;
    assert!(queue.body.contains(&id.to_string()));
    assert_eq!(
        audit_actions(&pool, id).await,
        vec![
            ("rita".into(), "request.drafted".into()),
            ("rita".into(), "request.resubmitted".into())
        ]
    );
}

/// Proposes a new topic as `cookie` and has governance approve it; the request's id.
async fn approved_proposal(app: &TestApp, cookie: &str, form: Form) -> Uuid {
    let answer = app.answer("requests/topic", Some(cookie), form).await;
    answer.expect_status(200);
    let id: Uuid = serde_json::from_value(answer.json()).expect("id");
    let gwen = app.session_cookie_for(&governance(1)).await;
    decide(app, &gwen, id, 1, "approve", "")
        .await
        .expect_status(200);
    id
}

fn proposal(name: &str, schema: &str) -> Form {
    Form::new()
        .field("input[name]", name)
        .field("input[title]", "Payment issued")
        .field(
            "input[description]",
            "Published when a payment is sent to the bank.",
        )
        .field("input[business_domain]", "payments")
        .field("input[classification]", "low")
        .field("input[partitions]", "3")
        .field("input[retention_days]", "7")
        .field("input[cleanup_policy]", "delete")
        .field(
            "input[application]",
            crate::fixtures::PAYMENTS_APP.to_string(),
        )
        .field("input[environments][]", "sandbox")
        .field("input[fit_independent_consumers]", "yes")
        .field("input[fit_replaces_polling]", "yes")
        .field("input[fit_needs_answer]", "no")
        .field("input[fit_prototype]", "no")
        .field("input[fit_high_sensitivity]", "no")
        .field("input[value_schema]", schema)
}

#[sqlx::test(migrations = "../migrations")]
async fn a_new_topic_brings_its_key_schema_and_mode_checked_as_written_and_set_on_approval(
    pool: PgPool,
) {
    let app = start(&pool).await;
    let rita = app.session_cookie_for(&requester()).await;
    let value = r#"{"type": "record", "name": "PaymentIssued", "fields": [{"name": "amount_cents", "type": "long"}]}"#;

    // As written: each schema checked on its own, by the rules of submitting.
    let check = |part: &'static str, schema: &'static str| {
        let (app, rita) = (&app, rita.clone());
        async move {
            app.answer(
                "requests/topic-schema-check",
                Some(&rita),
                Form::new().field("part", part).field("schema", schema),
            )
            .await
        }
    };
    let ok = check("key", r#"{"type": "string"}"#).await;
    assert!(ok.expect_status(200).body.contains("valid"), "{}", ok.body);
    let bad = check("key", r#"{"type": "strng"}"#).await;
    bad.expect_status(422);
    assert_eq!(bad.invalid_fields(), vec!["Key schema (Avro)"]);
    let not_record = check("value", r#"{"type": "string"}"#).await;
    not_record.expect_status(422);
    assert_eq!(not_record.invalid_fields(), vec!["Value schema (Avro)"]);

    // A bad key schema or mode is refused under its own field, and nothing is written.
    let before = Snapshot::take(&pool).await;
    for (key, mode, field) in [
        (r#"{"type": "strng"}"#, "SIDEWAYS", "Compatibility mode"),
        (r#"{"type": "strng"}"#, "FULL", "Key schema (Avro)"),
    ] {
        let refused = app
            .answer(
                "requests/topic",
                Some(&rita),
                proposal("payment_issued", value)
                    .field("input[key_schema]", key)
                    .field("input[compatibility]", mode),
            )
            .await;
        refused.expect_status(422);
        assert_eq!(refused.invalid_fields(), vec![field], "{}", refused.body);
    }
    before.assert_unchanged(&Snapshot::take(&pool).await, "refused proposals");

    approved_proposal(
        &app,
        &rita,
        proposal("payment_issued", value)
            .field("input[key_schema]", r#"{"type": "string"}"#)
            .field("input[compatibility]", "FULL"),
    )
    .await;
    let subjects: Vec<(String, String, i32)> = sqlx::query_as(
        "select s.subject, s.compatibility, v.version from schema_subject s
           join schema_version v on v.subject = s.subject order by s.subject",
    )
    .fetch_all(&pool)
    .await
    .expect("subjects");
    assert_eq!(
        subjects,
        vec![
            ("payment_issued-key".to_owned(), "FULL".to_owned(), 1),
            ("payment_issued-value".to_owned(), "FULL".to_owned(), 1),
        ]
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_new_topic_brings_its_first_schema_checked_when_written_and_registered_on_approval(
    pool: PgPool,
) {
    let app = start(&pool).await;
    let rita = app.session_cookie_for(&requester()).await;
    let before = Snapshot::take(&pool).await;
    let broken = app
        .answer(
            "requests/topic",
            Some(&rita),
            proposal(
                "payment_issued",
                "{\"type\": \"record\",\n  \"name\": \"Payment\" \"fields\": []}",
            ),
        )
        .await;
    broken.expect_status(422);
    assert_eq!(broken.invalid_fields(), vec!["Value schema (Avro)"]);
    assert!(broken.body.contains("line 2"), "{}", broken.body);
    let unknown_type = app
        .answer(
            "requests/topic",
            Some(&rita),
            proposal(
                "payment_issued",
                r#"{"type": "record", "name": "Payment", "fields": [{"name": "amount", "type": "money"}]}"#,
            ),
        )
        .await;
    unknown_type.expect_status(422);
    assert!(
        unknown_type
            .body
            .contains("field `amount`: unknown type `money`"),
        "{}",
        unknown_type.body
    );
    before.assert_unchanged(
        &Snapshot::take(&pool).await,
        "a proposal with a broken schema",
    );

    let schema = r#"{"type": "record", "name": "PaymentIssued", "namespace": "bus.payments",
        "fields": [{"name": "amount_cents", "type": "long", "doc": "What was paid, in cents."},
                   {"name": "paid_on", "type": {"type": "int", "logicalType": "date"}}]}"#;
    approved_proposal(&app, &rita, proposal("payment_issued", schema)).await;
    let versions: Vec<(String, i32)> =
        sqlx::query_as("select subject, version from schema_version order by subject")
            .fetch_all(&pool)
            .await
            .expect("versions");
    assert_eq!(versions, vec![("payment_issued-value".to_owned(), 1)]);
    let topic = app
        .answer(
            "catalog/topic",
            Some(&rita),
            Form::new().field("name", "payment_issued"),
        )
        .await;
    topic.expect_status(200);
    let shown = &topic.json()["value_schema"];
    assert_eq!(shown["version"], 1);
    assert_eq!(shown["compatibility"], "BACKWARD");
    assert_eq!(shown["fields"][0]["name"], "amount_cents");
    assert_eq!(shown["fields"][0]["doc"], "What was paid, in cents.");
    let example: serde_json::Value =
        serde_json::from_str(shown["example"].as_str().expect("example")).expect("json");
    assert_eq!(
        example,
        serde_json::json!({ "amount_cents": 1250, "paid_on": "2026-11-27" })
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn environments_without_pii_never_get_pii_and_a_pii_application_writing_there_goes_to_governance(
    pool: PgPool,
) {
    let app = start(&pool).await;
    let rita = app.session_cookie_for(&requester()).await;

    // A PII topic asked for in the sandbox, which allows none: refused, nothing written.
    let mut asked = AccessForm::consumer(PII_TOPIC);
    asked.environments = vec!["sandbox".into()];
    let before = Snapshot::take(&pool).await;
    let answer = app
        .answer("requests/access", Some(&rita), asked.form())
        .await;
    answer.expect_status(422);
    assert_eq!(answer.invalid_fields(), vec!["Environments"]);
    assert!(
        answer.body.contains("Sandbox allows no PII or PHI"),
        "{}",
        answer.body
    );
    assert_eq!(Snapshot::take(&pool).await, before, "nothing is written");

    // An application that handles PII writing to the sandbox: governance is told so and decides.
    let mut producer = AccessForm::producer(LOW_TOPIC);
    producer.environments = vec!["sandbox".into()];
    let id = submit(&app, &rita, &producer).await;
    let slots = fixtures::slots(&pool, id).await;
    let governance = slots
        .iter()
        .find(|s| s.slot == "governance")
        .expect("a governance slot");
    assert!(
        governance
            .reason
            .contains("handles PII and Sandbox allows none"),
        "{governance:?}"
    );
    // Reading from the sandbox writes nothing there: no such warning.
    let mut reader = AccessForm::consumer(LOW_TOPIC);
    reader.environments = vec!["sandbox".into()];
    reader.consumer_group = "payments-sandbox-reader".into();
    let id = submit(&app, &rita, &reader).await;
    assert!(
        fixtures::slots(&pool, id)
            .await
            .iter()
            .all(|s| !s.reason.contains("handles PII")),
        "a consumer writes nothing"
    );
}

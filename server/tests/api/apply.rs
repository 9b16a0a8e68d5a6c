//! Approvals reach the real clusters: a client with the application's SCRAM credentials can
//! produce or consume after approval and not after revocation; another application is refused;
//! a worker that dies mid-step leaves nothing half done; drift is restored or reported.

use crate::fixtures::{decide, governance};
use crate::helpers::{Form, TestApp, settings, user};
use app::domain::Role;
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord};
use secrecy::SecretString;
use server::apply::{ApplyWorker, Clusters, Outcome};
use server::config::{KafkaEnvironmentSettings, Settings};
use server::kafka::admin::{AclFilter, KafkaAdmin, TopicSpec};
use server::kafka::{ClusterCheckError, check_cluster, client_config_as};
use server::reconcile::Reconciler;
use sqlx::PgPool;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Names unique to one test, so tests sharing the cluster never see each other's grants.
struct World {
    owners: String,
    requesters: String,
    app: Uuid,
    app_name: String,
    other_app: Uuid,
    topic: String,
}

async fn world(pool: &PgPool) -> World {
    let tag = &Uuid::new_v4().simple().to_string()[..10];
    let w = World {
        owners: format!("own-{tag}"),
        requesters: format!("req-{tag}"),
        app: Uuid::new_v4(),
        app_name: format!("Ledger {tag}"),
        other_app: Uuid::new_v4(),
        topic: format!("orders_applied_{tag}"),
    };
    sqlx::raw_sql(&format!(
        "insert into team (slug, display_name) values ('{o}', 'Owners'), ('{r}', 'Requesters');
         insert into application (id, team_slug, name, system_registration_id, security_package_id,
                fisma_rating, ato_status, ato_date, privacy_assessment, contains_pii,
                hosting_location, technical_contact, product_contact) values
            ('{a}', '{r}', '{n}', 'SR-1', 'SP-1', 'low', 'granted', '2026-01-15', 'completed', false,
                'cloud_account', 'dev@example.test', 'owner@example.test'),
            ('{b}', '{r}', 'Other {n}', 'SR-2', 'SP-2', 'low', 'granted', '2026-01-15', 'completed', false,
                'cloud_account', 'dev@example.test', 'owner@example.test');
         insert into topic (id, name, title, description, business_domain, lifecycle, owning_team,
                data_classification, contains_pii, partitions, retention_ms, cleanup_policy) values
            (gen_random_uuid(), '{t}', 'Order applied', 'An order reached the ledger.', 'orders',
                'production', '{o}', 'low', false, 2, 604800000, 'delete');
         insert into topic_environment (topic_id, environment) select id, 'sandbox' from topic;",
        o = w.owners,
        r = w.requesters,
        a = w.app,
        b = w.other_app,
        n = w.app_name,
        t = w.topic,
    ))
    .execute(pool)
    .await
    .expect("world");
    w
}

fn sandbox(settings: &Settings) -> KafkaEnvironmentSettings {
    settings.kafka.environments["sandbox"].clone()
}

fn worker(pool: &PgPool, settings: &Settings) -> ApplyWorker {
    ApplyWorker::new(
        pool.clone(),
        Clusters::from_settings(settings).expect("clusters"),
        app::credentials::CredentialVault::from_base64(&settings.kafka.credential_key)
            .expect("key"),
        settings.apply.clone(),
    )
}

/// Runs the worker until nothing is due.
async fn drain(worker: &ApplyWorker) -> usize {
    let mut applied = 0;
    for _ in 0..200 {
        match worker.try_once().await.expect("worker step") {
            Outcome::Idle => return applied,
            Outcome::Applied => applied += 1,
            Outcome::NotApplied => panic!("a step was not applied"),
        }
    }
    panic!("the worker never ran out of steps");
}

fn admin(settings: &Settings) -> KafkaAdmin {
    KafkaAdmin::new(
        &server::kafka::client_config(&sandbox(settings)),
        Duration::from_secs(10),
    )
    .expect("admin")
}

async fn create_topic(settings: &Settings, name: &str) {
    admin(settings)
        .create_topic(&TopicSpec {
            name: name.to_owned(),
            partitions: 1,
            replication_factor: 1,
            configs: vec![],
        })
        .await
        .expect("topic");
}

fn producer(env: &KafkaEnvironmentSettings, user: &str, password: &str) -> FutureProducer {
    let mut config = client_config_as(env, user, password);
    config
        .set("message.timeout.ms", "4000")
        .set("enable.idempotence", "true");
    config.create().expect("producer")
}

/// Produces one record; the error code when the broker refuses.
async fn produce(
    env: &KafkaEnvironmentSettings,
    user: &str,
    password: &str,
    topic: &str,
) -> Result<(), RDKafkaErrorCode> {
    let producer = producer(env, user, password);
    producer
        .send(
            FutureRecord::to(topic).key("k").payload("v"),
            Duration::from_secs(5),
        )
        .await
        .map(|_| ())
        .map_err(|(e, _)| match e {
            KafkaError::MessageProduction(code) => code,
            other => other.rdkafka_error_code().unwrap_or(RDKafkaErrorCode::Fail),
        })
}

/// ACL changes reach the broker a moment after the controller commits them.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("{what}: not within 20 s");
}

async fn state(pool: &PgPool, id: Uuid) -> (String, i32) {
    sqlx::query_as("select state::text, version from access_request where id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("request")
}

/// Submits and fully approves an access request for the world's application in the sandbox.
async fn approved_request(app: &TestApp, w: &World, kind: &str, group: &str) -> Uuid {
    let rita = app
        .session_cookie_for(&user("rita", &[Role::Member], &[&w.requesters]))
        .await;
    let form = Form::new()
        .field("input[kind]", kind)
        .field("input[topic]", &w.topic)
        .field("input[application]", w.app.to_string())
        .field("input[environments][]", "sandbox")
        .field("input[consumer_group]", group)
        .field(
            "input[group_is_prefix]",
            if group.ends_with('-') { "1" } else { "" },
        )
        .field(
            "input[purpose]",
            "Record every applied order in the ledger.",
        )
        .field("input[expiry]", "");
    let answer = app.answer("requests/access", Some(&rita), form).await;
    answer.expect_status(200);
    let id: Uuid = serde_json::from_value(answer.json()).expect("id");
    let otto = app
        .session_cookie_for(&user(
            "otto",
            &[Role::Member, Role::TeamApprover],
            &[&w.owners],
        ))
        .await;
    decide(app, &otto, id, 1, "approve", "")
        .await
        .expect_status(200);
    let gwen = app.session_cookie_for(&governance(1)).await;
    decide(app, &gwen, id, 2, "approve", "")
        .await
        .expect_status(200);
    id
}

/// A credential call (`apply/reveal-credential`, `apply/rotate-credential`) for the world's
/// application in the sandbox.
async fn credential(
    app: &TestApp,
    w: &World,
    cookie: &str,
    endpoint: &str,
) -> crate::helpers::Answer {
    app.answer(
        endpoint,
        Some(cookie),
        Form::new()
            .field("application", w.app.to_string())
            .field("environment", "sandbox"),
    )
    .await
}

/// Asks for a new password, as the application's team.
async fn rotate(app: &TestApp, w: &World, cookie: &str) -> crate::helpers::Answer {
    credential(app, w, cookie, "apply/rotate-credential").await
}

async fn reveal(app: &TestApp, w: &World, cookie: &str) -> crate::helpers::Answer {
    credential(app, w, cookie, "apply/reveal-credential").await
}

/// The application's principal and the password shown once to its team.
async fn revealed(app: &TestApp, w: &World, cookie: &str) -> (String, String) {
    let secret = reveal(app, w, cookie).await;
    secret.expect_status(200);
    let field = |name: &str| secret.json()[name].as_str().expect(name).to_owned();
    (field("principal"), field("password"))
}

#[sqlx::test(migrations = "../migrations")]
async fn an_approved_producer_can_write_another_application_cannot_and_revocation_takes_it_away(
    pool: PgPool,
) {
    let settings = settings();
    let env = sandbox(&settings);
    let w = world(&pool).await;
    create_topic(&settings, &w.topic).await;
    let app = TestApp::spawn(pool.clone()).await;
    let worker = worker(&pool, &settings);

    let id = approved_request(&app, &w, "producer_access", "").await;
    assert_eq!(state(&pool, id).await.0, "applying");
    let applied = drain(&worker).await;
    assert_eq!(applied, 2, "credentials, then ACLs");
    assert_eq!(state(&pool, id).await.0, "active");

    // The password is shown once to the owning team, never to anyone else, never twice.
    let rita = app
        .session_cookie_for(&user("rita", &[Role::Member], &[&w.requesters]))
        .await;
    let outsider = app
        .session_cookie_for(&user("olga", &[Role::Member], &[&w.owners]))
        .await;
    reveal(&app, &w, &outsider).await.expect_status(404);
    let shown = reveal(&app, &w, &rita).await;
    shown.expect_status(200);
    let secret = shown.json();
    let principal = secret["principal"].as_str().expect("principal").to_owned();
    let password = secret["password"].as_str().expect("password").to_owned();
    assert_eq!(
        principal,
        app::domain::principal_name(&w.requesters, &w.app_name, &crate::helpers::sandbox())
    );
    assert!(password.len() >= 40);
    let again = reveal(&app, &w, &rita).await;
    again.expect_status(409);
    assert!(again.conflict().contains("already shown"), "{}", again.body);
    let stored: i64 = sqlx::query_scalar("select count(*) from credential_reveal")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(
        stored, 0,
        "nothing of the password is kept after it was shown"
    );

    eventually("the approved producer writes", || {
        let (env, principal, password, topic) = (
            env.clone(),
            principal.clone(),
            password.clone(),
            w.topic.clone(),
        );
        async move { produce(&env, &principal, &password, &topic).await.is_ok() }
    })
    .await;

    // Another application, with valid credentials of its own, is refused.
    let other = format!("{principal}-other");
    let other_password = SecretString::from("other-app-password-123".to_owned());
    admin(&settings)
        .upsert_scram_credential(&other, &other_password)
        .await
        .expect("other credential");
    // Signing in proves the broker has the new credential; only then does a refusal mean the
    // missing ACLs.
    eventually("the other application signs in", || {
        let config = client_config_as(&env, &other, "other-app-password-123");
        async move { check_cluster(config, Duration::from_secs(3)).await.is_ok() }
    })
    .await;
    assert_eq!(
        produce(&env, &other, "other-app-password-123", &w.topic).await,
        Err(RDKafkaErrorCode::TopicAuthorizationFailed)
    );

    // The registry knows the application's password too.
    let registry = |password: String| {
        let (app, principal) = (&app, principal.clone());
        async move {
            app.client
                .get(app.url("/subjects"))
                .basic_auth(principal, Some(password))
                .send()
                .await
                .expect("registry")
                .status()
                .as_u16()
        }
    };
    assert_eq!(registry(password.clone()).await, 200);

    // Revoked by the team: the ACLs go, and with the application's last grant its credential.
    let version = state(&pool, id).await.1;
    let revoked = app
        .answer(
            "apply/revoke",
            Some(&rita),
            Form::new()
                .field("id", id.to_string())
                .field("version", version.to_string())
                .field("reason", "The ledger moved to another topic."),
        )
        .await;
    revoked.expect_status(200);
    assert_eq!(revoked.json(), "revoked");
    assert_eq!(
        drain(&worker).await,
        2,
        "its ACLs, then its credential (no grant left)"
    );
    // No live credential without a live grant: the same client cannot even sign in.
    eventually("the revoked application can no longer authenticate", || {
        let config = client_config_as(&env, &principal, &password);
        async move {
            check_cluster(config, Duration::from_secs(3)).await
                == Err(ClusterCheckError::AuthenticationFailed)
        }
    })
    .await;
    assert!(
        produce(&env, &principal, &password, &w.topic)
            .await
            .is_err()
    );
    assert_eq!(
        registry(password.clone()).await,
        401,
        "the registry refuses it at once"
    );
    let (credential_set, waiting): (bool, i64) = sqlx::query_as(
        "select credential_set_at is not null,
                (select count(*) from credential_reveal where application_id = $1)
           from kafka_principal where application_id = $1 and environment = 'sandbox'",
    )
    .bind(w.app)
    .fetch_one(&pool)
    .await
    .expect("principal");
    assert_eq!((credential_set, waiting), (false, 0));
    let left = admin(&settings)
        .describe_acls(&AclFilter {
            principal: Some(format!("User:{principal}")),
            ..AclFilter::default()
        })
        .await
        .expect("describe");
    assert!(left.is_empty(), "{left:?}");
    let _ = admin(&settings).delete_scram_credential(&other).await;
    let _ = admin(&settings).delete_scram_credential(&principal).await;
}

#[sqlx::test(migrations = "../migrations")]
async fn an_approved_consumer_reads_with_its_group_prefix_and_expiry_takes_it_away(pool: PgPool) {
    let settings = settings();
    let env = sandbox(&settings);
    let w = world(&pool).await;
    create_topic(&settings, &w.topic).await;
    let app = TestApp::spawn(pool.clone()).await;
    let worker = worker(&pool, &settings);
    let id = approved_request(&app, &w, "consumer_access", "ledger-").await;
    drain(&worker).await;
    assert_eq!(state(&pool, id).await.0, "active");
    let rita = app
        .session_cookie_for(&user("rita", &[Role::Member], &[&w.requesters]))
        .await;
    let (principal, password) = revealed(&app, &w, &rita).await;
    // Something to read, written by the portal's principal.
    let portal_env = sandbox(&settings);
    let portal = producer(
        &portal_env,
        &portal_env.sasl_username,
        secrecy::ExposeSecret::expose_secret(&portal_env.sasl_password),
    );
    portal
        .send(
            FutureRecord::to(&w.topic).key("k").payload("hello"),
            Duration::from_secs(5),
        )
        .await
        .expect("seed record");

    let consume = |group: String| {
        let (env, principal, password, topic) = (
            env.clone(),
            principal.clone(),
            password.clone(),
            w.topic.clone(),
        );
        async move {
            let mut config = client_config_as(&env, &principal, &password);
            config
                .set("group.id", &group)
                .set("auto.offset.reset", "earliest")
                .set("enable.auto.commit", "false");
            let consumer: StreamConsumer = config.create().expect("consumer");
            consumer.subscribe(&[&topic]).expect("subscribe");
            match tokio::time::timeout(Duration::from_secs(6), consumer.recv()).await {
                Ok(Ok(message)) => Ok(message.payload().map(<[u8]>::to_vec)),
                Ok(Err(e)) => Err(e.rdkafka_error_code()),
                Err(_) => Err(None),
            }
        }
    };
    eventually(
        "the consumer reads with a group under its prefix",
        || async move { consume("ledger-nightly".into()).await == Ok(Some(b"hello".to_vec())) },
    )
    .await;
    assert!(
        consume("someone-elses-group".into()).await.is_err(),
        "a group outside the approved prefix is refused"
    );

    // The grant's date passes: the reconciler's expiry revokes it and the worker removes the ACLs.
    sqlx::query("update access_grant set expires_on = current_date - 1 where request_id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .expect("backdate");
    let expired = server::reconcile::store::expire_grants(&pool)
        .await
        .expect("expire");
    assert_eq!(expired, 1);
    assert_eq!(state(&pool, id).await.0, "expired");
    drain(&worker).await;
    eventually("the expired consumer is refused", || async move {
        consume("ledger-nightly".into()).await.is_err()
    })
    .await;
    let _ = admin(&settings).delete_scram_credential(&principal).await;
}

#[sqlx::test(migrations = "../migrations")]
async fn a_worker_that_dies_mid_step_leaves_the_step_to_the_next_one_which_applies_it_once(
    pool: PgPool,
) {
    let settings = settings();
    let w = world(&pool).await;
    create_topic(&settings, &w.topic).await;
    let app = TestApp::spawn(pool.clone()).await;
    let id = approved_request(&app, &w, "producer_access", "").await;

    // Two workers claim the two steps (the ACLs do not wait for the password) and die before
    // recording anything: their transactions and connections end, as when the process is killed.
    {
        let mut first = pool.begin().await.expect("tx");
        let a = server::apply::store::claim(&mut first)
            .await
            .expect("claim")
            .expect("a step");
        let mut second = pool.begin().await.expect("tx");
        let b = server::apply::store::claim(&mut second)
            .await
            .expect("claim")
            .expect("a step");
        assert_ne!(a.id, b.id, "a held step is never handed out twice");
        let mut third = pool.begin().await.expect("tx");
        assert!(
            server::apply::store::claim(&mut third)
                .await
                .expect("claim")
                .is_none(),
            "both steps are held"
        );
        // Their sessions end: Postgres releases what a session held when it ends, which an
        // explicit rollback reaches at once (a dropped transaction is rolled back later, in the
        // background, and the worker below could still find both steps held).
        third.rollback().await.expect("end");
        second.rollback().await.expect("end");
        first.rollback().await.expect("end");
    }
    let worker = worker(&pool, &settings);
    assert_eq!(drain(&worker).await, 2);
    assert_eq!(state(&pool, id).await.0, "active");
    let attempts: Vec<(String, i32)> = sqlx::query_as(
        "select status::text, attempts from apply_step where request_id = $1 order by position",
    )
    .bind(id)
    .fetch_all(&pool)
    .await
    .expect("steps");
    assert_eq!(attempts, vec![("done".into(), 1), ("done".into(), 1)]);
    let applied: i64 = sqlx::query_scalar(
        "select count(*) from audit_log where entity_id = $1 and action = 'request.applied'",
    )
    .bind(id.to_string())
    .fetch_one(&pool)
    .await
    .expect("audit");
    assert_eq!(applied, 1, "applied exactly once");
    let principal =
        app::domain::principal_name(&w.requesters, &w.app_name, &crate::helpers::sandbox());
    let _ = admin(&settings).delete_scram_credential(&principal).await;
}

#[sqlx::test(migrations = "../migrations")]
async fn drift_an_acl_deleted_behind_the_portals_back_is_restored_and_one_added_is_reported(
    pool: PgPool,
) {
    let settings = settings();
    let w = world(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let worker = worker(&pool, &settings);
    let reconciler = Reconciler::new(
        pool.clone(),
        Clusters::from_settings(&settings).expect("clusters"),
        settings.apply.clone(),
    );
    // The catalog topic does not exist on the cluster yet: the first pass creates it.
    let first = reconciler
        .run_once(&crate::helpers::sandbox())
        .await
        .expect("first pass");
    assert!(
        first.restored.contains(&format!("topic:{}", w.topic)),
        "{:?}",
        first.restored
    );
    let id = approved_request(&app, &w, "producer_access", "").await;
    drain(&worker).await;
    assert_eq!(state(&pool, id).await.0, "active");

    let principal = format!(
        "User:{}",
        app::domain::principal_name(&w.requesters, &w.app_name, &crate::helpers::sandbox())
    );
    let mine = AclFilter {
        principal: Some(principal.clone()),
        ..AclFilter::default()
    };
    let kafka = admin(&settings);
    let granted = kafka.describe_acls(&mine).await.expect("describe");
    assert_eq!(granted.len(), 2);
    // Behind the portal's back: one of its ACLs deleted, and an unknown one added.
    kafka
        .delete_acls(&[AclFilter::from(&granted[0])])
        .await
        .expect("delete");
    let mut stranger = granted[0].clone();
    stranger.principal = format!("User:stranger-{}", Uuid::new_v4().simple());
    kafka
        .create_acls(std::slice::from_ref(&stranger))
        .await
        .expect("add");
    eventually("the broker shows both changes", || {
        let (kafka, mine, stranger) = (kafka.clone(), mine.clone(), stranger.clone());
        async move {
            let stranger_seen = kafka
                .describe_acls(&AclFilter::from(&stranger))
                .await
                .is_ok_and(|found| found.len() == 1);
            let mine_left = kafka.describe_acls(&mine).await.map(|a| a.len());
            stranger_seen && mine_left.is_ok_and(|n| n == 1)
        }
    })
    .await;

    let pass = reconciler
        .run_once(&crate::helpers::sandbox())
        .await
        .expect("pass");
    assert!(
        pass.restored.iter().any(|k| k.contains(&principal)),
        "{:?}",
        pass.restored
    );
    eventually("the deleted ACL is back", || {
        let (kafka, mine) = (kafka.clone(), mine.clone());
        async move { kafka.describe_acls(&mine).await.is_ok_and(|a| a.len() == 2) }
    })
    .await;
    let reported: Vec<(Uuid, String)> = sqlx::query_as(
        "select id, description from drift_finding where resolved_at is null and resource_key like $1",
    )
    .bind(format!("%{}%", stranger.principal))
    .fetch_all(&pool)
    .await
    .expect("findings");
    assert_eq!(reported.len(), 1, "the unknown ACL is reported once");
    assert!(reported[0].1.contains(&stranger.principal));

    // An admin removes it: the next pass deletes it from the cluster, audited.
    let ada = app.session_cookie_for(&crate::fixtures::admin()).await;
    app.answer(
        "drift/resolve",
        Some(&ada),
        Form::new()
            .field("id", reported[0].0.to_string())
            .field("action", "remove"),
    )
    .await
    .expect_status(200);
    let removed = reconciler
        .run_once(&crate::helpers::sandbox())
        .await
        .expect("pass");
    assert_eq!(removed.removed, 1);
    let left = kafka
        .describe_acls(&AclFilter {
            principal: Some(stranger.principal.clone()),
            ..AclFilter::default()
        })
        .await
        .expect("describe");
    assert!(left.is_empty(), "{left:?}");
    let audited: Vec<String> = sqlx::query_scalar(
        "select action from audit_log where entity_type = 'drift_finding' order by id",
    )
    .fetch_all(&pool)
    .await
    .expect("audit");
    assert_eq!(audited, vec!["drift.removal_requested", "drift.removed"]);
    let _ = kafka
        .delete_scram_credential(principal.trim_start_matches("User:"))
        .await;
}

#[sqlx::test(migrations = "../migrations")]
async fn an_approved_topic_change_raises_partitions_and_sets_configs_on_the_cluster(pool: PgPool) {
    let settings = settings();
    let w = world(&pool).await;
    let owner_app = Uuid::new_v4();
    sqlx::query(
        "insert into application (id, team_slug, name, system_registration_id, security_package_id,
                fisma_rating, ato_status, privacy_assessment, contains_pii, hosting_location,
                technical_contact, product_contact)
         values ($1, $2, 'Order Writer', 'SR-3', 'SP-3', 'low', 'granted', 'completed', false,
                 'cloud_account', 'dev@example.test', 'owner@example.test')",
    )
    .bind(owner_app)
    .bind(&w.owners)
    .execute(&pool)
    .await
    .expect("owner app");
    admin(&settings)
        .create_topic(&TopicSpec {
            name: w.topic.clone(),
            partitions: 2,
            replication_factor: 1,
            configs: vec![],
        })
        .await
        .expect("topic");
    let app = TestApp::spawn(pool.clone()).await;
    let olga = app
        .session_cookie_for(&user("olga", &[Role::Member], &[&w.owners]))
        .await;
    let rita = app
        .session_cookie_for(&user("rita", &[Role::Member], &[&w.requesters]))
        .await;
    let change = |partitions: &str, application: Uuid| {
        Form::new()
            .field("input[topic]", &w.topic)
            .field("input[application]", application.to_string())
            .field("input[partitions]", partitions)
            .field("input[retention_days]", "14")
            .field("input[cleanup_policy]", "compact_delete")
            .field(
                "input[purpose]",
                "Peak season needs more consumers in parallel.",
            )
    };
    let fewer = app
        .answer("requests/topic-change", Some(&olga), change("1", owner_app))
        .await;
    fewer.expect_status(422);
    assert!(fewer.body.contains("can only be raised"), "{}", fewer.body);
    let not_owner = app
        .answer("requests/topic-change", Some(&rita), change("4", w.app))
        .await;
    not_owner.expect_status(422);
    assert!(
        not_owner.body.contains("only its owning team"),
        "{}",
        not_owner.body
    );
    let nothing: i64 = sqlx::query_scalar("select count(*) from access_request")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(nothing, 0, "refused changes write nothing");

    let proposed = app
        .answer("requests/topic-change", Some(&olga), change("4", owner_app))
        .await;
    proposed.expect_status(200);
    let id: Uuid = serde_json::from_value(proposed.json()).expect("id");
    let gwen = app.session_cookie_for(&governance(1)).await;
    let decided = decide(&app, &gwen, id, 1, "approve", "").await;
    decided.expect_status(200);
    assert_eq!(decided.json(), "applying");
    assert_eq!(
        drain(&worker(&pool, &settings)).await,
        1,
        "one settings step in the sandbox"
    );
    assert_eq!(state(&pool, id).await.0, "active");

    let kafka = admin(&settings);
    eventually("the cluster has the new settings", || {
        let (kafka, topic) = (kafka.clone(), w.topic.clone());
        async move {
            kafka
                .describe_topic(&topic, &["retention.ms", "cleanup.policy"])
                .await
                .ok()
                .flatten()
                .is_some_and(|s| s.partitions == 4)
        }
    })
    .await;
    let state = kafka
        .describe_topic(&w.topic, &["retention.ms", "cleanup.policy"])
        .await
        .expect("describe")
        .expect("topic");
    assert_eq!(state.configs["retention.ms"], "1209600000");
    assert_eq!(state.configs["cleanup.policy"], "compact,delete");
    let catalog: (i32, i64, String) = sqlx::query_as(
        "select partitions, retention_ms, cleanup_policy::text from topic where name = $1",
    )
    .bind(&w.topic)
    .fetch_one(&pool)
    .await
    .expect("catalog");
    assert_eq!(catalog, (4, 1_209_600_000, "compact_delete".into()));
    let _ = kafka.delete_topic(&w.topic).await;
}

#[sqlx::test(migrations = "../migrations")]
async fn the_owning_team_asks_to_revoke_another_teams_access_and_governance_agrees(pool: PgPool) {
    let settings = settings();
    let w = world(&pool).await;
    create_topic(&settings, &w.topic).await;
    let app = TestApp::spawn(pool.clone()).await;
    let worker = worker(&pool, &settings);
    let granted = approved_request(&app, &w, "producer_access", "").await;
    drain(&worker).await;
    assert_eq!(state(&pool, granted).await.0, "active");

    // The requesting team cannot use this route; the owning team can.
    let rita = app
        .session_cookie_for(&user("rita", &[Role::Member], &[&w.requesters]))
        .await;
    let ask = |reason: &str| {
        Form::new()
            .field("id", granted.to_string())
            .field("reason", reason)
    };
    app.answer(
        "requests/revoke",
        Some(&rita),
        ask("We no longer need it at all."),
    )
    .await
    .expect_status(403);
    let olga = app
        .session_cookie_for(&user("olga", &[Role::Member], &[&w.owners]))
        .await;
    let short = app.answer("requests/revoke", Some(&olga), ask("no")).await;
    short.expect_status(422);
    assert_eq!(short.invalid_fields(), vec!["Reason"]);
    let asked = app
        .answer(
            "requests/revoke",
            Some(&olga),
            ask("This team now reads the events from a copy."),
        )
        .await;
    asked.expect_status(200);
    let id: Uuid = serde_json::from_value(asked.json()).expect("id");
    assert_eq!(state(&pool, id).await.0, "submitted");

    // A second person of the owning team and governance agree.
    let otto = app
        .session_cookie_for(&user(
            "otto",
            &[Role::Member, Role::TeamApprover],
            &[&w.owners],
        ))
        .await;
    decide(&app, &otto, id, 1, "approve", "")
        .await
        .expect_status(200);
    let gwen = app.session_cookie_for(&governance(1)).await;
    decide(&app, &gwen, id, 2, "approve", "")
        .await
        .expect_status(200);
    assert_eq!(state(&pool, granted).await.0, "revoked");
    assert_eq!(
        drain(&worker).await,
        2,
        "the ACLs, then the credential of an application left with no grant"
    );
    assert_eq!(state(&pool, id).await.0, "active");
    let principal = format!(
        "User:{}",
        app::domain::principal_name(&w.requesters, &w.app_name, &crate::helpers::sandbox())
    );
    let kafka = admin(&settings);
    eventually("the revoked ACLs are gone", || {
        let (kafka, principal) = (kafka.clone(), principal.clone());
        async move {
            kafka
                .describe_acls(&AclFilter {
                    principal: Some(principal),
                    ..AclFilter::default()
                })
                .await
                .is_ok_and(|a| a.is_empty())
        }
    })
    .await;
    let _ = kafka
        .delete_scram_credential(principal.trim_start_matches("User:"))
        .await;
}

#[sqlx::test(migrations = "../migrations")]
async fn a_step_the_cluster_refuses_fails_the_request_and_an_admin_retries_it(pool: PgPool) {
    let mut settings = settings();
    settings.apply.max_attempts = 1;
    let w = world(&pool).await;
    let owner_app = Uuid::new_v4();
    sqlx::query(
        "insert into application (id, team_slug, name, system_registration_id, security_package_id,
                fisma_rating, ato_status, privacy_assessment, contains_pii, hosting_location,
                technical_contact, product_contact)
         values ($1, $2, 'Order Writer', 'SR-3', 'SP-3', 'low', 'granted', 'completed', false,
                 'cloud_account', 'dev@example.test', 'owner@example.test')",
    )
    .bind(owner_app)
    .bind(&w.owners)
    .execute(&pool)
    .await
    .expect("owner app");
    let app = TestApp::spawn(pool.clone()).await;
    // New settings for a topic that is in the catalog but not on the cluster: the broker
    // refuses to change the configuration of a topic it does not have.
    let olga = app
        .session_cookie_for(&user("olga", &[Role::Member], &[&w.owners]))
        .await;
    let proposed = app
        .answer(
            "requests/topic-change",
            Some(&olga),
            Form::new()
                .field("input[topic]", &w.topic)
                .field("input[application]", owner_app.to_string())
                .field("input[partitions]", "2")
                .field("input[retention_days]", "3")
                .field("input[cleanup_policy]", "delete")
                .field(
                    "input[purpose]",
                    "Three days are enough for every consumer.",
                ),
        )
        .await;
    proposed.expect_status(200);
    let id: Uuid = serde_json::from_value(proposed.json()).expect("id");
    let gwen = app.session_cookie_for(&governance(1)).await;
    decide(&app, &gwen, id, 1, "approve", "")
        .await
        .expect_status(200);
    let worker = worker(&pool, &settings);
    assert_eq!(worker.try_once().await.expect("step"), Outcome::NotApplied);
    assert_eq!(state(&pool, id).await.0, "failed");
    let failed: (String, Option<String>) =
        sqlx::query_as("select status::text, last_error from apply_step where request_id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .expect("step");
    assert_eq!(failed.0, "failed");
    assert!(
        failed.1.as_deref().is_some_and(|e| e.contains("refused")),
        "{failed:?}"
    );

    // Only an admin retries; once the cause is fixed the request becomes active.
    create_topic(&settings, &w.topic).await;
    let version = state(&pool, id).await.1;
    let retry = |cookie: String| {
        let app = &app;
        async move {
            app.answer(
                "apply/retry",
                Some(&cookie),
                Form::new()
                    .field("id", id.to_string())
                    .field("version", version.to_string()),
            )
            .await
        }
    };
    retry(olga).await.expect_status(403);
    let ada = app.session_cookie_for(&crate::fixtures::admin()).await;
    let retried = retry(ada).await;
    assert_eq!(retried.expect_status(200).json(), "applying");
    // A new topic can take a moment to show in the broker's metadata; the step waits for it.
    eventually("the retried request is active", || {
        let (worker, pool) = (worker.clone(), pool.clone());
        async move {
            worker.try_once().await.expect("worker step");
            state(&pool, id).await.0 == "active"
        }
    })
    .await;
    let _ = admin(&settings).delete_topic(&w.topic).await;
}

/// What the registry tests start from: an active producer of a new topic, its application's
/// credential revealed, and one approved value schema registered for the topic.
struct RegistryWorld {
    w: World,
    app: TestApp,
    id: Uuid,
    principal: String,
    password: String,
    schema: app::schemas::ssr::AvroSchema,
    schema_id: i32,
    subject: String,
}

async fn registry_world(pool: &PgPool, settings: &Settings) -> RegistryWorld {
    let w = world(pool).await;
    create_topic(settings, &w.topic).await;
    let app = TestApp::spawn(pool.clone()).await;
    let id = approved_request(&app, &w, "producer_access", "").await;
    drain(&worker(pool, settings)).await;
    assert_eq!(state(pool, id).await.0, "active");
    let rita = app
        .session_cookie_for(&user("rita", &[Role::Member], &[&w.requesters]))
        .await;
    let (principal, password) = revealed(&app, &w, &rita).await;
    let topic: Uuid = sqlx::query_scalar("select id from topic where name = $1")
        .bind(&w.topic)
        .fetch_one(pool)
        .await
        .expect("topic");
    let schema = app::schemas::ssr::parse_avro(
        r#"{"type": "record", "name": "OrderApplied", "fields": [{"name": "order_id", "type": "string"}]}"#,
    )
    .expect("schema");
    let mut conn = pool.acquire().await.expect("connection");
    let schema_id = app::schemas::ssr::register_schema(
        &mut conn,
        topic.into(),
        &w.topic,
        app::domain::SubjectPart::Value,
        &schema,
        id.into(),
    )
    .await
    .expect("registered");
    let subject = format!("{}-value", w.topic);
    RegistryWorld {
        w,
        app,
        id,
        principal,
        password,
        schema,
        schema_id,
        subject,
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn the_registry_serves_approved_schemas_to_clients_with_their_kafka_credentials(
    pool: PgPool,
) {
    let settings = settings();
    let RegistryWorld {
        app,
        id,
        principal,
        password,
        schema,
        schema_id,
        subject,
        ..
    } = registry_world(&pool, &settings).await;

    let get = |path: String, auth: Option<(String, String)>| {
        let app = &app;
        async move {
            let mut request = app.client.get(app.url(&path));
            if let Some((user, pass)) = auth {
                request = request.basic_auth(user, Some(pass));
            }
            let response = request.send().await.expect("request");
            let status = response.status().as_u16();
            let content_type = response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            (status, content_type, body)
        }
    };
    let me = Some((principal.clone(), password.clone()));

    let (status, _, body) = get("/subjects".into(), None).await;
    assert_eq!((status, body["error_code"].as_u64()), (401, Some(40101)));
    let (status, _, _) = get(
        "/subjects".into(),
        Some((principal.clone(), "wrong".into())),
    )
    .await;
    assert_eq!(status, 401);

    let (status, content_type, body) = get("/subjects".into(), me.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "application/vnd.schemaregistry.v1+json");
    assert_eq!(body, serde_json::json!([subject]));
    let (status, _, body) = get(format!("/subjects/{subject}/versions/latest"), me.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(body["version"], 1);
    assert_eq!(body["id"], schema_id);
    assert_eq!(body["schema"].as_str(), Some(schema.canonical.as_str()));
    let (_, _, body) = get(format!("/subjects/{subject}/versions"), me.clone()).await;
    assert_eq!(body, serde_json::json!([1]));
    let (status, _, body) = get(format!("/schemas/ids/{schema_id}"), me.clone()).await;
    assert_eq!(
        (status, body["schema"].as_str()),
        (200, Some(schema.canonical.as_str()))
    );
    let (_, _, body) = get(format!("/schemas/ids/{schema_id}/versions"), me.clone()).await;
    assert_eq!(
        body,
        serde_json::json!([{ "subject": subject, "version": 1 }])
    );
    let (_, _, body) = get(format!("/config/{subject}"), me.clone()).await;
    assert_eq!(body["compatibilityLevel"], "BACKWARD");

    let (status, _, body) = get("/subjects/nothing-value/versions".into(), me.clone()).await;
    assert_eq!((status, body["error_code"].as_u64()), (404, Some(40401)));
    let (status, _, body) = get(format!("/subjects/{subject}/versions/7"), me.clone()).await;
    assert_eq!((status, body["error_code"].as_u64()), (404, Some(40402)));
    let (status, _, body) = get("/schemas/ids/999999".into(), me.clone()).await;
    assert_eq!((status, body["error_code"].as_u64()), (404, Some(40403)));
    let (status, _, body) = get(format!("/subjects/{subject}/versions/zero"), me.clone()).await;
    assert_eq!((status, body["error_code"].as_u64()), (422, Some(42202)));

    // Lookups, governed writes and compatibility checks, as serializers make them.
    let post = |path: String, schema: &str| {
        let app = &app;
        let me = me.clone().expect("credentials");
        let body = serde_json::json!({ "schema": schema }).to_string();
        async move {
            let response = app
                .client
                .post(app.url(&path))
                .basic_auth(me.0, Some(me.1))
                .header("content-type", "application/vnd.schemaregistry.v1+json")
                .body(body)
                .send()
                .await
                .expect("request");
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            (status, body)
        }
    };
    let written = r#"{"type": "record", "name": "OrderApplied", "fields": [{"name": "order_id", "type": "string"}]}"#;
    let (status, body) = post(format!("/subjects/{subject}"), written).await;
    assert_eq!(
        (status, body["id"].as_i64()),
        (200, Some(i64::from(schema_id)))
    );
    let added_with_default = r#"{"type": "record", "name": "OrderApplied", "fields": [{"name": "order_id", "type": "string"}, {"name": "note", "type": ["null", "string"], "default": null}]}"#;
    let added_required = r#"{"type": "record", "name": "OrderApplied", "fields": [{"name": "order_id", "type": "string"}, {"name": "amount", "type": "long"}]}"#;
    let (status, body) = post(format!("/subjects/{subject}"), added_with_default).await;
    assert_eq!((status, body["error_code"].as_u64()), (404, Some(40403)));
    let (status, body) = post(format!("/subjects/{subject}/versions"), written).await;
    assert_eq!(
        (status, body["id"].as_i64()),
        (200, Some(i64::from(schema_id)))
    );
    let (status, body) = post(format!("/subjects/{subject}/versions"), added_with_default).await;
    assert_eq!(
        (status, body["error_code"].as_u64()),
        (403, Some(40301)),
        "unapproved schemas are refused"
    );
    let check = format!("/compatibility/subjects/{subject}/versions/latest");
    let (status, body) = post(check.clone(), added_with_default).await;
    assert_eq!((status, body["is_compatible"].as_bool()), (200, Some(true)));
    let (_, body) = post(check, added_required).await;
    assert_eq!(body["is_compatible"], false, "{body}");
    assert!(
        body["messages"][0]
            .as_str()
            .is_some_and(|m| m.starts_with("amount (version 1)")),
        "{body}"
    );
    let (status, body) = post(format!("/subjects/{subject}/versions"), added_required).await;
    assert_eq!(
        (status, body["error_code"].as_u64()),
        (409, Some(409)),
        "an incompatible schema is refused as by any registry: {body}"
    );

    // The mode is governed like schemas: asking for the current one is answered, a new one is
    // requested in the portal.
    let put = |body: serde_json::Value| {
        let app = &app;
        let me = me.clone().expect("credentials");
        let path = format!("/config/{subject}");
        async move {
            let response = app
                .client
                .put(app.url(&path))
                .basic_auth(me.0, Some(me.1))
                .header("content-type", "application/vnd.schemaregistry.v1+json")
                .body(body.to_string())
                .send()
                .await
                .expect("request");
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            (status, body)
        }
    };
    let (status, body) = put(serde_json::json!({ "compatibility": "BACKWARD" })).await;
    assert_eq!(
        (status, body["compatibility"].as_str()),
        (200, Some("BACKWARD"))
    );
    let (status, body) = put(serde_json::json!({ "compatibility": "NONE" })).await;
    assert_eq!((status, body["error_code"].as_u64()), (403, Some(40301)));
    let (status, body) = put(serde_json::json!({ "compatibility": "SIDEWAYS" })).await;
    assert_eq!((status, body["error_code"].as_u64()), (422, Some(42203)));
    let (status, _, body) = get("/config".into(), me.clone()).await;
    assert_eq!(
        (status, body["compatibilityLevel"].as_str()),
        (200, Some("BACKWARD"))
    );

    // Without live producer access (and not of the owning team) the application may not write,
    // not even an approved schema: a consumer reads, and is refused.
    sqlx::query("update access_grant set role = 'consumer' where request_id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .expect("now a consumer");
    let (status, body) = post(format!("/subjects/{subject}/versions"), written).await;
    assert_eq!(
        (status, body["error_code"].as_u64()),
        (403, Some(40301)),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("denied")),
        "{body}"
    );
    let versions: i64 = sqlx::query_scalar("select count(*) from schema_version")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(versions, 1, "nothing was registered through the API");

    // With no access to the topic at all, its subjects do not exist for the application.
    sqlx::query("update access_grant set revoked_at = now() where request_id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .expect("revoke");
    let (status, _, body) = get("/subjects".into(), me.clone()).await;
    assert_eq!((status, body), (200, serde_json::json!([])));
    for path in [
        format!("/subjects/{subject}/versions/latest"),
        format!("/subjects/{subject}/versions"),
        format!("/config/{subject}"),
    ] {
        let (status, _, body) = get(path.clone(), me.clone()).await;
        assert_eq!(
            (status, body["error_code"].as_u64()),
            (404, Some(40401)),
            "{path}"
        );
    }
    let (status, _, body) = get(format!("/schemas/ids/{schema_id}"), me.clone()).await;
    assert_eq!((status, body["error_code"].as_u64()), (404, Some(40403)));
    let (status, body) = post(format!("/subjects/{subject}/versions"), written).await;
    assert_eq!(
        (status, body["error_code"].as_u64()),
        (404, Some(40401)),
        "{body}"
    );
    let _ = admin(&settings).delete_scram_credential(&principal).await;
}

/// Every path under the registry answers JSON with Confluent's codes, whatever a client asks:
/// the read-only extras, list parameters, governed changes, unknown paths and methods.
#[sqlx::test(migrations = "../migrations")]
async fn the_registry_answers_every_path_under_it_in_json(pool: PgPool) {
    let settings = settings();
    let RegistryWorld {
        w,
        app,
        principal,
        password,
        schema,
        schema_id,
        subject,
        ..
    } = registry_world(&pool, &settings).await;

    let call = |method: reqwest::Method,
                path: String,
                body: Option<serde_json::Value>,
                signed_in: bool| {
        let (app, principal, password) = (&app, principal.clone(), password.clone());
        async move {
            let mut request = app.client.request(method, app.url(&path));
            if signed_in {
                request = request.basic_auth(principal, Some(password));
            }
            if let Some(body) = body {
                request = request
                    .header("content-type", "application/vnd.schemaregistry.v1+json")
                    .body(body.to_string());
            }
            let response = request.send().await.expect("request");
            let status = response.status().as_u16();
            let content_type = response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let text = response.text().await.expect("body");
            assert_eq!(
                content_type, "application/vnd.schemaregistry.v1+json",
                "{path}: {status} {text}"
            );
            let body: serde_json::Value = serde_json::from_str(&text)
                .unwrap_or_else(|_| panic!("{path} answered {status} with no JSON: {text}"));
            (status, body)
        }
    };
    let get = |path: String| call(reqwest::Method::GET, path, None, true);

    // Signing in comes first, on every path.
    for path in [
        "/schemas/types",
        "/mode",
        "/contexts",
        "/subjects/x-value/metadata",
    ] {
        let (status, body) = call(reqwest::Method::GET, path.into(), None, false).await;
        assert_eq!(
            (status, body["error_code"].as_u64()),
            (401, Some(40101)),
            "{path}"
        );
    }

    // The read-only extras.
    assert_eq!(
        get("/schemas/types".into()).await,
        (200, serde_json::json!(["AVRO", "JSON"]))
    );
    assert_eq!(
        get("/mode".into()).await,
        (200, serde_json::json!({ "mode": "READWRITE" }))
    );
    assert_eq!(
        get(format!("/mode/{subject}")).await,
        (200, serde_json::json!({ "mode": "READWRITE" }))
    );
    let (status, body) = get("/mode/someone-elses-value".into()).await;
    assert_eq!((status, body["error_code"].as_u64()), (404, Some(40401)));
    assert_eq!(
        get("/contexts".into()).await,
        (200, serde_json::json!(["."]))
    );
    let (status, raw) = get(format!("/subjects/{subject}/versions/1/schema")).await;
    assert_eq!(status, 200);
    assert_eq!(
        raw,
        serde_json::from_str::<serde_json::Value>(&schema.canonical).expect("canonical"),
        "the schema alone"
    );
    let (status, raw) = get(format!("/subjects/{subject}/versions/latest/schema")).await;
    assert_eq!((status, raw["name"].as_str()), (200, Some("OrderApplied")));

    // List parameters.
    let prefix = &w.topic[..w.topic.len() - 2];
    assert_eq!(
        get(format!("/subjects?subjectPrefix={prefix}")).await,
        (200, serde_json::json!([subject]))
    );
    assert_eq!(
        get("/subjects?subjectPrefix=zzz".into()).await,
        (200, serde_json::json!([]))
    );
    assert_eq!(
        get("/subjects?deleted=true".into()).await,
        (200, serde_json::json!([subject]))
    );
    assert_eq!(
        get("/subjects?deletedOnly=true".into()).await,
        (200, serde_json::json!([]))
    );
    let (status, listed) = get("/schemas?latestOnly=true".into()).await;
    assert_eq!(status, 200);
    assert_eq!(
        listed,
        serde_json::json!([{ "subject": subject, "version": 1, "id": schema_id, "schema": schema.canonical }])
    );
    assert_eq!(
        get("/schemas?subjectPrefix=zzz".into()).await,
        (200, serde_json::json!([]))
    );

    // What the portal governs is refused with where to go instead; nothing changes.
    for (method, path, body) in [
        (
            reqwest::Method::DELETE,
            format!("/subjects/{subject}"),
            None,
        ),
        (
            reqwest::Method::DELETE,
            format!("/subjects/{subject}/versions/1"),
            None,
        ),
        (reqwest::Method::DELETE, format!("/config/{subject}"), None),
        (
            reqwest::Method::PUT,
            "/config".to_owned(),
            Some(serde_json::json!({ "compatibility": "NONE" })),
        ),
        (
            reqwest::Method::PUT,
            "/mode".to_owned(),
            Some(serde_json::json!({ "mode": "READONLY" })),
        ),
        (
            reqwest::Method::PUT,
            format!("/mode/{subject}"),
            Some(serde_json::json!({ "mode": "IMPORT" })),
        ),
    ] {
        let (status, answer) = call(method.clone(), path.clone(), body, true).await;
        assert_eq!(
            (status, answer["error_code"].as_u64()),
            (403, Some(40301)),
            "{method} {path}"
        );
        assert!(
            answer["message"]
                .as_str()
                .is_some_and(|m| m.contains("Event Bus Portal")),
            "{method} {path}: {answer}"
        );
    }
    let versions: i64 = sqlx::query_scalar("select count(*) from schema_version")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(versions, 1);

    // Unknown paths and methods.
    for path in [
        format!("/subjects/{subject}/metadata"),
        "/schemas/guids/abc".to_owned(),
        "/contexts/.prod/subjects".to_owned(),
        "/exporters".to_owned(),
        format!("/subjects/{subject}/versions/1/referencedby/more"),
    ] {
        let (status, body) = get(path.clone()).await;
        assert_eq!(
            (status, body["error_code"].as_u64()),
            (404, Some(404)),
            "{path}"
        );
    }
    let (status, body) = call(reqwest::Method::PATCH, "/subjects".into(), None, true).await;
    assert_eq!((status, body["error_code"].as_u64()), (405, Some(405)));

    // References are refused, saying what to do instead.
    let with_reference = serde_json::json!({
        "schema": r#"{"type": "record", "name": "Wrapper", "fields": [{"name": "o", "type": "OrderApplied"}]}"#,
        "references": [{ "name": "OrderApplied", "subject": subject, "version": 1 }],
    });
    let (status, body) = call(
        reqwest::Method::POST,
        format!("/subjects/{subject}/versions"),
        Some(with_reference),
        true,
    )
    .await;
    assert_eq!(
        (status, body["error_code"].as_u64()),
        (422, Some(42201)),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("references")),
        "{body}"
    );

    // A first key schema for the caller's own topic is proposed in the portal; a subject of a
    // topic it cannot see stays unknown.
    let written = serde_json::json!({ "schema": r#"{"type": "string"}"# });
    let (status, body) = call(
        reqwest::Method::POST,
        format!("/subjects/{}-key/versions", w.topic),
        Some(written.clone()),
        true,
    )
    .await;
    assert_eq!(
        (status, body["error_code"].as_u64()),
        (403, Some(40301)),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("has no schema yet")),
        "{body}"
    );
    let (status, body) = call(
        reqwest::Method::POST,
        "/subjects/someone-elses-key/versions".into(),
        Some(written),
        true,
    )
    .await;
    assert_eq!(
        (status, body["error_code"].as_u64()),
        (404, Some(40401)),
        "{body}"
    );
    let _ = admin(&settings).delete_scram_credential(&principal).await;
}

#[sqlx::test(migrations = "../migrations")]
async fn registry_sign_ins_are_limited_and_follow_the_credentials_current_version(pool: PgPool) {
    let mut settings = settings();
    settings.registry.max_failures = 3;
    let w = world(&pool).await;
    create_topic(&settings, &w.topic).await;
    let app = TestApp::spawn_with(pool.clone(), settings.clone()).await;
    approved_request(&app, &w, "producer_access", "").await;
    let worker = worker(&pool, &settings);
    drain(&worker).await;
    let rita = app
        .session_cookie_for(&user("rita", &[Role::Member], &[&w.requesters]))
        .await;
    let (principal, first) = revealed(&app, &w, &rita).await;
    // A credential set a moment ago is trusted only until every broker has it; these are older.
    let settled = || async {
        sqlx::query(
            "update kafka_principal set credential_set_at = credential_set_at - interval '1 minute'
              where application_id = $1",
        )
        .bind(w.app)
        .execute(&pool)
        .await
        .expect("older credential");
    };
    settled().await;
    let sign_in = |user: String, password: String| {
        let app = &app;
        async move {
            let response = app
                .client
                .get(app.url("/subjects"))
                .basic_auth(user, Some(password))
                .send()
                .await
                .expect("registry");
            let wait = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
            (response.status().as_u16(), wait)
        }
    };
    assert_eq!(sign_in(principal.clone(), first.clone()).await.0, 200);

    // Rotated: the password verified a moment ago stops working at once.
    rotate(&app, &w, &rita).await.expect_status(200);
    assert_eq!(drain(&worker).await, 1);
    let rotated = reveal(&app, &w, &rita).await;
    let second = rotated.json()["password"].as_str().expect("p").to_owned();
    // The portal stops trusting it at once; the cluster itself may take a moment.
    let deadline = Instant::now() + Duration::from_secs(20);
    while sign_in(principal.clone(), first.clone()).await.0 != 401 {
        assert!(Instant::now() < deadline, "the old password still works");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    settled().await;
    assert_eq!(sign_in(principal.clone(), second.clone()).await.0, 200);

    // Wrong passwords: the third failure (the old password counted) locks the principal and
    // the address out; further tries get 429 without asking the cluster.
    assert_eq!(sign_in(principal.clone(), "wrong-1".into()).await.0, 401);
    assert_eq!(sign_in(principal.clone(), "wrong-2".into()).await.0, 401);
    let (status, wait) = sign_in(principal.clone(), "wrong-3".into()).await;
    assert_eq!(status, 429);
    assert!(wait.is_some_and(|w| w > 200), "{wait:?}");
    let (status, _) = sign_in("nobody.at.all".into(), "x".into()).await;
    assert_eq!(status, 429, "the address is locked out too");
    // A credential verified before the lockout keeps working: a stranger who knows the
    // principal's name cannot lock its application out.
    assert_eq!(sign_in(principal.clone(), second).await.0, 200);
    let _ = admin(&settings).delete_scram_credential(&principal).await;
}

#[sqlx::test(migrations = "../migrations")]
async fn confluents_own_python_client_uses_the_registry_and_the_broker_with_approved_schemas_only(
    pool: PgPool,
) {
    let python = std::env::var("EBP_PYTHON")
        .expect("EBP_PYTHON names the Python with confluent-kafka (dev/test installs it)");
    let settings = settings();
    let w = world(&pool).await;
    create_topic(&settings, &w.topic).await;
    let app = TestApp::spawn(pool.clone()).await;
    let produce = approved_request(&app, &w, "producer_access", "").await;
    let consume = approved_request(&app, &w, "consumer_access", "ledger-").await;
    drain(&worker(&pool, &settings)).await;
    assert_eq!(state(&pool, produce).await.0, "active");
    assert_eq!(state(&pool, consume).await.0, "active");
    let rita = app
        .session_cookie_for(&user("rita", &[Role::Member], &[&w.requesters]))
        .await;
    let (principal, password) = revealed(&app, &w, &rita).await;
    let approved = r#"{"type": "record", "name": "OrderApplied", "namespace": "bus.orders", "fields": [{"name": "order_id", "type": "string"}]}"#;
    let topic: Uuid = sqlx::query_scalar("select id from topic where name = $1")
        .bind(&w.topic)
        .fetch_one(&pool)
        .await
        .expect("topic");
    let mut conn = pool.acquire().await.expect("connection");
    app::schemas::ssr::register_schema(
        &mut conn,
        topic.into(),
        &w.topic,
        app::domain::SubjectPart::Value,
        &app::schemas::ssr::parse_avro(approved).expect("schema"),
        produce.into(),
    )
    .await
    .expect("registered");
    drop(conn);
    // ACLs reach the broker a moment after the controller commits them: wait until it shows
    // all four (WRITE, READ and DESCRIBE on the topic, READ on the group prefix).
    let kafka = admin(&settings);
    let mine = AclFilter {
        principal: Some(format!("User:{principal}")),
        ..AclFilter::default()
    };
    eventually("the broker has the application's ACLs", || {
        let (kafka, mine) = (kafka.clone(), mine.clone());
        async move { kafka.describe_acls(&mine).await.is_ok_and(|a| a.len() == 4) }
    })
    .await;

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/registry_client.py");
    let mut command = std::process::Command::new(&python);
    command
        .arg(script)
        .env("REGISTRY_URL", &app.address)
        .env("BOOTSTRAP", &sandbox(&settings).bootstrap_servers)
        .env("KAFKA_USER", &principal)
        .env("KAFKA_PASSWORD", &password)
        .env("TOPIC", &w.topic)
        .env("GROUP", "ledger")
        .env("APPROVED_SCHEMA", approved);
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("the client task")
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the Python client failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("consumed it back"), "{stdout}");
    assert_eq!(
        stdout.matches("an unapproved schema is refused").count(),
        2,
        "{stdout}"
    );
    let versions: i64 = sqlx::query_scalar("select count(*) from schema_version")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(versions, 1, "the client registered nothing");
    let _ = admin(&settings).delete_scram_credential(&principal).await;
}

#[sqlx::test(migrations = "../migrations")]
async fn two_steps_of_one_request_settled_at_the_same_moment_make_it_active(pool: PgPool) {
    let w = world(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let id = approved_request(&app, &w, "producer_access", "").await;
    // Two workers hold the request's two steps and record them done at the same moment (the
    // Kafka calls are not the point here).
    let mut first = pool.begin().await.expect("tx");
    let a = server::apply::store::claim(&mut first)
        .await
        .expect("claim")
        .expect("a step");
    let mut second = pool.begin().await.expect("tx");
    let b = server::apply::store::claim(&mut second)
        .await
        .expect("claim")
        .expect("a step");
    let settle = |mut tx: sqlx::Transaction<'static, sqlx::Postgres>, step| async move {
        server::apply::store::step_done(&mut tx, &step)
            .await
            .expect("done");
        tx.commit().await.expect("commit");
    };
    tokio::join!(settle(first, a), settle(second, b));
    assert_eq!(state(&pool, id).await.0, "active");
    let applied: i64 = sqlx::query_scalar(
        "select count(*) from audit_log where entity_id = $1 and action = 'request.applied'",
    )
    .bind(id.to_string())
    .fetch_one(&pool)
    .await
    .expect("audit");
    assert_eq!(applied, 1);
}

/// The application's page after an approval: its team sees the Kafka user, where its password
/// stands and how to connect; the topic's team approver and governance see what it may do and
/// nothing to connect with; anyone else is told it does not exist. A rotation asked for from the
/// page is followed there until the new password waits to be shown.
#[sqlx::test(migrations = "../migrations")]
async fn an_applications_page_shows_its_team_how_to_connect_and_others_only_what_it_may_do(
    pool: PgPool,
) {
    let settings = settings();
    let w = world(&pool).await;
    create_topic(&settings, &w.topic).await;
    let app = TestApp::spawn(pool.clone()).await;
    let worker = worker(&pool, &settings);
    approved_request(&app, &w, "producer_access", "").await;
    assert_eq!(drain(&worker).await, 2, "credentials, then ACLs");

    let page = |cookie: String| {
        let app = &app;
        let id = w.app;
        async move {
            app.answer(
                "applications/get",
                Some(&cookie),
                Form::new().field("id", id.to_string()),
            )
            .await
        }
    };
    let rita = app
        .session_cookie_for(&user("rita", &[Role::Member], &[&w.requesters]))
        .await;
    let own = page(rita.clone()).await;
    own.expect_status(200);
    let detail = own.json();
    assert_eq!(detail["name"], w.app_name.as_str());
    assert_eq!(detail["compliance"]["ato_status"], "granted");
    let grants = detail["grants"].as_array().expect("grants");
    assert_eq!(grants.len(), 1, "{detail}");
    assert_eq!(grants[0]["topic"], w.topic.as_str());
    assert_eq!(grants[0]["role"], "producer");
    assert!(
        grants[0]["in_words"]
            .as_str()
            .is_some_and(|t| t.contains("may write events to")),
        "{detail}"
    );
    let principal =
        app::domain::principal_name(&w.requesters, &w.app_name, &crate::helpers::sandbox());
    assert_eq!(detail["credentials"][0]["principal"], principal.as_str());
    assert_eq!(detail["credentials"][0]["state"], "ReadyToShow");
    let connection = &detail["connections"][0];
    assert_eq!(connection["principal"], principal.as_str());
    assert_eq!(connection["topic"], w.topic.as_str());
    assert!(
        connection["address"]["bootstrap_servers"]
            .as_str()
            .is_some_and(|s| s.contains(':')),
        "{detail}"
    );
    assert_eq!(detail["is_own"], true);

    // The topic's team approver and governance see the facts and the access, not the user.
    let otto = app
        .session_cookie_for(&user(
            "otto",
            &[Role::Member, Role::TeamApprover],
            &[&w.owners],
        ))
        .await;
    for cookie in [otto, app.session_cookie_for(&governance(1)).await] {
        let seen = page(cookie).await;
        seen.expect_status(200);
        let detail = seen.json();
        assert_eq!(detail["grants"].as_array().map(Vec::len), Some(1));
        assert_eq!(detail["credentials"], serde_json::json!([]));
        assert_eq!(detail["connections"], serde_json::json!([]));
        assert_eq!(detail["is_own"], false);
    }
    // A member of another team without the approver role, and a viewer: not found.
    let olga = app
        .session_cookie_for(&user("olga", &[Role::Member], &[&w.owners]))
        .await;
    let val = app
        .session_cookie_for(&user("val", &[Role::Viewer], &[]))
        .await;
    for cookie in [olga, val] {
        page(cookie).await.expect_status(404);
    }
    // An id nobody has: not found, the same answer.
    app.answer(
        "applications/get",
        Some(&rita),
        Form::new().field("id", Uuid::new_v4().to_string()),
    )
    .await
    .expect_status(404);

    // Rotating from the page: the page says a password is being set, then that one waits.
    reveal(&app, &w, &rita).await.expect_status(200);
    assert_eq!(
        page(rita.clone()).await.json()["credentials"][0]["state"],
        "Shown"
    );
    rotate(&app, &w, &rita).await.expect_status(200);
    assert_eq!(
        page(rita.clone()).await.json()["credentials"][0]["state"],
        "Setting"
    );
    assert_eq!(drain(&worker).await, 1, "the rotation");
    assert_eq!(
        page(rita).await.json()["credentials"][0]["state"],
        "ReadyToShow"
    );
}

//! Data for one test, inserted with plain SQL, and the request flows the tests drive over HTTP.
//!
//! Three teams: `orders` owns the `orders_*` topics, `payments` asks for access to them,
//! `shipping` owns a topic of its own that exists only in the sandbox.

use crate::helpers::{Answer, Form, TestApp, user};
use app::domain::{Role, UserIdentity};
use sqlx::PgPool;
use uuid::Uuid;

pub const OWNERS: &str = "orders";
pub const REQUESTERS: &str = "payments";
pub const OTHERS: &str = "shipping";

pub const PAYMENTS_APP: Uuid = Uuid::from_u128(0xa1);
pub const SHIPPING_APP: Uuid = Uuid::from_u128(0xa2);
pub const PAYMENTS_APP_NAME: &str = "Payments Ledger";

/// Low, no PII, in sandbox and prod, owned by `orders`.
pub const LOW_TOPIC: &str = "orders_placed";
/// Moderate, no PII.
pub const MODERATE_TOPIC: &str = "orders_invoiced";
/// Low, with PII.
pub const PII_TOPIC: &str = "orders_delivery_address";
/// Low, no PII, sandbox only, owned by `shipping`.
pub const SANDBOX_ONLY_TOPIC: &str = "shipments_dispatched";
pub const TOPICS: [&str; 4] = [LOW_TOPIC, MODERATE_TOPIC, PII_TOPIC, SANDBOX_ONLY_TOPIC];

/// Teams, applications and topics. The people are written by the portal when they act.
pub async fn seed(pool: &PgPool) {
    sqlx::raw_sql(&format!(
        "insert into team (slug, display_name) values
            ('{OWNERS}', 'Orders'), ('{REQUESTERS}', 'Payments'), ('{OTHERS}', 'Shipping');

         insert into application (id, team_slug, name, system_registration_id, security_package_id,
                fisma_rating, ato_status, ato_date, privacy_assessment, contains_pii,
                hosting_location, technical_contact, product_contact) values
            ('{PAYMENTS_APP}', '{REQUESTERS}', '{PAYMENTS_APP_NAME}', 'SR-1', 'SP-1', 'moderate',
                'granted', '2026-01-15', 'completed', true, 'cloud_account',
                'ledger-dev@example.test', 'pay-owner@example.test'),
            ('{SHIPPING_APP}', '{OTHERS}', 'Dispatch Board', 'SR-2', 'SP-2', 'low',
                'in_progress', null, 'not_required', false, 'on_premises',
                'dispatch-dev@example.test', 'ship-owner@example.test');

         insert into topic (id, name, title, description, business_domain, lifecycle, owning_team,
                data_classification, contains_pii, partitions, retention_ms, cleanup_policy) values
            (gen_random_uuid(), '{LOW_TOPIC}', 'Order placed', 'An order was placed by a customer.',
                'orders', 'production', '{OWNERS}', 'low', false, 3, 604800000, 'delete'),
            (gen_random_uuid(), '{MODERATE_TOPIC}', 'Order invoiced', 'An invoice was issued for an order.',
                'orders', 'production', '{OWNERS}', 'moderate', false, 3, 604800000, 'delete'),
            (gen_random_uuid(), '{PII_TOPIC}', 'Delivery address', 'Where an order is delivered, per person.',
                'orders', 'development', '{OWNERS}', 'low', true, 3, 604800000, 'compact'),
            (gen_random_uuid(), '{SANDBOX_ONLY_TOPIC}', 'Shipment dispatched', 'A parcel left the warehouse.',
                'shipping', 'experimental', '{OTHERS}', 'low', false, 1, 86400000, 'delete');

         -- The sandbox allows no PII: the PII topic is in prod only.
         insert into topic_environment (topic_id, environment)
         select id, env from topic, unnest(array['sandbox', 'prod']) env
          where owning_team = '{OWNERS}' and not contains_pii
         union all
         select id, 'prod' from topic where owning_team = '{OWNERS}' and contains_pii
         union all
         select id, 'sandbox' from topic where owning_team = '{OTHERS}';"
    ))
    .execute(pool)
    .await
    .expect("fixtures insert");
}

/// A member of `payments`, who asks for access.
pub fn requester() -> UserIdentity {
    user("rita", &[Role::Member], &[REQUESTERS])
}

/// A team approver of `orders`, who fills owning-team slots on its topics.
pub fn owner_approver() -> UserIdentity {
    user("otto", &[Role::Member, Role::TeamApprover], &[OWNERS])
}

/// A team approver of `shipping`: no say over `orders` topics.
pub fn other_team_approver() -> UserIdentity {
    user("sam", &[Role::Member, Role::TeamApprover], &[OTHERS])
}

/// Governance approver number `n`; each is a different person.
pub fn governance(n: usize) -> UserIdentity {
    user(&format!("gov-{n}"), &[Role::Approver], &[])
}

pub fn admin() -> UserIdentity {
    user("ada", &[Role::Admin], &[])
}

/// The access-request form as a browser sends it; valid until a test changes it.
#[derive(Debug, Clone)]
pub struct AccessForm {
    pub kind: String,
    pub topic: String,
    pub application: String,
    pub environments: Vec<String>,
    pub consumer_group: String,
    pub purpose: String,
    pub expiry: String,
}

impl AccessForm {
    /// Both environments, or prod alone for the PII topic (the sandbox allows no PII).
    pub fn consumer(topic: &str) -> Self {
        let environments = if topic == PII_TOPIC {
            vec!["prod".into()]
        } else {
            vec!["sandbox".into(), "prod".into()]
        };
        Self {
            kind: "consumer_access".into(),
            topic: topic.into(),
            application: PAYMENTS_APP.to_string(),
            environments,
            consumer_group: "payments-ledger".into(),
            purpose: "Reconcile payments against placed orders every night.".into(),
            expiry: String::new(),
        }
    }

    pub fn producer(topic: &str) -> Self {
        Self {
            kind: "producer_access".into(),
            consumer_group: String::new(),
            ..Self::consumer(topic)
        }
    }

    pub fn form(&self) -> Form {
        let mut form = Form::new()
            .field("input[kind]", &self.kind)
            .field("input[topic]", &self.topic)
            .field("input[application]", &self.application);
        for env in &self.environments {
            form = form.field("input[environments][]", env);
        }
        form.field("input[consumer_group]", &self.consumer_group)
            .field("input[purpose]", &self.purpose)
            .field("input[expiry]", &self.expiry)
    }
}

/// Submits a request that must be accepted; its id.
pub async fn submit(app: &TestApp, cookie: &str, form: &AccessForm) -> Uuid {
    let answer = app
        .answer("requests/access", Some(cookie), form.form())
        .await;
    answer.expect_status(200);
    serde_json::from_value(answer.json()).expect("request id")
}

pub async fn decide(
    app: &TestApp,
    cookie: &str,
    id: Uuid,
    version: i32,
    decision: &str,
    reason: &str,
) -> Answer {
    let form = Form::new()
        .field("id", id.to_string())
        .field("version", version.to_string())
        .field("decision", decision)
        .field("reason", reason);
    app.answer("requests/decide", Some(cookie), form).await
}

pub async fn withdraw(app: &TestApp, cookie: &str, id: Uuid, version: i32) -> Answer {
    let form = Form::new()
        .field("id", id.to_string())
        .field("version", version.to_string());
    app.answer("requests/withdraw", Some(cookie), form).await
}

/// `requests/get` as `cookie` sees it; must be visible.
pub async fn detail(app: &TestApp, cookie: &str, id: Uuid) -> serde_json::Value {
    let answer = app
        .answer(
            "requests/get",
            Some(cookie),
            Form::new().field("id", id.to_string()),
        )
        .await;
    answer.expect_status(200);
    answer.json()
}

/// One approval slot as stored, in the order of the enum (owning team, governance, second).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SlotRow {
    pub slot: String,
    pub team_slug: Option<String>,
    pub reason: String,
    pub decided_by: Option<String>,
    pub decision: Option<String>,
    pub decision_reason: Option<String>,
}

pub async fn slots(pool: &PgPool, id: Uuid) -> Vec<SlotRow> {
    sqlx::query_as(
        "select s.slot::text as slot, s.team_slug, s.reason, s.decided_by,
                s.decision::text as decision, s.decision_reason
           from approval_slot s where s.request_id = $1 order by s.slot",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .expect("slots")
}

/// Everything a refused call must leave alone: requests, slots, grants, notifications, audit.
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    requests: Vec<(Uuid, String, i32, Option<String>)>,
    slots: Vec<(Uuid, String, Option<String>)>,
    grants: i64,
    notifications: i64,
    audit_rows: i64,
}

impl Snapshot {
    pub async fn take(pool: &PgPool) -> Self {
        Self {
            requests: sqlx::query_as(
                "select id, state::text, version, decision_reason from access_request order by id",
            )
            .fetch_all(pool)
            .await
            .expect("requests"),
            slots: sqlx::query_as(
                "select request_id, slot::text, decided_by from approval_slot order by 1, 2",
            )
            .fetch_all(pool)
            .await
            .expect("slots"),
            grants: count(pool, "access_grant").await,
            notifications: count(pool, "notification").await,
            audit_rows: count(pool, "audit_log").await,
        }
    }

    /// Asserts nothing changed since this snapshot.
    #[track_caller]
    pub fn assert_unchanged(&self, now: &Snapshot, what: &str) {
        assert_eq!(self, now, "{what} must write nothing");
    }
}

pub async fn count(pool: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("select count(*) from {table}"))
        .fetch_one(pool)
        .await
        .expect("count")
}

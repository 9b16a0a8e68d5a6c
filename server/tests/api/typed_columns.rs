//! The Postgres enums and the Rust enums they map to name the same values, in both directions:
//! every value the database can hold decodes, and every Rust variant is a value the database
//! accepts. A value added on one side only fails here rather than at run time.

use app::domain::{
    CleanupPolicy, DataClassification, Decision, GrantRole, Lifecycle, RequestKind, RequestState,
    SchemaFormat, SlotKind, StepKind, StepStatus,
};
use app::drift::FindingKind;
use app::health::Status;
use sqlx::postgres::{PgHasArrayType, PgTypeInfo};
use sqlx::{Decode, Encode, PgPool, Postgres, Type};
use std::fmt::Debug;

async fn same_values<T>(pool: &PgPool, pg_type: &'static str, rust: &[T])
where
    T: for<'r> Decode<'r, Postgres>
        + for<'q> Encode<'q, Postgres>
        + Type<Postgres>
        + PgHasArrayType
        + PartialEq
        + Debug
        + Copy
        + Send
        + Unpin
        + 'static,
{
    let in_db: Vec<T> = sqlx::query_scalar(&format!("select unnest(enum_range(null::{pg_type}))"))
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("{pg_type}: a database value has no Rust variant: {e}"));
    assert_eq!(in_db.len(), rust.len(), "{pg_type}: {in_db:?} vs {rust:?}");
    assert!(
        rust.iter().all(|v| in_db.contains(v)),
        "{pg_type}: {in_db:?} vs {rust:?}"
    );
    // And back: the Rust values go in as the database type (an array of them, as the named
    // state sets are bound).
    let back: Vec<T> = sqlx::query_scalar(&format!("select unnest($1::{pg_type}[])"))
        .bind(rust)
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("{pg_type}: a Rust variant is not a database value: {e}"));
    assert_eq!(back, rust, "{pg_type}");
    assert_eq!(T::type_info(), PgTypeInfo::with_name(pg_type));
}

#[sqlx::test(migrations = "../migrations")]
async fn postgres_enums_and_rust_enums_name_the_same_values(pool: PgPool) {
    same_values(&pool, "request_kind", &RequestKind::ALL).await;
    same_values(&pool, "request_state", &RequestState::ALL).await;
    same_values(&pool, "apply_step_kind", &StepKind::ALL).await;
    same_values(&pool, "apply_step_status", &StepStatus::ALL).await;
    same_values(&pool, "lifecycle", &Lifecycle::ALL).await;
    same_values(&pool, "schema_format", &SchemaFormat::ALL).await;
    same_values(
        &pool,
        "approval_slot_kind",
        &[
            SlotKind::OwningTeam,
            SlotKind::Governance,
            SlotKind::SecondGovernance,
        ],
    )
    .await;
    same_values(
        &pool,
        "approval_decision",
        &[
            Decision::Approve,
            Decision::Decline,
            Decision::RequestChanges,
        ],
    )
    .await;
    same_values(
        &pool,
        "grant_role",
        &[GrantRole::Producer, GrantRole::Consumer],
    )
    .await;
    same_values(
        &pool,
        "cleanup_policy",
        &[
            CleanupPolicy::Delete,
            CleanupPolicy::Compact,
            CleanupPolicy::CompactDelete,
        ],
    )
    .await;
    same_values(
        &pool,
        "data_classification",
        &[DataClassification::Low, DataClassification::Moderate],
    )
    .await;
    same_values(
        &pool,
        "drift_finding_kind",
        &[FindingKind::UnknownAcl, FindingKind::UnknownTopic],
    )
    .await;
    same_values(
        &pool,
        "health_status",
        &[Status::Ok, Status::Warning, Status::Critical],
    )
    .await;
}

#[sqlx::test(migrations = "../migrations")]
async fn a_value_outside_a_columns_set_is_refused_by_the_database(pool: PgPool) {
    // The grant role and finding kind were free text with a check; now the type refuses.
    let role = sqlx::query("select 'admin'::grant_role")
        .execute(&pool)
        .await;
    assert!(role.is_err(), "grant_role accepted 'admin'");
    let kind = sqlx::query("select 'unknown_group'::drift_finding_kind")
        .execute(&pool)
        .await;
    assert!(kind.is_err(), "drift_finding_kind accepted 'unknown_group'");
}

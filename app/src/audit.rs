//! The append-only audit log: every state change, decision and admin action.

#[cfg(feature = "ssr")]
use crate::domain::Role;
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainStatus {
    pub rows_checked: i64,
    /// The first row whose hash or link does not match, if the chain is broken.
    pub first_broken_id: Option<i64>,
}

impl ChainStatus {
    pub fn intact(&self) -> bool {
        self.first_broken_id.is_none()
    }
}

/// Walks the whole hash chain. Admins only.
#[server(prefix = "/api", endpoint = "audit/verify")]
pub async fn verify_audit_chain() -> Result<ChainStatus, AppError> {
    crate::auth::ssr::require_any_role(&[Role::Admin]).await?;
    let db = crate::context::db()?;
    ssr::verify(&db)
        .await
        .map_err(|e| AppError::internal("verifying the audit chain failed", &e))
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use super::ChainStatus;
    use serde_json::Value;
    use sqlx::{PgConnection, PgPool};

    /// Appends one entry. Call inside the transaction that makes the change, so both or neither
    /// are kept.
    pub async fn append(
        conn: &mut PgConnection,
        actor: &str,
        action: &str,
        entity_type: &str,
        entity_id: &str,
        before: Option<Value>,
        after: Option<Value>,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "insert into audit_log (actor, action, entity_type, entity_id, before, after, prev_hash, hash)
             values ($1, $2, $3, $4, $5, $6, '', '')",
        )
        .bind(actor)
        .bind(action)
        .bind(entity_type)
        .bind(entity_id)
        .bind(before)
        .bind(after)
        .execute(conn)
        .await?;
        Ok(())
    }

    pub async fn verify(db: &PgPool) -> Result<ChainStatus, sqlx::Error> {
        let (rows_checked, first_broken_id): (i64, Option<i64>) =
            sqlx::query_as("select rows_checked, first_broken_id from audit_log_verify()")
                .fetch_one(db)
                .await?;
        Ok(ChainStatus {
            rows_checked,
            first_broken_id,
        })
    }
}

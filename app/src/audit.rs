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
    //! Appends are hash-chained by the database (`audit_log_chain`) and sealed here: each row's
    //! chain hash gets an HMAC-SHA-256 under a key kept outside the database
    //! (`audit.key`), stored in `audit_seal`. Whoever holds only the database role can
    //! disable the triggers, edit a row and recompute every later SHA-256 hash, but cannot
    //! recompute the seals, so [`verify`] still finds the first changed row.

    use super::ChainStatus;
    use base64::Engine;
    use hmac::{Hmac, Mac};
    use secrecy::{ExposeSecret, SecretString};
    use serde_json::Value;
    use sha2::Sha256;
    use sqlx::{PgConnection, PgPool};
    use std::sync::OnceLock;

    /// The key that seals audit rows.
    #[derive(Clone)]
    pub struct AuditKey([u8; 32]);

    impl std::fmt::Debug for AuditKey {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("AuditKey(..)")
        }
    }

    #[derive(Debug, thiserror::Error, PartialEq, Eq)]
    #[error("the audit key must be 32 bytes, base64-encoded")]
    pub struct BadAuditKey;

    impl AuditKey {
        pub fn from_base64(key: &SecretString) -> Result<Self, BadAuditKey> {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(key.expose_secret().trim())
                .map_err(|_| BadAuditKey)?;
            Ok(Self(bytes.try_into().map_err(|_| BadAuditKey)?))
        }

        /// The seal of a row: HMAC-SHA-256 over its id and chain hash.
        pub fn seal(&self, id: i64, hash: &[u8]) -> Vec<u8> {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
                .expect("HMAC accepts keys of any length");
            mac.update(&id.to_be_bytes());
            mac.update(hash);
            mac.finalize().into_bytes().to_vec()
        }

        fn verifies(&self, id: i64, hash: &[u8], seal: &[u8]) -> bool {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
                .expect("HMAC accepts keys of any length");
            mac.update(&id.to_be_bytes());
            mac.update(hash);
            mac.verify_slice(seal).is_ok()
        }
    }

    static KEY: OnceLock<AuditKey> = OnceLock::new();

    /// Installs the process's audit key, once, at start-up. A second call with a different key
    /// is refused: one process seals with one key.
    pub fn install_key(key: AuditKey) -> Result<(), &'static str> {
        let installed = KEY.get_or_init(|| key.clone());
        if installed.0 == key.0 {
            Ok(())
        } else {
            Err("a different audit key is already installed in this process")
        }
    }

    fn key() -> Result<&'static AuditKey, sqlx::Error> {
        KEY.get().ok_or_else(|| {
            sqlx::Error::Configuration("the audit key was not installed at start-up".into())
        })
    }

    /// Appends one entry and seals it. Call inside the transaction that makes the change, so
    /// both or neither are kept.
    pub async fn append(
        conn: &mut PgConnection,
        actor: &str,
        action: &str,
        entity_type: &str,
        entity_id: &str,
        before: Option<Value>,
        after: Option<Value>,
    ) -> Result<(), sqlx::Error> {
        let key = key()?;
        let entry = sqlx::query!(
            "insert into audit_log (actor, action, entity_type, entity_id, before, after, prev_hash, hash)
             values ($1, $2, $3, $4, $5, $6, '', '') returning id, hash",
            actor,
            action,
            entity_type,
            entity_id,
            before,
            after,
        )
        .fetch_one(&mut *conn)
        .await?;
        let id = entry.id;
        sqlx::query!(
            "insert into audit_seal (audit_id, seal) values ($1, $2)",
            id,
            key.seal(id, &entry.hash),
        )
        .execute(&mut *conn)
        .await?;
        // The head of the chain, outside the database: comparing the last one logged with the
        // table shows rows removed from its end.
        tracing::info!(audit.id = id, audit.action = action, "audit entry sealed");
        Ok(())
    }

    /// Walks the whole chain: every link and SHA-256 hash (in the database), then every seal.
    pub async fn verify(db: &PgPool) -> Result<ChainStatus, sqlx::Error> {
        let key = key()?;
        let chain = sqlx::query!(
            r#"select rows_checked as "rows_checked!", first_broken_id from audit_log_verify()"#
        )
        .fetch_one(db)
        .await?;
        let (rows_checked, hash_broken) = (chain.rows_checked, chain.first_broken_id);
        let rows: Vec<(i64, Vec<u8>, Option<Vec<u8>>)> = sqlx::query!(
            r#"select l.id, l.hash, s.seal as "seal?" from audit_log l
                 left join audit_seal s on s.audit_id = l.id
                order by l.id"#
        )
        .fetch_all(db)
        .await?
        .into_iter()
        .map(|r| (r.id, r.hash, r.seal))
        .collect();
        let seal_broken = rows
            .iter()
            .find(|(id, hash, seal)| {
                !seal
                    .as_deref()
                    .is_some_and(|seal| key.verifies(*id, hash, seal))
            })
            .map(|(id, ..)| *id);
        let first_broken_id = match (hash_broken, seal_broken) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Ok(ChainStatus {
            rows_checked: if first_broken_id.is_some() {
                rows_checked.min(i64::try_from(rows.len()).unwrap_or(i64::MAX))
            } else {
                rows_checked
            },
            first_broken_id,
        })
    }

    /// Seals rows that have none yet, after checking that the SHA-256 chain is intact: for
    /// rows loaded with SQL (demo data) or written before sealing existed. Operators run it
    /// once (`event-bus-portal --seal-audit-log`); it refuses a broken chain.
    pub async fn seal_unsealed(db: &PgPool) -> Result<Result<usize, i64>, sqlx::Error> {
        let key = key()?;
        let mut tx = db.begin().await?;
        // No appends while sealing: the chain trigger takes the same lock.
        sqlx::query!("select pg_advisory_xact_lock(727274)")
            .execute(&mut *tx)
            .await?;
        let broken = sqlx::query_scalar!("select first_broken_id from audit_log_verify()")
            .fetch_one(&mut *tx)
            .await?;
        if let Some(id) = broken {
            return Ok(Err(id));
        }
        let rows = sqlx::query!(
            "select l.id, l.hash from audit_log l
              where not exists (select 1 from audit_seal s where s.audit_id = l.id)
              order by l.id"
        )
        .fetch_all(&mut *tx)
        .await?;
        for row in &rows {
            sqlx::query!(
                "insert into audit_seal (audit_id, seal) values ($1, $2)",
                row.id,
                key.seal(row.id, &row.hash),
            )
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Ok(rows.len()))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn key(byte: u8) -> AuditKey {
            AuditKey([byte; 32])
        }

        #[test]
        fn a_seal_verifies_only_its_own_row_and_key() {
            let seal = key(1).seal(7, b"hash");
            assert!(key(1).verifies(7, b"hash", &seal));
            assert!(!key(1).verifies(8, b"hash", &seal));
            assert!(!key(1).verifies(7, b"hasH", &seal));
            assert!(!key(2).verifies(7, b"hash", &seal));
        }

        #[test]
        fn keys_are_32_bytes_of_base64() {
            let good =
                SecretString::from(base64::engine::general_purpose::STANDARD.encode([3u8; 32]));
            assert!(AuditKey::from_base64(&good).is_ok());
            assert!(AuditKey::from_base64(&SecretString::from("c2hvcnQ=".to_owned())).is_err());
            assert!(format!("{:?}", key(9)).contains(".."));
        }
    }
}

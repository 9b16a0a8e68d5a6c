//! The Postgres pool and the schema migrations.

use crate::config::DatabaseSettings;
use anyhow::Context;
use secrecy::ExposeSecret;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use std::time::Duration;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// Opens the pool lazily so the server starts (and reports not-ready) while the database is down.
pub fn pool(settings: &DatabaseSettings) -> anyhow::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(Duration::from_secs(3))
        // A connection in steady use is not pinged before each use: the ping was a round trip
        // per query (a third of the catalog page's database time). One that sat idle for a
        // second or more is pinged first, so after a database restart the connections it broke
        // are replaced rather than handed to requests.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= Duration::from_secs(1) {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
        // The catalog's optional filters (`$1 is null or ...`) make a generic plan scan the
        // whole table; planning with the actual values lets search use its trigram index
        // (measured with dev/bench: search page p95 56 ms -> 28 ms).
        //
        // The portal's tables are small and stay in memory, where reading a row by an index
        // costs little more than reading the next one: at PostgreSQL's default (4, for spinning
        // disks) the approvals queue read every waiting request and sorted them rather than
        // walking its index in order and stopping once the page was full (dev/bench, an uncached
        // page of the queue: 2,997 buffers read -> 309).
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                sqlx::query!("set plan_cache_mode = force_custom_plan")
                    .execute(&mut *conn)
                    .await?;
                sqlx::query!("set random_page_cost = 1.1")
                    .execute(&mut *conn)
                    .await
                    .map(|_| ())
            })
        })
        .connect_lazy(settings.url.expose_secret())
        .context("the database URL is malformed")
}

pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR
        .run(pool)
        .await
        .context("applying database migrations")
}

/// Records a sign-in: who, and when they were last seen. Groups are kept for audit.
pub async fn record_sign_in(
    pool: &PgPool,
    subject: &str,
    display_name: &str,
    email: Option<&str>,
    groups: &[String],
) -> anyhow::Result<()> {
    sqlx::query!(
        "insert into app_user (subject, display_name, email, groups)
         values ($1, $2, $3, $4)
         on conflict (subject) do update
            set display_name = excluded.display_name,
                email = excluded.email,
                groups = excluded.groups,
                last_login_at = now()",
        subject,
        display_name,
        email,
        groups,
    )
    .execute(pool)
    .await
    .context("recording the sign-in")?;
    Ok(())
}

//! Postgres side of the health pages: a team's topics, expected intervals, and charts read from
//! the rollups. What the collectors write (rollups, alerts) is in `server/src/health/store.rs`.

use crate::domain::EnvironmentName;
use crate::domain::{Role, UserIdentity};
use crate::error::AppError;
use crate::store::{StoreError, failed_while};
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgPool;

/// `(environment, topic, team)` for every topic of the given teams, in every environment it is in.
pub async fn team_topics(
    db: &PgPool,
    teams: &[String],
) -> Result<Vec<(EnvironmentName, String, String)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select te.environment as "environment: EnvironmentName", t.name, t.owning_team
           from topic t join topic_environment te on te.topic_id = t.id
          where t.owning_team = any($1)
          order by t.name, te.environment"#,
        teams
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.environment, r.name, r.owning_team))
        .collect())
}

/// The owning team and the owner's expected interval in seconds; `None` for a topic that is not
/// in the catalog.
pub async fn expected_interval_setting(
    db: &PgPool,
    topic: &str,
) -> Result<Option<(String, Option<i64>)>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select t.owning_team, s.expected_interval_seconds as "seconds?"
             from topic t left join topic_health_setting s on s.topic_id = t.id
            where t.name = $1"#,
        topic
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| (r.owning_team, r.seconds.map(i64::from))))
}

/// Sets or clears a topic's expected interval, for a member of the owning team or an admin.
pub async fn set_expected_interval(
    db: &PgPool,
    user: &UserIdentity,
    topic: &str,
    seconds: Option<i64>,
) -> Result<(), StoreError> {
    let internal = failed_while("saving the expected interval");
    let mut tx = db.begin().await.map_err(internal)?;
    let row = sqlx::query!(
        r#"select t.id, t.owning_team, s.expected_interval_seconds as "seconds?"
             from topic t left join topic_health_setting s on s.topic_id = t.id
            where t.name = $1 for update of t"#,
        topic
    )
    .fetch_optional(&mut *tx)
    .await
    .map_err(internal)?
    .map(|r| (r.id, r.owning_team, r.seconds));
    let Some((topic_id, team, before)) = row else {
        return Err(StoreError::from(crate::auth::ssr::with_status(
            AppError::NotFound,
        )));
    };
    let member = user.teams.iter().any(|t| t.as_str() == team);
    if !member && !user.has_role(Role::Admin) {
        return Err(StoreError::from(crate::auth::ssr::with_status(
            AppError::Forbidden,
        )));
    }
    let seconds = seconds
        .map(i32::try_from)
        .transpose()
        .map_err(|_| AppError::invalid("Expected interval", "too long"))?;
    sqlx::query!(
        "insert into topic_health_setting (topic_id, expected_interval_seconds, updated_by)
         values ($1, $2, $3)
         on conflict (topic_id) do update
            set expected_interval_seconds = excluded.expected_interval_seconds,
                updated_by = excluded.updated_by, updated_at = now()",
        topic_id,
        seconds,
        &user.subject,
    )
    .execute(&mut *tx)
    .await
    .map_err(internal)?;
    crate::audit::ssr::append(
        &mut tx,
        &user.subject,
        "topic.expected_interval_set",
        "topic",
        &topic_id.to_string(),
        Some(json!({ "expected_interval_seconds": before })),
        Some(json!({ "expected_interval_seconds": seconds })),
    )
    .await
    .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    Ok(())
}

/// Messages per second of a topic in bins of `bin` seconds since `from`, from the rollups.
/// Bins without a row had no traffic and read as zero.
pub async fn topic_rates(
    db: &PgPool,
    environment: &EnvironmentName,
    topic: &str,
    from: DateTime<Utc>,
    bin: i64,
) -> Result<Vec<(DateTime<Utc>, f64)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select b.at as "at!: DateTime<Utc>",
                  coalesce(sum(m.messages), 0)::float8 / $4 as "rate!"
             from generate_series(date_bin(make_interval(secs => $4), $3, 'epoch'::timestamptz),
                                  now(), make_interval(secs => $4)) b(at)
             left join topic_health_minute m
               on m.environment = $1 and m.topic = $2
              and m.minute >= b.at and m.minute < b.at + make_interval(secs => $4)
            group by b.at order by b.at"#,
        environment as &EnvironmentName,
        topic,
        from as _,
        bin as f64,
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.at, r.rate)).collect())
}

/// The largest lag of a group in bins of `bin` seconds since `from`, from the rollups.
pub async fn group_lags(
    db: &PgPool,
    environment: &EnvironmentName,
    group: &str,
    from: DateTime<Utc>,
    bin: i64,
) -> Result<Vec<(DateTime<Utc>, f64)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select date_bin(make_interval(secs => $4), minute, 'epoch'::timestamptz)
                    as "at!: DateTime<Utc>",
                  max(max_lag)::float8 as "lag!"
             from group_lag_minute
            where environment = $1 and group_id = $2 and minute >= $3
            group by 1 order by 1"#,
        environment as &EnvironmentName,
        group,
        from as _,
        bin as f64,
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.at, r.lag)).collect())
}

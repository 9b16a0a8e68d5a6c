//! Postgres side of topic health: one-minute rollups, expected intervals, alerts.

use super::Status;
use crate::domain::{Role, RoleMapping, UserIdentity};
use crate::error::AppError;
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use std::collections::HashMap;

/// `(environment, topic, team)` for every topic of the given teams, in every environment it is in.
pub async fn team_topics(
    db: &PgPool,
    teams: &[String],
) -> Result<Vec<(String, String, String)>, sqlx::Error> {
    let rows = sqlx::query!(
        "select te.environment, t.name, t.owning_team
           from topic t join topic_environment te on te.topic_id = t.id
          where t.owning_team = any($1)
          order by t.name, te.environment",
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
) -> Result<(), AppError> {
    let internal = |e: sqlx::Error| AppError::internal("saving the expected interval failed", &e);
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
        return Err(crate::auth::ssr::with_status(AppError::NotFound));
    };
    let member = user.teams.iter().any(|t| t.as_str() == team);
    if !member && !user.has_role(Role::Admin) {
        return Err(crate::auth::ssr::with_status(AppError::Forbidden));
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
    environment: &str,
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
        environment,
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
    environment: &str,
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
        environment,
        group,
        from as _,
        bin as f64,
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.at, r.lag)).collect())
}

/// One minute of one topic.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicMinute {
    pub topic: String,
    pub messages: i64,
    pub max_rate: f64,
    pub under_replicated: i32,
}

/// One minute of one group.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupMinute {
    pub group: String,
    pub max_lag: i64,
    pub max_seconds_behind: f64,
}

/// Writes a finished minute. Written again (another server, a retry), the row is replaced.
pub async fn write_minute(
    db: &PgPool,
    environment: &str,
    minute: DateTime<Utc>,
    topics: &[TopicMinute],
    groups: &[GroupMinute],
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    for chunk in topics.chunks(5000) {
        sqlx::query!(
            "insert into topic_health_minute (environment, topic, minute, messages, max_rate, under_replicated)
             select $1, t, $2, m, r, u from unnest($3::text[], $4::int8[], $5::float8[], $6::int4[]) x(t, m, r, u)
             on conflict (environment, topic, minute) do update
                set messages = excluded.messages, max_rate = excluded.max_rate,
                    under_replicated = excluded.under_replicated",
            environment,
            minute as _,
            &chunk.iter().map(|t| t.topic.as_str()).collect::<Vec<_>>() as &[&str],
            &chunk.iter().map(|t| t.messages).collect::<Vec<_>>(),
            &chunk.iter().map(|t| t.max_rate).collect::<Vec<_>>(),
            &chunk.iter().map(|t| t.under_replicated).collect::<Vec<_>>(),
        )
        .execute(&mut *tx)
        .await?;
    }
    for chunk in groups.chunks(5000) {
        sqlx::query!(
            "insert into group_lag_minute (environment, group_id, minute, max_lag, max_seconds_behind)
             select $1, g, $2, l, s from unnest($3::text[], $4::int8[], $5::float8[]) x(g, l, s)
             on conflict (environment, group_id, minute) do update
                set max_lag = excluded.max_lag, max_seconds_behind = excluded.max_seconds_behind",
            environment,
            minute as _,
            &chunk.iter().map(|g| g.group.as_str()).collect::<Vec<_>>() as &[&str],
            &chunk.iter().map(|g| g.max_lag).collect::<Vec<_>>(),
            &chunk.iter().map(|g| g.max_seconds_behind).collect::<Vec<_>>(),
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// Deletes rollups older than `cutoff`; returns how many rows went.
pub async fn delete_rollups_before(db: &PgPool, cutoff: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let topics = sqlx::query!(
        "delete from topic_health_minute where minute < $1",
        cutoff as _
    )
    .execute(db)
    .await?
    .rows_affected();
    let groups = sqlx::query!(
        "delete from group_lag_minute where minute < $1",
        cutoff as _
    )
    .execute(db)
    .await?
    .rows_affected();
    Ok(topics + groups)
}

/// The end of the last minute with traffic, per topic: where "time since the last message"
/// starts when the collector itself has not seen one yet.
pub async fn last_traffic(
    db: &PgPool,
    environment: &str,
) -> Result<HashMap<String, DateTime<Utc>>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select topic, max(minute) + interval '1 minute' as "until!: DateTime<Utc>"
             from topic_health_minute
            where environment = $1 and messages > 0 group by topic"#,
        environment
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.topic, r.until)).collect())
}

/// Per topic, the longest gap in seconds between minutes with traffic over the last week, and
/// how many such minutes there were.
pub async fn traffic_gaps(
    db: &PgPool,
    environment: &str,
) -> Result<HashMap<String, (i64, i64)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select topic as "topic!", coalesce(max(gap), 0)::int8 as "gap!", count(*)::int8 as "minutes!"
             from (
               select topic, extract(epoch from minute - lag(minute) over (partition by topic order by minute))::int8 gap
                 from topic_health_minute
                where environment = $1 and messages > 0 and minute > now() - interval '7 days'
             ) g group by topic"#,
        environment,
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.topic, (r.gap, r.minutes)))
        .collect())
}

/// What the catalog says about the topics of one environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogTopic {
    pub owner: String,
    pub expected_seconds: Option<i64>,
}

pub async fn catalog_topics(
    db: &PgPool,
    environment: &str,
) -> Result<HashMap<String, CatalogTopic>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select t.name, t.owning_team, s.expected_interval_seconds as "seconds?"
             from topic t join topic_environment te on te.topic_id = t.id and te.environment = $1
             left join topic_health_setting s on s.topic_id = t.id"#,
        environment
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.name,
                CatalogTopic {
                    owner: r.owning_team,
                    expected_seconds: r.seconds.map(i64::from),
                },
            )
        })
        .collect())
}

/// Consumer groups granted to applications in one environment: `(group, is_prefix, team)`.
pub async fn granted_groups(
    db: &PgPool,
    environment: &str,
) -> Result<Vec<(String, bool, String)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select distinct g.consumer_group as "consumer_group!", g.consumer_group_is_prefix,
                  a.team_slug
             from access_grant g join application a on a.id = g.application_id
            where g.environment = $1 and g.role = 'consumer' and g.revoked_at is null
              and g.consumer_group is not null"#,
        environment
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.consumer_group, r.consumer_group_is_prefix, r.team_slug))
        .collect())
}

/// An alert still open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenAlert {
    pub id: i64,
    pub kind: String,
    pub subject: String,
    pub status: Status,
    pub team: Option<String>,
}

pub async fn open_alerts(db: &PgPool, environment: &str) -> Result<Vec<OpenAlert>, sqlx::Error> {
    sqlx::query_as!(
        OpenAlert,
        r#"select id, subject_kind as kind, subject, status as "status: Status",
                  team_slug as team
             from health_alert
            where environment = $1 and closed_at is null"#,
        environment
    )
    .fetch_all(db)
    .await
}

/// A status change to tell a team about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertChange {
    /// Was OK, is not: open an alert.
    Open { status: Status, reason: String },
    /// Got worse while open: update the alert and tell the team again.
    Escalate {
        id: i64,
        status: Status,
        reason: String,
    },
    /// Got better but is not OK yet: update quietly.
    Ease {
        id: i64,
        status: Status,
        reason: String,
    },
    /// OK again: close the alert and send a recovery notice.
    Recover { id: i64, reason: String },
}

/// Records one change and tells the owning team in the same transaction (in-app for every member
/// the portal knows, and the team's webhook). Returns false when another server recorded it first.
#[expect(
    clippy::too_many_arguments,
    reason = "one alert's facts, each a plain value"
)]
pub async fn record_alert(
    db: &PgPool,
    roles: &RoleMapping,
    environment: &str,
    kind: &str,
    subject: &str,
    team: Option<&str>,
    change: &AlertChange,
    link: &str,
    public_url: &str,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let message = match change {
        AlertChange::Open { status, reason } => {
            let inserted = sqlx::query!(
                "insert into health_alert (environment, subject_kind, subject, team_slug, status, reason)
                 values ($1, $2, $3, $4, $5, $6)
                 on conflict (environment, subject_kind, subject) where closed_at is null do nothing",
                environment,
                kind,
                subject,
                team,
                status as &Status,
                reason,
            )
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 0 {
                return Ok(false);
            }
            Some(super::eval::alert_message(
                kind,
                subject,
                environment,
                *status,
                reason,
            ))
        }
        AlertChange::Escalate { id, status, reason } | AlertChange::Ease { id, status, reason } => {
            let updated = sqlx::query!(
                "update health_alert set status = $2, reason = $3, updated_at = now()
                  where id = $1 and closed_at is null and status <> $2",
                id,
                status as &Status,
                reason,
            )
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if updated == 0 {
                return Ok(false);
            }
            matches!(change, AlertChange::Escalate { .. })
                .then(|| super::eval::alert_message(kind, subject, environment, *status, reason))
        }
        AlertChange::Recover { id, reason } => {
            let closed = sqlx::query!(
                "update health_alert set closed_at = now(), updated_at = now(), recovery_reason = $2
                  where id = $1 and closed_at is null",
                id,
                reason,
            )
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if closed == 0 {
                return Ok(false);
            }
            Some(super::eval::recovery_message(
                kind,
                subject,
                environment,
                reason,
            ))
        }
    };
    if let (Some(message), Some(team)) = (message, team) {
        crate::notifications::ssr::notify_team_members(&mut tx, roles, &[team], &message, link)
            .await?;
        crate::notifications::ssr::enqueue_webhooks(
            &mut tx,
            &[team],
            &message,
            &format!("{public_url}{link}"),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Alerts of one subject, newest first (for tests and the pages).
pub async fn alerts_for(
    conn: &mut PgConnection,
    environment: &str,
    kind: &str,
    subject: &str,
) -> Result<Vec<(Status, String, bool)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select status as "status: Status", reason, closed_at is not null as "closed!"
             from health_alert
            where environment = $1 and subject_kind = $2 and subject = $3 order by id desc"#,
        environment,
        kind,
        subject,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.status, r.reason, r.closed))
        .collect())
}

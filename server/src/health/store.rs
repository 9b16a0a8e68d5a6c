//! What the health collectors read and write in Postgres: one-minute rollups, what the catalog
//! says about each topic and granted group, and alerts with the notices they send.

use app::domain::EnvironmentName;
use app::domain::RoleMapping;
use app::health::Status;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use std::collections::HashMap;

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
    environment: &EnvironmentName,
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
            environment as &EnvironmentName,
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
            environment as &EnvironmentName,
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
    environment: &EnvironmentName,
) -> Result<HashMap<String, DateTime<Utc>>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select topic, max(minute) + interval '1 minute' as "until!: DateTime<Utc>"
             from topic_health_minute
            where environment = $1 and messages > 0 group by topic"#,
        environment as &EnvironmentName
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.topic, r.until)).collect())
}

/// Per topic, the longest gap in seconds between minutes with traffic over the last week, and
/// how many such minutes there were.
pub async fn traffic_gaps(
    db: &PgPool,
    environment: &EnvironmentName,
) -> Result<HashMap<String, (i64, i64)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select topic as "topic!", coalesce(max(gap), 0)::int8 as "gap!", count(*)::int8 as "minutes!"
             from (
               select topic, extract(epoch from minute - lag(minute) over (partition by topic order by minute))::int8 gap
                 from topic_health_minute
                where environment = $1 and messages > 0 and minute > now() - interval '7 days'
             ) g group by topic"#,
        environment as &EnvironmentName,
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
    environment: &EnvironmentName,
) -> Result<HashMap<String, CatalogTopic>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select t.name, t.owning_team, s.expected_interval_seconds as "seconds?"
             from topic t join topic_environment te on te.topic_id = t.id and te.environment = $1
             left join topic_health_setting s on s.topic_id = t.id"#,
        environment as &EnvironmentName
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
    environment: &EnvironmentName,
) -> Result<Vec<(String, bool, String)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select distinct g.consumer_group as "consumer_group!", g.consumer_group_is_prefix,
                  a.team_slug
             from access_grant g join application a on a.id = g.application_id
            where g.environment = $1 and g.role = 'consumer' and g.revoked_at is null
              and g.consumer_group is not null"#,
        environment as &EnvironmentName
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

pub async fn open_alerts(
    db: &PgPool,
    environment: &EnvironmentName,
) -> Result<Vec<OpenAlert>, sqlx::Error> {
    sqlx::query_as!(
        OpenAlert,
        r#"select id, subject_kind as kind, subject, status as "status: Status",
                  team_slug as team
             from health_alert
            where environment = $1 and closed_at is null"#,
        environment as &EnvironmentName
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
    environment: &EnvironmentName,
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
                environment as &EnvironmentName,
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
            Some(app::health::eval::alert_message(
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
            matches!(change, AlertChange::Escalate { .. }).then(|| {
                app::health::eval::alert_message(kind, subject, environment, *status, reason)
            })
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
            Some(app::health::eval::recovery_message(
                kind,
                subject,
                environment,
                reason,
            ))
        }
    };
    if let (Some(message), Some(team)) = (message, team) {
        app::notifications::ssr::notify_team_members(&mut tx, roles, &[team], &message, link)
            .await?;
        app::notifications::ssr::enqueue_webhooks(
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
    environment: &EnvironmentName,
    kind: &str,
    subject: &str,
) -> Result<Vec<(Status, String, bool)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select status as "status: Status", reason, closed_at is not null as "closed!"
             from health_alert
            where environment = $1 and subject_kind = $2 and subject = $3 order by id desc"#,
        environment as &EnvironmentName,
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

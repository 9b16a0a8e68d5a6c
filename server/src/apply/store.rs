//! What the apply workers and the reconciler read in Postgres: the next due step, the topic and
//! grants a step applies, and what each cluster must hold. What changes a request's state when a
//! step settles is in `app/src/apply/store.rs`, with the rest of the request's lifecycle.

use app::apply::store::{ClaimedStep, GrantAcl, TopicWanted};
use app::domain::{CleanupPolicy, GrantRole, RequestState, StepKind};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// Claims the next due step whose earlier steps (same request, same environment) are done.
/// The row stays locked until the caller's transaction ends, so no other worker runs it; a
/// worker that dies releases it with its connection.
pub async fn claim(conn: &mut PgConnection) -> Result<Option<ClaimedStep>, sqlx::Error> {
    sqlx::query_as!(
        ClaimedStep,
        r#"select s.id, s.request_id, s.environment, s.kind as "kind: StepKind", s.topic_id,
                s.application_id, s.grant_id, s.attempts
           from apply_step s
          where s.status in ('pending', 'waiting_for_cluster') and s.next_attempt_at <= now()
            and not exists (
                select 1 from apply_step p
                 where p.request_id = s.request_id and p.environment = s.environment
                   and p.position < s.position and p.status not in ('done', 'cancelled')
                   -- ACLs name the principal, not its password: they need not wait for it.
                   and p.kind not in ('create_credentials', 'rotate_credentials'))
          order by s.next_attempt_at
          limit 1
          for update of s skip locked"#
    )
    .fetch_optional(conn)
    .await
}

pub async fn topic_wanted(
    conn: &mut PgConnection,
    topic: Uuid,
) -> Result<TopicWanted, sqlx::Error> {
    sqlx::query_as!(
        TopicWanted,
        r#"select name, partitions, retention_ms, cleanup_policy as "cleanup_policy: CleanupPolicy"
             from topic where id = $1"#,
        topic
    )
    .fetch_one(conn)
    .await
}

pub async fn grant_acl(conn: &mut PgConnection, grant: Uuid) -> Result<GrantAcl, sqlx::Error> {
    sqlx::query_as!(
        GrantAcl,
        r#"select g.id as grant_id, g.environment, p.principal, g.role as "role: GrantRole",
                  t.name as topic, g.consumer_group, g.consumer_group_is_prefix
             from access_grant g
             join topic t on t.id = g.topic_id
             join kafka_principal p
               on p.application_id = g.application_id and p.environment = g.environment
            where g.id = $1"#,
        grant
    )
    .fetch_one(conn)
    .await
}

/// Grants of the same principal, other than `grant`, that are live: their ACLs must stay when
/// `grant` is removed.
pub async fn other_live_grants(
    conn: &mut PgConnection,
    grant: &GrantAcl,
) -> Result<Vec<GrantAcl>, sqlx::Error> {
    sqlx::query_as!(
        GrantAcl,
        r#"select g.id as grant_id, g.environment, p.principal, g.role as "role: GrantRole",
                  t.name as topic, g.consumer_group, g.consumer_group_is_prefix
             from access_grant g
             join topic t on t.id = g.topic_id
             join kafka_principal p
               on p.application_id = g.application_id and p.environment = g.environment
             join access_request r on r.id = g.request_id
            where p.principal = $1 and g.environment = $2 and g.id <> $3 and g.revoked_at is null
              and r.state = any($4)"#,
        &grant.principal,
        &grant.environment,
        grant.grant_id,
        &RequestState::APPROVED[..] as &[RequestState],
    )
    .fetch_all(conn)
    .await
}

/// Every grant the cluster of `environment` must enforce.
pub async fn desired_grants(db: &PgPool, environment: &str) -> Result<Vec<GrantAcl>, sqlx::Error> {
    sqlx::query_as!(
        GrantAcl,
        r#"select g.id as grant_id, g.environment, p.principal, g.role as "role: GrantRole",
                  t.name as topic, g.consumer_group, g.consumer_group_is_prefix
             from access_grant g
             join topic t on t.id = g.topic_id
             join kafka_principal p
               on p.application_id = g.application_id and p.environment = g.environment
             join access_request r on r.id = g.request_id
            where g.environment = $1 and g.revoked_at is null and r.state = any($2)"#,
        environment,
        &RequestState::IN_FORCE[..] as &[RequestState],
    )
    .fetch_all(db)
    .await
}

/// Every catalog topic that lives in `environment`.
pub async fn desired_topics(
    db: &PgPool,
    environment: &str,
) -> Result<Vec<TopicWanted>, sqlx::Error> {
    sqlx::query_as!(
        TopicWanted,
        r#"select t.name, t.partitions, t.retention_ms,
                  t.cleanup_policy as "cleanup_policy: CleanupPolicy"
             from topic t join topic_environment e on e.topic_id = t.id
            where e.environment = $1
              and not exists (select 1 from access_request r
                               where r.topic_id = t.id and r.kind = 'new_topic'
                                 and r.state <> all($2))"#,
        environment,
        &RequestState::IN_FORCE[..] as &[RequestState],
    )
    .fetch_all(db)
    .await
}

/// The principal of an application in an environment, and whether its credential is set.
pub async fn principal_of(
    conn: &mut PgConnection,
    application: Uuid,
    environment: &str,
) -> Result<(String, bool), sqlx::Error> {
    let row = sqlx::query!(
        r#"select principal, credential_set_at is not null as "set!" from kafka_principal
            where application_id = $1 and environment = $2"#,
        application,
        environment
    )
    .fetch_one(conn)
    .await?;
    Ok((row.principal, row.set))
}

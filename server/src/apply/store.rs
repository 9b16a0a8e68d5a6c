//! What the apply workers and the reconciler read and write in Postgres: the next due step, the
//! topic, grants and principal a step applies, the credential a step sets or removes, how a step
//! settles (done, waiting for its cluster, refused, failed) and what each cluster must hold. A
//! request whose steps have all settled moves on through the request lifecycle
//! (`app::requests::lifecycle`).

use app::apply::store::GrantAcl;
use app::audit::ssr::append;
use app::credentials::Sealed;
use app::domain::EnvironmentName;
use app::domain::{ApplicationId, GrantId, RequestId, TopicId};
use app::domain::{CleanupPolicy, GrantRole, RequestEvent, RequestState, StepKind, StepStatus};
use app::notifications::ssr as notifications;
use app::requests::lifecycle::{PORTAL_ACTOR, lock_request, set_state, settle_if_done};
use app::store::{StoreError, failed_while};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// A topic as the catalog wants it on a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicWanted {
    pub name: String,
    pub partitions: i32,
    pub retention_ms: i64,
    pub cleanup_policy: CleanupPolicy,
}

/// A step a worker holds (its row is locked until the worker's transaction ends).
#[derive(Debug, Clone)]
pub struct ClaimedStep {
    pub id: Uuid,
    pub request_id: Option<RequestId>,
    pub environment: EnvironmentName,
    pub kind: StepKind,
    pub topic_id: Option<TopicId>,
    pub application_id: Option<ApplicationId>,
    pub grant_id: Option<GrantId>,
    pub attempts: i32,
}

/// Locks the application's principal in the environment and tells whether the application still
/// holds a live grant there; its name when it holds none (its credential is to be deleted).
pub async fn principal_without_grants(
    conn: &mut PgConnection,
    application: ApplicationId,
    environment: &EnvironmentName,
) -> Result<Option<String>, sqlx::Error> {
    let principal: String = sqlx::query_scalar!(
        "select principal from kafka_principal
          where application_id = $1 and environment = $2 for update",
        application as ApplicationId,
        environment as &EnvironmentName
    )
    .fetch_one(&mut *conn)
    .await?;
    let live: bool = sqlx::query_scalar!(
        r#"select exists (select 1 from access_grant
                         where application_id = $1 and environment = $2 and revoked_at is null) as "found!""#,
        application as ApplicationId,
        environment as &EnvironmentName,
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok((!live).then_some(principal))
}

/// The credential is gone from the cluster: forget it, and any password waiting to be shown.
pub async fn forget_credential(
    conn: &mut PgConnection,
    application: ApplicationId,
    environment: &EnvironmentName,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update kafka_principal set credential_set_at = null where application_id = $1 and environment = $2",
        application as ApplicationId,
        environment as &EnvironmentName,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "delete from credential_reveal where application_id = $1 and environment = $2",
        application as ApplicationId,
        environment as &EnvironmentName
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Keeps a new password, sealed, for the owning team to see once.
pub async fn store_credential(
    conn: &mut PgConnection,
    application: ApplicationId,
    environment: &EnvironmentName,
    sealed: &Sealed,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update kafka_principal set credential_set_at = now() where application_id = $1 and environment = $2",
        application as ApplicationId,
        environment as &EnvironmentName,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "insert into credential_reveal (application_id, environment, nonce, sealed)
         values ($1, $2, $3, $4)
         on conflict (application_id, environment)
         do update set nonce = excluded.nonce, sealed = excluded.sealed, created_at = now()",
        application as ApplicationId,
        environment as &EnvironmentName,
        &sealed.nonce,
        &sealed.sealed
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks a step done; a request whose steps are all settled becomes active.
pub async fn step_done(conn: &mut PgConnection, step: &ClaimedStep) -> Result<(), StoreError> {
    sqlx::query!(
        "update apply_step set status = 'done', attempts = attempts + 1, done_at = now(), last_error = null where id = $1",
        step.id,
    )
    .execute(&mut *conn)
    .await
    .map_err(failed_while("marking a step done"))?;
    match step.request_id {
        Some(request) => settle_if_done(conn, request).await,
        None => Ok(()),
    }
}

/// Seconds before the next try after `attempts` failures: 1, 2, 4, ... at most 30.
pub fn retry_delay_seconds(attempts: i32) -> f64 {
    let exponent = attempts.clamp(1, 10) - 1;
    f64::from(1_i32 << exponent).min(30.0)
}

/// Records a failed try. A cluster that cannot be reached is waited for, however long it takes;
/// a refusal is tried `max_attempts` times, then the step and its request fail.
pub async fn step_failed(
    conn: &mut PgConnection,
    step: &ClaimedStep,
    transient: bool,
    message: &str,
    max_attempts: i32,
) -> Result<StepStatus, StoreError> {
    let attempts = step.attempts + 1;
    // An unreachable cluster is one problem, not one per step: the delay grows with the longest
    // wait in that environment, and every other open step there waits too, so workers stay free
    // for the environments that answer.
    let delay_attempts = if transient {
        let longest: i32 = sqlx::query_scalar!(
            r#"select coalesce(max(attempts), 0) as "longest!" from apply_step
                where environment = $1 and status = 'waiting_for_cluster'"#,
            &step.environment as &EnvironmentName
        )
        .fetch_one(&mut *conn)
        .await
        .map_err(failed_while("reading the environment's backoff"))?;
        attempts.max(longest + 1)
    } else {
        attempts
    };
    let status = if transient {
        StepStatus::WaitingForCluster
    } else if attempts >= max_attempts {
        StepStatus::Failed
    } else {
        StepStatus::Pending
    };
    sqlx::query!(
        "update apply_step
            set status = $2, attempts = $3, last_error = $4,
                next_attempt_at = now() + make_interval(secs => $5)
          where id = $1",
        step.id,
        status as StepStatus,
        delay_attempts,
        message,
        retry_delay_seconds(delay_attempts)
    )
    .execute(&mut *conn)
    .await
    .map_err(failed_while("recording a failed step"))?;
    if transient {
        // Rows other workers hold are skipped: they are finding out the same thing.
        sqlx::query!(
            "update apply_step
                set status = 'waiting_for_cluster', last_error = $2,
                    next_attempt_at = greatest(next_attempt_at, now() + make_interval(secs => $3))
              where id in (select id from apply_step
                            where environment = $1 and id <> $4
                              and status in ('pending', 'waiting_for_cluster')
                            for update skip locked)",
            &step.environment as &EnvironmentName,
            message,
            retry_delay_seconds(delay_attempts),
            step.id
        )
        .execute(&mut *conn)
        .await
        .map_err(failed_while("holding the environment's steps"))?;
    }
    if let (StepStatus::Failed, Some(request)) = (status, step.request_id) {
        let (state, requester) = lock_request(&mut *conn, request).await?;
        if let Some(next) = state.apply(RequestEvent::StepFailed) {
            set_state(conn, request, next, None).await?;
            append(
                conn,
                PORTAL_ACTOR,
                "request.failed",
                "access_request",
                &request.to_string(),
                Some(json!({ "state": state.as_str() })),
                Some(json!({ "state": next.as_str(), "reason": message })),
            )
            .await
            .map_err(failed_while("auditing the failure"))?;
            let what = app::requests::lifecycle::describe(conn, request).await?;
            notifications::notify(
                conn,
                &requester,
                &format!(
                    "{what} was approved but could not be applied to Kafka; an admin has been asked to look."
                ),
                request,
            )
            .await
            .map_err(failed_while("notifying the requester"))?;
        }
    }
    Ok(status)
}

/// Claims the next due step whose earlier steps (same request, same environment) are done.
/// The row stays locked until the caller's transaction ends, so no other worker runs it; a
/// worker that dies releases it with its connection.
pub async fn claim(conn: &mut PgConnection) -> Result<Option<ClaimedStep>, sqlx::Error> {
    sqlx::query_as!(
        ClaimedStep,
        r#"select s.id, s.request_id as "request_id: RequestId", s.environment as "environment: EnvironmentName",
                s.kind as "kind: StepKind", s.topic_id as "topic_id: TopicId",
                s.application_id as "application_id: ApplicationId",
                s.grant_id as "grant_id: GrantId", s.attempts
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
    topic: TopicId,
) -> Result<TopicWanted, sqlx::Error> {
    sqlx::query_as!(
        TopicWanted,
        r#"select name, partitions, retention_ms, cleanup_policy as "cleanup_policy: CleanupPolicy"
             from topic where id = $1"#,
        topic as TopicId
    )
    .fetch_one(conn)
    .await
}

pub async fn grant_acl(conn: &mut PgConnection, grant: GrantId) -> Result<GrantAcl, sqlx::Error> {
    sqlx::query_as!(
        GrantAcl,
        r#"select g.id as "grant_id: GrantId", g.environment as "environment: EnvironmentName", p.principal, g.role as "role: GrantRole",
                  t.name as topic, g.consumer_group, g.consumer_group_is_prefix
             from access_grant g
             join topic t on t.id = g.topic_id
             join kafka_principal p
               on p.application_id = g.application_id and p.environment = g.environment
            where g.id = $1"#,
        grant as GrantId
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
        r#"select g.id as "grant_id: GrantId", g.environment as "environment: EnvironmentName", p.principal, g.role as "role: GrantRole",
                  t.name as topic, g.consumer_group, g.consumer_group_is_prefix
             from access_grant g
             join topic t on t.id = g.topic_id
             join kafka_principal p
               on p.application_id = g.application_id and p.environment = g.environment
             join access_request r on r.id = g.request_id
            where p.principal = $1 and g.environment = $2 and g.id <> $3 and g.revoked_at is null
              and r.state = any($4)"#,
        &grant.principal,
        &grant.environment as &EnvironmentName,
        grant.grant_id as GrantId,
        &RequestState::APPROVED[..] as &[RequestState],
    )
    .fetch_all(conn)
    .await
}

/// Every grant the cluster of `environment` must enforce.
pub async fn desired_grants(
    db: &PgPool,
    environment: &EnvironmentName,
) -> Result<Vec<GrantAcl>, sqlx::Error> {
    sqlx::query_as!(
        GrantAcl,
        r#"select g.id as "grant_id: GrantId", g.environment as "environment: EnvironmentName", p.principal, g.role as "role: GrantRole",
                  t.name as topic, g.consumer_group, g.consumer_group_is_prefix
             from access_grant g
             join topic t on t.id = g.topic_id
             join kafka_principal p
               on p.application_id = g.application_id and p.environment = g.environment
             join access_request r on r.id = g.request_id
            where g.environment = $1 and g.revoked_at is null and r.state = any($2)"#,
        environment as &EnvironmentName,
        &RequestState::IN_FORCE[..] as &[RequestState],
    )
    .fetch_all(db)
    .await
}

/// Every catalog topic that lives in `environment`.
pub async fn desired_topics(
    db: &PgPool,
    environment: &EnvironmentName,
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
        environment as &EnvironmentName,
        &RequestState::IN_FORCE[..] as &[RequestState],
    )
    .fetch_all(db)
    .await
}

/// The principal of an application in an environment, and whether its credential is set.
pub async fn principal_of(
    conn: &mut PgConnection,
    application: ApplicationId,
    environment: &EnvironmentName,
) -> Result<(String, bool), sqlx::Error> {
    let row = sqlx::query!(
        r#"select principal, credential_set_at is not null as "set!" from kafka_principal
            where application_id = $1 and environment = $2"#,
        application as ApplicationId,
        environment as &EnvironmentName
    )
    .fetch_one(conn)
    .await?;
    Ok((row.principal, row.set))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_thirty_seconds() {
        assert_eq!(retry_delay_seconds(1), 1.0);
        assert_eq!(retry_delay_seconds(2), 2.0);
        assert_eq!(retry_delay_seconds(5), 16.0);
        assert_eq!(retry_delay_seconds(6), 30.0);
        assert_eq!(retry_delay_seconds(100), 30.0);
    }
}

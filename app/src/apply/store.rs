//! The outbox in Postgres: the steps an approval writes, how workers claim and settle them, the
//! application principals and their one-time passwords, revocation and expiry.

use super::{ApplyProgress, CredentialState, CredentialView, RevealedCredential, StepView};
use crate::audit::ssr::append;
use crate::context::PortalContext;
use crate::credentials::seal_context;
use crate::domain::{ApplicationId, EnvironmentName, GrantId, RequestId, TopicId};
use crate::domain::{
    GrantRole, RequestEvent, RequestKind, RequestState, Role, StepKind, StepStatus, UserIdentity,
    principal_name,
};
use crate::error::AppError;
use crate::loaded::NotHydrated;
use crate::notifications::ssr as notifications;
use crate::requests::lifecycle::{lock, lock_request, set_state, visible_to};
use crate::store::{StoreError, failed_while};
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// What one grant allows, with the principal it is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantAcl {
    pub grant_id: GrantId,
    pub environment: EnvironmentName,
    pub principal: String,
    pub role: GrantRole,
    pub topic: String,
    pub consumer_group: Option<String>,
    pub consumer_group_is_prefix: bool,
}

fn in_team(user: &UserIdentity, team: &str) -> bool {
    user.teams.iter().any(|t| t.as_str() == team)
}

/// The next position of a request's steps in one environment.
async fn next_position(
    conn: &mut PgConnection,
    request: RequestId,
    environment: &EnvironmentName,
) -> Result<i32, StoreError> {
    sqlx::query_scalar!(
        r#"select coalesce(max(position) + 1, 0) as "next!" from apply_step
            where request_id = $1 and environment = $2"#,
        request as RequestId,
        environment as &EnvironmentName
    )
    .fetch_one(conn)
    .await
    .map_err(failed_while("numbering steps"))
}

struct NewStep {
    kind: StepKind,
    topic: Option<TopicId>,
    application: Option<ApplicationId>,
    grant: Option<GrantId>,
}

async fn insert_steps(
    conn: &mut PgConnection,
    request: RequestId,
    environment: &EnvironmentName,
    steps: &[NewStep],
) -> Result<(), StoreError> {
    let start = next_position(conn, request, environment).await?;
    for (offset, step) in (0_i32..).zip(steps) {
        sqlx::query!(
            "insert into apply_step (id, request_id, environment, position, kind, topic_id, application_id, grant_id)
             values ($1, $2, $3, $4, $5, $6, $7, $8)",
            Uuid::new_v4(),
            request as RequestId,
            environment as &EnvironmentName,
            start + offset,
            step.kind as StepKind,
            step.topic as Option<TopicId>,
            step.application as Option<ApplicationId>,
            step.grant as Option<GrantId>,
        )
        .execute(&mut *conn)
        .await
        .map_err(failed_while("queueing a step"))?;
    }
    Ok(())
}

/// Makes sure the application has its principal in the environment and returns its name.
pub async fn ensure_principal(
    conn: &mut PgConnection,
    application: ApplicationId,
    environment: &EnvironmentName,
) -> Result<String, StoreError> {
    let app = sqlx::query!(
        "select team_slug, name from application where id = $1",
        application as ApplicationId
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(failed_while("loading the application"))?;
    let wanted = principal_name(&app.team_slug, &app.name, environment);
    // Two applications whose names fold to the same text: the later one gets its id appended.
    let fallback = format!("{wanted}-{}", &application.uuid().simple().to_string()[..8]);
    for candidate in [wanted, fallback] {
        let inserted = sqlx::query!(
            "insert into kafka_principal (application_id, environment, principal) values ($1, $2, $3)
             on conflict do nothing",
            application as ApplicationId,
            environment as &EnvironmentName,
            &candidate,
        )
        .execute(&mut *conn)
        .await
        .map_err(failed_while("recording the principal"))?;
        let existing: Option<String> = sqlx::query_scalar!(
            "select principal from kafka_principal where application_id = $1 and environment = $2",
            application as ApplicationId,
            environment as &EnvironmentName
        )
        .fetch_optional(&mut *conn)
        .await
        .map_err(failed_while("reading the principal"))?;
        if let Some(principal) = existing {
            let _ = inserted;
            return Ok(principal);
        }
    }
    Err(StoreError::corrupt(
        "no free principal name",
        application.to_string(),
    ))
}

/// Writes the steps that bring the topic of `request` to the clusters it names: created first
/// when `create`, then its settings. In the approving transaction.
pub(crate) async fn write_topic_steps(
    conn: &mut PgConnection,
    request: RequestId,
    create: bool,
) -> Result<(), StoreError> {
    let approved = sqlx::query!(
        r#"select environments as "environments: Vec<EnvironmentName>", topic_id as "topic_id: TopicId" from access_request where id = $1"#,
        request as RequestId
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(failed_while("reading the approved request"))?;
    let kinds: &[StepKind] = if create {
        &[StepKind::CreateTopic, StepKind::SetTopicConfigs]
    } else {
        &[StepKind::SetTopicConfigs]
    };
    for environment in &approved.environments {
        let steps: Vec<NewStep> = kinds
            .iter()
            .map(|&kind| NewStep {
                kind,
                topic: approved.topic_id,
                application: None,
                grant: None,
            })
            .collect();
        insert_steps(conn, request, environment, &steps).await?;
    }
    Ok(())
}

/// Writes the steps that give the application of `request` the grants its approval recorded, in
/// each environment: a credential when it has none there, then each grant's ACLs. In the
/// approving transaction, after any steps that must come first (a new topic's).
pub(crate) async fn write_grant_steps(
    conn: &mut PgConnection,
    request: RequestId,
) -> Result<(), StoreError> {
    let approved = sqlx::query!(
        r#"select environments as "environments: Vec<EnvironmentName>", application_id as "application_id: ApplicationId" from access_request where id = $1"#,
        request as RequestId
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(failed_while("reading the approved request"))?;
    let application = approved.application_id;
    for environment in &approved.environments {
        let mut steps = Vec::new();
        ensure_principal(conn, application, environment).await?;
        // Locked: a credential deletion running now either sees this grant or finishes first,
        // and then this approval creates a new credential.
        let has_credential: bool = sqlx::query_scalar!(
            r#"select credential_set_at is not null as "set!" from kafka_principal
                where application_id = $1 and environment = $2 for update"#,
            application as ApplicationId,
            environment as &EnvironmentName
        )
        .fetch_one(&mut *conn)
        .await
        .map_err(failed_while("reading the principal"))?;
        if !has_credential {
            steps.push(NewStep {
                kind: StepKind::CreateCredentials,
                topic: None,
                application: Some(application),
                grant: None,
            });
        }
        let grants: Vec<GrantId> = sqlx::query_scalar!(
            r#"select id as "id: GrantId" from access_grant where request_id = $1 and environment = $2 order by role"#,
            request as RequestId,
            environment as &EnvironmentName
        )
        .fetch_all(&mut *conn)
        .await
        .map_err(failed_while("reading the new grants"))?;
        steps.extend(grants.into_iter().map(|g| NewStep {
            kind: StepKind::CreateAcls,
            topic: None,
            application: None,
            grant: Some(g),
        }));
        insert_steps(conn, request, environment, &steps).await?;
    }
    Ok(())
}

/// Revokes grants and writes the steps that remove their ACLs, under `owner` (the request the
/// removal belongs to). Requests left with no live grant become `to` (revoked or expired).
pub async fn revoke_grants(
    conn: &mut PgConnection,
    grants: &[(GrantId, EnvironmentName, RequestId)],
    owner: RequestId,
    actor: &str,
    to: RequestEvent,
) -> Result<(), StoreError> {
    for (grant, environment, _) in grants {
        sqlx::query!(
            "update access_grant set revoked_at = now() where id = $1 and revoked_at is null",
            *grant as GrantId
        )
        .execute(&mut *conn)
        .await
        .map_err(failed_while("revoking a grant"))?;
        insert_steps(
            conn,
            owner,
            environment,
            &[NewStep {
                kind: StepKind::DeleteAcls,
                topic: None,
                application: None,
                grant: Some(*grant),
            }],
        )
        .await?;
    }
    // No live credential without a live grant: an application left with no live grant in an
    // environment loses its credential there too, after its ACLs.
    let mut left: Vec<(ApplicationId, EnvironmentName)> = Vec::new();
    for (grant, environment, _) in grants {
        let application: ApplicationId = sqlx::query_scalar!(
            r#"select application_id as "application_id: ApplicationId" from access_grant where id = $1"#,
            *grant as GrantId
        )
        .fetch_one(&mut *conn)
        .await
        .map_err(failed_while("reading a revoked grant"))?;
        if !left.contains(&(application, environment.clone())) {
            left.push((application, environment.clone()));
        }
    }
    for (application, environment) in left {
        let live: bool = sqlx::query_scalar!(
            r#"select exists (select 1 from access_grant
                             where application_id = $1 and environment = $2 and revoked_at is null) as "found!""#,
            application as ApplicationId,
            &environment as &EnvironmentName,
        )
        .fetch_one(&mut *conn)
        .await
        .map_err(failed_while("checking the application's other grants"))?;
        if !live {
            insert_steps(
                conn,
                owner,
                &environment,
                &[NewStep {
                    kind: StepKind::DeleteCredentials,
                    topic: None,
                    application: Some(application),
                    grant: None,
                }],
            )
            .await?;
        }
    }
    let mut origins: Vec<RequestId> = grants.iter().map(|(_, _, r)| *r).collect();
    origins.sort();
    origins.dedup();
    for origin in origins.into_iter().filter(|r| *r != owner) {
        let (state, requester, live) = lock_with_live_grants(conn, origin).await?;
        if live {
            continue;
        }
        if let Some(next) = state.apply(to) {
            cancel_open_steps(conn, origin).await?;
            set_state(conn, origin, next, None).await?;
            append(
                conn,
                actor,
                &format!("request.{}", next.as_str()),
                "access_request",
                &origin.to_string(),
                Some(json!({ "state": state.as_str() })),
                Some(json!({ "state": next.as_str(), "by_request": owner })),
            )
            .await
            .map_err(failed_while("auditing a revocation"))?;
            let what = crate::requests::lifecycle::describe(conn, origin).await?;
            notifications::notify(
                conn,
                &requester,
                &format!("{what} is now {}.", next.label().to_lowercase()),
                origin,
            )
            .await
            .map_err(failed_while("notifying the requester"))?;
        }
    }
    Ok(())
}

/// Locks a request, then tells whether any of its grants is still live: locking first means a
/// concurrent revocation of its other grants is seen.
pub async fn lock_with_live_grants(
    conn: &mut PgConnection,
    request: RequestId,
) -> Result<(RequestState, String, bool), StoreError> {
    let (state, requester) = lock_request(&mut *conn, request).await?;
    let live: bool = sqlx::query_scalar!(
        r#"select exists (select 1 from access_grant where request_id = $1 and revoked_at is null) as "found!""#,
        request as RequestId,
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(failed_while("checking live grants"))?;
    Ok((state, requester, live))
}

async fn cancel_open_steps(conn: &mut PgConnection, request: RequestId) -> Result<(), StoreError> {
    sqlx::query!(
        "update apply_step set status = 'cancelled'
          where request_id = $1 and status in ('pending', 'waiting_for_cluster', 'failed')
            and kind not in ('delete_acls', 'delete_credentials')",
        request as RequestId
    )
    .execute(conn)
    .await
    .map_err(failed_while("cancelling open steps"))?;
    Ok(())
}

/// A team member (for their team's access) or an admin takes access away.
pub async fn revoke(
    db: &PgPool,
    user: &UserIdentity,
    id: RequestId,
    version: i32,
    reason: &str,
) -> Result<RequestState, StoreError> {
    let reason = reason.trim();
    if reason.chars().count() > 2000 {
        return Err(StoreError::from(AppError::invalid(
            "Reason",
            "a reason is at most 2000 characters",
        )));
    }
    let mut tx = db
        .begin()
        .await
        .map_err(failed_while("starting a transaction"))?;
    let locked = lock(&mut tx, user, id, version).await?;
    let team: String = sqlx::query_scalar!(
        "select a.team_slug from access_request r join application a on a.id = r.application_id where r.id = $1",
        id as RequestId,
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(failed_while("finding the requesting team"))?;
    if !(user.has_role(Role::Admin) || (user.has_role(Role::Member) && in_team(user, &team))) {
        return Err(AppError::Forbidden.into());
    }
    let next = locked.state.apply(RequestEvent::Revoke).ok_or_else(|| {
        AppError::Conflict(format!(
            "A request that is {} cannot be revoked.",
            locked.state.label().to_lowercase()
        ))
    })?;
    cancel_open_steps(&mut tx, id).await?;
    let grants: Vec<(GrantId, EnvironmentName, RequestId)> = sqlx::query!(
        r#"select id as "id: GrantId", environment as "environment: EnvironmentName", request_id as "request_id: RequestId"
             from access_grant
            where request_id = $1 and revoked_at is null for update"#,
        id as RequestId
    )
    .fetch_all(&mut *tx)
    .await
    .map_err(failed_while("finding the grants to revoke"))?
    .into_iter()
    .map(|g| (g.id, g.environment, g.request_id))
    .collect();
    revoke_grants(&mut tx, &grants, id, &user.subject, RequestEvent::Revoke).await?;
    set_state(&mut tx, id, next, (!reason.is_empty()).then_some(reason)).await?;
    append(
        &mut tx,
        &user.subject,
        "request.revoked",
        "access_request",
        &id.to_string(),
        Some(json!({ "state": locked.state.as_str(), "version": locked.version })),
        Some(
            json!({ "state": next.as_str(), "version": locked.version + 1,
                     "reason": (!reason.is_empty()).then_some(reason) }),
        ),
    )
    .await
    .map_err(failed_while("auditing the revocation"))?;
    if locked.requester != user.subject {
        let what = crate::requests::lifecycle::describe(&mut tx, id).await?;
        notifications::notify(
            &mut tx,
            &locked.requester,
            &format!("{what} was revoked."),
            id,
        )
        .await
        .map_err(failed_while("notifying the requester"))?;
    }
    tx.commit()
        .await
        .map_err(failed_while("committing the revocation"))?;
    tracing::info!(request.id = %id, "request revoked");
    Ok(next)
}

/// An admin runs the failed steps of a request again.
pub async fn retry(
    db: &PgPool,
    user: &UserIdentity,
    id: RequestId,
    version: i32,
) -> Result<RequestState, StoreError> {
    let mut tx = db
        .begin()
        .await
        .map_err(failed_while("starting a transaction"))?;
    let locked = lock(&mut tx, user, id, version).await?;
    let next = locked.state.apply(RequestEvent::Retry).ok_or_else(|| {
        AppError::Conflict("Only a request that failed to apply can be retried.".into())
    })?;
    sqlx::query!(
        "update apply_step set status = 'pending', attempts = 0, next_attempt_at = now(), last_error = null
          where request_id = $1 and status = 'failed'",
        id as RequestId,
    )
    .execute(&mut *tx)
    .await
    .map_err(failed_while("resetting failed steps"))?;
    set_state(&mut tx, id, next, None).await?;
    append(
        &mut tx,
        &user.subject,
        "request.retried",
        "access_request",
        &id.to_string(),
        Some(json!({ "state": locked.state.as_str(), "version": locked.version })),
        Some(json!({ "state": next.as_str(), "version": locked.version + 1 })),
    )
    .await
    .map_err(failed_while("auditing the retry"))?;
    tx.commit()
        .await
        .map_err(failed_while("committing the retry"))?;
    Ok(next)
}

/// What the grants of a request allow, in words.
pub fn grant_in_words(grant: &GrantAcl, environment_label: &str) -> String {
    let who = format!("User:{}", grant.principal);
    match grant.role {
        GrantRole::Producer => format!(
            "In {environment_label}, {who} may write events to {topic} and read its metadata. It may not read the topic.",
            topic = grant.topic
        ),
        GrantRole::Consumer => {
            let group = match (&grant.consumer_group, grant.consumer_group_is_prefix) {
                (Some(g), true) => format!("as any consumer group whose name starts with {g}"),
                (Some(g), false) => format!("as consumer group {g}"),
                (None, _) => "without a consumer group".to_owned(),
            };
            format!(
                "In {environment_label}, {who} may read events from {topic} and its metadata, {group}. It may not write to the topic.",
                topic = grant.topic
            )
        }
    }
}

pub async fn status(
    db: &PgPool,
    user: &UserIdentity,
    id: RequestId,
) -> Result<ApplyProgress, StoreError> {
    let row = sqlx::query!(
        r#"select r.kind as "kind: RequestKind", r.state as "state: RequestState", r.version,
                  r.requester, a.team_slug, t.owning_team as "owning_team?",
                  r.application_id as "application_id: ApplicationId",
                  r.environments as "environments: Vec<EnvironmentName>"
             from access_request r join application a on a.id = r.application_id
             left join topic t on t.id = r.topic_id
            where r.id = $1"#,
        id as RequestId
    )
    .fetch_optional(db)
    .await
    .map_err(failed_while("loading a request"))?
    .ok_or(AppError::NotFound)?;
    let (kind, state, version, requester, team, owner, application, environments) = (
        row.kind,
        row.state,
        row.version,
        row.requester,
        row.team_slug,
        row.owning_team,
        row.application_id,
        row.environments,
    );
    if !visible_to(user, &requester, &team, owner.as_deref()) {
        return Err(AppError::NotFound.into());
    }
    let steps = sqlx::query_as!(
        StepView,
        r#"select environment as "environment: EnvironmentName", kind as "kind: StepKind", status as "status: StepStatus",
                  attempts, last_error, done_at as "done_at: DateTime<Utc>"
             from apply_step where request_id = $1 order by environment, position"#,
        id as RequestId
    )
    .fetch_all(db)
    .await
    .map_err(failed_while("loading steps"))?;
    let can_manage = user.has_role(Role::Member) && in_team(user, &team);
    let grants_access = kind.grant_role().is_some();
    let credentials = if grants_access && state.is_approved() {
        credentials(db, application, &environments, can_manage).await?
    } else {
        Vec::new()
    };
    let grants = sqlx::query_as!(
        GrantAcl,
        r#"select g.id as "grant_id: GrantId", g.environment as "environment: EnvironmentName", p.principal, g.role as "role: GrantRole",
                  t.name as topic, g.consumer_group, g.consumer_group_is_prefix
             from access_grant g
             join topic t on t.id = g.topic_id
             join kafka_principal p
               on p.application_id = g.application_id and p.environment = g.environment
            where g.request_id = $1 and g.revoked_at is null order by g.environment"#,
        id as RequestId
    )
    .fetch_all(db)
    .await
    .map_err(failed_while("loading grants"))?;
    let portal = crate::context::portal().ok();
    // Only the application's team connects with these; everyone else sees what is granted.
    let connections = if can_manage && state.is_approved() {
        connections(portal.as_ref(), &grants)
    } else {
        Vec::new()
    };
    Ok(ApplyProgress {
        state,
        version,
        steps,
        credentials,
        grants_in_words: grants
            .iter()
            .map(|g| grant_in_words(g, &environment_label(portal.as_ref(), &g.environment)))
            .collect(),
        can_retry: user.has_role(Role::Admin) && state == RequestState::Failed,
        can_request_revocation: grants_access
            && matches!(state, RequestState::Active | RequestState::Approved)
            && user.has_role(Role::Member)
            && owner.as_deref().is_some_and(|o| in_team(user, o))
            && !in_team(user, &team),
        can_revoke: (user.has_role(Role::Admin) || can_manage)
            && grants_access
            && state.apply(RequestEvent::Revoke).is_some(),
        connect: crate::pages::draw_connect_section(&connections, false),
        connections: NotHydrated(connections),
    })
}

/// An environment's display name, or its name where the portal's configuration is not at hand.
pub(crate) fn environment_label(portal: Option<&PortalContext>, env: &EnvironmentName) -> String {
    portal
        .and_then(|p| p.environments.iter().find(|e| e.name == *env))
        .map_or_else(|| env.to_string(), |e| e.display_name.clone())
}

/// Where an application's password stands in each of `environments` it has a Kafka user in.
pub(crate) async fn credentials(
    db: &PgPool,
    application: ApplicationId,
    environments: &[EnvironmentName],
    can_manage: bool,
) -> Result<Vec<CredentialView>, StoreError> {
    let rows = sqlx::query!(
        r#"select p.environment as "environment: EnvironmentName", p.principal, p.credential_set_at is not null as "set!",
                  exists (select 1 from credential_reveal c
                           where c.application_id = p.application_id
                             and c.environment = p.environment) as "waiting!",
                  exists (select 1 from apply_step s
                           where s.application_id = p.application_id
                             and s.environment = p.environment
                             and s.kind in ('create_credentials', 'rotate_credentials')
                             and s.status in ('pending', 'waiting_for_cluster')) as "rotating!"
             from kafka_principal p
            where p.application_id = $1 and p.environment = any($2)
            order by p.environment"#,
        application as ApplicationId,
        environments as &[EnvironmentName],
    )
    .fetch_all(db)
    .await
    .map_err(failed_while("loading credentials"))?;
    Ok(rows
        .into_iter()
        .map(|row| CredentialView {
            application_id: application,
            environment: row.environment,
            principal: row.principal,
            state: match (row.rotating, row.set, row.waiting) {
                (true, _, _) => CredentialState::Setting,
                (_, false, _) => CredentialState::Missing,
                (_, true, true) => CredentialState::ReadyToShow,
                (_, true, false) => CredentialState::Shown,
            },
            can_manage,
        })
        .collect())
}

/// How to connect with each of `grants`, in the environments the portal has an address for.
pub(crate) fn connections(
    portal: Option<&PortalContext>,
    grants: &[GrantAcl],
) -> Vec<crate::connect::ClientSettings> {
    let Some(portal) = portal else {
        return Vec::new();
    };
    grants
        .iter()
        .filter_map(|g| {
            Some(crate::connect::ClientSettings {
                environment: g.environment.clone(),
                address: portal
                    .environments
                    .iter()
                    .find(|e| e.name == g.environment)?
                    .address
                    .clone(),
                principal: g.principal.clone(),
                role: g.role,
                topic: g.topic.clone(),
                consumer_group: g.consumer_group.clone(),
                group_is_prefix: g.consumer_group_is_prefix,
                registry_url: portal.public_url.to_string(),
            })
        })
        .collect()
}

async fn team_of_application(
    conn: &mut PgConnection,
    application: ApplicationId,
) -> Result<String, StoreError> {
    let team: Option<String> = sqlx::query_scalar!(
        "select team_slug from application where id = $1",
        application as ApplicationId
    )
    .fetch_optional(conn)
    .await
    .map_err(failed_while("loading the application"))?;
    team.ok_or(StoreError::from(AppError::NotFound))
}

/// Shows the waiting password to a member of the owning team, and forgets it.
pub async fn reveal(
    portal: &PortalContext,
    user: &UserIdentity,
    application: ApplicationId,
    environment: &EnvironmentName,
) -> Result<RevealedCredential, StoreError> {
    let mut tx = portal
        .db
        .begin()
        .await
        .map_err(failed_while("starting a transaction"))?;
    let team = team_of_application(&mut tx, application).await?;
    if !in_team(user, &team) {
        return Err(AppError::NotFound.into());
    }
    let sealed = sqlx::query!(
        "delete from credential_reveal c using kafka_principal p
          where c.application_id = $1 and c.environment = $2
            and p.application_id = c.application_id and p.environment = c.environment
         returning c.nonce, c.sealed, p.principal",
        application as ApplicationId,
        environment as &EnvironmentName,
    )
    .fetch_optional(&mut *tx)
    .await
    .map_err(failed_while("taking the sealed password"))?
    .map(|row| (row.nonce, row.sealed, row.principal));
    let Some((nonce, sealed, principal)) = sealed else {
        return Err(StoreError::from(AppError::Conflict(
            "This password was already shown, and the portal does not keep it. Rotate the password to get a new one; the old one then stops working.".into(),
        )));
    };
    let password = portal
        .vault
        .open(&nonce, &sealed, &seal_context(application, environment))
        .map_err(|e| StoreError::corrupt("opening a sealed password", e))?;
    append(
        &mut tx,
        &user.subject,
        "credential.shown",
        "application",
        &application.to_string(),
        None,
        Some(json!({ "environment": environment, "principal": principal })),
    )
    .await
    .map_err(failed_while("auditing the reveal"))?;
    tx.commit()
        .await
        .map_err(failed_while("committing the reveal"))?;
    tracing::info!(application.id = %application, %environment, "credential shown once");
    Ok(RevealedCredential {
        environment: environment.clone(),
        principal,
        password: password.expose_secret().to_owned(),
        mechanism: "SCRAM-SHA-512".to_owned(),
    })
}

/// Queues a new password for an application's principal.
pub async fn rotate(
    db: &PgPool,
    user: &UserIdentity,
    application: ApplicationId,
    environment: &EnvironmentName,
) -> Result<(), StoreError> {
    let mut tx = db
        .begin()
        .await
        .map_err(failed_while("starting a transaction"))?;
    let team = team_of_application(&mut tx, application).await?;
    if !in_team(user, &team) {
        return Err(AppError::NotFound.into());
    }
    let principal = sqlx::query_scalar!(
        "select principal from kafka_principal
          where application_id = $1 and environment = $2 for update",
        application as ApplicationId,
        environment as &EnvironmentName,
    )
    .fetch_optional(&mut *tx)
    .await
    .map_err(failed_while("loading the principal"))?;
    let Some(principal) = principal else {
        return Err(StoreError::from(AppError::Conflict(
            "This application has no Kafka user in that environment yet.".into(),
        )));
    };
    let live: bool = sqlx::query_scalar!(
        r#"select exists (select 1 from access_grant
                         where application_id = $1 and environment = $2 and revoked_at is null) as "found!""#,
        application as ApplicationId,
        environment as &EnvironmentName,
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(failed_while("checking live access"))?;
    if !live {
        return Err(StoreError::from(AppError::Conflict(
            "This application has no live access in that environment, so it has no password to rotate.".into(),
        )));
    }
    let pending: bool = sqlx::query_scalar!(
        r#"select exists (select 1 from apply_step where application_id = $1 and environment = $2
                         and kind in ('create_credentials', 'rotate_credentials')
                         and status in ('pending', 'waiting_for_cluster')) as "found!""#,
        application as ApplicationId,
        environment as &EnvironmentName
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(failed_while("checking rotations"))?;
    if pending {
        return Err(StoreError::from(AppError::Conflict(
            "A new password is already being set.".into(),
        )));
    }
    sqlx::query!(
        "insert into apply_step (id, environment, position, kind, application_id)
         values ($1, $2, 0, 'rotate_credentials', $3)",
        Uuid::new_v4(),
        environment as &EnvironmentName,
        application as ApplicationId
    )
    .execute(&mut *tx)
    .await
    .map_err(failed_while("queueing the rotation"))?;
    append(
        &mut tx,
        &user.subject,
        "credential.rotation_requested",
        "application",
        &application.to_string(),
        None,
        Some(json!({ "environment": environment, "principal": principal })),
    )
    .await
    .map_err(failed_while("auditing the rotation"))?;
    tx.commit()
        .await
        .map_err(failed_while("committing the rotation"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> crate::domain::EnvironmentName {
        crate::domain::EnvironmentName::parse(name).expect("a valid environment name")
    }

    fn grant(role: GrantRole, group: Option<&str>, prefix: bool) -> GrantAcl {
        GrantAcl {
            grant_id: GrantId::from(Uuid::nil()),
            environment: env("sandbox"),
            principal: "team.app.sandbox".into(),
            role,
            topic: "orders".into(),
            consumer_group: group.map(str::to_owned),
            consumer_group_is_prefix: prefix,
        }
    }

    #[test]
    fn grants_are_explained_in_words() {
        let p = grant_in_words(&grant(GrantRole::Producer, None, false), "Sandbox");
        assert!(p.contains("may write events to orders") && p.contains("may not read"));
        let c = grant_in_words(
            &grant(GrantRole::Consumer, Some("billing-"), true),
            "Sandbox",
        );
        assert!(c.contains("any consumer group whose name starts with billing-"));
        let c = grant_in_words(
            &grant(GrantRole::Consumer, Some("billing"), false),
            "Sandbox",
        );
        assert!(c.contains("as consumer group billing") && c.contains("may not write"));
    }
}

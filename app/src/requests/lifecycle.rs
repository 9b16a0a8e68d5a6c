//! The request record and its transitions, shared by every kind of request and by the apply
//! workers: locking a request, moving its state, its approval slots, who hears that it waits, and
//! settling it once its apply steps are done. Nothing here knows a kind of request, and nothing
//! here imports another store: the kinds (`requests/kind/`), the apply store and the request
//! pages' store build on it.

use crate::audit::ssr::append;
use crate::context::PortalContext;
use crate::domain::{EnvironmentName, RequestId};
use crate::domain::{
    RequestEvent, RequestKind, RequestState, Role, SlotKind, TeamSlug, UserIdentity,
};
use crate::error::AppError;
use crate::notifications::ssr as notifications;
use crate::store::{StoreError, failed_while};
use serde_json::json;
use sqlx::PgConnection;

const STALE: &str = "This request changed while you were looking at it. Reload the page to see the latest version before deciding.";

pub(crate) fn team_names(user: &UserIdentity) -> Vec<String> {
    user.teams.iter().map(|t| t.as_str().to_owned()).collect()
}

/// Upserts the person so foreign keys hold even for callers who signed in before this table
/// existed or whose row was never written.
pub(crate) async fn ensure_user(
    conn: &mut PgConnection,
    user: &UserIdentity,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into app_user (subject, display_name) values ($1, $2)
         on conflict (subject) do nothing",
        &user.subject,
        &user.display_name
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// What a kind of request records once its row is written: the approval slots it needs, the
/// audit entry of its submission, and the notice that tells approvers it waits.
pub(crate) struct Submission<'a> {
    pub id: RequestId,
    pub kind: RequestKind,
    pub state: RequestState,
    pub slots: &'a [crate::domain::RequiredSlot],
    /// What the audit entry records beyond kind, state and approvals (an object).
    pub details: serde_json::Value,
    /// The notice to approvers and the teams that see it; `None` for a saved draft, which
    /// waits for no one.
    pub notice: Option<(String, &'a [&'a str])>,
}

/// Writes a submission's slots, audit entry and notices, and commits the transaction that wrote
/// the request's row: a request exists with everything it needs, or not at all.
pub(crate) async fn record_submission(
    mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
    portal: &PortalContext,
    user: &UserIdentity,
    submission: Submission<'_>,
) -> Result<RequestId, StoreError> {
    let Submission {
        id,
        kind,
        state,
        slots,
        details,
        notice,
    } = submission;
    insert_slots(&mut tx, id, slots).await?;
    let mut after = json!({
        "kind": kind.as_str(),
        "state": state.as_str(),
        "approvals": slots.iter().map(|s| s.kind.as_str()).collect::<Vec<_>>(),
    });
    if let (Some(after), serde_json::Value::Object(details)) = (after.as_object_mut(), details) {
        after.extend(details);
    }
    let action = if state == RequestState::Draft {
        "request.drafted"
    } else {
        "request.submitted"
    };
    append(
        &mut tx,
        &user.subject,
        action,
        "access_request",
        &id.to_string(),
        None,
        Some(after),
    )
    .await
    .map_err(failed_while("auditing the request"))?;
    if let Some((message, teams)) = notice {
        announce(&mut tx, portal, user, slots, &message, id, teams).await?;
    }
    tx.commit()
        .await
        .map_err(failed_while("committing the request"))?;
    crate::page_cache::changed_here(&[crate::page_cache::Listing::Queue]);
    tracing::info!(request.id = %id, request.kind = kind.as_str(), action, "request recorded");
    Ok(id)
}

pub(crate) async fn insert_slots(
    conn: &mut PgConnection,
    id: RequestId,
    slots: &[crate::domain::RequiredSlot],
) -> Result<(), StoreError> {
    for slot in slots {
        sqlx::query!(
            "insert into approval_slot (request_id, slot, team_slug, reason)
             values ($1, $2, $3, $4)",
            id as RequestId,
            slot.kind as SlotKind,
            slot.team.as_ref().map(|t| t.as_str()),
            &slot.reason
        )
        .execute(&mut *conn)
        .await
        .map_err(failed_while("inserting an approval slot"))?;
    }
    Ok(())
}

/// Tells the people who can approve, and the teams' webhooks, that a request is waiting.
pub(crate) async fn announce(
    conn: &mut PgConnection,
    portal: &PortalContext,
    user: &UserIdentity,
    slots: &[crate::domain::RequiredSlot],
    message: &str,
    id: RequestId,
    teams: &[&str],
) -> Result<(), StoreError> {
    let open: Vec<(SlotKind, Option<TeamSlug>)> =
        slots.iter().map(|s| (s.kind, s.team.clone())).collect();
    notifications::notify_approvers(&mut *conn, &portal.roles, &open, &user.subject, message, id)
        .await
        .map_err(failed_while("notifying approvers"))?;
    let link = format!("{}/requests/{id}", portal.public_url);
    notifications::enqueue_webhooks(&mut *conn, teams, message, &link)
        .await
        .map_err(failed_while("queueing webhooks"))?;
    Ok(())
}

/// A step only the requester may take: locks the request, checks the caller and the version,
/// and returns the state `event` leads to.
pub(crate) async fn requester_step(
    conn: &mut PgConnection,
    user: &UserIdentity,
    id: RequestId,
    seen_version: i32,
    event: RequestEvent,
    refused_verb: &str,
) -> Result<(Locked, RequestState), StoreError> {
    let locked = lock(conn, user, id, seen_version).await?;
    if locked.requester != user.subject {
        return Err(AppError::Forbidden.into());
    }
    let next = locked.state.apply(event).ok_or_else(|| {
        AppError::Conflict(format!(
            "A request that is {} cannot be {refused_verb}.",
            locked.state.label().to_lowercase()
        ))
    })?;
    Ok((locked, next))
}

pub(crate) struct Locked {
    pub(crate) state: RequestState,
    pub(crate) version: i32,
    pub(crate) requester: String,
}

impl Locked {
    pub(crate) fn state_allows_decisions(&self) -> bool {
        self.state.apply(RequestEvent::Decline).is_some()
    }
}

/// Locks the request row for the rest of the transaction, checks that the caller may see it (a
/// request they may not see does not exist for them) and the version they saw.
pub(crate) async fn lock(
    conn: &mut PgConnection,
    user: &UserIdentity,
    id: RequestId,
    seen_version: i32,
) -> Result<Locked, StoreError> {
    let row: Option<(RequestState, i32, String, String, Option<String>)> = sqlx::query!(
        r#"select r.state as "state: RequestState", r.version, r.requester, a.team_slug,
                  t.owning_team as "owning_team?"
           from access_request r
           join application a on a.id = r.application_id
           left join topic t on t.id = r.topic_id
          where r.id = $1
          for update of r"#,
        id as RequestId
    )
    .fetch_optional(conn)
    .await
    .map(|r| r.map(|r| (r.state, r.version, r.requester, r.team_slug, r.owning_team)))
    .map_err(failed_while("locking the request"))?;
    let (state, version, requester, team, owner) = row.ok_or(AppError::NotFound)?;
    if !visible_to(user, &requester, &team, owner.as_deref()) {
        return Err(AppError::NotFound.into());
    }
    if version != seen_version {
        return Err(StoreError::from(AppError::Conflict(STALE.into())));
    }
    Ok(Locked {
        state,
        version,
        requester,
    })
}

pub async fn set_state(
    conn: &mut PgConnection,
    id: RequestId,
    state: RequestState,
    reason: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query!(
        "update access_request
            set state = $2, version = version + 1, updated_at = now(),
                decision_reason = coalesce($3, decision_reason)
          where id = $1",
        id as RequestId,
        state as RequestState,
        reason
    )
    .execute(conn)
    .await
    .map_err(failed_while("updating the request state"))?;
    Ok(())
}

/// Who may see a request: its requester, the requesting team, governance and admins, and the
/// topic owner's approvers.
pub(crate) fn visible_to(
    user: &UserIdentity,
    requester: &str,
    application_team: &str,
    topic_owner: Option<&str>,
) -> bool {
    let in_team = |team: &str| user.teams.iter().any(|t| t.as_str() == team);
    requester == user.subject
        || in_team(application_team)
        || user.has_any_role(&[Role::Approver, Role::Admin])
        || (user.has_role(Role::TeamApprover) && topic_owner.is_some_and(in_team))
}

/// The application a request is for, which must belong to one of the caller's teams.
pub(crate) struct TeamApplication {
    pub team: String,
    pub name: String,
    pub handles_pii: bool,
}

pub(crate) async fn team_application(
    conn: &mut PgConnection,
    user: &UserIdentity,
    id: crate::domain::ApplicationId,
) -> Result<TeamApplication, StoreError> {
    let app = sqlx::query!(
        "select team_slug, name, contains_pii from application where id = $1",
        id as crate::domain::ApplicationId
    )
    .fetch_optional(&mut *conn)
    .await
    .map_err(failed_while("looking up the application"))?;
    match app {
        Some(app) if user.teams.iter().any(|t| t.as_str() == app.team_slug) => {
            Ok(TeamApplication {
                team: app.team_slug,
                name: app.name,
                handles_pii: app.contains_pii,
            })
        }
        _ => Err(StoreError::from(AppError::invalid(
            crate::requests::form::FIELD_APPLICATION,
            "choose one of your team's applications",
        ))),
    }
}

/// Refuses a topic that contains PII in any of `chosen` that allows none; `then` finishes the
/// sentence "<Sandbox> allows no PII or PHI...". Returns the environments that allow none.
pub(crate) fn refuse_pii_where_none(
    portal: &PortalContext,
    chosen: &[EnvironmentName],
    topic_has_pii: bool,
    then: &str,
) -> Result<Vec<String>, StoreError> {
    let without_pii = portal.without_pii(chosen);
    if topic_has_pii && !without_pii.is_empty() {
        let names: Vec<&str> = without_pii.iter().map(String::as_str).collect();
        return Err(StoreError::from(AppError::invalid(
            crate::requests::form::FIELD_ENVIRONMENTS,
            format!(
                "{} allows no PII or PHI{then}",
                crate::domain::in_words_list(&names)
            ),
        )));
    }
    Ok(without_pii)
}

/// A request in words, for the notices about it: what it asks for and where, such as
/// "Producer access to orders_placed for Notify Service in sandbox and prod".
pub async fn describe(conn: &mut PgConnection, id: RequestId) -> Result<String, StoreError> {
    let row = sqlx::query!(
        r#"select r.kind as "kind: RequestKind",
                  coalesce(t.name, r.proposed_topic->>'name', '') as "topic!",
                  a.name as application,
                  r.environments as "environments: Vec<EnvironmentName>"
             from access_request r
             join application a on a.id = r.application_id
             left join topic t on t.id = r.topic_id
            where r.id = $1"#,
        id as RequestId
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(failed_while("describing a request"))?;
    let names: Vec<&str> = row
        .environments
        .iter()
        .map(EnvironmentName::as_str)
        .collect();
    Ok(format!(
        "{} in {}",
        row.kind.title(&row.topic, &row.application),
        crate::domain::in_words_list(&names)
    ))
}

/// The actor recorded for what the portal does by itself.
pub const PORTAL_ACTOR: &str = "portal";

/// Locks a request row for the rest of the transaction: its state and requester.
pub async fn lock_request(
    conn: &mut PgConnection,
    request: RequestId,
) -> Result<(RequestState, String), StoreError> {
    let locked = sqlx::query!(
        r#"select state as "state: RequestState", requester from access_request
            where id = $1 for update"#,
        request as RequestId
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(failed_while("locking a request"))?;
    Ok((locked.state, locked.requester))
}

/// A request whose apply steps are all done or cancelled becomes active (audited, its requester
/// told); one with steps still open is left as it is.
pub async fn settle_if_done(conn: &mut PgConnection, request: RequestId) -> Result<(), StoreError> {
    // Lock the request first: steps of one request settle in parallel transactions, and only
    // under this lock does the last of them see every other one's outcome.
    let (state, requester) = lock_request(&mut *conn, request).await?;
    let open: bool = sqlx::query_scalar!(
        r#"select exists (select 1 from apply_step where request_id = $1 and status not in ('done', 'cancelled')) as "found!""#,
        request as RequestId,
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(failed_while("checking open steps"))?;
    if open {
        return Ok(());
    }
    let Some(next) = state.apply(RequestEvent::StepsDone) else {
        return Ok(());
    };
    set_state(conn, request, next, None).await?;
    append(
        conn,
        PORTAL_ACTOR,
        "request.applied",
        "access_request",
        &request.to_string(),
        Some(json!({ "state": state.as_str() })),
        Some(json!({ "state": next.as_str() })),
    )
    .await
    .map_err(failed_while("auditing the applied request"))?;
    let kind: RequestKind = sqlx::query_scalar!(
        r#"select kind as "kind: RequestKind" from access_request where id = $1"#,
        request as RequestId
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(failed_while("reading the request kind"))?;
    let what = describe(conn, request).await?;
    let words = match kind {
        RequestKind::SchemaChange => format!("{what} is active: the registry serves it."),
        RequestKind::NewTopic
        | RequestKind::ProducerAccess
        | RequestKind::ConsumerAccess
        | RequestKind::RevokeAccess
        | RequestKind::TopicChange => format!("{what} is active: Kafka now enforces it."),
    };
    notifications::notify(conn, &requester, &words, request)
        .await
        .map_err(failed_while("notifying the requester"))?;
    Ok(())
}

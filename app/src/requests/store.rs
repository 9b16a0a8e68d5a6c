//! Requests in Postgres. Every change happens in one transaction together with its audit entry,
//! under a row lock on the request, and names the version it was made on.

use super::topic_change::{TopicChange, TopicChangeDraft, TopicSettings};
use super::topic_form::{FitAnswer, TopicProposal, TopicProposalDraft};
use super::{
    AccessRequestDraft, ApplicationOption, Compliance, RequestDetail, RequestSummary, SlotView,
    TimelineEntry,
};
use crate::audit::ssr::append;
use crate::context::PortalContext;
use crate::domain::{
    ApprovalPolicy, CleanupPolicy, ConsumerGroup, DataClassification, Decision, GrantRole,
    Lifecycle, RequestEvent, RequestKind, RequestState, Role, RoutingInput, SlotKind, TeamSlug,
    UserIdentity, may_fill,
};
use crate::error::AppError;
use crate::notifications::ssr as notifications;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

const STALE: &str = "This request changed while you were looking at it. Reload the page to see the latest version before deciding.";

pub(crate) fn internal(context: &'static str) -> impl FnOnce(sqlx::Error) -> AppError {
    move |e| AppError::internal(context, &e)
}

fn team_names(user: &UserIdentity) -> Vec<String> {
    user.teams.iter().map(|t| t.as_str().to_owned()).collect()
}

pub async fn applications_of(
    db: &PgPool,
    user: &UserIdentity,
) -> Result<Vec<ApplicationOption>, sqlx::Error> {
    sqlx::query_as!(
        ApplicationOption,
        "select id, name, team_slug as team from application
          where team_slug = any($1) order by team_slug, name",
        &team_names(user)
    )
    .fetch_all(db)
    .await
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

pub async fn create_access_request(
    portal: &PortalContext,
    user: &UserIdentity,
    draft: &AccessRequestDraft,
) -> Result<Uuid, AppError> {
    let policy: &ApprovalPolicy = &portal.approvals;
    let mut tx = portal
        .db
        .begin()
        .await
        .map_err(internal("starting a transaction"))?;
    ensure_user(&mut tx, user)
        .await
        .map_err(internal("recording the requester"))?;

    let topic = sqlx::query!(
        r#"select t.id, t.owning_team,
                  t.data_classification as "data_classification: DataClassification",
                  t.contains_pii,
                  coalesce((select array_agg(environment) from topic_environment e
                             where e.topic_id = t.id), '{}') as "environments!"
             from topic t where t.name = $1"#,
        draft.topic.as_str()
    )
    .fetch_optional(&mut *tx)
    .await
    .map(|r| {
        r.map(|r| {
            (
                r.id,
                r.owning_team,
                r.data_classification,
                r.contains_pii,
                r.environments,
            )
        })
    })
    .map_err(internal("looking up the topic"))?;
    let Some((topic_id, owner, classification, topic_pii, present_in)) = topic else {
        return Err(AppError::invalid(
            super::form::FIELD_TOPIC,
            format!("there is no topic named {} in the catalog", draft.topic),
        ));
    };
    let missing: Vec<&str> = draft
        .environments
        .iter()
        .filter(|e| !present_in.contains(e))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(AppError::invalid(
            super::form::FIELD_ENVIRONMENTS,
            format!("{} is not available in {}", draft.topic, missing.join(", ")),
        ));
    }
    let app: Option<(String, String)> = sqlx::query!(
        r#"select team_slug, name from application where id = $1"#,
        draft.application
    )
    .fetch_optional(&mut *tx)
    .await
    .map(|r| r.map(|r| (r.team_slug, r.name)))
    .map_err(internal("looking up the application"))?;
    let (app_team, app_name) = match app {
        Some((team, name)) if user.teams.iter().any(|t| t.as_str() == team) => (team, name),
        _ => {
            return Err(AppError::invalid(
                super::form::FIELD_APPLICATION,
                "choose one of your team's applications",
            ));
        }
    };
    if let Some(group) = &draft.consumer_group {
        ensure_group_is_free(&mut tx, &app_team, group, draft.group_is_prefix, None).await?;
    }

    if let Some(from) = draft.promoted_from {
        let original: Option<(RequestState, Uuid, Option<Uuid>, RequestKind)> = sqlx::query!(
            r#"select state as "state: RequestState", application_id, topic_id, kind as "kind: RequestKind" from access_request where id = $1"#,
            from,
        )
        .fetch_optional(&mut *tx)
        .await
        .map(|r| r.map(|r| (r.state, r.application_id, r.topic_id, r.kind)))
        .map_err(internal("looking up the promoted request"))?;
        let fits = original.is_some_and(|(state, app, topic, kind)| {
            state.is_approved()
                && app == draft.application
                && topic == Some(topic_id)
                && kind == draft.kind
        });
        if !fits {
            return Err(AppError::invalid(
                super::form::FIELD_PROMOTED_FROM,
                "only an approved request for the same application, topic and access can be promoted",
            ));
        }
    }
    let owning_team = TeamSlug::parse(owner.clone())
        .map_err(|m| AppError::internal("stored team unreadable", &m))?;
    let slots = policy.route(&RoutingInput {
        kind: draft.kind,
        owning_team,
        classification,
        contains_pii: topic_pii,
    });

    let id = Uuid::new_v4();
    let state = if draft.save_as_draft {
        RequestState::Draft
    } else {
        RequestState::Draft
            .apply(RequestEvent::Submit)
            .ok_or_else(|| AppError::internal("transition table", &"draft cannot be submitted"))?
    };
    sqlx::query!(
        "insert into access_request
            (id, kind, state, requester, application_id, topic_id, environments,
             consumer_group, consumer_group_is_prefix, purpose, requested_expiry, promoted_from)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        id,
        draft.kind as RequestKind,
        state as RequestState,
        &user.subject,
        draft.application,
        topic_id,
        &draft.environments,
        draft.consumer_group.as_ref().map(|g| g.as_str()),
        draft.group_is_prefix,
        &draft.purpose,
        draft.expiry as _,
        draft.promoted_from
    )
    .execute(&mut *tx)
    .await
    .map_err(internal("inserting the request"))?;
    insert_slots(&mut tx, id, &slots).await?;
    append(
        &mut tx,
        &user.subject,
        if draft.save_as_draft {
            "request.drafted"
        } else {
            "request.submitted"
        },
        "access_request",
        &id.to_string(),
        None,
        Some(json!({
            "kind": draft.kind.as_str(),
            "state": state.as_str(),
            "topic": draft.topic.as_str(),
            "application": draft.application,
            "environments": draft.environments,
            "consumer_group": draft.consumer_group.as_ref().map(|g| g.as_str()),
            "promoted_from": draft.promoted_from,
            "approvals": slots.iter().map(|s| s.kind.as_str()).collect::<Vec<_>>(),
        })),
    )
    .await
    .map_err(internal("auditing the request"))?;
    let message = format!(
        "{} asks for {} to {} for {}.",
        user.display_name,
        draft.kind.label().to_lowercase(),
        draft.topic,
        app_name
    );
    if !draft.save_as_draft {
        announce(
            &mut tx,
            portal,
            user,
            &slots,
            &message,
            id,
            &[app_team.as_str(), owner.as_str()],
        )
        .await?;
    }
    tx.commit()
        .await
        .map_err(internal("committing the request"))?;
    tracing::info!(request.id = %id, request.kind = draft.kind.as_str(), "access request submitted");
    Ok(id)
}

/// A new topic, with producer access for the proposing application: one bundle, one approval.
pub async fn create_topic_request(
    portal: &PortalContext,
    user: &UserIdentity,
    draft: &TopicProposalDraft,
) -> Result<Uuid, AppError> {
    let mut tx = portal
        .db
        .begin()
        .await
        .map_err(internal("starting a transaction"))?;
    ensure_user(&mut tx, user)
        .await
        .map_err(internal("recording the requester"))?;
    let name = draft.proposal.name.as_str();
    if let Some(text) = &draft.proposal.value_schema {
        crate::schemas::ssr::parse_avro(text)
            .map_err(|m| AppError::invalid(crate::schemas::FIELD_SCHEMA, m))?;
    }
    let taken: bool = sqlx::query_scalar!(
        r#"select exists (select 1 from topic where name = $1)
               or exists (select 1 from access_request where kind = 'new_topic'
                           and state = any($2) and proposed_topic->>'name' = $1) as "taken!""#,
        name,
        &RequestState::OPEN[..] as &[RequestState],
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(internal("checking the topic name"))?;
    if taken {
        return Err(AppError::invalid(
            super::topic_form::FIELD_NAME,
            format!("{name} already exists or is already proposed"),
        ));
    }
    let app: Option<(String, String)> = sqlx::query!(
        r#"select team_slug, name from application where id = $1"#,
        draft.application
    )
    .fetch_optional(&mut *tx)
    .await
    .map(|r| r.map(|r| (r.team_slug, r.name)))
    .map_err(internal("looking up the application"))?;
    let (team, app_name) = match app {
        Some((team, name)) if user.teams.iter().any(|t| t.as_str() == team) => (team, name),
        _ => {
            return Err(AppError::invalid(
                super::form::FIELD_APPLICATION,
                "choose one of your team's applications",
            ));
        }
    };
    let owning_team = TeamSlug::parse(team.clone())
        .map_err(|m| AppError::internal("stored team unreadable", &m))?;
    let slots = portal.approvals.route(&RoutingInput {
        kind: RequestKind::NewTopic,
        owning_team,
        classification: draft.proposal.classification,
        contains_pii: draft.proposal.contains_pii,
    });
    let id = Uuid::new_v4();
    let state = RequestState::Draft
        .apply(RequestEvent::Submit)
        .ok_or_else(|| AppError::internal("transition table", &"draft cannot be submitted"))?;
    let proposal = serde_json::to_value(&draft.proposal)
        .map_err(|e| AppError::internal("serializing the proposal", &e))?;
    let fit = serde_json::to_value(&draft.fit)
        .map_err(|e| AppError::internal("serializing the fit check", &e))?;
    sqlx::query!(
        "insert into access_request
            (id, kind, state, requester, application_id, proposed_topic, environments, purpose, fit_answers)
         values ($1, 'new_topic', $2, $3, $4, $5, $6, $7, $8)",
        id,
        state as RequestState,
        &user.subject,
        draft.application,
        &proposal,
        &draft.environments,
        &draft.proposal.description,
        &fit,
    )
    .execute(&mut *tx)
    .await
    .map_err(internal("inserting the proposal"))?;
    insert_slots(&mut tx, id, &slots).await?;
    append(
        &mut tx,
        &user.subject,
        "request.submitted",
        "access_request",
        &id.to_string(),
        None,
        Some(json!({
            "kind": "new_topic",
            "state": state.as_str(),
            "proposal": proposal,
            "fit": fit,
            "application": draft.application,
            "environments": draft.environments,
            "approvals": slots.iter().map(|s| s.kind.as_str()).collect::<Vec<_>>(),
        })),
    )
    .await
    .map_err(internal("auditing the proposal"))?;
    let message = format!(
        "{} proposes a new topic, {name}, produced by {app_name}.",
        user.display_name
    );
    announce(
        &mut tx,
        portal,
        user,
        &slots,
        &message,
        id,
        &[team.as_str()],
    )
    .await?;
    tx.commit()
        .await
        .map_err(internal("committing the proposal"))?;
    tracing::info!(request.id = %id, "new topic proposed");
    Ok(id)
}

/// On approval of a new-topic request: the topic enters the catalog in the requested
/// environments, owned by the proposing team.
async fn create_proposed_topic(conn: &mut PgConnection, id: Uuid) -> Result<(), AppError> {
    let (proposal, team, environments): (serde_json::Value, String, Vec<String>) = sqlx::query!(
        r#"select r.proposed_topic as "proposed_topic!", a.team_slug, r.environments
           from access_request r join application a on a.id = r.application_id where r.id = $1"#,
        id
    )
    .fetch_one(&mut *conn)
    .await
    .map(|r| (r.proposed_topic, r.team_slug, r.environments))
    .map_err(internal("loading the proposal"))?;
    let p: TopicProposal = serde_json::from_value(proposal)
        .map_err(|e| AppError::internal("stored proposal unreadable", &e))?;
    let topic_id = Uuid::new_v4();
    let inserted = sqlx::query!(
        "insert into topic (id, name, title, description, business_domain, lifecycle, owning_team,
                source_systems, data_classification, contains_pii, partitions, retention_ms, cleanup_policy)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         on conflict (name) do nothing",
        topic_id,
        p.name.as_str(),
        &p.title,
        &p.description,
        &p.business_domain,
        p.lifecycle as Lifecycle,
        &team,
        &p.source_systems,
        p.classification as DataClassification,
        p.contains_pii,
        p.partitions.get(),
        p.retention_days.as_millis(),
        p.cleanup_policy as CleanupPolicy,
    )
    .execute(&mut *conn)
    .await
    .map_err(internal("creating the topic"))?;
    if inserted.rows_affected() == 0 {
        return Err(AppError::Conflict(format!(
            "A topic named {} was created meanwhile; this proposal cannot be approved as it is.",
            p.name
        )));
    }
    sqlx::query!(
        "insert into topic_environment (topic_id, environment) select $1, unnest($2::text[])",
        topic_id,
        &environments
    )
    .execute(&mut *conn)
    .await
    .map_err(internal("recording the topic's environments"))?;
    sqlx::query!(
        "update access_request set topic_id = $2 where id = $1",
        id,
        topic_id
    )
    .execute(&mut *conn)
    .await
    .map_err(internal("linking the topic"))?;
    if let Some(text) = &p.value_schema {
        let schema = crate::schemas::ssr::parse_avro(text)
            .map_err(|m| AppError::invalid(crate::schemas::FIELD_SCHEMA, m))?;
        crate::schemas::ssr::register_value_schema(conn, topic_id, p.name.as_str(), &schema, id)
            .await
            .map_err(internal("registering the first schema"))?;
    }
    Ok(())
}

pub(crate) async fn insert_slots(
    conn: &mut PgConnection,
    id: Uuid,
    slots: &[crate::domain::RequiredSlot],
) -> Result<(), AppError> {
    for slot in slots {
        sqlx::query!(
            "insert into approval_slot (request_id, slot, team_slug, reason)
             values ($1, $2, $3, $4)",
            id,
            slot.kind as SlotKind,
            slot.team.as_ref().map(|t| t.as_str()),
            &slot.reason
        )
        .execute(&mut *conn)
        .await
        .map_err(internal("inserting an approval slot"))?;
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
    id: Uuid,
    teams: &[&str],
) -> Result<(), AppError> {
    let open: Vec<(SlotKind, Option<TeamSlug>)> =
        slots.iter().map(|s| (s.kind, s.team.clone())).collect();
    notifications::notify_approvers(&mut *conn, &portal.roles, &open, &user.subject, message, id)
        .await
        .map_err(internal("notifying approvers"))?;
    let link = format!("{}/requests/{id}", portal.public_url);
    notifications::enqueue_webhooks(&mut *conn, teams, message, &link)
        .await
        .map_err(internal("queueing webhooks"))?;
    Ok(())
}

/// A step only the requester may take: locks the request, checks the caller and the version,
/// and returns the state `event` leads to.
async fn requester_step(
    conn: &mut PgConnection,
    user: &UserIdentity,
    id: Uuid,
    seen_version: i32,
    event: RequestEvent,
    refused_verb: &str,
) -> Result<(Locked, RequestState), AppError> {
    let locked = lock(conn, user, id, seen_version).await?;
    if locked.requester != user.subject {
        return Err(AppError::Forbidden);
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

/// Locks the request row for the rest of the transaction, checks that the caller may see it (a
/// request they may not see does not exist for them) and the version they saw.
pub(crate) async fn lock(
    conn: &mut PgConnection,
    user: &UserIdentity,
    id: Uuid,
    seen_version: i32,
) -> Result<Locked, AppError> {
    let row: Option<(RequestState, i32, String, String, Option<String>)> = sqlx::query!(
        r#"select r.state as "state: RequestState", r.version, r.requester, a.team_slug,
                  t.owning_team as "owning_team?"
           from access_request r
           join application a on a.id = r.application_id
           left join topic t on t.id = r.topic_id
          where r.id = $1
          for update of r"#,
        id
    )
    .fetch_optional(conn)
    .await
    .map(|r| r.map(|r| (r.state, r.version, r.requester, r.team_slug, r.owning_team)))
    .map_err(internal("locking the request"))?;
    let (state, version, requester, team, owner) = row.ok_or(AppError::NotFound)?;
    if !visible_to(user, &requester, &team, owner.as_deref()) {
        return Err(AppError::NotFound);
    }
    if version != seen_version {
        return Err(AppError::Conflict(STALE.into()));
    }
    Ok(Locked {
        state,
        version,
        requester,
    })
}

pub(crate) async fn set_state(
    conn: &mut PgConnection,
    id: Uuid,
    state: RequestState,
    reason: Option<&str>,
) -> Result<(), AppError> {
    sqlx::query!(
        "update access_request
            set state = $2, version = version + 1, updated_at = now(),
                decision_reason = coalesce($3, decision_reason)
          where id = $1",
        id,
        state as RequestState,
        reason
    )
    .execute(conn)
    .await
    .map_err(internal("updating the request state"))?;
    Ok(())
}

pub async fn decide(
    portal: &PortalContext,
    user: &UserIdentity,
    id: Uuid,
    seen_version: i32,
    decision: Decision,
    reason: &str,
) -> Result<RequestState, AppError> {
    let reason = reason.trim();
    if decision.needs_reason() {
        crate::domain::bounded_text(reason, "a reason", 5, 2000)
            .map_err(|m| AppError::invalid("Reason", m))?;
    } else if reason.chars().count() > 2000 {
        return Err(AppError::invalid(
            "Reason",
            "a note is at most 2000 characters",
        ));
    }
    let mut tx = portal
        .db
        .begin()
        .await
        .map_err(internal("starting a transaction"))?;
    ensure_user(&mut tx, user)
        .await
        .map_err(internal("recording the approver"))?;
    let locked = lock(&mut tx, user, id, seen_version).await?;
    if !locked.state_allows_decisions() {
        return Err(AppError::Conflict(format!(
            "This request is no longer waiting for a decision: it is {}.",
            locked.state.label().to_lowercase()
        )));
    }
    if locked.requester == user.subject {
        return Err(AppError::Forbidden);
    }
    let slots: Vec<(SlotKind, Option<String>, Option<String>)> = sqlx::query!(
        r#"select slot as "slot: SlotKind", team_slug, decided_by from approval_slot
            where request_id = $1 order by approval_slot.slot"#,
        id
    )
    .fetch_all(&mut *tx)
    .await
    .map(|rows| {
        rows.into_iter()
            .map(|r| (r.slot, r.team_slug, r.decided_by))
            .collect()
    })
    .map_err(internal("loading approval slots"))?;
    if slots
        .iter()
        .any(|(_, _, by)| by.as_deref() == Some(user.subject.as_str()))
    {
        return Err(AppError::Conflict(
            "You have already given your approval on this request; the next one must come from someone else.".into(),
        ));
    }
    let open: Vec<(SlotKind, Option<String>)> = slots
        .iter()
        .filter(|(_, _, by)| by.is_none())
        .map(|(kind, team, _)| (*kind, team.clone()))
        .collect();
    let fillable = open.iter().find(|(kind, team)| {
        let team = team.as_deref().and_then(|t| TeamSlug::parse(t).ok());
        may_fill(user, *kind, team.as_ref(), &locked.requester).is_ok()
    });
    let Some((slot, _)) = fillable.cloned() else {
        return Err(AppError::Forbidden);
    };

    sqlx::query!(
        "update approval_slot
            set decided_by = $3, decision = $4, decision_reason = nullif($5, ''),
                decided_at = now()
          where request_id = $1 and slot = $2 and decided_by is null",
        id,
        slot as SlotKind,
        &user.subject,
        decision as Decision,
        reason
    )
    .execute(&mut *tx)
    .await
    .map_err(internal("recording the decision"))?;

    let event = match decision {
        Decision::Approve if open.len() == 1 => RequestEvent::ApproveFinal,
        Decision::Approve => RequestEvent::ApprovePartial,
        Decision::Decline => RequestEvent::Decline,
        Decision::RequestChanges => RequestEvent::RequestChanges,
    };
    let next = locked
        .state
        .apply(event)
        .ok_or_else(|| AppError::Conflict("That decision is not possible now.".into()))?;
    let shown_reason = decision.needs_reason().then_some(reason);
    set_state(&mut tx, id, next, shown_reason).await?;
    if next == RequestState::Applying {
        let kind: RequestKind = sqlx::query_scalar!(
            r#"select kind as "kind: RequestKind" from access_request where id = $1"#,
            id
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(internal("reading the request kind"))?;
        match kind {
            RequestKind::NewTopic => {
                create_proposed_topic(&mut tx, id).await?;
                record_grants(&mut tx, id).await?;
            }
            RequestKind::ProducerAccess | RequestKind::ConsumerAccess => {
                record_grants(&mut tx, id).await?;
            }
            RequestKind::TopicChange => apply_topic_change(&mut tx, id).await?,
            RequestKind::SchemaChange => {
                crate::schemas::store::apply_schema_change(&mut tx, portal, id).await?;
            }
            RequestKind::RevokeAccess => {
                crate::apply::store::revoke_matching_grants(&mut tx, id).await?;
            }
        }
        crate::apply::store::enqueue_request(&mut tx, id).await?;
    }
    append(
        &mut tx,
        &user.subject,
        &format!("request.{}", decision.as_str()),
        "access_request",
        &id.to_string(),
        Some(json!({ "state": locked.state.as_str(), "version": locked.version })),
        Some(json!({
            "state": next.as_str(),
            "version": locked.version + 1,
            "slot": slot.as_str(),
            "reason": (!reason.is_empty()).then_some(reason),
        })),
    )
    .await
    .map_err(internal("auditing the decision"))?;
    let words = format!("Your request was {}.", decision_words(next, slot));
    notifications::notify(&mut tx, &locked.requester, &words, id)
        .await
        .map_err(internal("notifying the requester"))?;
    if next != RequestState::Submitted {
        let team: String = sqlx::query_scalar!(
            "select a.team_slug from access_request r join application a on a.id = r.application_id where r.id = $1",
            id,
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(internal("finding the requesting team"))?;
        let text = format!(
            "A request of team {team} was {}.",
            decision_words(next, slot)
        );
        let link = format!("{}/requests/{id}", portal.public_url);
        notifications::enqueue_webhooks(&mut tx, &[team.as_str()], &text, &link)
            .await
            .map_err(internal("queueing webhooks"))?;
    }
    tx.commit()
        .await
        .map_err(internal("committing the decision"))?;
    tracing::info!(request.id = %id, decision = decision.as_str(), state = next.as_str(), "request decided");
    Ok(next)
}

fn decision_words(next: RequestState, slot: SlotKind) -> String {
    match next {
        RequestState::Approved | RequestState::Applying => "approved".into(),
        RequestState::Submitted => format!(
            "approved by {} and waits for the remaining approvals",
            slot.label().to_lowercase()
        ),
        RequestState::Declined => "declined".into(),
        RequestState::ChangesRequested => "sent back for changes".into(),
        other => other.label().to_lowercase(),
    }
}

impl Locked {
    fn state_allows_decisions(&self) -> bool {
        self.state.apply(RequestEvent::Decline).is_some()
    }
}

/// An approved topic change becomes the catalog's settings; its steps bring the clusters along.
async fn apply_topic_change(conn: &mut PgConnection, id: Uuid) -> Result<(), AppError> {
    sqlx::query!(
        "update topic t
            set partitions = (r.topic_change->'after'->>'partitions')::int,
                retention_ms = (r.topic_change->'after'->>'retention_days')::bigint * 86400000,
                cleanup_policy = (r.topic_change->'after'->>'cleanup_policy')::cleanup_policy
           from access_request r
          where r.id = $1 and t.id = r.topic_id",
        id
    )
    .execute(conn)
    .await
    .map_err(internal("updating the topic's settings"))?;
    Ok(())
}

/// A change to a topic comes from its owning team, for one of that team's applications.
/// `what` completes "only its owning team can propose ... this topic".
pub(crate) async fn ensure_owner_proposes(
    conn: &mut PgConnection,
    user: &UserIdentity,
    owner: &str,
    application: Uuid,
    what: &str,
) -> Result<(), AppError> {
    if !user.teams.iter().any(|t| t.as_str() == owner) {
        return Err(AppError::invalid(
            super::form::FIELD_TOPIC,
            format!("only its owning team, {owner}, can propose {what} this topic"),
        ));
    }
    let app_team: Option<String> = sqlx::query_scalar!(
        "select team_slug from application where id = $1",
        application
    )
    .fetch_optional(conn)
    .await
    .map_err(internal("looking up the application"))?;
    if app_team.as_deref() != Some(owner) {
        return Err(AppError::invalid(
            super::form::FIELD_APPLICATION,
            format!("choose an application of the owning team, {owner}"),
        ));
    }
    Ok(())
}

/// The owning team proposes new settings for one of its topics.
pub async fn create_topic_change(
    portal: &PortalContext,
    user: &UserIdentity,
    draft: &TopicChangeDraft,
) -> Result<Uuid, AppError> {
    use super::form::FIELD_TOPIC;
    let mut tx = portal
        .db
        .begin()
        .await
        .map_err(internal("starting a transaction"))?;
    ensure_user(&mut tx, user)
        .await
        .map_err(internal("recording the requester"))?;
    type TopicRow = (
        Uuid,
        String,
        i32,
        i64,
        CleanupPolicy,
        DataClassification,
        bool,
        Vec<String>,
    );
    let topic: Option<TopicRow> = sqlx::query!(
        r#"select t.id, t.owning_team, t.partitions, t.retention_ms,
                t.cleanup_policy as "cleanup_policy: CleanupPolicy",
                t.data_classification as "data_classification: DataClassification", t.contains_pii,
                array(select e.environment from topic_environment e
                       where e.topic_id = t.id order by e.environment) as "c7!" from topic t
          where t.name = $1
          for update"#,
        draft.topic.as_str()
    )
    .fetch_optional(&mut *tx)
    .await
    .map(|r| {
        r.map(|r| {
            (
                r.id,
                r.owning_team,
                r.partitions,
                r.retention_ms,
                r.cleanup_policy,
                r.data_classification,
                r.contains_pii,
                r.c7,
            )
        })
    })
    .map_err(internal("looking up the topic"))?;
    let Some((
        topic_id,
        owner,
        partitions,
        retention_ms,
        cleanup,
        classification,
        pii,
        environments,
    )) = topic
    else {
        return Err(AppError::invalid(
            FIELD_TOPIC,
            "no topic of that name in the catalog",
        ));
    };
    ensure_owner_proposes(&mut tx, user, &owner, draft.application, "changes to").await?;
    if environments.is_empty() {
        return Err(AppError::invalid(
            FIELD_TOPIC,
            "this topic is not in any environment yet",
        ));
    }
    let pending: bool = sqlx::query_scalar!(
        r#"select exists (select 1 from access_request where topic_id = $1 and kind = 'topic_change'
                           and state = any($2)) as "pending!""#,
        topic_id,
        &RequestState::PENDING[..] as &[RequestState],
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(internal("checking pending changes"))?;
    if pending {
        return Err(AppError::Conflict(
            "A change to this topic is already waiting; decide or withdraw it first.".into(),
        ));
    }
    let decode = |m: String| AppError::internal("stored topic unreadable", &m);
    let before = TopicSettings {
        partitions: crate::domain::Partitions::new(partitions).map_err(decode)?,
        retention_days: crate::domain::RetentionDays::new((retention_ms + 43_200_000) / 86_400_000)
            .map_err(decode)?,
        cleanup_policy: cleanup,
    };
    let change = TopicChange {
        before,
        after: draft.settings,
    };
    change.check().map_err(AppError::Invalid)?;
    let owning_team = TeamSlug::parse(owner.clone())
        .map_err(|m| AppError::internal("stored team unreadable", &m))?;
    let slots = portal.approvals.route(&RoutingInput {
        kind: RequestKind::TopicChange,
        owning_team,
        classification,
        contains_pii: pii,
    });
    let id = Uuid::new_v4();
    let state = RequestState::Draft
        .apply(RequestEvent::Submit)
        .ok_or_else(|| AppError::internal("transition table", &"draft cannot be submitted"))?;
    let stored = serde_json::to_value(change)
        .map_err(|e| AppError::internal("serializing the change", &e))?;
    sqlx::query!(
        "insert into access_request
            (id, kind, state, requester, application_id, topic_id, environments, purpose, topic_change)
         values ($1, 'topic_change', $2, $3, $4, $5, $6, $7, $8)",
        id,
        state as RequestState,
        &user.subject,
        draft.application,
        topic_id,
        &environments,
        &draft.purpose,
        &stored,
    )
    .execute(&mut *tx)
    .await
    .map_err(internal("inserting the topic change"))?;
    insert_slots(&mut tx, id, &slots).await?;
    append(
        &mut tx,
        &user.subject,
        "request.submitted",
        "access_request",
        &id.to_string(),
        None,
        Some(json!({
            "kind": "topic_change",
            "state": state.as_str(),
            "topic": draft.topic.as_str(),
            "change": stored,
            "approvals": slots.iter().map(|s| s.kind.as_str()).collect::<Vec<_>>(),
        })),
    )
    .await
    .map_err(internal("auditing the topic change"))?;
    let message = format!(
        "{} proposes new settings for {}: {}.",
        user.display_name,
        draft.topic.as_str(),
        change.in_words().join("; ")
    );
    announce(
        &mut tx,
        portal,
        user,
        &slots,
        &message,
        id,
        &[owner.as_str()],
    )
    .await?;
    tx.commit()
        .await
        .map_err(internal("committing the topic change"))?;
    tracing::info!(request.id = %id, "topic change proposed");
    Ok(id)
}

/// A member of a topic's owning team asks for another team's access to it to be taken away.
/// Governance and a second person of the owning team decide, like any access.
pub async fn create_revoke_request(
    portal: &PortalContext,
    user: &UserIdentity,
    of: Uuid,
    reason: &str,
) -> Result<Uuid, AppError> {
    let reason = crate::domain::bounded_text(
        reason,
        "the reason",
        super::form::PURPOSE_MIN,
        super::form::PURPOSE_MAX,
    )
    .map_err(|m| AppError::invalid("Reason", m))?;
    let mut tx = portal
        .db
        .begin()
        .await
        .map_err(internal("starting a transaction"))?;
    ensure_user(&mut tx, user)
        .await
        .map_err(internal("recording the requester"))?;
    type Row = (
        Uuid,
        Uuid,
        String,
        String,
        DataClassification,
        bool,
        String,
        String,
    );
    let row: Option<Row> = sqlx::query!(
        r#"select r.topic_id as "topic_id!", r.application_id, t.name,
                t.owning_team, t.data_classification as "data_classification: DataClassification",
                t.contains_pii, a.team_slug, a.name as app_name
           from access_request r
           join topic t on t.id = r.topic_id
           join application a on a.id = r.application_id
          where r.id = $1"#,
        of
    )
    .fetch_optional(&mut *tx)
    .await
    .map(|r| {
        r.map(|r| {
            (
                r.topic_id,
                r.application_id,
                r.name,
                r.owning_team,
                r.data_classification,
                r.contains_pii,
                r.team_slug,
                r.app_name,
            )
        })
    })
    .map_err(internal("loading the request"))?;
    let Some((topic, application, topic_name, owner, classification, pii, app_team, app_name)) =
        row
    else {
        return Err(AppError::NotFound);
    };
    let in_team = |team: &str| user.teams.iter().any(|t| t.as_str() == team);
    if !visible_to(user, "", &app_team, Some(&owner)) && !in_team(&owner) {
        return Err(AppError::NotFound);
    }
    if !in_team(&owner) {
        return Err(AppError::Forbidden);
    }
    let environments: Vec<String> = sqlx::query_scalar!(
        "select distinct environment from access_grant
          where request_id = $1 and revoked_at is null order by 1",
        of
    )
    .fetch_all(&mut *tx)
    .await
    .map_err(internal("finding live grants"))?;
    if environments.is_empty() {
        return Err(AppError::Conflict(
            "This request grants nothing any more; there is nothing to revoke.".into(),
        ));
    }
    let pending: bool = sqlx::query_scalar!(
        r#"select exists (select 1 from access_request where kind = 'revoke_access'
                           and topic_id = $1 and application_id = $2 and state = any($3))
             as "pending!""#,
        topic,
        application,
        &RequestState::PENDING[..] as &[RequestState],
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(internal("checking pending revocations"))?;
    if pending {
        return Err(AppError::Conflict(
            "A revocation of this access is already waiting for a decision.".into(),
        ));
    }
    let decode = |m: String| AppError::internal("stored value unreadable", &m);
    let slots = portal.approvals.route(&RoutingInput {
        kind: RequestKind::RevokeAccess,
        owning_team: TeamSlug::parse(owner.clone()).map_err(decode)?,
        classification,
        contains_pii: pii,
    });
    let id = Uuid::new_v4();
    let state = RequestState::Draft
        .apply(RequestEvent::Submit)
        .ok_or_else(|| AppError::internal("transition table", &"draft cannot be submitted"))?;
    sqlx::query!(
        "insert into access_request
            (id, kind, state, requester, application_id, topic_id, environments, purpose, promoted_from)
         values ($1, 'revoke_access', $2, $3, $4, $5, $6, $7, $8)",
        id,
        state as RequestState,
        &user.subject,
        application,
        topic,
        &environments,
        &reason,
        of,
    )
    .execute(&mut *tx)
    .await
    .map_err(internal("inserting the revocation"))?;
    insert_slots(&mut tx, id, &slots).await?;
    append(
        &mut tx,
        &user.subject,
        "request.submitted",
        "access_request",
        &id.to_string(),
        None,
        Some(json!({
            "kind": "revoke_access",
            "state": state.as_str(),
            "topic": topic_name,
            "application": application,
            "of": of,
            "environments": environments,
            "approvals": slots.iter().map(|s| s.kind.as_str()).collect::<Vec<_>>(),
        })),
    )
    .await
    .map_err(internal("auditing the revocation request"))?;
    let message = format!(
        "{} asks to revoke the access of {app_name} to {topic_name}.",
        user.display_name
    );
    announce(
        &mut tx,
        portal,
        user,
        &slots,
        &message,
        id,
        &[owner.as_str(), app_team.as_str()],
    )
    .await?;
    tx.commit()
        .await
        .map_err(internal("committing the revocation request"))?;
    tracing::info!(request.id = %id, "revocation requested");
    Ok(id)
}

/// Consumer groups belong to teams: a group, or any group a prefix covers, that another team
/// holds (a live grant) or has asked for (a request waiting for a decision) cannot be given to
/// this team. Claims are serialised, so two teams asking at once cannot both get one.
pub(crate) async fn ensure_group_is_free(
    conn: &mut PgConnection,
    team: &str,
    group: &ConsumerGroup,
    prefix: bool,
    this_request: Option<Uuid>,
) -> Result<(), AppError> {
    sqlx::query!("select pg_advisory_xact_lock(hashtext('consumer_group_ownership'))")
        .execute(&mut *conn)
        .await
        .map_err(internal("serialising consumer group claims"))?;
    let held: Vec<(String, String, bool)> = sqlx::query!(
        r#"select a.team_slug as "team_slug!", g.consumer_group as "consumer_group!",
                  g.consumer_group_is_prefix as "consumer_group_is_prefix!"
           from access_grant g join application a on a.id = g.application_id
          where g.revoked_at is null and g.consumer_group is not null and a.team_slug <> $1
          union all
         select a.team_slug, r.consumer_group, r.consumer_group_is_prefix
           from access_request r join application a on a.id = r.application_id
          where r.kind = 'consumer_access' and r.state = any($3)
            and r.consumer_group is not null and a.team_slug <> $1
            and r.id is distinct from $2"#,
        team,
        this_request,
        &RequestState::SENT_FOR_DECISION[..] as &[RequestState]
    )
    .fetch_all(&mut *conn)
    .await
    .map(|rows| {
        rows.into_iter()
            .map(|r| (r.team_slug, r.consumer_group, r.consumer_group_is_prefix))
            .collect()
    })
    .map_err(internal("reading the consumer groups other teams hold"))?;
    let clash = held
        .into_iter()
        .find(|(_, other, other_prefix)| group.overlaps(prefix, other, *other_prefix));
    match clash {
        None => Ok(()),
        Some((owner, other, other_prefix)) => {
            let theirs = if other_prefix {
                format!("the groups starting with `{other}`")
            } else {
                format!("the group `{other}`")
            };
            let mine = if prefix {
                format!("the prefix `{}` covers", group.as_str())
            } else {
                format!("`{}` is", group.as_str())
            };
            Err(AppError::invalid(
                super::form::FIELD_GROUP,
                format!(
                    "{mine} {theirs}, which belong to team {owner}: a consumer group belongs to one team. Choose another name, for example one starting with your application's name"
                ),
            ))
        }
    }
}

/// An approved access request becomes grants, one per environment.
async fn record_grants(conn: &mut PgConnection, id: Uuid) -> Result<(), AppError> {
    let (kind, team, group, prefix): (RequestKind, String, Option<String>, bool) = sqlx::query!(
        r#"select r.kind as "kind: RequestKind", a.team_slug, r.consumer_group, r.consumer_group_is_prefix
           from access_request r join application a on a.id = r.application_id
          where r.id = $1"#,
        id,
    )
    .fetch_one(&mut *conn)
    .await
    .map(|r| {
        (
            r.kind,
            r.team_slug,
            r.consumer_group,
            r.consumer_group_is_prefix,
        )
    })
    .map_err(internal("reading the request's grant"))?;
    let Some(role) = kind.grant_role() else {
        return Ok(());
    };
    if let (GrantRole::Consumer, Some(group)) = (role, group) {
        let group = ConsumerGroup::parse(&group)
            .map_err(|m| AppError::internal("stored consumer group unreadable", &m))?;
        ensure_group_is_free(&mut *conn, &team, &group, prefix, Some(id))
            .await
            .map_err(|refused| match refused {
                AppError::Invalid(errors) => AppError::Conflict(format!(
                    "This access cannot be granted: {}",
                    errors
                        .first()
                        .map(|e| e.message.clone())
                        .unwrap_or_default()
                )),
                other => other,
            })?;
    }
    sqlx::query!(
        "insert into access_grant
            (id, request_id, topic_id, application_id, role, environment, consumer_group,
             consumer_group_is_prefix, expires_on)
         select gen_random_uuid(), r.id, r.topic_id, r.application_id, $2,
                env, r.consumer_group, r.consumer_group_is_prefix, r.requested_expiry
           from access_request r, unnest(r.environments) as env
          where r.id = $1",
        id,
        role as GrantRole
    )
    .execute(conn)
    .await
    .map_err(internal("recording grants"))?;
    Ok(())
}

pub async fn withdraw(
    db: &PgPool,
    user: &UserIdentity,
    id: Uuid,
    seen_version: i32,
) -> Result<RequestState, AppError> {
    let mut tx = db
        .begin()
        .await
        .map_err(internal("starting a transaction"))?;
    let (locked, next) = requester_step(
        &mut tx,
        user,
        id,
        seen_version,
        RequestEvent::Withdraw,
        "withdrawn",
    )
    .await?;
    set_state(&mut tx, id, next, None).await?;
    append(
        &mut tx,
        &user.subject,
        "request.withdrawn",
        "access_request",
        &id.to_string(),
        Some(json!({ "state": locked.state.as_str() })),
        Some(json!({ "state": next.as_str() })),
    )
    .await
    .map_err(internal("auditing the withdrawal"))?;
    tx.commit()
        .await
        .map_err(internal("committing the withdrawal"))?;
    Ok(next)
}

/// The requester answers "changes requested": edits what can change, and sends it back for
/// approval. Every approval slot opens again; earlier decisions stay in the audit trail.
pub async fn resubmit(
    db: &PgPool,
    user: &UserIdentity,
    id: Uuid,
    seen_version: i32,
    purpose: &str,
    consumer_group: Option<&str>,
) -> Result<RequestState, AppError> {
    let purpose = crate::domain::bounded_text(
        purpose,
        "the purpose",
        super::form::PURPOSE_MIN,
        super::form::PURPOSE_MAX,
    )
    .map_err(|m| AppError::invalid(super::form::FIELD_PURPOSE, m))?;
    let mut tx = db
        .begin()
        .await
        .map_err(internal("starting a transaction"))?;
    let (locked, next) = requester_step(
        &mut tx,
        user,
        id,
        seen_version,
        RequestEvent::Submit,
        "sent again",
    )
    .await?;
    let kind: RequestKind = sqlx::query_scalar!(
        r#"select kind as "kind: RequestKind" from access_request where id = $1"#,
        id
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(internal("reading the request kind"))?;
    let group = if kind == RequestKind::ConsumerAccess {
        let text = consumer_group.unwrap_or_default();
        let group = ConsumerGroup::parse(text)
            .map_err(|m| AppError::invalid(super::form::FIELD_GROUP, m))?;
        let (team, prefix): (String, bool) = sqlx::query!(
            r#"select a.team_slug, r.consumer_group_is_prefix
               from access_request r join application a on a.id = r.application_id
              where r.id = $1"#,
            id
        )
        .fetch_one(&mut *tx)
        .await
        .map(|r| (r.team_slug, r.consumer_group_is_prefix))
        .map_err(internal("reading the request's team"))?;
        if prefix {
            group
                .check_prefix()
                .map_err(|m| AppError::invalid(super::form::FIELD_GROUP, m))?;
        }
        ensure_group_is_free(&mut tx, &team, &group, prefix, Some(id)).await?;
        Some(group)
    } else {
        None
    };
    sqlx::query!(
        "update access_request
            set purpose = $2, consumer_group = coalesce($3, consumer_group), decision_reason = null
          where id = $1",
        id,
        &purpose,
        group.as_ref().map(|g| g.as_str())
    )
    .execute(&mut *tx)
    .await
    .map_err(internal("updating the request"))?;
    sqlx::query!(
        "update approval_slot
            set decided_by = null, decision = null, decision_reason = null, decided_at = null
          where request_id = $1",
        id
    )
    .execute(&mut *tx)
    .await
    .map_err(internal("reopening approvals"))?;
    set_state(&mut tx, id, next, None).await?;
    append(
        &mut tx,
        &user.subject,
        "request.resubmitted",
        "access_request",
        &id.to_string(),
        Some(json!({ "state": locked.state.as_str(), "version": locked.version })),
        Some(json!({
            "state": next.as_str(),
            "purpose": purpose,
            "consumer_group": group.as_ref().map(|g| g.as_str()),
        })),
    )
    .await
    .map_err(internal("auditing the resubmission"))?;
    tx.commit()
        .await
        .map_err(internal("committing the resubmission"))?;
    Ok(next)
}

// The summary columns and the queue's filter are written out in each query: the macros check
// literal SQL only.

pub async fn mine(db: &PgPool, user: &UserIdentity) -> Result<Vec<RequestSummary>, sqlx::Error> {
    sqlx::query_as!(
        RequestSummary,
        r#"select r.id, r.kind as "kind: RequestKind", r.state as "state: RequestState",
                  coalesce(t.name, r.proposed_topic->>'name', '') as "topic!",
                  a.name as application, u.display_name as requester, r.environments,
                  r.updated_at as "updated_at: DateTime<Utc>"
             from access_request r
             join application a on a.id = r.application_id
             join app_user u on u.subject = r.requester
             left join topic t on t.id = r.topic_id
            where r.requester = $1 or a.team_slug = any($2)
            order by r.updated_at desc limit 200"#,
        &user.subject,
        &team_names(user),
    )
    .fetch_all(db)
    .await
}

/// The open slots a user could fill: governance slots for approvers, owning-team slots for team
/// approvers of that team; never on their own requests or ones they already decided.
pub async fn queue(db: &PgPool, user: &UserIdentity) -> Result<Vec<RequestSummary>, sqlx::Error> {
    sqlx::query_as!(
        RequestSummary,
        r#"select r.id, r.kind as "kind: RequestKind", r.state as "state: RequestState",
                  coalesce(t.name, r.proposed_topic->>'name', '') as "topic!",
                  a.name as application, u.display_name as requester, r.environments,
                  r.updated_at as "updated_at: DateTime<Utc>"
             from access_request r
             join application a on a.id = r.application_id
             join app_user u on u.subject = r.requester
             left join topic t on t.id = r.topic_id
            where r.state = 'submitted' and r.requester <> $1
              and not exists (select 1 from approval_slot d
                               where d.request_id = r.id and d.decided_by = $1)
              and exists (select 1 from approval_slot s
                           where s.request_id = r.id and s.decided_by is null
                             and ((s.slot in ('governance', 'second_governance') and $2)
                               or (s.slot = 'owning_team' and $3 and s.team_slug = any($4))))
            order by r.updated_at limit 200"#,
        &user.subject,
        user.has_role(Role::Approver),
        user.has_role(Role::TeamApprover),
        &team_names(user),
    )
    .fetch_all(db)
    .await
}

/// How many requests `queue` would list (without its limit).
pub async fn queue_count(db: &PgPool, user: &UserIdentity) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select count(*) as "count!" from access_request r
            where r.state = 'submitted' and r.requester <> $1
              and not exists (select 1 from approval_slot d
                               where d.request_id = r.id and d.decided_by = $1)
              and exists (select 1 from approval_slot s
                           where s.request_id = r.id and s.decided_by is null
                             and ((s.slot in ('governance', 'second_governance') and $2)
                               or (s.slot = 'owning_team' and $3 and s.team_slug = any($4))))"#,
        &user.subject,
        user.has_role(Role::Approver),
        user.has_role(Role::TeamApprover),
        &team_names(user),
    )
    .fetch_one(db)
    .await
}

/// slot, team, reason, decided by (name), decision, reason given, decided at
type SlotRow = (
    SlotKind,
    Option<String>,
    String,
    Option<String>,
    Option<Decision>,
    Option<String>,
    Option<DateTime<Utc>>,
);

struct DetailRow {
    topic_change: Option<serde_json::Value>,
    schema_change: Option<serde_json::Value>,
    topic_id: Option<Uuid>,
    id: Uuid,
    kind: RequestKind,
    state: RequestState,
    topic: Option<String>,
    application: String,
    requester: String,
    environments: Vec<String>,
    updated_at: DateTime<Utc>,
    version: i32,
    requester_subject: String,
    application_team: String,
    topic_owner: Option<String>,
    classification: Option<DataClassification>,
    topic_pii: Option<bool>,
    consumer_group: Option<String>,
    consumer_group_is_prefix: bool,
    proposed_topic: Option<serde_json::Value>,
    fit_answers: Option<serde_json::Value>,
    promoted_from: Option<Uuid>,
    application_id: Uuid,
    purpose: String,
    requested_expiry: Option<NaiveDate>,
    decision_reason: Option<String>,
    system_registration_id: String,
    security_package_id: String,
    fisma_rating: String,
    ato_status: String,
    ato_date: Option<NaiveDate>,
    privacy_assessment: String,
    app_pii: bool,
    hosting_location: String,
    technical_contact: String,
    product_contact: String,
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

pub async fn detail(db: &PgPool, user: &UserIdentity, id: Uuid) -> Result<RequestDetail, AppError> {
    let row = sqlx::query_as!(
        DetailRow,
        r#"select r.id, r.kind as "kind: RequestKind", r.state as "state: RequestState",
                  coalesce(t.name, r.proposed_topic->>'name') as topic, a.name as application,
                  u.display_name as requester, r.environments,
                  r.updated_at as "updated_at: DateTime<Utc>", r.version,
                  r.requester as requester_subject, a.team_slug as application_team,
                  t.owning_team as "topic_owner?",
                  t.data_classification as "classification?: DataClassification",
                  t.contains_pii as "topic_pii?", r.consumer_group, r.consumer_group_is_prefix,
                  r.proposed_topic, r.fit_answers, r.promoted_from, r.application_id,
                  r.topic_change, r.schema_change, r.topic_id,
                  r.purpose, r.requested_expiry as "requested_expiry: NaiveDate", r.decision_reason,
                  a.system_registration_id, a.security_package_id,
                  a.fisma_rating::text as "fisma_rating!",
                  a.ato_status::text as "ato_status!", a.ato_date as "ato_date: NaiveDate",
                  a.privacy_assessment::text as "privacy_assessment!",
                  a.contains_pii as app_pii, a.hosting_location::text as "hosting_location!",
                  a.technical_contact, a.product_contact
             from access_request r
             join application a on a.id = r.application_id
             join app_user u on u.subject = r.requester
             left join topic t on t.id = r.topic_id
            where r.id = $1"#,
        id
    )
    .fetch_optional(db)
    .await
    .map_err(internal("loading a request"))?;
    let row = row.ok_or(AppError::NotFound)?;

    let in_team = |team: &str| user.teams.iter().any(|t| t.as_str() == team);
    if !visible_to(
        user,
        &row.requester_subject,
        &row.application_team,
        row.topic_owner.as_deref(),
    ) {
        // Not knowing a request exists is the same as it not existing, for this caller.
        return Err(AppError::NotFound);
    }

    let slot_rows: Vec<SlotRow> = sqlx::query!(
        r#"select s.slot as "slot: SlotKind", s.team_slug, s.reason,
                  u.display_name as "display_name?", s.decision as "decision: Decision",
                  s.decision_reason, s.decided_at as "decided_at: DateTime<Utc>"
               from approval_slot s left join app_user u on u.subject = s.decided_by
              where s.request_id = $1 order by s.slot"#,
        id
    )
    .fetch_all(db)
    .await
    .map(|rows| {
        rows.into_iter()
            .map(|r| {
                (
                    r.slot,
                    r.team_slug,
                    r.reason,
                    r.display_name,
                    r.decision,
                    r.decision_reason,
                    r.decided_at,
                )
            })
            .collect()
    })
    .map_err(internal("loading approval slots"))?;
    let decided_by_me: bool = sqlx::query_scalar!(
        r#"select exists (select 1 from approval_slot where request_id = $1 and decided_by = $2)
             as "decided!""#,
        id,
        &user.subject
    )
    .fetch_one(db)
    .await
    .map_err(internal("checking earlier decisions"))?;

    let state = row.state;
    let mut slots = Vec::new();
    let mut decidable_slot = None;
    for (kind, team, reason, decided_by, decision, decision_reason, decided_at) in slot_rows {
        let team_slug = team.as_deref().and_then(|t| TeamSlug::parse(t).ok());
        if decidable_slot.is_none()
            && decided_by.is_none()
            && !decided_by_me
            && state == RequestState::Submitted
            && may_fill(user, kind, team_slug.as_ref(), &row.requester_subject).is_ok()
        {
            decidable_slot = Some(kind);
        }
        slots.push(SlotView {
            kind,
            team,
            reason,
            decided_by,
            decision,
            decision_reason,
            decided_at,
        });
    }

    let timeline: Vec<(DateTime<Utc>, String, String, Option<serde_json::Value>)> = sqlx::query!(
        r#"select l.occurred_at as "occurred_at: DateTime<Utc>",
                  coalesce(u.display_name, l.actor) as "c1!", l.action, l.after
           from audit_log l left join app_user u on u.subject = l.actor
          where l.entity_type = 'access_request' and l.entity_id = $1
          order by l.id"#,
        id.to_string()
    )
    .fetch_all(db)
    .await
    .map(|rows| {
        rows.into_iter()
            .map(|r| (r.occurred_at, r.c1, r.action, r.after))
            .collect()
    })
    .map_err(internal("loading the timeline"))?;

    let proposal: Option<TopicProposal> = row
        .proposed_topic
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| AppError::internal("stored proposal unreadable", &e))?;
    let fit: Vec<FitAnswer> = row
        .fit_answers
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| AppError::internal("stored fit check unreadable", &e))?
        .unwrap_or_default();
    let (classification, topic_pii) = match &proposal {
        Some(p) if row.classification.is_none() => (Some(p.classification), p.contains_pii),
        _ => (row.classification, row.topic_pii.unwrap_or(false)),
    };
    let topic_change: Option<TopicChange> = row
        .topic_change
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| AppError::internal("stored topic change unreadable", &e))?;
    let schema_change = match row.schema_change {
        Some(stored) => {
            let change: super::schema_change::SchemaChange = serde_json::from_value(stored)
                .map_err(|e| AppError::internal("stored schema change unreadable", &e))?;
            let mut conn = db
                .acquire()
                .await
                .map_err(internal("connecting to the database"))?;
            let diff = crate::schemas::store::change_diff(&mut conn, &change).await?;
            let consumers = match row.topic_id {
                Some(topic) => crate::schemas::store::topic_consumers(&mut conn, topic)
                    .await
                    .map_err(internal("listing the topic's consumers"))?
                    .into_iter()
                    .map(|(team, app)| format!("{team} / {app}"))
                    .collect(),
                None => Vec::new(),
            };
            Some(super::schema_change::SchemaChangeView {
                change,
                diff,
                consumers,
            })
        }
        None => None,
    };
    Ok(RequestDetail {
        topic_change,
        schema_change,
        proposal,
        fit,
        promoted_from: row.promoted_from,
        application_id: row.application_id,
        can_promote: state.is_approved()
            && row.kind != RequestKind::NewTopic
            && row.kind != RequestKind::SchemaChange
            && user.has_role(Role::Member)
            && in_team(&row.application_team),
        summary: RequestSummary {
            id: row.id,
            kind: row.kind,
            state,
            topic: row.topic.unwrap_or_default(),
            application: row.application,
            requester: row.requester,
            environments: row.environments,
            updated_at: row.updated_at,
        },
        version: row.version,
        can_withdraw: row.requester_subject == user.subject
            && state.apply(RequestEvent::Withdraw).is_some(),
        can_resubmit: row.requester_subject == user.subject
            && matches!(state, RequestState::ChangesRequested | RequestState::Draft),
        requester_subject: row.requester_subject,
        application_team: row.application_team,
        topic_owner: row.topic_owner,
        classification,
        topic_contains_pii: topic_pii,
        consumer_group: row.consumer_group,
        group_is_prefix: row.consumer_group_is_prefix,
        purpose: row.purpose,
        requested_expiry: row.requested_expiry,
        decision_reason: row.decision_reason,
        compliance: Compliance {
            system_registration_id: row.system_registration_id,
            security_package_id: row.security_package_id,
            fisma_rating: row.fisma_rating,
            ato_status: row.ato_status,
            ato_date: row.ato_date,
            privacy_assessment: row.privacy_assessment,
            contains_pii: row.app_pii,
            hosting_location: row.hosting_location,
            technical_contact: row.technical_contact,
            product_contact: row.product_contact,
        },
        slots,
        timeline: timeline
            .into_iter()
            .map(|(at, actor, action, after)| TimelineEntry {
                at,
                actor,
                detail: after
                    .as_ref()
                    .and_then(|a| a.get("reason"))
                    .and_then(|r| r.as_str())
                    .map(str::to_owned),
                action: describe_action(&action),
            })
            .collect(),
        decidable_slot,
    })
}

fn describe_action(action: &str) -> String {
    match action {
        "request.submitted" => "submitted the request".into(),
        "request.approved" => "approved".into(),
        "request.declined" => "declined".into(),
        "request.changes_requested" => "asked for changes".into(),
        "request.withdrawn" => "withdrew the request".into(),
        "request.resubmitted" => "made the changes and sent it again".into(),
        "request.drafted" => "saved it as a draft".into(),
        "request.applied" => "applied it to Kafka: it is active".into(),
        "request.failed" => "could not apply it to Kafka".into(),
        "request.retried" => "retried the failed steps".into(),
        "request.revoked" => "revoked the access".into(),
        "request.expired" => "ended the access: its date passed".into(),
        other => other.replace(['.', '_'], " "),
    }
}

//! Requests as people act on them: deciding, withdrawing, resubmitting, and the lists and detail
//! pages. Every change happens in one transaction together with its audit entry, under a row lock
//! on the request, and names the version it was made on. What differs by kind of request lives in
//! `kind/`; the shared transitions in `lifecycle`.

use super::topic_change::TopicChange;
use super::topic_form::{FitAnswer, TopicProposal};
use super::{
    ApplicationOption, Compliance, QueueCount, QueueCursor, QueueKey, QueuePage, RequestDetail,
    RequestSummary, SlotView, TimelineEntry,
};
use crate::audit::ssr::append;
use crate::context::PortalContext;
use crate::domain::EnvironmentName;
use crate::domain::{ApplicationId, RequestId, TopicId};
use crate::domain::{
    ConsumerGroup, DataClassification, Decision, GroupName, RequestEvent, RequestKind,
    RequestState, Role, RoleMapping, SlotKind, TeamSlug, UserIdentity, could_fill, may_fill,
};
use crate::error::AppError;
use crate::loaded::{Markup, NotHydrated};
use crate::notifications::ssr as notifications;
use crate::page_cache::{self, Listing};
use crate::requests::lifecycle::{
    describe, ensure_user, lock, requester_step, set_state, team_names, visible_to,
};
use crate::store::{StoreError, failed_while};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use sqlx::PgPool;

pub async fn applications_of(
    db: &PgPool,
    user: &UserIdentity,
) -> Result<Vec<ApplicationOption>, sqlx::Error> {
    sqlx::query_as!(
        ApplicationOption,
        r#"select id as "id: ApplicationId", name, team_slug as team from application
          where team_slug = any($1) order by team_slug, name"#,
        &team_names(user)
    )
    .fetch_all(db)
    .await
}

pub async fn decide(
    portal: &PortalContext,
    user: &UserIdentity,
    id: RequestId,
    seen_version: i32,
    decision: Decision,
    reason: &str,
) -> Result<RequestState, StoreError> {
    let reason = reason.trim();
    if decision.needs_reason() {
        crate::domain::bounded_text(reason, "a reason", 5, 2000)
            .map_err(|m| AppError::invalid("Reason", m))?;
    } else if reason.chars().count() > 2000 {
        return Err(StoreError::from(AppError::invalid(
            "Reason",
            "a note is at most 2000 characters",
        )));
    }
    let mut tx = portal
        .db
        .begin()
        .await
        .map_err(failed_while("starting a transaction"))?;
    ensure_user(&mut tx, user)
        .await
        .map_err(failed_while("recording the approver"))?;
    let locked = lock(&mut tx, user, id, seen_version).await?;
    if !locked.state_allows_decisions() {
        return Err(StoreError::from(AppError::Conflict(format!(
            "This request is no longer waiting for a decision: it is {}.",
            locked.state.label().to_lowercase()
        ))));
    }
    if locked.requester == user.subject {
        return Err(AppError::Forbidden.into());
    }
    let slots: Vec<(SlotKind, Option<String>, Option<String>)> = sqlx::query!(
        r#"select slot as "slot: SlotKind", team_slug, decided_by from approval_slot
            where request_id = $1 order by approval_slot.slot"#,
        id as RequestId
    )
    .fetch_all(&mut *tx)
    .await
    .map(|rows| {
        rows.into_iter()
            .map(|r| (r.slot, r.team_slug, r.decided_by))
            .collect()
    })
    .map_err(failed_while("loading approval slots"))?;
    if slots
        .iter()
        .any(|(_, _, by)| by.as_deref() == Some(user.subject.as_str()))
    {
        return Err(StoreError::from(AppError::Conflict(
            "You have already given your approval on this request; the next one must come from someone else.".into(),
        )));
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
        return Err(AppError::Forbidden.into());
    };

    sqlx::query!(
        "update approval_slot
            set decided_by = $3, decision = $4, decision_reason = nullif($5, ''),
                decided_at = now()
          where request_id = $1 and slot = $2 and decided_by is null",
        id as RequestId,
        slot as SlotKind,
        &user.subject,
        decision as Decision,
        reason
    )
    .execute(&mut *tx)
    .await
    .map_err(failed_while("recording the decision"))?;

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
            id as RequestId
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(failed_while("reading the request kind"))?;
        super::kind::approved(kind, &mut tx, portal, id).await?;
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
    .map_err(failed_while("auditing the decision"))?;
    let words = format!(
        "{} was {}.",
        describe(&mut tx, id).await?,
        decision_words(next, slot)
    );
    notifications::notify(&mut tx, &locked.requester, &words, id)
        .await
        .map_err(failed_while("notifying the requester"))?;
    if next != RequestState::Submitted {
        let team: String = sqlx::query_scalar!(
            "select a.team_slug from access_request r join application a on a.id = r.application_id where r.id = $1",
            id as RequestId,
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(failed_while("finding the requesting team"))?;
        let text = format!(
            "A request of team {team} was {}.",
            decision_words(next, slot)
        );
        let link = format!("{}/requests/{id}", portal.public_url);
        notifications::enqueue_webhooks(&mut tx, &[team.as_str()], &text, &link)
            .await
            .map_err(failed_while("queueing webhooks"))?;
    }
    tx.commit()
        .await
        .map_err(failed_while("committing the decision"))?;
    // An approval may add a topic to the catalog or change its settings.
    page_cache::changed_here(&Listing::ALL);
    tracing::info!(request.id = %id, decision = decision.as_str(), state = next.as_str(), "request decided");
    Ok(next)
}

fn decision_words(next: RequestState, slot: SlotKind) -> String {
    match next {
        RequestState::Approved | RequestState::Applying => "approved".into(),
        RequestState::Submitted => format!(
            "approved by the {} and waits for the remaining approvals",
            slot.label().to_lowercase()
        ),
        RequestState::Declined => "declined".into(),
        RequestState::ChangesRequested => "sent back for changes".into(),
        other => other.label().to_lowercase(),
    }
}

pub async fn withdraw(
    db: &PgPool,
    user: &UserIdentity,
    id: RequestId,
    seen_version: i32,
) -> Result<RequestState, StoreError> {
    let mut tx = db
        .begin()
        .await
        .map_err(failed_while("starting a transaction"))?;
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
    .map_err(failed_while("auditing the withdrawal"))?;
    tx.commit()
        .await
        .map_err(failed_while("committing the withdrawal"))?;
    page_cache::changed_here(&[Listing::Queue]);
    Ok(next)
}

/// The requester answers "changes requested": edits what can change, and sends it back for
/// approval. Every approval slot opens again; earlier decisions stay in the audit trail.
pub async fn resubmit(
    db: &PgPool,
    user: &UserIdentity,
    id: RequestId,
    seen_version: i32,
    purpose: &str,
    consumer_group: Option<&str>,
) -> Result<RequestState, StoreError> {
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
        .map_err(failed_while("starting a transaction"))?;
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
        id as RequestId
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(failed_while("reading the request kind"))?;
    let group = if kind == RequestKind::ConsumerAccess {
        let text = consumer_group.unwrap_or_default();
        let group = ConsumerGroup::parse(text)
            .map_err(|m| AppError::invalid(super::form::FIELD_GROUP, m))?;
        let (team, prefix): (String, bool) = sqlx::query!(
            r#"select a.team_slug, r.consumer_group_is_prefix
               from access_request r join application a on a.id = r.application_id
              where r.id = $1"#,
            id as RequestId
        )
        .fetch_one(&mut *tx)
        .await
        .map(|r| (r.team_slug, r.consumer_group_is_prefix))
        .map_err(failed_while("reading the request's team"))?;
        if prefix {
            group
                .check_prefix()
                .map_err(|m| AppError::invalid(super::form::FIELD_GROUP, m))?;
        }
        super::kind::ensure_group_is_free(&mut tx, &team, &group, prefix, Some(id)).await?;
        Some(group)
    } else {
        None
    };
    sqlx::query!(
        "update access_request
            set purpose = $2, consumer_group = coalesce($3, consumer_group), decision_reason = null
          where id = $1",
        id as RequestId,
        &purpose,
        group.as_ref().map(|g| g.as_str())
    )
    .execute(&mut *tx)
    .await
    .map_err(failed_while("updating the request"))?;
    sqlx::query!(
        "update approval_slot
            set decided_by = null, decision = null, decision_reason = null, decided_at = null
          where request_id = $1",
        id as RequestId
    )
    .execute(&mut *tx)
    .await
    .map_err(failed_while("reopening approvals"))?;
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
    .map_err(failed_while("auditing the resubmission"))?;
    tx.commit()
        .await
        .map_err(failed_while("committing the resubmission"))?;
    page_cache::changed_here(&[Listing::Queue]);
    Ok(next)
}

// The summary columns and the queue's filter are written out in each query: the macros check
// literal SQL only.

pub async fn mine(db: &PgPool, user: &UserIdentity) -> Result<Vec<RequestSummary>, sqlx::Error> {
    sqlx::query_as!(
        RequestSummary,
        r#"select r.id, r.kind as "kind: RequestKind", r.state as "state: RequestState",
                  coalesce(t.name, r.proposed_topic->>'name', '') as "topic!",
                  a.name as application, u.display_name as requester, r.environments as "environments: Vec<EnvironmentName>",
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

/// One page of the requests waiting for a decision the caller can make, oldest change first,
/// found by keyset (the request a page starts after or ends before) so a deep page reads no
/// more rows than the first; one row more than a page tells whether another follows.
pub async fn queue(
    db: &PgPool,
    user: &UserIdentity,
    cursor: &QueueCursor,
    size: i64,
) -> Result<QueuePage, sqlx::Error> {
    let (after, before) = cursor.bounds();
    // Backwards for a previous page (the rows nearest the cursor first), forwards otherwise;
    // the page's rows are put in queue order below. The names are looked up per row shown (a
    // join would read the whole application and user tables to hash them).
    //
    // What waits for governance is found by walking the submitted requests in queue order,
    // nearly every one of which waits for governance, and stopping once the page is full; what
    // waits for a team by walking, per team, its open slots of submitted requests in the same
    // order (`approval_slot_team_queue_idx`: each slot carries its request's state and last
    // change). The slot checks are subqueries with `limit 1`, each one look-up by the
    // request's id, which PostgreSQL keeps per row instead of reading every slot into a hash.
    let mut requests = sqlx::query_as!(
        RequestSummary,
        r#"with waiting as (
               (select r.id, r.updated_at from access_request r
                 where $2 and r.state = 'submitted' and r.requester <> $1
                   and ($5::timestamptz is null or (r.updated_at, r.id) > ($5, $6::uuid))
                   and ($7::timestamptz is null or (r.updated_at, r.id) < ($7, $8::uuid))
                   and (select true from approval_slot s
                         where s.request_id = r.id and s.decided_by is null
                           and s.slot in ('governance', 'second_governance') limit 1)
                   and (select true from approval_slot d
                         where d.request_id = r.id and d.decided_by = $1 limit 1) is null
                 order by case when $7::timestamptz is null then r.updated_at end,
                          case when $7::timestamptz is null then r.id end,
                          case when $7::timestamptz is not null then r.updated_at end desc,
                          case when $7::timestamptz is not null then r.id end desc
                 limit $9)
               union
               (select s.request_id, s.request_updated_at
                  from unnest($4::text[]) as team (slug)
                  cross join lateral (
                       select s.request_id, s.request_updated_at from approval_slot s
                        where $3 and s.team_slug = team.slug and s.decided_by is null
                          and s.slot = 'owning_team' and s.request_state = 'submitted'
                          and ($5::timestamptz is null
                               or (s.request_updated_at, s.request_id) > ($5, $6::uuid))
                          and ($7::timestamptz is null
                               or (s.request_updated_at, s.request_id) < ($7, $8::uuid))
                          and (select true from access_request r
                                where r.id = s.request_id and r.requester <> $1 limit 1)
                          and (select true from approval_slot d
                                where d.request_id = s.request_id and d.decided_by = $1
                                limit 1) is null
                        order by case when $7::timestamptz is null then s.request_updated_at end,
                                 case when $7::timestamptz is null then s.request_id end,
                                 case when $7::timestamptz is not null then s.request_updated_at end desc,
                                 case when $7::timestamptz is not null then s.request_id end desc
                        limit $9) s))
           select r.id, r.kind as "kind: RequestKind", r.state as "state: RequestState",
                  coalesce((select t.name from topic t where t.id = r.topic_id),
                           r.proposed_topic->>'name', '') as "topic!",
                  (select a.name from application a where a.id = r.application_id) as "application!",
                  (select u.display_name from app_user u where u.subject = r.requester) as "requester!",
                  r.environments as "environments: Vec<EnvironmentName>",
                  r.updated_at as "updated_at: DateTime<Utc>"
             from (select w.id from waiting w
                    order by case when $7::timestamptz is null then w.updated_at end,
                             case when $7::timestamptz is null then w.id end,
                             case when $7::timestamptz is not null then w.updated_at end desc,
                             case when $7::timestamptz is not null then w.id end desc
                    limit $9) w
             join access_request r on r.id = w.id
            order by case when $7::timestamptz is null then r.updated_at end,
                     case when $7::timestamptz is null then r.id end,
                     case when $7::timestamptz is not null then r.updated_at end desc,
                     case when $7::timestamptz is not null then r.id end desc"#,
        &user.subject,
        user.has_role(Role::Approver),
        user.has_role(Role::TeamApprover),
        &team_names(user),
        after.map(|k| k.updated_at) as Option<DateTime<Utc>>,
        after.map(|k| k.id) as Option<RequestId>,
        before.map(|k| k.updated_at) as Option<DateTime<Utc>>,
        before.map(|k| k.id) as Option<RequestId>,
        size + 1,
    )
    .fetch_all(db)
    .await?;
    let more = requests.len() > usize::try_from(size).unwrap_or(0);
    requests.truncate(usize::try_from(size).unwrap_or(0));
    if before.is_some() {
        requests.reverse();
    }
    let key = |r: &RequestSummary| QueueKey {
        updated_at: r.updated_at,
        id: r.id,
    };
    let first = requests.first().map(key);
    let last = requests.last().map(key);
    let (next, previous) = cursor.neighbours(first, last, more);
    Ok(QueuePage {
        shown: requests.len(),
        requests: crate::loaded::NotHydrated(requests),
        // Drawn by `approval_queue` before the page is kept.
        rows: crate::loaded::Markup::default(),
        next,
        previous,
    })
}

/// How many requests wait for the caller, counted up to `QueueCount::CAP` and no further, so
/// the count never reads a whole long queue.
pub async fn queue_count(db: &PgPool, user: &UserIdentity) -> Result<QueueCount, sqlx::Error> {
    // Found as the queue's pages find it (see `queue`), each part stopped at the cap.
    sqlx::query_scalar!(
        r#"select count(*) as "count!" from (
             (select r.id from access_request r
               where $2 and r.state = 'submitted' and r.requester <> $1
                 and (select true from approval_slot s
                       where s.request_id = r.id and s.decided_by is null
                         and s.slot in ('governance', 'second_governance') limit 1)
                 and (select true from approval_slot d
                       where d.request_id = r.id and d.decided_by = $1 limit 1) is null
               order by r.updated_at, r.id
               limit $5)
             union
             (select s.request_id
                from unnest($4::text[]) as team (slug)
                cross join lateral (
                     select s.request_id from approval_slot s
                      where $3 and s.team_slug = team.slug and s.decided_by is null
                        and s.slot = 'owning_team' and s.request_state = 'submitted'
                        and (select true from access_request r
                              where r.id = s.request_id and r.requester <> $1 limit 1)
                        and (select true from approval_slot d
                              where d.request_id = s.request_id and d.decided_by = $1
                              limit 1) is null
                      limit $5) s)) waiting"#,
        &user.subject,
        user.has_role(Role::Approver),
        user.has_role(Role::TeamApprover),
        &team_names(user),
        QueueCount::CAP + 1,
    )
    .fetch_one(db)
    .await
    .map(QueueCount::from_counted)
}

/// slot, team, reason, decided by (name), decision, reason given, decided at, decided by
/// (subject)
type SlotRow = (
    SlotKind,
    Option<String>,
    String,
    Option<String>,
    Option<Decision>,
    Option<String>,
    Option<DateTime<Utc>>,
    Option<String>,
);

struct DetailRow {
    topic_change: Option<serde_json::Value>,
    schema_change: Option<serde_json::Value>,
    topic_id: Option<TopicId>,
    id: RequestId,
    kind: RequestKind,
    state: RequestState,
    topic: Option<String>,
    application: String,
    requester: String,
    environments: Vec<EnvironmentName>,
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
    promoted_from: Option<RequestId>,
    application_id: ApplicationId,
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

/// People the portal knows (who signed in at least once) who could fill a slot of a request by
/// `requester`, with their roles, teams and names, in name order: not the requester, and
/// nobody who already filled a slot of it.
async fn possible_approvers(
    db: &PgPool,
    roles: &RoleMapping,
    requester: &str,
    decided: &[String],
) -> Result<Vec<(Vec<Role>, Vec<TeamSlug>, String)>, StoreError> {
    let deciding_groups: Vec<String> = roles
        .approver_groups
        .iter()
        .chain(&roles.team_approver_groups)
        .cloned()
        .collect();
    let people = sqlx::query!(
        "select display_name, groups from app_user
          where subject <> $1 and not (subject = any($2)) and groups && $3
          order by display_name",
        requester,
        decided,
        &deciding_groups
    )
    .fetch_all(db)
    .await
    .map_err(failed_while("finding who can decide"))?;
    Ok(people
        .into_iter()
        .map(|person| {
            let groups: Vec<GroupName> = person
                .groups
                .into_iter()
                .filter_map(|g| GroupName::parse(g).ok())
                .collect();
            let (person_roles, teams) = roles.resolve(&groups);
            (person_roles, teams, person.display_name)
        })
        .collect())
}

/// Whether the person may see the request at all (as its page decides); `false` for one that
/// does not exist.
pub async fn is_visible_to(
    db: &PgPool,
    user: &UserIdentity,
    id: RequestId,
) -> Result<bool, StoreError> {
    let row = sqlx::query!(
        r#"select r.requester, a.team_slug, t.owning_team as "owning_team?"
             from access_request r
             join application a on a.id = r.application_id
             left join topic t on t.id = r.topic_id
            where r.id = $1"#,
        id as RequestId
    )
    .fetch_optional(db)
    .await
    .map_err(failed_while("checking who may see a request"))?;
    Ok(row.is_some_and(|r| visible_to(user, &r.requester, &r.team_slug, r.owning_team.as_deref())))
}

pub async fn detail(
    db: &PgPool,
    roles: &RoleMapping,
    user: &UserIdentity,
    id: RequestId,
) -> Result<RequestDetail, StoreError> {
    let row = sqlx::query_as!(
        DetailRow,
        r#"select r.id, r.kind as "kind: RequestKind", r.state as "state: RequestState",
                  coalesce(t.name, r.proposed_topic->>'name') as topic, a.name as application,
                  u.display_name as requester, r.environments as "environments: Vec<EnvironmentName>",
                  r.updated_at as "updated_at: DateTime<Utc>", r.version,
                  r.requester as requester_subject, a.team_slug as application_team,
                  t.owning_team as "topic_owner?",
                  t.data_classification as "classification?: DataClassification",
                  t.contains_pii as "topic_pii?", r.consumer_group, r.consumer_group_is_prefix,
                  r.proposed_topic, r.fit_answers, r.promoted_from as "promoted_from: RequestId",
                  r.application_id as "application_id: ApplicationId",
                  r.topic_change, r.schema_change, r.topic_id as "topic_id: TopicId",
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
        id as RequestId
    )
    .fetch_optional(db)
    .await
    .map_err(failed_while("loading a request"))?;
    let row = row.ok_or(AppError::NotFound)?;

    let in_team = |team: &str| user.teams.iter().any(|t| t.as_str() == team);
    if !visible_to(
        user,
        &row.requester_subject,
        &row.application_team,
        row.topic_owner.as_deref(),
    ) {
        // Not knowing a request exists is the same as it not existing, for this caller.
        return Err(AppError::NotFound.into());
    }

    let slot_rows: Vec<SlotRow> = sqlx::query!(
        r#"select s.slot as "slot: SlotKind", s.team_slug, s.reason,
                  u.display_name as "display_name?", s.decision as "decision: Decision",
                  s.decision_reason, s.decided_at as "decided_at: DateTime<Utc>", s.decided_by
               from approval_slot s left join app_user u on u.subject = s.decided_by
              where s.request_id = $1 order by s.slot"#,
        id as RequestId
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
                    r.decided_by,
                )
            })
            .collect()
    })
    .map_err(failed_while("loading approval slots"))?;
    let decided_by_me: bool = sqlx::query_scalar!(
        r#"select exists (select 1 from approval_slot where request_id = $1 and decided_by = $2)
             as "decided!""#,
        id as RequestId,
        &user.subject
    )
    .fetch_one(db)
    .await
    .map_err(failed_while("checking earlier decisions"))?;

    let state = row.state;
    let mut slots = Vec::new();
    let mut decidable_slot = None;
    let decided_subjects: Vec<String> = slot_rows.iter().filter_map(|r| r.7.clone()).collect();
    for (kind, team, reason, decided_by, decision, decision_reason, decided_at, _) in slot_rows {
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
            can_decide: Vec::new(),
            others_can_decide: 0,
            waited: None,
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
    .map_err(failed_while("loading the timeline"))?;
    if state == RequestState::Submitted {
        // Slots wait from when the request was last sent for a decision.
        let sent = timeline
            .iter()
            .rev()
            .find(|(_, _, action, _)| {
                matches!(action.as_str(), "request.submitted" | "request.resubmitted")
            })
            .map(|(at, ..)| *at);
        let waited =
            sent.map(|at| crate::health::eval::duration_words((Utc::now() - at).num_seconds()));
        let people =
            possible_approvers(db, roles, &row.requester_subject, &decided_subjects).await?;
        for slot in slots.iter_mut().filter(|s| s.decided_by.is_none()) {
            let team = slot.team.as_deref().and_then(|t| TeamSlug::parse(t).ok());
            let names: Vec<&String> = people
                .iter()
                .filter(|(person_roles, teams, _)| {
                    could_fill(person_roles, teams, slot.kind, team.as_ref())
                })
                .map(|(.., name)| name)
                .collect();
            slot.others_can_decide = names.len().saturating_sub(SlotView::NAMES_SHOWN);
            slot.can_decide = names
                .into_iter()
                .take(SlotView::NAMES_SHOWN)
                .cloned()
                .collect();
            slot.waited.clone_from(&waited);
        }
    }

    let proposal: Option<TopicProposal> = row
        .proposed_topic
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| StoreError::corrupt("stored proposal unreadable", e))?;
    let fit: Vec<FitAnswer> = row
        .fit_answers
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| StoreError::corrupt("stored fit check unreadable", e))?
        .unwrap_or_default();
    let (classification, topic_pii) = match &proposal {
        Some(p) if row.classification.is_none() => (Some(p.classification), p.contains_pii),
        _ => (row.classification, row.topic_pii.unwrap_or(false)),
    };
    let topic_change: Option<TopicChange> = row
        .topic_change
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| StoreError::corrupt("stored topic change unreadable", e))?;
    let schema_change = match row.schema_change {
        Some(stored) => {
            let change: super::schema_change::SchemaChange = serde_json::from_value(stored)
                .map_err(|e| StoreError::corrupt("stored schema change unreadable", e))?;
            let mut conn = db
                .acquire()
                .await
                .map_err(failed_while("connecting to the database"))?;
            let diff = crate::schemas::store::change_diff(&mut conn, &change).await?;
            let consumers = match row.topic_id {
                Some(topic) => crate::schemas::store::topic_consumers(&mut conn, topic)
                    .await
                    .map_err(failed_while("listing the topic's consumers"))?
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
        topic_change: NotHydrated(topic_change),
        schema_change: NotHydrated(schema_change),
        proposal: NotHydrated(proposal),
        fit: NotHydrated(fit),
        promoted_from: row.promoted_from,
        application_id: row.application_id,
        can_promote: state.is_approved()
            && row.kind.can_be_promoted()
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
        compliance: NotHydrated(Some(Compliance {
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
        })),
        slots: NotHydrated(slots),
        timeline: NotHydrated(
            timeline
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
        ),
        decidable_slot,
        // Drawn by `get_request`.
        facts: Markup::default(),
        history: Markup::default(),
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

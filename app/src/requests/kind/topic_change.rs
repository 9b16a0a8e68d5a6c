//! New settings for an existing topic (partitions, retention, cleanup policy), proposed by its
//! owning team. Routed to governance. Approval makes them the catalog's settings and writes the
//! steps that set them on each cluster.

use crate::context::PortalContext;
use crate::domain::{ApplicationId, RequestId, TopicId};
use crate::domain::{
    CleanupPolicy, DataClassification, RequestEvent, RequestKind, RequestState, RoutingInput,
    TeamSlug, UserIdentity,
};
use crate::error::AppError;
use crate::requests::lifecycle::{Submission, ensure_user, record_submission};
use crate::requests::topic_change::{TopicChange, TopicChangeDraft, TopicSettings};
use crate::store::{StoreError, failed_while};
use serde_json::json;
use sqlx::PgConnection;

/// A change to a topic comes from its owning team, for one of that team's applications.
/// `what` completes "only its owning team can propose ... this topic".
pub(super) async fn ensure_owner_proposes(
    conn: &mut PgConnection,
    user: &UserIdentity,
    owner: &str,
    application: ApplicationId,
    what: &str,
) -> Result<(), StoreError> {
    if !user.teams.iter().any(|t| t.as_str() == owner) {
        return Err(StoreError::from(AppError::invalid(
            crate::requests::form::FIELD_TOPIC,
            format!("only its owning team, {owner}, can propose {what} this topic"),
        )));
    }
    let app_team: Option<String> = sqlx::query_scalar!(
        "select team_slug from application where id = $1",
        application as ApplicationId
    )
    .fetch_optional(conn)
    .await
    .map_err(failed_while("looking up the application"))?;
    if app_team.as_deref() != Some(owner) {
        return Err(StoreError::from(AppError::invalid(
            crate::requests::form::FIELD_APPLICATION,
            format!("choose an application of the owning team, {owner}"),
        )));
    }
    Ok(())
}

/// An approved topic change becomes the catalog's settings; its steps bring the clusters along.
async fn apply_topic_change(conn: &mut PgConnection, id: RequestId) -> Result<(), StoreError> {
    sqlx::query!(
        "update topic t
            set partitions = (r.topic_change->'after'->>'partitions')::int,
                retention_ms = (r.topic_change->'after'->>'retention_days')::bigint * 86400000,
                cleanup_policy = (r.topic_change->'after'->>'cleanup_policy')::cleanup_policy
           from access_request r
          where r.id = $1 and t.id = r.topic_id",
        id as RequestId
    )
    .execute(conn)
    .await
    .map_err(failed_while("updating the topic's settings"))?;
    Ok(())
}

/// A change to a topic's settings.
pub struct ChangeTopic;

impl super::Kind for ChangeTopic {
    type Draft = TopicChangeDraft;

    /// The owning team proposes new settings for one of its topics.
    async fn submit(
        portal: &PortalContext,
        user: &UserIdentity,
        draft: &TopicChangeDraft,
    ) -> Result<RequestId, StoreError> {
        use crate::requests::form::FIELD_TOPIC;
        let mut tx = portal
            .db
            .begin()
            .await
            .map_err(failed_while("starting a transaction"))?;
        ensure_user(&mut tx, user)
            .await
            .map_err(failed_while("recording the requester"))?;
        type TopicRow = (
            TopicId,
            String,
            i32,
            i64,
            CleanupPolicy,
            DataClassification,
            bool,
            Vec<String>,
        );
        let topic: Option<TopicRow> = sqlx::query!(
            r#"select t.id as "id: TopicId", t.owning_team, t.partitions, t.retention_ms,
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
        .map_err(failed_while("looking up the topic"))?;
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
            return Err(StoreError::from(AppError::invalid(
                FIELD_TOPIC,
                "no topic of that name in the catalog",
            )));
        };
        ensure_owner_proposes(&mut tx, user, &owner, draft.application, "changes to").await?;
        if environments.is_empty() {
            return Err(StoreError::from(AppError::invalid(
                FIELD_TOPIC,
                "this topic is not in any environment yet",
            )));
        }
        let pending: bool = sqlx::query_scalar!(
            r#"select exists (select 1 from access_request where topic_id = $1 and kind = 'topic_change'
                               and state = any($2)) as "pending!""#,
            topic_id as TopicId,
            &RequestState::PENDING[..] as &[RequestState],
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(failed_while("checking pending changes"))?;
        if pending {
            return Err(StoreError::from(AppError::Conflict(
                "A change to this topic is already waiting; decide or withdraw it first.".into(),
            )));
        }
        let decode = |m: String| StoreError::corrupt("stored topic unreadable", m);
        let before = TopicSettings {
            partitions: crate::domain::Partitions::new(partitions).map_err(decode)?,
            retention_days: crate::domain::RetentionDays::new(
                (retention_ms + 43_200_000) / 86_400_000,
            )
            .map_err(decode)?,
            cleanup_policy: cleanup,
        };
        let change = TopicChange {
            before,
            after: draft.settings,
        };
        change.check().map_err(AppError::Invalid)?;
        let owning_team = TeamSlug::parse(owner.clone())
            .map_err(|m| StoreError::corrupt("stored team unreadable", m))?;
        let slots = portal.approvals.route(&RoutingInput {
            kind: RequestKind::TopicChange,
            owning_team,
            classification,
            contains_pii: pii,
            pii_application_writes_in: Vec::new(),
        });
        let id = RequestId::random();
        let state = RequestState::Draft
            .apply(RequestEvent::Submit)
            .ok_or_else(|| StoreError::corrupt("transition table", "draft cannot be submitted"))?;
        let stored = serde_json::to_value(change)
            .map_err(|e| StoreError::corrupt("serializing the change", e))?;
        sqlx::query!(
            "insert into access_request
                (id, kind, state, requester, application_id, topic_id, environments, purpose, topic_change)
             values ($1, 'topic_change', $2, $3, $4, $5, $6, $7, $8)",
            id as RequestId,
            state as RequestState,
            &user.subject,
            draft.application as ApplicationId,
            topic_id as TopicId,
            &environments,
            &draft.purpose,
            &stored,
        )
        .execute(&mut *tx)
        .await
        .map_err(failed_while("inserting the topic change"))?;
        let message = format!(
            "{} proposes new settings for {}: {}.",
            user.display_name,
            draft.topic.as_str(),
            change.in_words().join("; ")
        );
        let submission = Submission {
            id,
            kind: RequestKind::TopicChange,
            state,
            slots: &slots,
            details: json!({
                "topic": draft.topic.as_str(),
                "change": stored,
            }),
            notice: Some((message, &[owner.as_str()])),
        };
        record_submission(tx, portal, user, submission).await
    }

    async fn approved(
        conn: &mut PgConnection,
        _portal: &PortalContext,
        id: RequestId,
    ) -> Result<(), StoreError> {
        apply_topic_change(conn, id).await?;
        crate::apply::store::write_topic_steps(conn, id, false).await
    }
}

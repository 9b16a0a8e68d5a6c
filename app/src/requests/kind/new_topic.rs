//! A new topic, proposed with producer access for one of the proposing team's applications.
//! Routed to governance (twice for sensitive data). Approval puts the topic in the catalog, owned
//! by the proposing team, registers its first value schema, records the producer grant and writes
//! the steps that create the topic and then give the application its access.

use crate::context::PortalContext;
use crate::domain::{ApplicationId, EnvironmentName, RequestId, TopicId};
use crate::domain::{
    CleanupPolicy, DataClassification, Lifecycle, RequestEvent, RequestKind, RequestState,
    RoutingInput, TeamSlug, UserIdentity,
};
use crate::error::AppError;
use crate::requests::lifecycle::{
    Submission, TeamApplication, ensure_user, record_submission, refuse_pii_where_none,
    team_application,
};
use crate::requests::topic_form::{TopicProposal, TopicProposalDraft};
use crate::store::{StoreError, failed_while};
use serde_json::json;
use sqlx::PgConnection;

/// On approval of a new-topic request: the topic enters the catalog in the requested
/// environments, owned by the proposing team.
async fn create_proposed_topic(conn: &mut PgConnection, id: RequestId) -> Result<(), StoreError> {
    let (proposal, team, environments): (serde_json::Value, String, Vec<String>) = sqlx::query!(
        r#"select r.proposed_topic as "proposed_topic!", a.team_slug, r.environments
           from access_request r join application a on a.id = r.application_id where r.id = $1"#,
        id as RequestId
    )
    .fetch_one(&mut *conn)
    .await
    .map(|r| (r.proposed_topic, r.team_slug, r.environments))
    .map_err(failed_while("loading the proposal"))?;
    let p: TopicProposal = serde_json::from_value(proposal)
        .map_err(|e| StoreError::corrupt("stored proposal unreadable", e))?;
    let topic_id = TopicId::random();
    let inserted = sqlx::query!(
        "insert into topic (id, name, title, description, business_domain, lifecycle, owning_team,
                source_systems, data_classification, contains_pii, partitions, retention_ms, cleanup_policy)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         on conflict (name) do nothing",
        topic_id as TopicId,
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
    .map_err(failed_while("creating the topic"))?;
    if inserted.rows_affected() == 0 {
        return Err(StoreError::from(AppError::Conflict(format!(
            "A topic named {} was created meanwhile; this proposal cannot be approved as it is.",
            p.name
        ))));
    }
    sqlx::query!(
        "insert into topic_environment (topic_id, environment) select $1, unnest($2::text[])",
        topic_id as TopicId,
        &environments
    )
    .execute(&mut *conn)
    .await
    .map_err(failed_while("recording the topic's environments"))?;
    sqlx::query!(
        "update access_request set topic_id = $2 where id = $1",
        id as RequestId,
        topic_id as TopicId
    )
    .execute(&mut *conn)
    .await
    .map_err(failed_while("linking the topic"))?;
    use crate::domain::SubjectPart::{Key, Value};
    let (value, key) = check_schemas(&p)?;
    if let Some(schema) = &value {
        crate::schemas::ssr::register_schema(conn, topic_id, p.name.as_str(), Value, schema, id)
            .await
            .map_err(failed_while("registering the first schema"))?;
    }
    if let Some(schema) = &key {
        crate::schemas::ssr::register_schema(conn, topic_id, p.name.as_str(), Key, schema, id)
            .await
            .map_err(failed_while("registering the first key schema"))?;
    }
    sqlx::query!(
        "update schema_subject set compatibility = $2 where topic_id = $1",
        topic_id as TopicId,
        p.compatibility.as_str(),
    )
    .execute(&mut *conn)
    .await
    .map_err(failed_while("setting the subjects' compatibility mode"))?;
    Ok(())
}

/// The proposal's value and key schemas, checked, each refusal naming its own field; both are
/// reported together.
fn check_schemas(
    p: &TopicProposal,
) -> Result<
    (
        Option<crate::schemas::ssr::AvroSchema>,
        Option<crate::schemas::ssr::AvroSchema>,
    ),
    AppError,
> {
    let value = p
        .value_schema
        .as_deref()
        .map(crate::schemas::ssr::parse_avro)
        .transpose()
        .map_err(|m| crate::domain::FieldError::new(crate::schemas::FIELD_SCHEMA, m));
    let key = p
        .key_schema
        .as_deref()
        .map(crate::schemas::ssr::parse_avro_key)
        .transpose()
        .map_err(|m| crate::domain::FieldError::new(crate::schemas::FIELD_KEY_SCHEMA, m));
    match (value, key) {
        (Ok(value), Ok(key)) => Ok((value, key)),
        (value, key) => Err(AppError::Invalid(
            [value.err(), key.err()].into_iter().flatten().collect(),
        )),
    }
}

/// A new topic with its first producer.
pub struct NewTopic;

impl super::Kind for NewTopic {
    type Draft = TopicProposalDraft;

    /// A new topic, with producer access for the proposing application: one bundle, one approval.
    async fn submit(
        portal: &PortalContext,
        user: &UserIdentity,
        draft: &TopicProposalDraft,
    ) -> Result<RequestId, StoreError> {
        let mut tx = portal
            .db
            .begin()
            .await
            .map_err(failed_while("starting a transaction"))?;
        ensure_user(&mut tx, user)
            .await
            .map_err(failed_while("recording the requester"))?;
        let name = draft.proposal.name.as_str();
        check_schemas(&draft.proposal)?;
        let taken: bool = sqlx::query_scalar!(
            r#"select exists (select 1 from topic where name = $1)
                   or exists (select 1 from access_request where kind = 'new_topic'
                               and state = any($2) and proposed_topic->>'name' = $1) as "taken!""#,
            name,
            &RequestState::OPEN[..] as &[RequestState],
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(failed_while("checking the topic name"))?;
        if taken {
            return Err(StoreError::from(AppError::invalid(
                crate::requests::topic_form::FIELD_NAME,
                format!("{name} already exists or is already proposed"),
            )));
        }
        // Environments without PII never carry a topic that contains it.
        let without_pii = refuse_pii_where_none(
            portal,
            &draft.environments,
            draft.proposal.contains_pii,
            ": a topic that contains PII can only be in an environment that allows it",
        )?;
        let TeamApplication {
            team,
            name: app_name,
            handles_pii: app_pii,
        } = team_application(&mut tx, user, draft.application).await?;
        let owning_team = TeamSlug::parse(team.clone())
            .map_err(|m| StoreError::corrupt("stored team unreadable", m))?;
        let slots = portal.approvals.route(&RoutingInput {
            kind: RequestKind::NewTopic,
            owning_team,
            classification: draft.proposal.classification,
            contains_pii: draft.proposal.contains_pii,
            // Whoever proposes a topic produces to it.
            pii_application_writes_in: if app_pii { without_pii } else { Vec::new() },
        });
        let id = RequestId::random();
        let state = RequestState::Draft
            .apply(RequestEvent::Submit)
            .ok_or_else(|| StoreError::corrupt("transition table", "draft cannot be submitted"))?;
        let proposal = serde_json::to_value(&draft.proposal)
            .map_err(|e| StoreError::corrupt("serializing the proposal", e))?;
        let fit = serde_json::to_value(&draft.fit)
            .map_err(|e| StoreError::corrupt("serializing the fit check", e))?;
        sqlx::query!(
            "insert into access_request
                (id, kind, state, requester, application_id, proposed_topic, environments, purpose, fit_answers)
             values ($1, 'new_topic', $2, $3, $4, $5, $6, $7, $8)",
            id as RequestId,
            state as RequestState,
            &user.subject,
            draft.application as ApplicationId,
            &proposal,
            &draft.environments as &[EnvironmentName],
            &draft.proposal.description,
            &fit,
        )
        .execute(&mut *tx)
        .await
        .map_err(failed_while("inserting the proposal"))?;
        let message = format!(
            "{} proposes a new topic, {name}, produced by {app_name}.",
            user.display_name
        );
        let submission = Submission {
            id,
            kind: RequestKind::NewTopic,
            state,
            slots: &slots,
            details: json!({
                "proposal": proposal,
                "fit": fit,
                "application": draft.application,
                "environments": draft.environments,
            }),
            notice: Some((message, &[team.as_str()])),
        };
        record_submission(tx, portal, user, submission).await
    }

    async fn approved(
        conn: &mut PgConnection,
        _portal: &PortalContext,
        id: RequestId,
    ) -> Result<(), StoreError> {
        create_proposed_topic(conn, id).await?;
        super::access::record_grants(conn, id).await?;
        crate::apply::store::write_topic_steps(conn, id, true).await?;
        crate::apply::store::write_grant_steps(conn, id).await
    }
}

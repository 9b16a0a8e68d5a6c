//! Taking another team's access to a topic away, asked by the topic's owning team. Routed like
//! access. Approval revokes the matching live grants and writes the steps that remove their ACLs
//! (and a credential left with no grant); the grants' own requests become revoked.

use crate::apply::store::revoke_grants;
use crate::context::PortalContext;
use crate::domain::EnvironmentName;
use crate::domain::{ApplicationId, GrantId, RequestId, TopicId};
use crate::domain::{
    DataClassification, RequestEvent, RequestKind, RequestState, RoutingInput, TeamSlug,
    UserIdentity,
};
use crate::error::AppError;
use crate::requests::lifecycle::{
    PORTAL_ACTOR, Submission, ensure_user, record_submission, settle_if_done, visible_to,
};
use crate::store::{StoreError, failed_while};
use serde_json::json;
use sqlx::PgConnection;

/// A revocation request just approved: revoke the live grants it names.
async fn revoke_matching_grants(conn: &mut PgConnection, id: RequestId) -> Result<(), StoreError> {
    let grants: Vec<(GrantId, EnvironmentName, RequestId)> = sqlx::query!(
        r#"select g.id as "id: GrantId", g.environment as "environment: EnvironmentName", g.request_id as "request_id: RequestId"
           from access_grant g join access_request r on r.id = $1
          where g.topic_id = r.topic_id and g.application_id = r.application_id
            and g.environment = any(r.environments) and g.revoked_at is null
          for update of g"#,
        id as RequestId
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(failed_while("finding the grants to revoke"))?
    .into_iter()
    .map(|g| (g.id, g.environment, g.request_id))
    .collect();
    revoke_grants(conn, &grants, id, PORTAL_ACTOR, RequestEvent::Revoke).await
}

/// What a revocation names: the approved request whose access is to go, and why.
#[derive(Debug, Clone)]
pub struct Revocation {
    pub of: RequestId,
    pub reason: String,
}

/// A revocation of access.
pub struct Revoke;

impl super::Kind for Revoke {
    type Draft = Revocation;

    /// A member of a topic's owning team asks for another team's access to it to be taken away.
    /// Governance and a second person of the owning team decide, like any access.
    async fn submit(
        portal: &PortalContext,
        user: &UserIdentity,
        draft: &Revocation,
    ) -> Result<RequestId, StoreError> {
        let (of, reason) = (draft.of, draft.reason.as_str());
        let reason = crate::domain::bounded_text(
            reason,
            "the reason",
            crate::requests::form::PURPOSE_MIN,
            crate::requests::form::PURPOSE_MAX,
        )
        .map_err(|m| AppError::invalid("Reason", m))?;
        let mut tx = portal
            .db
            .begin()
            .await
            .map_err(failed_while("starting a transaction"))?;
        ensure_user(&mut tx, user)
            .await
            .map_err(failed_while("recording the requester"))?;
        type Row = (
            TopicId,
            ApplicationId,
            String,
            String,
            DataClassification,
            bool,
            String,
            String,
        );
        let row: Option<Row> = sqlx::query!(
            r#"select r.topic_id as "topic_id!: TopicId", r.application_id as "application_id: ApplicationId", t.name,
                    t.owning_team, t.data_classification as "data_classification: DataClassification",
                    t.contains_pii, a.team_slug, a.name as app_name
               from access_request r
               join topic t on t.id = r.topic_id
               join application a on a.id = r.application_id
              where r.id = $1"#,
            of as RequestId
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
        .map_err(failed_while("loading the request"))?;
        let Some((topic, application, topic_name, owner, classification, pii, app_team, app_name)) =
            row
        else {
            return Err(AppError::NotFound.into());
        };
        let in_team = |team: &str| user.teams.iter().any(|t| t.as_str() == team);
        if !visible_to(user, "", &app_team, Some(&owner)) && !in_team(&owner) {
            return Err(AppError::NotFound.into());
        }
        if !in_team(&owner) {
            return Err(AppError::Forbidden.into());
        }
        let environments: Vec<EnvironmentName> = sqlx::query_scalar!(
            r#"select distinct environment as "environment: EnvironmentName" from access_grant
              where request_id = $1 and revoked_at is null order by 1"#,
            of as RequestId
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(failed_while("finding live grants"))?;
        if environments.is_empty() {
            return Err(StoreError::from(AppError::Conflict(
                "This request grants nothing any more; there is nothing to revoke.".into(),
            )));
        }
        let pending: bool = sqlx::query_scalar!(
            r#"select exists (select 1 from access_request where kind = 'revoke_access'
                               and topic_id = $1 and application_id = $2 and state = any($3))
                 as "pending!""#,
            topic as TopicId,
            application as ApplicationId,
            &RequestState::PENDING[..] as &[RequestState],
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(failed_while("checking pending revocations"))?;
        if pending {
            return Err(StoreError::from(AppError::Conflict(
                "A revocation of this access is already waiting for a decision.".into(),
            )));
        }
        let decode = |m: String| StoreError::corrupt("stored value unreadable", m);
        let slots = portal.approvals.route(&RoutingInput {
            kind: RequestKind::RevokeAccess,
            owning_team: TeamSlug::parse(owner.clone()).map_err(decode)?,
            classification,
            contains_pii: pii,
            pii_application_writes_in: Vec::new(),
        });
        let id = RequestId::random();
        let state = RequestState::Draft
            .apply(RequestEvent::Submit)
            .ok_or_else(|| StoreError::corrupt("transition table", "draft cannot be submitted"))?;
        sqlx::query!(
            "insert into access_request
                (id, kind, state, requester, application_id, topic_id, environments, purpose, promoted_from)
             values ($1, 'revoke_access', $2, $3, $4, $5, $6, $7, $8)",
            id as RequestId,
            state as RequestState,
            &user.subject,
            application as ApplicationId,
            topic as TopicId,
            &environments as &[EnvironmentName],
            &reason,
            of as RequestId,
        )
        .execute(&mut *tx)
        .await
        .map_err(failed_while("inserting the revocation"))?;
        let message = format!(
            "{} asks to revoke the access of {app_name} to {topic_name}.",
            user.display_name
        );
        let teams = [owner.as_str(), app_team.as_str()];
        let submission = Submission {
            id,
            kind: RequestKind::RevokeAccess,
            state,
            slots: &slots,
            details: json!({
                "topic": topic_name,
                "application": application,
                "of": of,
                "environments": environments,
            }),
            notice: Some((message, &teams[..])),
        };
        record_submission(tx, portal, user, submission).await
    }

    async fn approved(
        conn: &mut PgConnection,
        _portal: &PortalContext,
        id: RequestId,
    ) -> Result<(), StoreError> {
        revoke_matching_grants(conn, id).await?;
        // The removal steps were written with the revoked grants; none may be left to wait for.
        settle_if_done(conn, id).await
    }
}

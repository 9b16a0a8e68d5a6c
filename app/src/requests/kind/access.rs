//! Producer and consumer access to an existing topic, for one of the requesting team's
//! applications. Routed to the topic's owning team and governance (a second governance approver
//! for sensitive data); a consumer group must be free of other teams' claims. Approval records
//! one grant per environment and writes the steps that give the application its credential and
//! ACLs.

use crate::context::PortalContext;
use crate::domain::{ApplicationId, EnvironmentName, RequestId, TopicId};
use crate::domain::{
    ApprovalPolicy, ConsumerGroup, DataClassification, GrantRole, RequestEvent, RequestKind,
    RequestState, RoutingInput, TeamSlug, UserIdentity,
};
use crate::error::AppError;
use crate::requests::AccessRequestDraft;
use crate::requests::lifecycle::{
    Submission, TeamApplication, ensure_user, record_submission, refuse_pii_where_none,
    team_application,
};
use crate::store::{StoreError, failed_while};
use serde_json::json;
use sqlx::PgConnection;

/// Consumer groups belong to teams: a group, or any group a prefix covers, that another team
/// holds (a live grant) or has asked for (a request waiting for a decision) cannot be given to
/// this team. Claims are serialised, so two teams asking at once cannot both get one.
pub(crate) async fn ensure_group_is_free(
    conn: &mut PgConnection,
    team: &str,
    group: &ConsumerGroup,
    prefix: bool,
    this_request: Option<RequestId>,
) -> Result<(), StoreError> {
    sqlx::query!("select pg_advisory_xact_lock(hashtext('consumer_group_ownership'))")
        .execute(&mut *conn)
        .await
        .map_err(failed_while("serialising consumer group claims"))?;
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
        this_request as Option<RequestId>,
        &RequestState::SENT_FOR_DECISION[..] as &[RequestState]
    )
    .fetch_all(&mut *conn)
    .await
    .map(|rows| {
        rows.into_iter()
            .map(|r| (r.team_slug, r.consumer_group, r.consumer_group_is_prefix))
            .collect()
    })
    .map_err(failed_while("reading the consumer groups other teams hold"))?;
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
            Err(StoreError::from(AppError::invalid(
                crate::requests::form::FIELD_GROUP,
                format!(
                    "{mine} {theirs}, which belong to team {owner}: a consumer group belongs to one team. Choose another name, for example one starting with your application's name"
                ),
            )))
        }
    }
}

/// An approved access request becomes grants, one per environment.
pub(super) async fn record_grants(
    conn: &mut PgConnection,
    id: RequestId,
) -> Result<(), StoreError> {
    let (kind, team, group, prefix): (RequestKind, String, Option<String>, bool) = sqlx::query!(
        r#"select r.kind as "kind: RequestKind", a.team_slug, r.consumer_group, r.consumer_group_is_prefix
           from access_request r join application a on a.id = r.application_id
          where r.id = $1"#,
        id as RequestId,
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
    .map_err(failed_while("reading the request's grant"))?;
    let Some(role) = kind.grant_role() else {
        return Ok(());
    };
    if let (GrantRole::Consumer, Some(group)) = (role, group) {
        let group = ConsumerGroup::parse(&group)
            .map_err(|m| StoreError::corrupt("stored consumer group unreadable", m))?;
        ensure_group_is_free(&mut *conn, &team, &group, prefix, Some(id))
            .await
            .map_err(|refused| match refused {
                StoreError::Refused(AppError::Invalid(errors)) => {
                    StoreError::Refused(AppError::Conflict(format!(
                        "This access cannot be granted: {}",
                        errors
                            .first()
                            .map(|e| e.message.clone())
                            .unwrap_or_default()
                    )))
                }
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
        id as RequestId,
        role as GrantRole
    )
    .execute(conn)
    .await
    .map_err(failed_while("recording grants"))?;
    Ok(())
}

/// Producer or consumer access (the draft's kind says which).
pub struct Access;

impl super::Kind for Access {
    type Draft = AccessRequestDraft;

    async fn submit(
        portal: &PortalContext,
        user: &UserIdentity,
        draft: &AccessRequestDraft,
    ) -> Result<RequestId, StoreError> {
        let policy: &ApprovalPolicy = &portal.approvals;
        let mut tx = portal
            .db
            .begin()
            .await
            .map_err(failed_while("starting a transaction"))?;
        ensure_user(&mut tx, user)
            .await
            .map_err(failed_while("recording the requester"))?;

        let topic = sqlx::query!(
            r#"select t.id as "id: TopicId", t.owning_team,
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
        .map_err(failed_while("looking up the topic"))?;
        let Some((topic_id, owner, classification, topic_pii, present_in)) = topic else {
            return Err(StoreError::from(AppError::invalid(
                crate::requests::form::FIELD_TOPIC,
                format!("there is no topic named {} in the catalog", draft.topic),
            )));
        };
        // Environments without PII never carry a topic that contains it.
        let without_pii = refuse_pii_where_none(
            portal,
            &draft.environments,
            topic_pii,
            &format!(
                ", and {} contains PII: ask for access in another environment",
                draft.topic
            ),
        )?;
        let missing: Vec<&str> = draft
            .environments
            .iter()
            .filter(|e| !present_in.iter().any(|p| *e == p.as_str()))
            .map(EnvironmentName::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(StoreError::from(AppError::invalid(
                crate::requests::form::FIELD_ENVIRONMENTS,
                format!("{} is not available in {}", draft.topic, missing.join(", ")),
            )));
        }
        let TeamApplication {
            team: app_team,
            name: app_name,
            handles_pii: app_pii,
        } = team_application(&mut tx, user, draft.application).await?;
        if let Some(group) = &draft.consumer_group {
            ensure_group_is_free(&mut tx, &app_team, group, draft.group_is_prefix, None).await?;
        }

        if let Some(from) = draft.promoted_from {
            let original: Option<(RequestState, ApplicationId, Option<TopicId>, RequestKind)> = sqlx::query!(
                r#"select state as "state: RequestState", application_id as "application_id: ApplicationId",
                          topic_id as "topic_id: TopicId", kind as "kind: RequestKind"
                     from access_request where id = $1"#,
                from as RequestId,
            )
            .fetch_optional(&mut *tx)
            .await
            .map(|r| r.map(|r| (r.state, r.application_id, r.topic_id, r.kind)))
            .map_err(failed_while("looking up the promoted request"))?;
            let fits = original.is_some_and(|(state, app, topic, kind)| {
                state.is_approved()
                    && app == draft.application
                    && topic == Some(topic_id)
                    && kind == draft.kind
            });
            if !fits {
                return Err(StoreError::from(AppError::invalid(
                    crate::requests::form::FIELD_PROMOTED_FROM,
                    "only an approved request for the same application, topic and access can be promoted",
                )));
            }
        }
        let owning_team = TeamSlug::parse(owner.clone())
            .map_err(|m| StoreError::corrupt("stored team unreadable", m))?;
        let writes = draft.kind == RequestKind::ProducerAccess;
        let slots = policy.route(&RoutingInput {
            kind: draft.kind,
            owning_team,
            classification,
            contains_pii: topic_pii,
            pii_application_writes_in: if writes && app_pii {
                without_pii
            } else {
                Vec::new()
            },
        });

        let id = RequestId::random();
        let state = if draft.save_as_draft {
            RequestState::Draft
        } else {
            RequestState::Draft
                .apply(RequestEvent::Submit)
                .ok_or_else(|| {
                    StoreError::corrupt("transition table", "draft cannot be submitted")
                })?
        };
        sqlx::query!(
            "insert into access_request
                (id, kind, state, requester, application_id, topic_id, environments,
                 consumer_group, consumer_group_is_prefix, purpose, requested_expiry, promoted_from)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            id as RequestId,
            draft.kind as RequestKind,
            state as RequestState,
            &user.subject,
            draft.application as ApplicationId,
            topic_id as TopicId,
            &draft.environments as &[EnvironmentName],
            draft.consumer_group.as_ref().map(|g| g.as_str()),
            draft.group_is_prefix,
            &draft.purpose,
            draft.expiry as _,
            draft.promoted_from as Option<RequestId>
        )
        .execute(&mut *tx)
        .await
        .map_err(failed_while("inserting the request"))?;
        let message = format!(
            "{} asks for {} to {} for {}.",
            user.display_name,
            draft.kind.label().to_lowercase(),
            draft.topic,
            app_name
        );
        let teams = [app_team.as_str(), owner.as_str()];
        let submission = Submission {
            id,
            kind: draft.kind,
            state,
            slots: &slots,
            details: json!({
                "topic": draft.topic.as_str(),
                "application": draft.application,
                "environments": draft.environments,
                "consumer_group": draft.consumer_group.as_ref().map(|g| g.as_str()),
                "promoted_from": draft.promoted_from,
            }),
            notice: (!draft.save_as_draft).then_some((message, &teams[..])),
        };
        record_submission(tx, portal, user, submission).await
    }

    async fn approved(
        conn: &mut PgConnection,
        _portal: &PortalContext,
        id: RequestId,
    ) -> Result<(), StoreError> {
        record_grants(conn, id).await?;
        crate::apply::store::write_grant_steps(conn, id).await
    }
}

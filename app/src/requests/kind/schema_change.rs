//! A new version of a topic's key or value schema (and optionally the subject's compatibility
//! mode), proposed by the topic's owning team. The proposal is checked against the subject's
//! earlier versions when it is written, again when it is submitted, and once more at approval.
//! Routed to the owning team, and to governance when it breaks or lowers the subject's
//! compatibility promise. Approval registers it as the subject's next version; nothing is applied
//! to Kafka, so the request settles at once.

use super::topic_change::ensure_owner_proposes;
use crate::audit::ssr::append;
use crate::context::PortalContext;
use crate::domain::EnvironmentName;
use crate::domain::{ApplicationId, RequestId, TopicId};
use crate::domain::{
    Compatibility, RequestEvent, RequestKind, RequestState, SchemaFormat, TeamSlug, UserIdentity,
};
use crate::error::AppError;
use crate::notifications::ssr as notifications;
use crate::requests::form::FIELD_TOPIC;
use crate::requests::lifecycle::{
    PORTAL_ACTOR, Submission, ensure_user, record_submission, settle_if_done,
};
use crate::requests::schema_change::{
    FIELD_SCHEMA_TEXT, SchemaChange, SchemaChangeDraft, SchemaCheck, SchemaProposal,
};
use crate::schemas::compat::{self, ParsedSchema};
use crate::schemas::store::{
    CheckOverloaded, Checked, StoredVersion, findings, off_runtime, register_version, subject_mode,
    subject_versions, topic_consumers,
};
use crate::store::{StoreError, failed_while};
use serde_json::json;
use sqlx::PgConnection;

fn parse_and_check(
    format: SchemaFormat,
    text: &str,
    versions: &[StoredVersion],
    mode: Compatibility,
    skip_check: impl FnOnce(&ParsedSchema) -> bool,
) -> Result<Checked, StoreError> {
    let parsed = match compat::parse(format, text) {
        Ok(parsed) => parsed,
        Err(problem) => return Ok(Err(problem.to_string())),
    };
    if skip_check(&parsed) {
        return Ok(Ok((parsed, Ok(Vec::new()))));
    }
    let mut earlier = Vec::new();
    for v in versions {
        match compat::parse(v.format(), &v.original) {
            Ok(p) => earlier.push((v.version, p)),
            Err(e) => {
                return Err(StoreError::corrupt(
                    "a stored schema no longer parses",
                    e.to_string(),
                ));
            }
        }
    }
    let found = findings(mode, &parsed, &earlier);
    Ok(Ok((parsed, found)))
}

/// The topic a proposal is for, as the checks need it.
struct TopicRow {
    id: TopicId,
    owner: String,
    environments: Vec<EnvironmentName>,
}

async fn load_topic(
    conn: &mut PgConnection,
    name: &str,
    lock: bool,
) -> Result<Option<TopicRow>, StoreError> {
    let row = if lock {
        sqlx::query_as!(
            TopicRow,
            r#"select t.id as "id: TopicId", t.owning_team as owner,
                      array(select e.environment from topic_environment e
                             where e.topic_id = t.id order by e.environment) as "environments!: Vec<EnvironmentName>"
                 from topic t where t.name = $1 for update"#,
            name
        )
        .fetch_optional(conn)
        .await
    } else {
        sqlx::query_as!(
            TopicRow,
            r#"select t.id as "id: TopicId", t.owning_team as owner,
                      array(select e.environment from topic_environment e
                             where e.topic_id = t.id order by e.environment) as "environments!: Vec<EnvironmentName>"
                 from topic t where t.name = $1"#,
            name
        )
        .fetch_optional(conn)
        .await
    };
    row.map_err(failed_while("looking up the topic"))
}

/// A proposal checked against its subject.
struct Evaluated {
    check: SchemaCheck,
    /// The change to store; none when the schema cannot be read.
    change: Option<SchemaChange>,
}

async fn evaluate(
    conn: &mut PgConnection,
    topic: &TopicRow,
    proposal: &SchemaProposal,
) -> Result<Evaluated, StoreError> {
    let subject = proposal.part.subject(proposal.topic.as_str());
    let mode_before = subject_mode(&mut *conn, &subject)
        .await?
        .unwrap_or_default();
    let versions = subject_versions(&mut *conn, &subject)
        .await
        .map_err(failed_while("loading the subject's versions"))?;
    let consumers = topic_consumers(&mut *conn, topic.id)
        .await
        .map_err(failed_while("listing the topic's consumers"))?
        .into_iter()
        .map(|(team, app)| format!("{team} / {app}"))
        .collect();
    let latest = versions.last();
    let mut check = SchemaCheck {
        subject,
        problem: None,
        mode_before,
        mode_after: proposal.compatibility,
        checked_mode: proposal.compatibility,
        latest_version: latest.map(|v| v.version),
        findings: Vec::new(),
        governance_because: None,
        diff: Vec::new(),
        consumers,
        unchanged: false,
    };
    let checked_mode = SchemaChange::checked_mode_for(mode_before, proposal.compatibility);
    let (format, text, history) = (proposal.format, proposal.schema.clone(), versions.clone());
    let latest_text = latest.map(|v| (v.format(), v.canonical.clone()));
    let checked = off_runtime(move || {
        parse_and_check(format, &text, &history, checked_mode, |parsed| {
            latest_text.is_some_and(|(f, canonical)| {
                f == parsed.format() && canonical == parsed.canonical()
            })
        })
    })
    .await
    .map_err(|CheckOverloaded| {
        AppError::Conflict(
            "The portal is busy checking schemas; please try again in a moment.".into(),
        )
    })??;
    let (parsed, found) = match checked {
        Ok(done) => done,
        Err(problem) => {
            check.problem = Some(problem);
            return Ok(Evaluated {
                check,
                change: None,
            });
        }
    };
    let found = match found {
        Ok(found) => found,
        Err(too_complex) => {
            check.problem = Some(too_complex.to_string());
            return Ok(Evaluated {
                check,
                change: None,
            });
        }
    };
    if let Some(latest) = latest {
        check.diff = crate::schemas::diff::side_by_side(
            &latest.original,
            &compat::pretty(proposal.format, &proposal.schema),
        );
    }
    let same_as_latest =
        latest.is_some_and(|v| v.format() == parsed.format() && v.canonical == parsed.canonical());
    let mut change = SchemaChange {
        subject: check.subject.clone(),
        part: proposal.part,
        format: proposal.format,
        schema: compat::pretty(proposal.format, &proposal.schema),
        follows_version: check.latest_version,
        mode_before,
        mode_after: proposal.compatibility,
        mode_only: same_as_latest,
        findings: Vec::new(),
    };
    check.checked_mode = change.checked_mode();
    change.findings = found;
    check.unchanged = same_as_latest && mode_before == proposal.compatibility;
    check.governance_because = change.governance_because();
    check.findings = change.findings.clone();
    Ok(Evaluated {
        check,
        change: Some(change),
    })
}

/// The live check while a schema change is written. Anyone signed in may try a schema against a
/// topic the catalog shows them; nothing is written.
pub async fn check_proposal(
    portal: &PortalContext,
    proposal: &SchemaProposal,
) -> Result<SchemaCheck, StoreError> {
    let mut conn = portal
        .db
        .acquire()
        .await
        .map_err(failed_while("connecting to the database"))?;
    let Some(topic) = load_topic(&mut conn, proposal.topic.as_str(), false).await? else {
        return Err(StoreError::from(AppError::invalid(
            FIELD_TOPIC,
            "no topic of that name in the catalog",
        )));
    };
    Ok(evaluate(&mut conn, &topic, proposal).await?.check)
}

/// The final approval of a schema change: the subject takes the new mode and the schema becomes
/// its next version, in the approval's transaction; the topic's consumers are told.
async fn apply_schema_change(
    conn: &mut PgConnection,
    portal: &PortalContext,
    id: RequestId,
) -> Result<(), StoreError> {
    let row = sqlx::query!(
        r#"select r.schema_change as "schema_change!", r.topic_id as "topic_id!: TopicId", t.name
             from access_request r join topic t on t.id = r.topic_id where r.id = $1"#,
        id as RequestId
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(failed_while("loading the schema change"))?;
    let (stored, topic, topic_name) = (row.schema_change, row.topic_id, row.name);
    let change: SchemaChange = serde_json::from_value(stored)
        .map_err(|e| StoreError::corrupt("stored schema change unreadable", e))?;
    // Only approvals write versions and one change per subject waits at a time, so the subject
    // is where the request left it; if not, nothing is registered on an outdated check.
    let latest = sqlx::query_scalar!(
        "select max(version) from schema_version where subject = $1",
        &change.subject
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(failed_while("reading the subject's latest version"))?;
    if latest != change.follows_version {
        return Err(StoreError::from(AppError::Conflict(format!(
            "{} has changed since this request was made; it must be proposed again.",
            change.subject
        ))));
    }
    sqlx::query!(
        "insert into schema_subject (subject, topic_id, compatibility) values ($1, $2, $3)
         on conflict (subject) do update set compatibility = excluded.compatibility",
        &change.subject,
        topic as TopicId,
        change.mode_after.as_str(),
    )
    .execute(&mut *conn)
    .await
    .map_err(failed_while("setting the subject's mode"))?;
    let mut version_words = String::new();
    if !change.mode_only {
        let parsed = compat::parse(change.format, &change.schema).map_err(|e| {
            StoreError::corrupt("an approved schema no longer parses", e.to_string())
        })?;
        register_version(
            &mut *conn,
            topic,
            &change.subject,
            &parsed,
            &change.schema,
            Some(id),
        )
        .await
        .map_err(failed_while("registering the schema version"))?;
        version_words = format!(
            "version {} of {}",
            change.follows_version.unwrap_or(0) + 1,
            change.subject
        );
    }
    let consumers = topic_consumers(&mut *conn, topic)
        .await
        .map_err(failed_while("listing the topic's consumers"))?;
    let mut teams: Vec<&str> = consumers.iter().map(|(team, _)| team.as_str()).collect();
    teams.dedup();
    if !teams.is_empty() {
        let what = if change.mode_only {
            format!(
                "{} now keeps {} compatibility",
                change.subject, change.mode_after
            )
        } else {
            format!("{topic_name} has a new schema: {version_words}")
        };
        let advice = if change.mode_only || change.mode_after.checks_forward() {
            ""
        } else {
            " Consumers on an earlier version may not read events written with it until they upgrade."
        };
        let message = format!("{what}.{advice}");
        // Consumers do not see the owning team's request; the topic page shows the new version.
        let page = format!("/catalog/{topic_name}");
        notifications::notify_team_members(&mut *conn, &portal.roles, &teams, &message, &page)
            .await
            .map_err(failed_while("notifying consumer teams"))?;
        let link = format!("{}{page}", portal.public_url);
        notifications::enqueue_webhooks(&mut *conn, &teams, &message, &link)
            .await
            .map_err(failed_while("queueing consumer webhooks"))?;
    }
    append(
        &mut *conn,
        PORTAL_ACTOR,
        "schema.registered",
        "schema_subject",
        &change.subject,
        Some(json!({ "version": change.follows_version, "mode": change.mode_before.as_str() })),
        Some(json!({
            "version": if change.mode_only { change.follows_version } else { Some(change.follows_version.unwrap_or(0) + 1) },
            "mode": change.mode_after.as_str(),
            "request": id,
            "consumer_teams_told": teams,
        })),
    )
    .await
    .map_err(failed_while("auditing the registration"))?;
    Ok(())
}

/// A schema change.
pub struct ChangeSchema;

impl super::Kind for ChangeSchema {
    type Draft = SchemaChangeDraft;

    /// The owning team proposes a new schema version (and perhaps a new mode) for a subject.
    async fn submit(
        portal: &PortalContext,
        user: &UserIdentity,
        draft: &SchemaChangeDraft,
    ) -> Result<RequestId, StoreError> {
        let proposal = &draft.proposal;
        let mut tx = portal
            .db
            .begin()
            .await
            .map_err(failed_while("starting a transaction"))?;
        ensure_user(&mut tx, user)
            .await
            .map_err(failed_while("recording the requester"))?;
        let Some(topic) = load_topic(&mut tx, proposal.topic.as_str(), true).await? else {
            return Err(StoreError::from(AppError::invalid(
                FIELD_TOPIC,
                "no topic of that name in the catalog",
            )));
        };
        let owner = topic.owner.clone();
        ensure_owner_proposes(&mut tx, user, &owner, draft.application, "schemas for").await?;
        let subject = proposal.part.subject(proposal.topic.as_str());
        let pending = sqlx::query_scalar!(
            r#"select exists (select 1 from access_request where kind = 'schema_change'
                               and schema_change->>'subject' = $1
                               and state = any($2)) as "pending!""#,
            &subject,
            &RequestState::PENDING[..] as &[RequestState],
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(failed_while("checking pending schema changes"))?;
        if pending {
            return Err(StoreError::from(AppError::Conflict(format!(
                "A change to {subject} is already waiting; decide or withdraw it first."
            ))));
        }
        let Evaluated { check, change } = evaluate(&mut tx, &topic, proposal).await?;
        let Some(change) = change else {
            return Err(StoreError::from(AppError::invalid(
                FIELD_SCHEMA_TEXT,
                check.problem.unwrap_or_default(),
            )));
        };
        if check.unchanged {
            return Err(StoreError::from(AppError::invalid(
                FIELD_SCHEMA_TEXT,
                format!(
                    "nothing changes: this is version {} of {subject} already, with the same mode",
                    check.latest_version.unwrap_or_default()
                ),
            )));
        }
        let owning_team = TeamSlug::parse(owner.clone())
            .map_err(|m| StoreError::corrupt("stored team unreadable", m))?;
        let slots = portal
            .approvals
            .route_schema_change(&owning_team, change.governance_because());
        let id = RequestId::random();
        let state = RequestState::Draft
            .apply(RequestEvent::Submit)
            .ok_or_else(|| StoreError::corrupt("transition table", "draft cannot be submitted"))?;
        let stored = serde_json::to_value(&change)
            .map_err(|e| StoreError::corrupt("serializing the schema change", e))?;
        sqlx::query!(
            "insert into access_request
                (id, kind, state, requester, application_id, topic_id, environments, purpose, schema_change)
             values ($1, 'schema_change', $2, $3, $4, $5, $6, $7, $8)",
            id as RequestId,
            state as RequestState,
            &user.subject,
            draft.application as ApplicationId,
            topic.id as TopicId,
            &topic.environments as &[EnvironmentName],
            &draft.purpose,
            &stored,
        )
        .execute(&mut *tx)
        .await
        .map_err(failed_while("inserting the schema change"))?;
        let mut message = format!("{} proposes {}.", user.display_name, change.in_words());
        if let Some(why) = change.governance_because() {
            message.push_str(&format!(" Governance must agree: {why}."));
        }
        let submission = Submission {
            id,
            kind: RequestKind::SchemaChange,
            state,
            slots: &slots,
            details: json!({
                "subject": subject,
                "follows_version": change.follows_version,
                "mode_before": change.mode_before.as_str(),
                "mode_after": change.mode_after.as_str(),
                "findings": change.findings.len(),
            }),
            notice: Some((message, &[owner.as_str()])),
        };
        record_submission(tx, portal, user, submission).await
    }

    async fn approved(
        conn: &mut PgConnection,
        portal: &PortalContext,
        id: RequestId,
    ) -> Result<(), StoreError> {
        apply_schema_change(conn, portal, id).await?;
        settle_if_done(conn, id).await
    }
}

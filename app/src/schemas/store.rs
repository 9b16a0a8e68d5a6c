//! Schema subjects, versions and schema-change requests in Postgres. A proposal is checked
//! against the subject's earlier versions when it is written, again when it is submitted, and
//! registered as the next version in the transaction of its final approval.

use super::compat::{self, ParsedSchema};
use crate::audit::ssr::append;
use crate::context::PortalContext;
use crate::domain::{
    Compatibility, RequestEvent, RequestKind, RequestState, SchemaFormat, SubjectPart, TeamSlug,
    UserIdentity,
};
use crate::error::AppError;
use crate::notifications::ssr as notifications;
use crate::requests::form::FIELD_TOPIC;
use crate::requests::schema_change::{
    FIELD_SCHEMA_TEXT, Finding, SchemaChange, SchemaChangeDraft, SchemaCheck, SchemaProposal,
};
use crate::requests::store::{
    announce, ensure_owner_proposes, ensure_user, insert_slots, internal,
};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

/// One registered version of a subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredVersion {
    pub version: i32,
    pub id: i32,
    pub format: SchemaFormat,
    pub canonical: String,
    pub original: String,
}

impl StoredVersion {
    pub fn format(&self) -> SchemaFormat {
        self.format
    }
}

/// A subject's versions, oldest first.
pub async fn subject_versions(
    conn: &mut PgConnection,
    subject: &str,
) -> Result<Vec<StoredVersion>, sqlx::Error> {
    sqlx::query_as!(
        StoredVersion,
        r#"select v.version, v.schema_id as id, t.format as "format: SchemaFormat", t.canonical,
                  t.original
             from schema_version v join schema_text t on t.id = v.schema_id
            where v.subject = $1 order by v.version"#,
        subject
    )
    .fetch_all(conn)
    .await
}

/// A subject's compatibility mode; none when the subject does not exist yet.
pub async fn subject_mode(
    conn: &mut PgConnection,
    subject: &str,
) -> Result<Option<Compatibility>, AppError> {
    let mode = sqlx::query_scalar!(
        "select compatibility from schema_subject where subject = $1",
        subject
    )
    .fetch_optional(conn)
    .await
    .map_err(internal("reading the subject's mode"))?;
    mode.map(|m| {
        m.parse()
            .map_err(|e: String| AppError::internal("stored mode unreadable", &e))
    })
    .transpose()
}

/// Stores a schema (once per distinct canonical text: its id is global and never changes) and
/// registers it as the subject's next version, creating the subject if needed.
pub async fn register_version(
    conn: &mut PgConnection,
    topic: Uuid,
    subject: &str,
    schema: &ParsedSchema,
    written: &str,
    request: Option<Uuid>,
) -> Result<i32, sqlx::Error> {
    let id = sqlx::query_scalar!(
        r#"with found as (select id from schema_text where format = $1 and canonical = $2),
                made as (insert into schema_text (format, canonical, original)
                         select $1, $2, $3 where not exists (select 1 from found)
                         returning id)
           select id as "id!" from found union all select id from made"#,
        schema.format() as SchemaFormat,
        schema.canonical(),
        compat::pretty(schema.format(), written),
    )
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query!(
        "insert into schema_subject (subject, topic_id) values ($1, $2) on conflict do nothing",
        subject,
        topic,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "insert into schema_version (subject, version, schema_id, request_id)
         select $1, coalesce(max(version), 0) + 1, $2, $3 from schema_version where subject = $1",
        subject,
        id,
        request,
    )
    .execute(conn)
    .await?;
    Ok(id)
}

/// Applications that may read the topic now, as "team / application".
pub async fn topic_consumers(
    conn: &mut PgConnection,
    topic: Uuid,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let rows = sqlx::query!(
        "select distinct a.team_slug, a.name
           from access_grant g join application a on a.id = g.application_id
          where g.topic_id = $1 and g.role = 'consumer' and g.revoked_at is null
          order by 1, 2",
        topic
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.team_slug, r.name)).collect())
}

/// What breaks if `new` follows `earlier` (oldest first) under `mode`, naming the version each
/// problem is found against: the latest only, or every one for a transitive mode.
/// One deadline covers every version compared.
pub fn findings(
    mode: Compatibility,
    new: &ParsedSchema,
    earlier: &[(i32, ParsedSchema)],
) -> Result<Vec<Finding>, compat::TooComplex> {
    let deadline = std::time::Instant::now() + compat::CHECK_TIME;
    let compared = if mode.is_transitive() {
        earlier
    } else {
        earlier.last().map(std::slice::from_ref).unwrap_or_default()
    };
    let mut found = Vec::new();
    for pair in compared {
        for i in compat::check_within(mode, new, std::slice::from_ref(pair), deadline)? {
            found.push(Finding {
                version: pair.0,
                path: i.path,
                change: i.change,
                why: i.why,
            });
        }
    }
    Ok(found)
}

/// The schema work could not be done in time on the blocking pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckOverloaded;

/// Runs CPU-bound schema work (parsing, compatibility checks) on the blocking pool, so a
/// hostile schema cannot stall the async workers that serve everyone else. The engine bounds
/// its own work ([`compat::CHECK_TIME`]); this bounds the wait for a free blocking thread too.
pub async fn off_runtime<T, F>(work: F) -> Result<T, CheckOverloaded>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match tokio::time::timeout(compat::CHECK_TIME * 6, tokio::task::spawn_blocking(work)).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => {
            tracing::error!(%error, "a schema check task failed");
            Err(CheckOverloaded)
        }
        Err(_) => {
            tracing::warn!("a schema check did not finish in time");
            Err(CheckOverloaded)
        }
    }
}

/// The CPU-bound part of a proposal's check: the new schema parsed, and what breaks against
/// the earlier versions under `mode` (nothing computed when `skip_check`).
type Checked = Result<(ParsedSchema, Result<Vec<Finding>, compat::TooComplex>), String>;

fn parse_and_check(
    format: SchemaFormat,
    text: &str,
    versions: &[StoredVersion],
    mode: Compatibility,
    skip_check: impl FnOnce(&ParsedSchema) -> bool,
) -> Result<Checked, AppError> {
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
                return Err(AppError::internal(
                    "a stored schema no longer parses",
                    &e.to_string(),
                ));
            }
        }
    }
    let found = findings(mode, &parsed, &earlier);
    Ok(Ok((parsed, found)))
}

/// The topic a proposal is for, as the checks need it.
struct TopicRow {
    id: Uuid,
    owner: String,
    environments: Vec<String>,
}

async fn load_topic(
    conn: &mut PgConnection,
    name: &str,
    lock: bool,
) -> Result<Option<TopicRow>, AppError> {
    let row = if lock {
        sqlx::query_as!(
            TopicRow,
            r#"select t.id, t.owning_team as owner,
                      array(select e.environment from topic_environment e
                             where e.topic_id = t.id order by e.environment) as "environments!"
                 from topic t where t.name = $1 for update"#,
            name
        )
        .fetch_optional(conn)
        .await
    } else {
        sqlx::query_as!(
            TopicRow,
            r#"select t.id, t.owning_team as owner,
                      array(select e.environment from topic_environment e
                             where e.topic_id = t.id order by e.environment) as "environments!"
                 from topic t where t.name = $1"#,
            name
        )
        .fetch_optional(conn)
        .await
    };
    row.map_err(internal("looking up the topic"))
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
) -> Result<Evaluated, AppError> {
    let subject = proposal.part.subject(proposal.topic.as_str());
    let mode_before = subject_mode(&mut *conn, &subject)
        .await?
        .unwrap_or_default();
    let versions = subject_versions(&mut *conn, &subject)
        .await
        .map_err(internal("loading the subject's versions"))?;
    let consumers = topic_consumers(&mut *conn, topic.id)
        .await
        .map_err(internal("listing the topic's consumers"))?
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
        check.diff = super::diff::side_by_side(
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
) -> Result<SchemaCheck, AppError> {
    let mut conn = portal
        .db
        .acquire()
        .await
        .map_err(internal("connecting to the database"))?;
    let Some(topic) = load_topic(&mut conn, proposal.topic.as_str(), false).await? else {
        return Err(AppError::invalid(
            FIELD_TOPIC,
            "no topic of that name in the catalog",
        ));
    };
    Ok(evaluate(&mut conn, &topic, proposal).await?.check)
}

/// The owning team proposes a new schema version (and perhaps a new mode) for a subject.
pub async fn create_schema_change(
    portal: &PortalContext,
    user: &UserIdentity,
    draft: &SchemaChangeDraft,
) -> Result<Uuid, AppError> {
    let proposal = &draft.proposal;
    let mut tx = portal
        .db
        .begin()
        .await
        .map_err(internal("starting a transaction"))?;
    ensure_user(&mut tx, user)
        .await
        .map_err(internal("recording the requester"))?;
    let Some(topic) = load_topic(&mut tx, proposal.topic.as_str(), true).await? else {
        return Err(AppError::invalid(
            FIELD_TOPIC,
            "no topic of that name in the catalog",
        ));
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
    .map_err(internal("checking pending schema changes"))?;
    if pending {
        return Err(AppError::Conflict(format!(
            "A change to {subject} is already waiting; decide or withdraw it first."
        )));
    }
    let Evaluated { check, change } = evaluate(&mut tx, &topic, proposal).await?;
    let Some(change) = change else {
        return Err(AppError::invalid(
            FIELD_SCHEMA_TEXT,
            check.problem.unwrap_or_default(),
        ));
    };
    if check.unchanged {
        return Err(AppError::invalid(
            FIELD_SCHEMA_TEXT,
            format!(
                "nothing changes: this is version {} of {subject} already, with the same mode",
                check.latest_version.unwrap_or_default()
            ),
        ));
    }
    let owning_team = TeamSlug::parse(owner.clone())
        .map_err(|m| AppError::internal("stored team unreadable", &m))?;
    let slots = portal
        .approvals
        .route_schema_change(&owning_team, change.governance_because());
    let id = Uuid::new_v4();
    let state = RequestState::Draft
        .apply(RequestEvent::Submit)
        .ok_or_else(|| AppError::internal("transition table", &"draft cannot be submitted"))?;
    let stored = serde_json::to_value(&change)
        .map_err(|e| AppError::internal("serializing the schema change", &e))?;
    sqlx::query!(
        "insert into access_request
            (id, kind, state, requester, application_id, topic_id, environments, purpose, schema_change)
         values ($1, 'schema_change', $2, $3, $4, $5, $6, $7, $8)",
        id,
        state as RequestState,
        &user.subject,
        draft.application,
        topic.id,
        &topic.environments,
        &draft.purpose,
        &stored,
    )
    .execute(&mut *tx)
    .await
    .map_err(internal("inserting the schema change"))?;
    insert_slots(&mut tx, id, &slots).await?;
    append(
        &mut tx,
        &user.subject,
        "request.submitted",
        "access_request",
        &id.to_string(),
        None,
        Some(json!({
            "kind": RequestKind::SchemaChange.as_str(),
            "state": state.as_str(),
            "subject": subject,
            "follows_version": change.follows_version,
            "mode_before": change.mode_before.as_str(),
            "mode_after": change.mode_after.as_str(),
            "findings": change.findings.len(),
            "approvals": slots.iter().map(|s| s.kind.as_str()).collect::<Vec<_>>(),
        })),
    )
    .await
    .map_err(internal("auditing the schema change"))?;
    let mut message = format!("{} proposes {}.", user.display_name, change.in_words());
    if let Some(why) = change.governance_because() {
        message.push_str(&format!(" Governance must agree: {why}."));
    }
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
        .map_err(internal("committing the schema change"))?;
    tracing::info!(request.id = %id, subject = %subject, "schema change proposed");
    Ok(id)
}

/// The final approval of a schema change: the subject takes the new mode and the schema becomes
/// its next version, in the approval's transaction; the topic's consumers are told.
pub async fn apply_schema_change(
    conn: &mut PgConnection,
    portal: &PortalContext,
    id: Uuid,
) -> Result<(), AppError> {
    let row = sqlx::query!(
        r#"select r.schema_change as "schema_change!", r.topic_id as "topic_id!", t.name
             from access_request r join topic t on t.id = r.topic_id where r.id = $1"#,
        id
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(internal("loading the schema change"))?;
    let (stored, topic, topic_name) = (row.schema_change, row.topic_id, row.name);
    let change: SchemaChange = serde_json::from_value(stored)
        .map_err(|e| AppError::internal("stored schema change unreadable", &e))?;
    // Only approvals write versions and one change per subject waits at a time, so the subject
    // is where the request left it; if not, nothing is registered on an outdated check.
    let latest = sqlx::query_scalar!(
        "select max(version) from schema_version where subject = $1",
        &change.subject
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(internal("reading the subject's latest version"))?;
    if latest != change.follows_version {
        return Err(AppError::Conflict(format!(
            "{} has changed since this request was made; it must be proposed again.",
            change.subject
        )));
    }
    sqlx::query!(
        "insert into schema_subject (subject, topic_id, compatibility) values ($1, $2, $3)
         on conflict (subject) do update set compatibility = excluded.compatibility",
        &change.subject,
        topic,
        change.mode_after.as_str(),
    )
    .execute(&mut *conn)
    .await
    .map_err(internal("setting the subject's mode"))?;
    let mut version_words = String::new();
    if !change.mode_only {
        let parsed = compat::parse(change.format, &change.schema).map_err(|e| {
            AppError::internal("an approved schema no longer parses", &e.to_string())
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
        .map_err(internal("registering the schema version"))?;
        version_words = format!(
            "version {} of {}",
            change.follows_version.unwrap_or(0) + 1,
            change.subject
        );
    }
    let consumers = topic_consumers(&mut *conn, topic)
        .await
        .map_err(internal("listing the topic's consumers"))?;
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
            .map_err(internal("notifying consumer teams"))?;
        let link = format!("{}{page}", portal.public_url);
        notifications::enqueue_webhooks(&mut *conn, &teams, &message, &link)
            .await
            .map_err(internal("queueing consumer webhooks"))?;
    }
    append(
        &mut *conn,
        crate::apply::store::PORTAL_ACTOR,
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
    .map_err(internal("auditing the registration"))?;
    Ok(())
}

/// For the request page: the version a change follows beside what it proposes.
pub async fn change_diff(
    conn: &mut PgConnection,
    change: &SchemaChange,
) -> Result<Vec<crate::schemas::diff::DiffRow>, AppError> {
    let Some(version) = change.follows_version else {
        return Ok(super::diff::side_by_side("", &change.schema));
    };
    let before = sqlx::query_scalar!(
        "select t.original from schema_version v join schema_text t on t.id = v.schema_id
          where v.subject = $1 and v.version = $2",
        &change.subject,
        version,
    )
    .fetch_optional(conn)
    .await
    .map_err(internal("loading the earlier version"))?;
    Ok(super::diff::side_by_side(
        before.as_deref().unwrap_or_default(),
        &change.schema,
    ))
}

/// Whether a part is a topic's key or value, from a subject name.
pub fn subject_part(subject: &str) -> Option<(&str, SubjectPart)> {
    subject
        .strip_suffix("-value")
        .map(|t| (t, SubjectPart::Value))
        .or_else(|| subject.strip_suffix("-key").map(|t| (t, SubjectPart::Key)))
}

//! Schema subjects, versions and schema-change requests in Postgres. A proposal is checked
//! against the subject's earlier versions when it is written, again when it is submitted, and
//! registered as the next version in the transaction of its final approval.

use super::compat::{self, ParsedSchema};
use crate::domain::{Compatibility, SchemaFormat, SubjectPart};
use crate::domain::{RequestId, TopicId};
use crate::requests::schema_change::{Finding, SchemaChange};
use crate::store::{StoreError, failed_while};
use sqlx::PgConnection;

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
) -> Result<Option<Compatibility>, StoreError> {
    let mode = sqlx::query_scalar!(
        "select compatibility from schema_subject where subject = $1",
        subject
    )
    .fetch_optional(conn)
    .await
    .map_err(failed_while("reading the subject's mode"))?;
    mode.map(|m| {
        m.parse()
            .map_err(|e: String| StoreError::corrupt("stored mode unreadable", e))
    })
    .transpose()
}

/// Stores a schema (once per distinct canonical text: its id is global and never changes) and
/// registers it as the subject's next version, creating the subject if needed.
pub async fn register_version(
    conn: &mut PgConnection,
    topic: TopicId,
    subject: &str,
    schema: &ParsedSchema,
    written: &str,
    request: Option<RequestId>,
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
        topic as TopicId,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "insert into schema_version (subject, version, schema_id, request_id)
         select $1, coalesce(max(version), 0) + 1, $2, $3 from schema_version where subject = $1",
        subject,
        id,
        request as Option<RequestId>,
    )
    .execute(conn)
    .await?;
    Ok(id)
}

/// Applications that may read the topic now, as "team / application".
pub async fn topic_consumers(
    conn: &mut PgConnection,
    topic: TopicId,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let rows = sqlx::query!(
        "select distinct a.team_slug, a.name
           from access_grant g join application a on a.id = g.application_id
          where g.topic_id = $1 and g.role = 'consumer' and g.revoked_at is null
          order by 1, 2",
        topic as TopicId
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
pub(crate) type Checked = Result<(ParsedSchema, Result<Vec<Finding>, compat::TooComplex>), String>;

/// For the request page: the version a change follows beside what it proposes.
pub async fn change_diff(
    conn: &mut PgConnection,
    change: &SchemaChange,
) -> Result<Vec<crate::schemas::diff::DiffRow>, StoreError> {
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
    .map_err(failed_while("loading the earlier version"))?;
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

//! Catalog queries.

use super::{
    CatalogFilter, CatalogPage, GrantView, PAGE_SIZE, SUGGESTIONS, TopicDetail, TopicSuggestion,
    TopicSummary,
};
use crate::domain::{
    CleanupPolicy, DataClassification, EnvironmentName, GrantRole, Lifecycle, UserIdentity,
};
use crate::error::AppError;
use crate::loaded::{Markup, NotHydrated};
use sqlx::PgPool;
use std::sync::Arc;

/// A filter whose values have been checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ParsedFilter {
    pub q: Option<String>,
    pub domain: Option<String>,
    pub lifecycle: Option<Lifecycle>,
    pub team: Option<String>,
    pub teams_of_caller: Option<Vec<String>>,
    pub cursor: Cursor,
}

/// Where a page of the list starts or ends, by topic name.
pub type Cursor = crate::paging::Cursor<String>;

impl ParsedFilter {
    pub fn parse(filter: CatalogFilter, user: &UserIdentity) -> Result<Self, AppError> {
        let clean = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        let q = clean(filter.q);
        if q.as_ref().is_some_and(|q| q.chars().count() > 200) {
            return Err(AppError::invalid(
                "Search",
                "search text is at most 200 characters",
            ));
        }
        let lifecycle = clean(filter.lifecycle)
            .map(|l| l.parse::<Lifecycle>())
            .transpose()
            .map_err(|m| AppError::invalid("Lifecycle", m))?;
        let name_bound = |v: Option<String>| match clean(v) {
            Some(name) if name.chars().count() > crate::domain::TopicName::MAX_LEN => {
                Err(AppError::invalid(
                    "Page",
                    "a page starts after a topic name, at most 249 characters",
                ))
            }
            other => Ok(other),
        };
        let cursor = Cursor::from_link(name_bound(filter.after)?, name_bound(filter.before)?)
            .ok_or_else(|| {
                AppError::invalid(
                    "Page",
                    "a page starts after a topic or ends before one, not both",
                )
            })?;
        let mine = clean(filter.mine).is_some();
        Ok(Self {
            q,
            domain: clean(filter.domain),
            lifecycle,
            team: clean(filter.team),
            teams_of_caller: mine
                .then(|| user.teams.iter().map(|t| t.as_str().to_owned()).collect()),
            cursor,
        })
    }
}

/// `text` with the `like` wildcards taken literally.
fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// One page of topics in name order, found by keyset (the name a page starts after or ends
/// before) so a deep page reads no more rows than the first; one row more than a page tells
/// whether another page follows. Nothing is counted. The domains are read by skipping through
/// their index, one row per domain.
pub async fn list(db: &PgPool, filter: &ParsedFilter) -> Result<CatalogPage, sqlx::Error> {
    // One connection for the page's three queries.
    let mut conn = db.acquire().await?;
    let pattern = filter.q.as_ref().map(|q| format!("%{}%", escape_like(q)));
    let (after, before) = filter.cursor.bounds();
    let (after, before) = (after.map(String::as_str), before.map(String::as_str));
    // Backwards for a previous page (the rows nearest the cursor first), forwards otherwise;
    // the page's rows are put in name order below.
    let topics = sqlx::query_as!(
        TopicSummary,
        r#"select t.name, t.title, t.business_domain, t.lifecycle as "lifecycle: Lifecycle",
                  t.owning_team, t.data_classification as "classification: DataClassification",
                  t.contains_pii,
                  coalesce((select array_agg(e.environment order by e.environment)
                              from topic_environment e where e.topic_id = t.id), '{}')
                    as "environments!: Vec<EnvironmentName>"
             from (select t.* from topic t
                    where ($1::text is null
                           or ((t.name collate "default") || ' ' || t.title || ' ' || t.description)
                               ilike $1)
                      and ($2::text is null or t.business_domain = $2)
                      and ($3::lifecycle is null or t.lifecycle = $3)
                      and ($4::text is null or t.owning_team = $4)
                      and ($5::text[] is null or t.owning_team = any($5))
                      and ($6::text is null or t.name > $6)
                      and ($7::text is null or t.name < $7)
                    order by case when $7::text is null then t.name end,
                             case when $7::text is not null then t.name end desc
                    limit $8) t
            order by case when $7::text is null then t.name end,
                     case when $7::text is not null then t.name end desc"#,
        pattern,
        filter.domain,
        filter.lifecycle as Option<Lifecycle>,
        filter.team,
        filter.teams_of_caller.as_deref(),
        after,
        before,
        PAGE_SIZE + 1,
    )
    .fetch_all(&mut *conn)
    .await?;
    let domains = sqlx::query_scalar!(
        r#"with recursive d (domain) as (
               (select business_domain from topic order by business_domain limit 1)
               union all
               select (select t.business_domain from topic t
                        where t.business_domain > d.domain order by t.business_domain limit 1)
                 from d where d.domain is not null)
           select domain as "domain!" from d where domain is not null"#
    )
    .fetch_all(&mut *conn)
    .await?;
    let teams = sqlx::query_scalar!("select slug from team order by 1")
        .fetch_all(&mut *conn)
        .await?;
    Ok(page_of(filter, topics, domains.into(), teams.into()))
}

/// The page `filter` asks for from the topics read for it: up to one more than a page, nearest
/// the cursor first (backwards for a previous page). Shared by the SQL above and the in-memory
/// index, so both put a page together the same way.
pub(super) fn page_of(
    filter: &ParsedFilter,
    mut topics: Vec<TopicSummary>,
    domains: Arc<[String]>,
    teams: Arc<[String]>,
) -> CatalogPage {
    let more = topics.len() > PAGE_SIZE as usize;
    topics.truncate(PAGE_SIZE as usize);
    if matches!(filter.cursor, Cursor::Before(_)) {
        topics.reverse();
    }
    let first = topics.first().map(|t| t.name.clone());
    let last = topics.last().map(|t| t.name.clone());
    let (next, previous) = filter.cursor.neighbours(first, last, more);
    CatalogPage {
        shown: topics.len(),
        topics: NotHydrated(topics.into()),
        // Drawn by `list_topics` before the page is kept.
        listing: Markup::default(),
        summary: String::new(),
        next,
        previous,
        domains: NotHydrated(domains),
        teams: NotHydrated(teams),
    }
}

/// Topics whose name or title contains `text`, names that start with it first.
pub async fn suggest(db: &PgPool, text: &str) -> Result<Vec<TopicSuggestion>, sqlx::Error> {
    let text = escape_like(text);
    sqlx::query_as!(
        TopicSuggestion,
        "select name, title, owning_team from topic
          where name ilike $1 or title ilike $1
          order by name ilike $2 desc, name
          limit $3",
        format!("%{text}%"),
        format!("{text}%"),
        SUGGESTIONS,
    )
    .fetch_all(db)
    .await
}

pub async fn detail(db: &PgPool, name: &str) -> Result<Option<TopicDetail>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select t.name, t.title, t.business_domain, t.lifecycle as "lifecycle: Lifecycle",
                  t.owning_team, t.data_classification as "classification: DataClassification",
                  t.contains_pii,
                  coalesce((select array_agg(e.environment order by e.environment)
                              from topic_environment e where e.topic_id = t.id), '{}')
                    as "environments!: Vec<EnvironmentName>",
                  t.description, t.source_systems, t.partitions, t.retention_ms,
                  t.cleanup_policy as "cleanup_policy: CleanupPolicy",
                  t.removal_date as "removal_date: chrono::NaiveDate"
             from topic t where t.name = $1"#,
        name
    )
    .fetch_optional(db)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let grants = sqlx::query!(
        r#"select g.role as "role: GrantRole", a.name as application, a.team_slug as team,
                  g.environment as "environment: EnvironmentName", g.consumer_group, g.expires_on as "expires_on: chrono::NaiveDate"
             from access_grant g
             join application a on a.id = g.application_id
             join topic t on t.id = g.topic_id
            where t.name = $1 and g.revoked_at is null
            order by g.role, a.name, g.environment"#,
        name
    )
    .fetch_all(db)
    .await?;
    let mut producers = Vec::new();
    let mut consumers = Vec::new();
    for g in grants {
        let view = GrantView {
            application: g.application,
            team: g.team,
            environment: g.environment,
            consumer_group: g.consumer_group,
            expires_on: g.expires_on,
        };
        match g.role {
            GrantRole::Producer => producers.push(view),
            GrantRole::Consumer => consumers.push(view),
        }
    }
    Ok(Some(TopicDetail {
        value_schema: None,
        key_schema: None,
        can_request_access: false,
        can_propose_changes: false,
        summary: TopicSummary {
            name: row.name,
            title: row.title,
            business_domain: row.business_domain,
            lifecycle: row.lifecycle,
            owning_team: row.owning_team,
            classification: row.classification,
            contains_pii: row.contains_pii,
            environments: row.environments,
        },
        description: row.description,
        source_systems: row.source_systems,
        partitions: row.partitions,
        retention_days: row.retention_ms / 86_400_000,
        cleanup_policy: row.cleanup_policy,
        removal_date: row.removal_date,
        producers,
        consumers,
    }))
}

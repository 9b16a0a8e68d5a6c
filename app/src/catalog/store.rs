//! Catalog queries.

use super::{
    CatalogFilter, CatalogPage, GrantView, PAGE_SIZE, SUGGESTIONS, TopicDetail, TopicSuggestion,
    TopicSummary,
};
use crate::domain::{
    CleanupPolicy, DataClassification, EnvironmentName, GrantRole, Lifecycle, UserIdentity,
};
use crate::error::AppError;
use sqlx::PgPool;

/// A filter whose values have been checked.
#[derive(Debug, Clone, Default)]
pub struct ParsedFilter {
    pub q: Option<String>,
    pub domain: Option<String>,
    pub lifecycle: Option<Lifecycle>,
    pub team: Option<String>,
    pub teams_of_caller: Option<Vec<String>>,
    pub page: i64,
}

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
        let page = filter.page.unwrap_or(1);
        if !(1..=10_000).contains(&page) {
            return Err(AppError::invalid("Page", "page is out of range"));
        }
        let mine = clean(filter.mine).is_some();
        Ok(Self {
            q,
            domain: clean(filter.domain),
            lifecycle,
            team: clean(filter.team),
            teams_of_caller: mine
                .then(|| user.teams.iter().map(|t| t.as_str().to_owned()).collect()),
            page,
        })
    }
}

/// `text` with the `like` wildcards taken literally.
fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

pub async fn list(db: &PgPool, filter: &ParsedFilter) -> Result<CatalogPage, sqlx::Error> {
    let pattern = filter.q.as_ref().map(|q| format!("%{}%", escape_like(q)));
    let offset = (filter.page - 1) * PAGE_SIZE;
    // The page is cut first, so the per-topic columns are computed for its rows only (a deep
    // page would otherwise compute them for every row it skips). The filter is the same in both
    // queries.
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
                           or (t.name || ' ' || t.title || ' ' || t.description) ilike $1)
                      and ($2::text is null or t.business_domain = $2)
                      and ($3::lifecycle is null or t.lifecycle = $3)
                      and ($4::text is null or t.owning_team = $4)
                      and ($5::text[] is null or t.owning_team = any($5))
                    order by t.name limit $7 offset $6) t
            order by t.name"#,
        pattern,
        filter.domain,
        filter.lifecycle as Option<Lifecycle>,
        filter.team,
        filter.teams_of_caller.as_deref(),
        offset,
        PAGE_SIZE,
    )
    .fetch_all(db)
    .await?;
    let total = sqlx::query_scalar!(
        r#"select count(*) as "count!" from topic t
            where ($1::text is null
                   or (t.name || ' ' || t.title || ' ' || t.description) ilike $1)
              and ($2::text is null or t.business_domain = $2)
              and ($3::lifecycle is null or t.lifecycle = $3)
              and ($4::text is null or t.owning_team = $4)
              and ($5::text[] is null or t.owning_team = any($5))"#,
        pattern,
        filter.domain,
        filter.lifecycle as Option<Lifecycle>,
        filter.team,
        filter.teams_of_caller.as_deref(),
    )
    .fetch_one(db)
    .await?;
    let domains = sqlx::query_scalar!("select distinct business_domain from topic order by 1")
        .fetch_all(db)
        .await?;
    let teams = sqlx::query_scalar!("select slug from team order by 1")
        .fetch_all(db)
        .await?;
    Ok(CatalogPage {
        topics,
        total,
        page: filter.page,
        domains,
        teams,
    })
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

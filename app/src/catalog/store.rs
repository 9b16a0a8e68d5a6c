//! Catalog queries.

use super::{CatalogFilter, CatalogPage, GrantView, PAGE_SIZE, TopicDetail, TopicSummary};
use crate::domain::{CleanupPolicy, DataClassification, GrantRole, Lifecycle, UserIdentity};
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

#[derive(sqlx::FromRow)]
struct SummaryRow {
    name: String,
    title: String,
    business_domain: String,
    lifecycle: Lifecycle,
    owning_team: String,
    data_classification: DataClassification,
    contains_pii: bool,
    environments: Vec<String>,
}

impl SummaryRow {
    fn into_summary(self) -> TopicSummary {
        TopicSummary {
            name: self.name,
            title: self.title,
            business_domain: self.business_domain,
            lifecycle: self.lifecycle,
            owning_team: self.owning_team,
            classification: self.data_classification,
            contains_pii: self.contains_pii,
            environments: self.environments,
        }
    }
}

const SUMMARY_COLUMNS: &str = "t.name, t.title, t.business_domain, t.lifecycle, \
    t.owning_team, t.data_classification, t.contains_pii, \
    coalesce((select array_agg(e.environment order by e.environment) from topic_environment e where e.topic_id = t.id), '{}') as environments";

pub async fn list(db: &PgPool, filter: &ParsedFilter) -> Result<CatalogPage, sqlx::Error> {
    let pattern = filter.q.as_ref().map(|q| {
        format!(
            "%{}%",
            q.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        )
    });
    let where_clause =
        "where ($1::text is null or (t.name || ' ' || t.title || ' ' || t.description) ilike $1)
          and ($2::text is null or t.business_domain = $2)
          and ($3::lifecycle is null or t.lifecycle = $3)
          and ($4::text is null or t.owning_team = $4)
          and ($5::text[] is null or t.owning_team = any($5))";
    let offset = (filter.page - 1) * PAGE_SIZE;
    let lifecycle = filter.lifecycle;
    let rows: Vec<SummaryRow> = sqlx::query_as(&format!(
        // The page is cut first, so the per-topic columns are computed for its rows only (a
        // deep page would otherwise compute them for every row it skips).
        "select {SUMMARY_COLUMNS}
           from (select t.* from topic t {where_clause} order by t.name limit {PAGE_SIZE} offset $6) t
          order by t.name"
    ))
    .bind(&pattern)
    .bind(&filter.domain)
    .bind(lifecycle)
    .bind(&filter.team)
    .bind(&filter.teams_of_caller)
    .bind(offset)
    .fetch_all(db)
    .await?;
    let total: i64 = sqlx::query_scalar(&format!("select count(*) from topic t {where_clause}"))
        .bind(&pattern)
        .bind(&filter.domain)
        .bind(lifecycle)
        .bind(&filter.team)
        .bind(&filter.teams_of_caller)
        .fetch_one(db)
        .await?;
    let domains: Vec<String> =
        sqlx::query_scalar("select distinct business_domain from topic order by 1")
            .fetch_all(db)
            .await?;
    let teams: Vec<String> = sqlx::query_scalar("select slug from team order by 1")
        .fetch_all(db)
        .await?;
    Ok(CatalogPage {
        topics: rows.into_iter().map(SummaryRow::into_summary).collect(),
        total,
        page: filter.page,
        domains,
        teams,
    })
}

#[derive(sqlx::FromRow)]
struct DetailRow {
    #[sqlx(flatten)]
    summary: SummaryRow,
    description: String,
    source_systems: Vec<String>,
    partitions: i32,
    retention_ms: i64,
    cleanup_policy: CleanupPolicy,
    removal_date: Option<chrono::NaiveDate>,
}

#[derive(sqlx::FromRow)]
struct GrantRow {
    role: GrantRole,
    application: String,
    team: String,
    environment: String,
    consumer_group: Option<String>,
    expires_on: Option<chrono::NaiveDate>,
}

pub async fn detail(db: &PgPool, name: &str) -> Result<Option<TopicDetail>, sqlx::Error> {
    let row: Option<DetailRow> = sqlx::query_as(&format!(
        "select {SUMMARY_COLUMNS}, t.description, t.source_systems, t.partitions, t.retention_ms,
                t.cleanup_policy, t.removal_date
         from topic t where t.name = $1"
    ))
    .bind(name)
    .fetch_optional(db)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let grants: Vec<GrantRow> = sqlx::query_as(
        "select g.role, a.name as application, a.team_slug as team, g.environment,
                g.consumer_group, g.expires_on
         from access_grant g
         join application a on a.id = g.application_id
         join topic t on t.id = g.topic_id
         where t.name = $1 and g.revoked_at is null
         order by g.role, a.name, g.environment",
    )
    .bind(name)
    .fetch_all(db)
    .await?;
    let (producers, consumers): (Vec<_>, Vec<_>) = grants
        .into_iter()
        .partition(|g| g.role == GrantRole::Producer);
    let view = |g: GrantRow| GrantView {
        application: g.application,
        team: g.team,
        environment: g.environment,
        consumer_group: g.consumer_group,
        expires_on: g.expires_on,
    };
    Ok(Some(TopicDetail {
        value_schema: None,
        key_schema: None,
        summary: row.summary.into_summary(),
        description: row.description,
        source_systems: row.source_systems,
        partitions: row.partitions,
        retention_days: row.retention_ms / 86_400_000,
        cleanup_policy: row.cleanup_policy,
        removal_date: row.removal_date,
        producers: producers.into_iter().map(view).collect(),
        consumers: consumers.into_iter().map(view).collect(),
    }))
}

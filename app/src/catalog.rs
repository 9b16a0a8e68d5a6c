//! The topic catalog: what events exist, who owns them, who produces and consumes them.

use crate::domain::EnvironmentName;
#[cfg(feature = "ssr")]
use crate::domain::Role;
use crate::domain::{CleanupPolicy, DataClassification, Lifecycle};
use crate::error::AppError;
use crate::loaded::NotHydrated;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[cfg(feature = "ssr")]
pub mod index;
#[cfg(feature = "ssr")]
pub mod store;

/// Catalog pages as last read, by filter and page (the caller's teams only for "mine").
#[cfg(feature = "ssr")]
pub type CatalogCache = crate::page_cache::PageCache<store::ParsedFilter, CatalogPage>;

pub const PAGE_SIZE: i64 = 50;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CatalogFilter {
    /// Words to find in a topic's name, title or description.
    pub q: Option<String>,
    pub domain: Option<String>,
    pub lifecycle: Option<String>,
    pub team: Option<String>,
    /// Only topics owned by one of the caller's teams.
    pub mine: Option<String>,
    /// The page after this topic name (the next page of a list in name order).
    pub after: Option<String>,
    /// The page before this topic name (the previous page).
    pub before: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicSummary {
    pub name: String,
    pub title: String,
    pub business_domain: String,
    pub lifecycle: Lifecycle,
    pub owning_team: String,
    pub classification: DataClassification,
    pub contains_pii: bool,
    pub environments: Vec<EnvironmentName>,
}

/// A page of the catalog. The page a person opens shows only `listing`, drawn once on the server
/// and kept with the page in the page cache; the rest is for callers of the server function. The
/// lists are shared (`Arc`), so serving a kept page copies none of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogPage {
    pub topics: NotHydrated<Arc<[TopicSummary]>>,
    /// How many topics the page shows.
    pub shown: usize,
    /// The filters as chosen, the summary, the table and the links to the pages beside this
    /// one, drawn on the server.
    pub listing: crate::loaded::Markup,
    /// What the page says of the topics above the table, written on the server.
    pub summary: String,
    /// Where the next page starts (`after`), when there is one.
    pub next: Option<String>,
    /// Where the previous page ends (`before`), when there is one.
    pub previous: Option<String>,
    /// The choices of the filters.
    pub domains: NotHydrated<Arc<[String]>>,
    pub teams: NotHydrated<Arc<[String]>>,
}

impl CatalogPage {
    /// The whole result is on this page.
    pub fn is_complete(&self) -> bool {
        self.next.is_none() && self.previous.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantView {
    pub application: String,
    pub team: String,
    pub environment: EnvironmentName,
    pub consumer_group: Option<String>,
    #[serde(with = "crate::time::iso_date_option")]
    pub expires_on: Option<chrono::NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicDetail {
    pub summary: TopicSummary,
    pub description: String,
    pub source_systems: Vec<String>,
    pub partitions: i32,
    pub retention_days: i64,
    pub cleanup_policy: CleanupPolicy,
    #[serde(with = "crate::time::iso_date_option")]
    pub removal_date: Option<chrono::NaiveDate>,
    pub producers: Vec<GrantView>,
    pub consumers: Vec<GrantView>,
    /// The latest version of `<topic>-value`, if the topic has a schema.
    pub value_schema: Option<crate::schemas::SchemaView>,
    /// The latest version of `<topic>-key`, if keys have a schema.
    pub key_schema: Option<crate::schemas::SchemaView>,
    /// What the caller may start from this page: asking for access (members), proposing
    /// settings or schemas (members of the owning team). Nobody is offered what they would
    /// be refused.
    pub can_request_access: bool,
    pub can_propose_changes: bool,
}

/// One page of the catalog. Any signed-in role may browse it.
#[server(prefix = "/api", endpoint = "catalog/topics")]
pub async fn list_topics(
    #[server(default)] filter: CatalogFilter,
) -> Result<CatalogPage, AppError> {
    let user = crate::auth::ssr::require_any_role(&Role::ALL).await?;
    let filter =
        store::ParsedFilter::parse(filter, &user).map_err(crate::auth::ssr::with_status)?;
    let portal = crate::context::portal()?;
    let (page, source) = portal
        .listings
        .catalog
        .page(&filter, async || {
            let mut page = match portal.listings.topic_index(&portal.db).await? {
                Some(index) => index.page(&filter),
                None => store::list(&portal.db, &filter).await?,
            };
            crate::pages::draw_catalog_page(&mut page, &filter);
            Ok::<_, sqlx::Error>(page)
        })
        .await
        .map_err(|e| AppError::internal("listing topics failed", &e))?;
    metrics::counter!("listing_pages_total", "listing" => "catalog", "source" => source.as_str())
        .increment(1);
    Ok(page)
}

/// A topic offered while its name is typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicSuggestion {
    pub name: String,
    pub title: String,
    pub owning_team: String,
}

/// How many topics are offered at once.
pub const SUGGESTIONS: i64 = 8;
/// The longest text topics are looked up by.
pub const SUGGEST_TEXT_MAX: usize = 100;

/// Topics whose name or title contains the text, those whose name starts with it first.
#[server(prefix = "/api", endpoint = "catalog/suggest")]
pub async fn suggest_topics(text: String) -> Result<Vec<TopicSuggestion>, AppError> {
    crate::auth::ssr::require_any_role(&Role::ALL).await?;
    let text = text.trim();
    if text.chars().count() > SUGGEST_TEXT_MAX {
        return Err(crate::auth::ssr::with_status(AppError::invalid(
            "Topic",
            format!("look a topic up by at most {SUGGEST_TEXT_MAX} characters"),
        )));
    }
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let portal = crate::context::portal()?;
    let failed = |e| AppError::internal("suggesting topics failed", &e);
    match portal
        .listings
        .topic_index(&portal.db)
        .await
        .map_err(failed)?
    {
        Some(index) => Ok(index.suggest(text)),
        None => store::suggest(&portal.db, text).await.map_err(failed),
    }
}

/// The bus's rules for new topic names, so forms can check a name as it is typed.
#[server(prefix = "/api", endpoint = "catalog/naming")]
pub async fn naming_policy() -> Result<crate::domain::NamingPolicy, AppError> {
    crate::auth::ssr::require_any_role(&Role::ALL).await?;
    Ok(crate::context::portal()?.naming.as_ref().clone())
}

/// One topic with its owners, producers and consumers.
#[server(prefix = "/api", endpoint = "catalog/topic")]
pub async fn get_topic(name: String) -> Result<TopicDetail, AppError> {
    let user = crate::auth::ssr::require_any_role(&Role::ALL).await?;
    let db = crate::context::db()?;
    let mut topic = store::detail(&db, &name)
        .await
        .map_err(|e| AppError::internal("loading a topic failed", &e))?
        .ok_or_else(|| crate::auth::ssr::with_status(AppError::NotFound))?;
    topic.value_schema = crate::schemas::ssr::latest_schema(&db, &format!("{name}-value")).await?;
    topic.key_schema = crate::schemas::ssr::latest_schema(&db, &format!("{name}-key")).await?;
    topic.can_request_access = user.has_role(Role::Member);
    topic.can_propose_changes = user.has_role(Role::Member)
        && user
            .teams
            .iter()
            .any(|team| team.as_str() == topic.summary.owning_team);
    Ok(topic)
}

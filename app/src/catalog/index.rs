//! Every topic the catalog lists, held in memory by each server: the catalog's pages, its search
//! and the topic picker's suggestions are answered from here without reading the topic table.
//!
//! The index is read whole once per change to the catalog (a `catalog` notice on
//! `listing_changed`, see [`crate::page_cache`]), by the server's indexer in the background, and
//! used while the catalog's page cache says nothing has changed since it was read. A page then
//! costs a walk over the topics in name order from where the page starts, stopping after one
//! topic more than the page shows; a search walks until it has found as many, so a rare word is
//! looked for in every topic, in memory, rather than by reading each match from PostgreSQL.
//! While the server cannot hear changes there is no index, and pages are read with SQL
//! ([`super::store::list`]), which answers the same (a test compares the two).

use super::store::{Cursor, ParsedFilter, page_of};
use super::{CatalogPage, PAGE_SIZE, SUGGESTIONS, TopicSuggestion, TopicSummary};
use crate::domain::{DataClassification, EnvironmentName, Lifecycle};
use sqlx::PgPool;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// The catalog's topics in name order (byte order, as `topic.name` is collated), with the
/// filters' choices.
#[derive(Debug, Default)]
pub struct TopicIndex {
    topics: Vec<Indexed>,
    domains: Arc<[String]>,
    teams: Arc<[String]>,
}

#[derive(Debug)]
struct Indexed {
    summary: TopicSummary,
    /// The name, title and description in lower case, joined by a space as the SQL search
    /// joins them (so a search may span two of them, there as here).
    text: String,
    /// Where the name and the title end in `text`.
    name_end: usize,
    title_end: usize,
}

/// One topic as the index is built from it.
#[derive(Debug, Clone)]
pub struct IndexedTopic {
    pub summary: TopicSummary,
    pub description: String,
}

impl Indexed {
    fn new(topic: IndexedTopic) -> Self {
        let name = topic.summary.name.to_lowercase();
        let title = topic.summary.title.to_lowercase();
        let name_end = name.len();
        let title_end = name_end + 1 + title.len();
        let text = format!("{name} {title} {}", topic.description.to_lowercase());
        Self {
            summary: topic.summary,
            text,
            name_end,
            title_end,
        }
    }

    fn name(&self) -> &str {
        &self.text[..self.name_end]
    }

    fn title(&self) -> &str {
        &self.text[self.name_end + 1..self.title_end]
    }

    /// Whether the catalog's filter shows this topic; `needle` is the search text in lower case.
    fn shown_by(&self, filter: &ParsedFilter, needle: Option<&str>) -> bool {
        let t = &self.summary;
        filter
            .domain
            .as_ref()
            .is_none_or(|d| *d == t.business_domain)
            && filter.lifecycle.is_none_or(|l| l == t.lifecycle)
            && filter
                .team
                .as_ref()
                .is_none_or(|team| *team == t.owning_team)
            && filter
                .teams_of_caller
                .as_ref()
                .is_none_or(|teams| teams.contains(&t.owning_team))
            && needle.is_none_or(|n| self.text.contains(n))
    }
}

impl TopicIndex {
    /// The index of `topics` (in any order) and the teams that may own topics.
    pub fn new(topics: Vec<IndexedTopic>, teams: Vec<String>) -> Self {
        let mut topics: Vec<Indexed> = topics.into_iter().map(Indexed::new).collect();
        topics.sort_unstable_by(|a, b| a.summary.name.cmp(&b.summary.name));
        let domains: BTreeSet<&str> = topics
            .iter()
            .map(|t| t.summary.business_domain.as_str())
            .collect();
        let domains = domains.into_iter().map(str::to_owned).collect();
        let mut teams = teams;
        teams.sort_unstable();
        Self {
            topics,
            domains,
            teams: teams.into(),
        }
    }

    /// Reads every topic and team: two queries, one row per topic and per team.
    pub async fn read(db: &PgPool) -> Result<Self, sqlx::Error> {
        let mut conn = db.acquire().await?;
        let topics = sqlx::query!(
            r#"select t.name, t.title, t.description, t.business_domain,
                      t.lifecycle as "lifecycle: Lifecycle", t.owning_team,
                      t.data_classification as "classification: DataClassification",
                      t.contains_pii,
                      coalesce(e.environments, '{}') as "environments!: Vec<EnvironmentName>"
                 from topic t
                 left join (select topic_id, array_agg(environment order by environment) as environments
                              from topic_environment group by topic_id) e on e.topic_id = t.id"#
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| IndexedTopic {
            summary: TopicSummary {
                name: r.name,
                title: r.title,
                business_domain: r.business_domain,
                lifecycle: r.lifecycle,
                owning_team: r.owning_team,
                classification: r.classification,
                contains_pii: r.contains_pii,
                environments: r.environments,
            },
            description: r.description,
        })
        .collect();
        let teams = sqlx::query_scalar!("select slug from team")
            .fetch_all(&mut *conn)
            .await?;
        Ok(Self::new(topics, teams))
    }

    /// How many topics the index holds.
    pub fn len(&self) -> usize {
        self.topics.len()
    }

    pub fn is_empty(&self) -> bool {
        self.topics.is_empty()
    }

    /// The page of the catalog `filter` asks for, as [`super::store::list`] reads it.
    pub fn page(&self, filter: &ParsedFilter) -> CatalogPage {
        let needle = filter.q.as_deref().map(str::to_lowercase);
        let needle = needle.as_deref();
        let wanted = PAGE_SIZE as usize + 1;
        let names = &self.topics;
        let read: Vec<TopicSummary> = match &filter.cursor {
            Cursor::First => pick(names.iter(), filter, needle, wanted),
            Cursor::After(after) => {
                let start = names.partition_point(|t| t.summary.name <= *after);
                pick(names[start..].iter(), filter, needle, wanted)
            }
            Cursor::Before(before) => {
                let end = names.partition_point(|t| t.summary.name < *before);
                pick(names[..end].iter().rev(), filter, needle, wanted)
            }
        };
        page_of(
            filter,
            read,
            Arc::clone(&self.domains),
            Arc::clone(&self.teams),
        )
    }

    /// Topics whose name or title contains `text` (in any case), those whose name starts with
    /// it first, each group in name order: what [`super::store::suggest`] answers.
    pub fn suggest(&self, text: &str) -> Vec<TopicSuggestion> {
        let needle = text.to_lowercase();
        let wanted = SUGGESTIONS as usize;
        let mut starting = Vec::new();
        let mut containing = Vec::new();
        for topic in &self.topics {
            if topic.name().starts_with(&needle) {
                starting.push(topic);
                if starting.len() == wanted {
                    break;
                }
            } else if containing.len() < wanted
                && (topic.name().contains(&needle) || topic.title().contains(&needle))
            {
                containing.push(topic);
            }
        }
        starting
            .into_iter()
            .chain(containing)
            .take(wanted)
            .map(|t| TopicSuggestion {
                name: t.summary.name.clone(),
                title: t.summary.title.clone(),
                owning_team: t.summary.owning_team.clone(),
            })
            .collect()
    }
}

/// The first `wanted` topics of `topics` the filter shows, in the order walked.
fn pick<'a>(
    topics: impl Iterator<Item = &'a Indexed>,
    filter: &ParsedFilter,
    needle: Option<&str>,
    wanted: usize,
) -> Vec<TopicSummary> {
    topics
        .filter(|t| t.shown_by(filter, needle))
        .take(wanted)
        .map(|t| t.summary.clone())
        .collect()
}

/// The index as of the newest catalog generation it was read in ([`crate::page_cache`]'s
/// generations), read again at most once per change however many ask for it at once.
#[derive(Debug, Clone, Default)]
pub struct IndexCell {
    held: Arc<Mutex<Option<Held>>>,
    /// Held while the index is read, so callers who find it out of date wait for one read.
    reading: Arc<tokio::sync::Mutex<()>>,
}

/// An index and the generation it was read in.
type Held = (u64, Arc<TopicIndex>);

impl IndexCell {
    /// The index read in `generation` or later: the one held, or one read now.
    pub async fn at(&self, generation: u64, db: &PgPool) -> Result<Arc<TopicIndex>, sqlx::Error> {
        if let Some(index) = self.held_since(generation) {
            return Ok(index);
        }
        let _reading = self.reading.lock().await;
        if let Some(index) = self.held_since(generation) {
            return Ok(index);
        }
        let started = std::time::Instant::now();
        let index = Arc::new(TopicIndex::read(db).await?);
        metrics::counter!("catalog_index_reads_total").increment(1);
        metrics::histogram!("catalog_index_read_seconds").record(started.elapsed().as_secs_f64());
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        if held.as_ref().is_none_or(|(g, _)| *g < generation) {
            *held = Some((generation, Arc::clone(&index)));
        }
        Ok(index)
    }

    fn held_since(&self, generation: u64) -> Option<Arc<TopicIndex>> {
        let held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        held.as_ref()
            .filter(|(g, _)| *g >= generation)
            .map(|(_, index)| Arc::clone(index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::CatalogFilter;
    use crate::domain::{TeamSlug, UserIdentity};

    fn topic(name: &str, title: &str, domain: &str, team: &str, description: &str) -> IndexedTopic {
        IndexedTopic {
            summary: TopicSummary {
                name: name.into(),
                title: title.into(),
                business_domain: domain.into(),
                lifecycle: Lifecycle::Production,
                owning_team: team.into(),
                classification: DataClassification::Low,
                contains_pii: false,
                environments: Vec::new(),
            },
            description: description.into(),
        }
    }

    fn member() -> UserIdentity {
        UserIdentity {
            subject: "member".into(),
            display_name: "Member".into(),
            roles: vec![crate::domain::Role::Member],
            teams: vec![TeamSlug::parse("claims").expect("a team")],
        }
    }

    fn filter(f: CatalogFilter) -> ParsedFilter {
        ParsedFilter::parse(f, &member()).expect("a valid filter")
    }

    /// The first page of a search, with the other filters as given.
    fn search(index: &TopicIndex, q: &str, rest: CatalogFilter) -> CatalogPage {
        index.page(&filter(CatalogFilter {
            q: Some(q.into()),
            ..rest
        }))
    }

    fn names(page: &CatalogPage) -> Vec<&str> {
        page.topics.iter().map(|t| t.name.as_str()).collect()
    }

    /// 120 topics `t.000` .. `t.119`, every third about refunds, the even ones of claims.
    fn index() -> TopicIndex {
        let topics = (0..120)
            .rev()
            .map(|i| {
                let about = if i % 3 == 0 {
                    "Refund issued"
                } else {
                    "Order placed"
                };
                let team = if i % 2 == 0 { "claims" } else { "payments" };
                topic(
                    &format!("t.{i:03}"),
                    about,
                    "sales",
                    team,
                    "What happened, once.",
                )
            })
            .collect();
        TopicIndex::new(topics, vec!["payments".into(), "claims".into()])
    }

    #[test]
    fn pages_walk_forwards_and_back_in_name_order() {
        let index = index();
        let first = index.page(&filter(CatalogFilter::default()));
        assert_eq!(first.shown, 50);
        assert_eq!(names(&first)[0], "t.000");
        assert_eq!(first.next.as_deref(), Some("t.049"));
        assert_eq!(first.previous, None);
        let second = index.page(&filter(CatalogFilter {
            after: first.next.clone(),
            ..Default::default()
        }));
        assert_eq!(names(&second)[0], "t.050");
        assert_eq!(second.previous.as_deref(), Some("t.050"));
        let last = index.page(&filter(CatalogFilter {
            after: Some("t.099".into()),
            ..Default::default()
        }));
        assert_eq!(last.shown, 20);
        assert_eq!(last.next, None);
        let back = index.page(&filter(CatalogFilter {
            before: second.previous.clone(),
            ..Default::default()
        }));
        assert_eq!(names(&back), names(&first));
        assert_eq!(back.previous, None);
        assert_eq!(back.next.as_deref(), Some("t.049"));
        assert_eq!(first.teams[..], ["claims", "payments"]);
        assert_eq!(first.domains[..], ["sales"]);
    }

    #[test]
    fn a_cursor_between_names_or_past_them_all_still_finds_its_place() {
        let index = index();
        let page = index.page(&filter(CatalogFilter {
            after: Some("t.0495".into()),
            ..Default::default()
        }));
        assert_eq!(names(&page)[0], "t.050");
        let page = index.page(&filter(CatalogFilter {
            after: Some("zzz".into()),
            ..Default::default()
        }));
        assert_eq!(page.shown, 0);
        assert_eq!((page.next, page.previous), (None, None));
    }

    #[test]
    fn search_is_case_blind_takes_wildcards_literally_and_combines_with_filters() {
        let index = index();
        let refunds = search(&index, "REFUND", CatalogFilter::default());
        assert_eq!(refunds.shown, 40);
        assert!(refunds.topics.iter().all(|t| t.title == "Refund issued"));
        // Across the title and the description, as the SQL joins them.
        let spanning = search(&index, "issued what", CatalogFilter::default());
        assert_eq!(spanning.shown, 40);
        let wildcard = search(&index, "t.%", CatalogFilter::default());
        assert_eq!(wildcard.shown, 0);
        let mine = search(
            &index,
            "refund",
            CatalogFilter {
                mine: Some("on".into()),
                ..Default::default()
            },
        );
        // Every sixth topic: a refund of an even number.
        assert_eq!(mine.shown, 20);
        assert!(mine.topics.iter().all(|t| t.owning_team == "claims"));
        let none = index.page(&filter(CatalogFilter {
            lifecycle: Some("deprecated".into()),
            ..Default::default()
        }));
        assert_eq!(none.shown, 0);
    }

    #[test]
    fn suggestions_put_names_starting_with_the_text_first() {
        let index = TopicIndex::new(
            vec![
                topic(
                    "billing.order-paid",
                    "Order paid",
                    "sales",
                    "payments",
                    "Paid.",
                ),
                topic(
                    "order.created",
                    "Order created",
                    "sales",
                    "payments",
                    "Made.",
                ),
                topic("order.shipped", "Parcel left", "sales", "payments", "Sent."),
                topic(
                    "claims.filed",
                    "Claim filed",
                    "claims",
                    "claims",
                    "An order.",
                ),
            ],
            Vec::new(),
        );
        let names: Vec<String> = index.suggest("ORDER").into_iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            ["order.created", "order.shipped", "billing.order-paid"],
            "the description is not looked at"
        );
    }

    #[tokio::test]
    async fn the_index_held_serves_its_generation_and_older_ones() {
        let cell = IndexCell::default();
        *cell.held.lock().expect("not poisoned") = Some((3, Arc::new(index())));
        assert!(cell.held_since(2).is_some());
        assert!(cell.held_since(3).is_some());
        assert!(cell.held_since(4).is_none());
    }
}

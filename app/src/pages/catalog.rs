//! Catalog list with search and filters, and the topic page.

use super::areas::{AreaPage, PageHeading};
use crate::catalog::{CatalogFilter, TopicSummary, get_topic, list_topics};
use crate::domain::{Area, Lifecycle};
use crate::loaded::load;
use leptos::either::Either;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

/// Draws a catalog page as a person sees it (the filters as chosen, the summary, the table and
/// the links to the pages beside it), once on the server. It is kept with the page in the page
/// cache, so a page served again is not drawn again, and the browser receives it as markup (see
/// `crate::loaded::Markup`) rather than the code to draw it.
#[cfg(feature = "ssr")]
pub(crate) fn draw_catalog_page(
    page: &mut crate::catalog::CatalogPage,
    filter: &crate::catalog::store::ParsedFilter,
) {
    page.summary = result_count(page);
    let chosen = Chosen {
        q: filter.q.clone().unwrap_or_default(),
        domain: filter.domain.clone().unwrap_or_default(),
        lifecycle: filter.lifecycle.map(Lifecycle::as_str).unwrap_or_default(),
        team: filter.team.clone().unwrap_or_default(),
        mine: filter.teams_of_caller.is_some(),
    };
    let rows = page
        .topics
        .iter()
        .map(|t| {
            view! {
                <tr>
                    <td><a href=format!("/catalog/{}", t.name)><code>{t.name.clone()}</code></a><br/><span class="muted">{t.title.clone()}</span></td>
                    <td>{t.business_domain.clone()}</td>
                    <td>{t.lifecycle.label()}</td>
                    <td>{t.owning_team.clone()}</td>
                    <td>{sensitivity(t)}</td>
                    <td>{t.environments.join(", ")}</td>
                </tr>
            }
        })
        .collect_view();
    let results = if page.shown == 0 {
        Either::Left(view! { <p class="empty-state">"No topics match."</p> })
    } else {
        Either::Right(view! {
            <p class="result-count" aria-live="polite">{page.summary.clone()}</p>
            <table class="data-table">
                <caption class="visually-hidden">"Topics"</caption>
                <thead><tr>
                    <th scope="col">"Topic"</th><th scope="col">"Domain"</th><th scope="col">"Lifecycle"</th>
                    <th scope="col">"Owning team"</th><th scope="col">"Data"</th><th scope="col">"Environments"</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
            {super::pager::pager("/catalog", chosen.query(), page.next.clone(), page.previous.clone())}
        })
    };
    let listing = view! {
        {filters(&chosen, &page.domains, &page.teams)}
        {results}
    };
    page.listing = crate::loaded::Markup::new(listing.to_html());
}

/// What the catalog's filters show chosen.
#[derive(Default)]
struct Chosen {
    q: String,
    domain: String,
    lifecycle: &'static str,
    team: String,
    mine: bool,
}

impl Chosen {
    /// The query that asks for this choice, in the order the form sends it.
    #[cfg(feature = "ssr")]
    fn query(&self) -> leptos_router::params::ParamsMap {
        let mut query = leptos_router::params::ParamsMap::new();
        for (key, value) in [
            ("q", self.q.as_str()),
            ("domain", self.domain.as_str()),
            ("lifecycle", self.lifecycle),
            ("team", self.team.as_str()),
            ("mine", if self.mine { "1" } else { "" }),
        ] {
            if !value.is_empty() {
                query.insert(key, value.to_owned());
            }
        }
        query
    }
}

/// The search and the filters, as chosen.
fn filters(chosen: &Chosen, domains: &[String], teams: &[String]) -> impl IntoView + use<> {
    let named = |values: &[String]| values.iter().map(|v| (v.clone(), v.clone())).collect();
    let lifecycles = Lifecycle::ALL
        .into_iter()
        .map(|l| (l.as_str().to_owned(), l.label().to_owned()))
        .collect();
    view! {
        <form method="get" action="/catalog" class="filters" role="search" aria-label="Search the catalog">
            <div class="field">
                <label for="q">"Search"</label>
                <input id="q" name="q" type="search" maxlength="200" value=chosen.q.clone() />
            </div>
            {choice("domain", "Business domain", named(domains), &chosen.domain)}
            {choice("lifecycle", "Lifecycle", lifecycles, chosen.lifecycle)}
            {choice("team", "Owning team", named(teams), &chosen.team)}
            <div class="field checkbox">
                <input id="mine" name="mine" type="checkbox" value="1" checked=chosen.mine />
                <label for="mine">"Owned by my teams"</label>
            </div>
            <button type="submit">"Search"</button>
        </form>
    }
}

/// A filter chosen from a list (`(value, text)` pairs), "Any" first, with `selected` chosen.
fn choice(
    name: &'static str,
    label: &'static str,
    values: Vec<(String, String)>,
    selected: &str,
) -> impl IntoView + use<> {
    let options = values
        .into_iter()
        .map(|(value, text)| {
            let chosen = value == selected;
            view! { <option value=value selected=chosen>{text}</option> }
        })
        .collect_view();
    view! {
        <div class="field">
            <label for=name>{label}</label>
            <select id=name name=name><option value="">"Any"</option>{options}</select>
        </div>
    }
}

/// A topic's classification, and a PII badge when it carries personal data.
fn sensitivity(topic: &TopicSummary) -> impl IntoView + use<> {
    let label = topic.classification.label();
    if topic.contains_pii {
        Either::Left(view! { {label} " " <span class="badge badge-warn">"PII"</span> })
    } else {
        Either::Right(label)
    }
}

#[component]
pub fn CatalogPage() -> impl IntoView {
    let query = use_query_map();
    let filter = move || {
        let q = query.read();
        CatalogFilter {
            q: q.get("q"),
            domain: q.get("domain"),
            lifecycle: q.get("lifecycle"),
            team: q.get("team"),
            mine: q.get("mine"),
            after: q.get("after"),
            before: q.get("before"),
        }
    };
    let page = load(filter, list_topics);
    view! {
        <AreaPage area=Area::Catalog intro="Every event on the bus: what it means, who owns it, and where it is available.">
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    // Drawn on the server (`draw_catalog_page`) and kept with the page; the
                    // topics themselves are not in the hydration data.
                    match &*page.by_ref().await {
                        Ok(page) => view! { <div class="listing" inner_html=page.listing.html()></div> }.into_any(),
                        Err(e) => {
                            // The search as written, to be put right.
                            let chosen = Chosen { q: query.read_untracked().get("q").unwrap_or_default(), ..Chosen::default() };
                            view! {
                                {filters(&chosen, &[], &[])}
                                <p role="alert" class="error">{e.to_string()}</p>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </AreaPage>
    }
}

/// How many topics the page shows, and which, when more are a page away (the catalog is not
/// counted: a count would read every matching topic on every page).
#[cfg(feature = "ssr")]
fn result_count(page: &crate::catalog::CatalogPage) -> String {
    let shown = page.topics.len();
    let topics = if shown == 1 { "topic" } else { "topics" };
    if page.is_complete() {
        format!("{shown} {topics}")
    } else {
        format!(
            "{shown} {topics} shown, from {} to {}",
            page.topics.first().map_or("", |t| t.name.as_str()),
            page.topics.last().map_or("", |t| t.name.as_str()),
        )
    }
}

#[component]
pub fn TopicPage() -> impl IntoView {
    let params = use_params_map();
    let topic = load(
        move || params.read().get("name").unwrap_or_default(),
        get_topic,
    );
    view! {
        <AreaPage area=Area::Catalog intro="" titled_by_page=true>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match topic.await {
                        Ok(t) => {
                            let s = t.summary.clone();
                            let heading_name = s.name.clone();
                            let grants = |list: Vec<crate::catalog::GrantView>, empty: &'static str| {
                                if list.is_empty() {
                                    view! { <p class="muted">{empty}</p> }.into_any()
                                } else {
                                    view! { <ul>{list.into_iter().map(|g| view! {
                                        <li>{g.application} " (" {g.team} ") in " {g.environment}
                                            {g.consumer_group.map(|c| view! { ", group " <code>{c}</code> })}
                                            {g.expires_on.map(|d| view! { ", until " {d.to_string()} })}
                                        </li>
                                    }).collect_view()}</ul> }.into_any()
                                }
                            };
                            view! {
                                <PageHeading title=s.name.clone()><code>{heading_name}</code></PageHeading>
                                <p class="lead">{s.title.clone()}</p>
                                <p>{t.description.clone()}</p>
                                <dl class="facts">
                                    <dt>"Owning team"</dt><dd>{s.owning_team.clone()}</dd>
                                    <dt>"Business domain"</dt><dd>{s.business_domain.clone()}</dd>
                                    <dt>"Lifecycle"</dt><dd>{s.lifecycle.label()}{t.removal_date.map(|d| format!(", removed on {d}"))}</dd>
                                    <dt>"Data classification"</dt><dd>{sensitivity(&s)}</dd>
                                    <dt>"Environments"</dt><dd>{s.environments.join(", ")}</dd>
                                    <dt>"Health"</dt><dd>{s.environments.iter().map(|env| view! {
                                        <a class="health-link" href=crate::health::health_link(env, crate::health::SubjectKind::Topic, &s.name)>{format!("Health in {env}")}</a>" "
                                    }).collect_view()}</dd>
                                    <dt>"Source systems"</dt><dd>{t.source_systems.join(", ")}</dd>
                                    <dt>"Partitions"</dt><dd>{t.partitions}</dd>
                                    <dt>"Retention"</dt><dd>{format!("{} days", t.retention_days)}</dd>
                                    <dt>"Cleanup policy"</dt><dd>{t.cleanup_policy.as_str()}</dd>
                                </dl>
                                {(t.can_request_access || t.can_propose_changes).then(|| view! {
                                    <p class="actions">
                                        {t.can_request_access.then(|| view! { <a class="button" href=format!("/requests/new?topic={}", s.name)>"Request access"</a> })}
                                        {t.can_propose_changes.then(|| view! {
                                            <a class="button secondary" href=format!("/requests/topic-change?topic={}", s.name)>"Propose new settings"</a>
                                            <a class="button secondary" href=format!("/requests/schema-change?topic={}", s.name)>"Propose a schema change"</a>
                                        })}
                                    </p>
                                })}
                                <h3>"Producers"</h3>
                                {grants(t.producers, "No application produces to this topic yet.")}
                                <h3>"Consumers"</h3>
                                {grants(t.consumers, "No application consumes this topic yet.")}
                                <h3>"Value schema"</h3>
                                {schema_section(t.value_schema.clone(), "No schema registered for this topic's events yet.")}
                                <h3>"Key schema"</h3>
                                {schema_section(t.key_schema.clone(), "Keys have no schema.")}
                            }.into_any()
                        }
                        Err(crate::error::AppError::NotFound) => view! { <super::status::NotFound /> }.into_any(),
                        Err(e) => view! { <p role="alert" class="error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </AreaPage>
    }
}

/// A subject's latest version: fields with their documentation, an example event, the versions
/// and the mode.
fn schema_section(schema: Option<crate::schemas::SchemaView>, empty: &'static str) -> AnyView {
    let Some(schema) = schema else {
        return view! { <p class="muted">{empty}</p> }.into_any();
    };
    let caption = format!("Fields of {}", schema.subject);
    view! {
        <p data-testid="schema-version">
            <code>{schema.subject.clone()}</code> ", version " {schema.version}
            " (schema id " {schema.id} ", " {schema.format.clone()} "), compatibility " {schema.compatibility.clone()}
        </p>
        <table class="data-table">
            <caption class="visually-hidden">{caption}</caption>
            <thead><tr><th scope="col">"Field"</th><th scope="col">"Type"</th><th scope="col">"Default"</th><th scope="col">"Meaning"</th></tr></thead>
            <tbody>
                {schema.fields.into_iter().map(|f| view! {
                    <tr>
                        <td><code>{f.name}</code></td>
                        <td>{f.kind}</td>
                        <td>{f.default.map(|d| view! { <code>{d}</code> })}</td>
                        <td>{f.doc.unwrap_or_default()}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        <h4>"An example event"</h4>
        <p class="hint">"Made up from the schema to show its shape: real events carry real values."</p>
        <pre class="schema" data-testid="example-event">{schema.example}</pre>
        <details><summary>"The schema as written"</summary><pre class="schema">{schema.text}</pre></details>
        <details data-testid="schema-versions"><summary>{format!("Versions ({})", schema.versions.len())}</summary>
            <ul>
                {schema.versions.into_iter().rev().map(|v| view! {
                    <li>"Version " {v.version} ", schema id " {v.id} ", registered " {v.registered_on.to_string()}</li>
                }).collect_view()}
            </ul>
        </details>
    }
    .into_any()
}

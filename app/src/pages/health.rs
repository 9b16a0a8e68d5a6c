//! Health pages: the cluster overview, a topic, a consumer group, and "my topics". They read the
//! collector's cache through server functions and refresh on every collector tick, pushed by the
//! server's event stream (`/health/events`), without reloading.

use super::areas::{AreaPage, PageHeading};
use crate::domain::Area;
use crate::error::AppError;
use crate::form_action::{PostForm, form_action};
use crate::health::{
    ChartRange, ChartView, ClusterHealthView, SetExpectedInterval, Status, SubjectKind, SubjectRow,
    encode_segment, eval::duration_words, group_health, health_link, health_overview,
    my_topics_health, topic_health,
};
use crate::loaded::load;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

/// A counter that goes up on every collector tick, pushed by the server's event stream.
fn use_health_ticks() -> ReadSignal<u64> {
    super::live::use_event_count(|| Some("/health/events".to_owned()), "tick")
}

fn status_badge(status: Status) -> impl IntoView {
    let class = match status {
        Status::Ok => "badge badge-ok",
        Status::Warning => "badge badge-warn",
        Status::Critical => "badge badge-bad",
    };
    view! { <span class=class data-status=status.as_str()>{status.label()}</span> }
}

fn rate(value: f64) -> String {
    // A sum over nothing is -0.0; show it as 0.0.
    format!("{:.1}", value + 0.0)
}

#[component]
fn Chart(chart: ChartView, testid: &'static str) -> impl IntoView {
    let label = format!("{}. Latest: {}", chart.title, chart.latest);
    view! {
        <figure class="health-chart" data-testid=testid>
            <div class="chart-svg" role="img" aria-label=label inner_html=chart.svg.html()></div>
            <figcaption>
                {chart.title} " — latest: "
                <span data-testid=format!("{testid}-latest")>{chart.latest}</span>
            </figcaption>
        </figure>
    }
}

#[component]
fn RangeLinks(base: String, current: ChartRange) -> impl IntoView {
    view! {
        <nav class="range-links" aria-label="Chart range">
            <ul>
                {ChartRange::ALL.into_iter().map(|r| {
                    let href = format!("{base}?range={}", r.as_str());
                    let current = (r == current).then_some("page");
                    view! { <li><a href=href aria-current=current>{r.label()}</a></li> }
                }).collect_view()}
            </ul>
        </nav>
    }
}

fn error_view(error: &AppError) -> AnyView {
    match error {
        AppError::NotFound => view! {
            <p class="empty-state" role="status">"Not found on this cluster (or not collected yet)."</p>
        }
        .into_any(),
        other => view! { <p role="alert" class="error">{other.to_string()}</p> }.into_any(),
    }
}

/// A table of topics and groups around its body (`<tbody>`).
fn subject_table(
    caption: &'static str,
    figure: &'static str,
    body: impl IntoView,
) -> impl IntoView {
    view! {
        <table class="data-table">
            <caption>{caption}</caption>
            <thead><tr>
                <th scope="col">"Name"</th><th scope="col">"Kind"</th><th scope="col">"Environment"</th>
                <th scope="col">"Status"</th><th scope="col">"Why"</th><th scope="col">{figure}</th>
            </tr></thead>
            {body}
        </table>
    }
}

/// One table row per topic or group.
fn subject_rows(rows: &[SubjectRow]) -> impl IntoView + use<> {
    rows.iter()
        .map(|r| {
            let figure = match r.kind {
                SubjectKind::Topic => format!("{} msg/s", rate(r.figure)),
                SubjectKind::Group => format!("{} behind", r.figure as i64),
            };
            view! {
                <tr>
                    <td><a href=r.link()><code>{r.name.clone()}</code></a></td>
                    <td>{r.kind.as_str()}</td>
                    <td>{r.environment.clone()}</td>
                    <td>{status_badge(r.status)}</td>
                    <td>{r.reason.clone()}</td>
                    <td>{figure}</td>
                </tr>
            }
        })
        .collect_view()
}

/// A cluster's table rows, drawn once per collector tick with the cluster's overview (as the
/// catalog's, see `super::catalog::draw_catalog_page`).
#[cfg(feature = "ssr")]
pub(crate) fn subject_rows_markup(rows: &[SubjectRow]) -> crate::loaded::Markup {
    crate::loaded::Markup::new(subject_rows(rows).to_html())
}

#[component]
fn SubjectTable(
    rows: Vec<SubjectRow>,
    caption: &'static str,
    figure: &'static str,
) -> impl IntoView {
    subject_table(
        caption,
        figure,
        view! { <tbody>{subject_rows(&rows)}</tbody> },
    )
}

#[component]
fn ClusterSection(cluster: ClusterHealthView) -> impl IntoView {
    let heading_id = format!("cluster-{}", cluster.environment);
    let labelled_by = heading_id.clone();
    let testid = format!("cluster-{}", cluster.environment);
    let collected = cluster
        .collected_at
        .map(|t| crate::time::clock(&t))
        .unwrap_or_else(|| "not yet".to_owned());
    // The rows come drawn with the overview, once per collector tick.
    let problems = if cluster.problems.is_empty() {
        view! { <p class="notice ok">"Every topic and consumer group is OK."</p> }.into_any()
    } else {
        subject_table(
            "Topics and groups that need attention",
            "Now",
            view! { <tbody inner_html=cluster.problem_rows.html()></tbody> },
        )
        .into_any()
    };
    view! {
        <section class="cluster" aria-labelledby=labelled_by data-testid=testid>
            <h2 id=heading_id>{cluster.display_name} " " <code>{cluster.environment.clone()}</code></h2>
            {cluster.error.map(|e| view! { <p class="notice bad" role="status">{e}</p> })}
            <dl class="facts">
                <dt>"Collected"</dt><dd>{collected} {format!(" (cycle {} ms)", cluster.cycle_ms)}</dd>
                <dt>"Brokers"</dt><dd>{cluster.brokers}</dd>
                <dt>"Topics"</dt><dd>{cluster.topics}</dd>
                <dt>"Partitions"</dt><dd>{cluster.partitions}</dd>
                <dt>"Under-replicated partitions"</dt><dd>{cluster.under_replicated}</dd>
                <dt>"Offline partitions"</dt><dd>{cluster.offline}</dd>
                <dt>"Consumer groups"</dt><dd>{cluster.groups}</dd>
                <dt>"Messages per second"</dt><dd data-testid="cluster-rate">{rate(cluster.rate)}</dd>
            </dl>
            {problems}
            {(!cluster.busiest.is_empty()).then(|| subject_table(
                "Busiest topics",
                "Throughput",
                view! { <tbody inner_html=cluster.busiest_rows.html()></tbody> },
            ))}
        </section>
    }
}

#[component]
pub fn HealthPage() -> impl IntoView {
    let ticks = use_health_ticks();
    let overview = load(move || ticks.get(), |_| health_overview());
    view! {
        <AreaPage
            area=Area::Health
            intro="Live throughput, consumer lag and silence for every topic on every cluster."
        >
            <p><a href="/health/mine">"Topics of my teams"</a></p>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match overview.await {
                        Ok(clusters) => clusters.into_iter().map(|cluster| view! { <ClusterSection cluster /> }).collect_view().into_any(),
                        Err(e) => error_view(&e),
                    }
                })}
            </Transition>
        </AreaPage>
    }
}

#[component]
pub fn MyTopicsHealthPage() -> impl IntoView {
    let ticks = use_health_ticks();
    let rows = load(move || ticks.get(), |_| my_topics_health());
    view! {
        <AreaPage area=Area::Health intro="The topics your teams own, on every cluster they are on.">
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match rows.await {
                        Ok(rows) if rows.is_empty() => view! { <p class="empty-state">"Your teams own no topics yet."</p> }.into_any(),
                        Ok(rows) => view! { <SubjectTable rows caption="My teams' topics" figure="Throughput" /> }.into_any(),
                        Err(e) => error_view(&e),
                    }
                })}
            </Transition>
        </AreaPage>
    }
}

#[component]
pub fn TopicHealthPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let ticks = use_health_ticks();
    let save = form_action::<SetExpectedInterval>();
    let data = load(
        move || {
            (
                params.read().get("env").unwrap_or_default(),
                params.read().get("name").unwrap_or_default(),
                query.read().get("range").unwrap_or_default(),
                ticks.get(),
                save.version().get(),
            )
        },
        |(env, name, range, _, _)| topic_health(env, name, range),
    );
    let save_error = move || match save.value().get() {
        Some(Err(e)) => Some(view! { <p role="alert" class="field-error">{e.to_string()}</p> }),
        _ => None,
    };
    view! {
        <AreaPage area=Area::Health intro="" titled_by_page=true>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(v) => {
                            let t = v.topic.clone();
                            let base = health_link(&v.environment, SubjectKind::Topic, &t.name);
                            let last = t.last_message_at.map_or_else(
                                || "none seen yet".to_owned(),
                                |at| format!("{} ago", duration_words((v.collected_at - at).num_seconds())),
                            );
                            let groups = v.groups.clone();
                            let env = v.environment.clone();
                            let heading = (t.name.clone(), v.environment.clone());
                            view! {
                                <PageHeading title=format!("{} in {}", t.name, v.environment)><code>{heading.0}</code> " in " {heading.1}</PageHeading>
                                <p data-testid="topic-status">{status_badge(t.health.status)} " " <span data-testid="topic-reason">{t.health.reason.clone()}</span></p>
                                {v.in_catalog.then(|| view! { <p><a href=format!("/catalog/{}", encode_segment(&t.name))>"Catalog entry"</a></p> })}
                                <dl class="facts">
                                    <dt>"Messages per second"</dt><dd data-testid="topic-rate">{rate(t.rate)}</dd>
                                    <dt>"Messages written since the topic was created"</dt><dd data-testid="topic-total">{t.latest_total}</dd>
                                    <dt>"Messages still kept"</dt><dd>{t.retained} <span class="muted">" (older ones were removed by the retention policy)"</span></dd>
                                    <dt>"Last message"</dt><dd>{last}</dd>
                                    <dt>"Expected at least every"</dt><dd>{format!("{} ({})", duration_words(t.expected.seconds), t.expected.source.label())}</dd>
                                    <dt>"Partitions"</dt><dd>{t.partitions.len()} {format!(" ({} under-replicated, {} offline)", t.under_replicated, t.offline)}</dd>
                                    <dt>"Owning team"</dt><dd>{t.owner.clone().unwrap_or_else(|| "not in the catalog for this environment".to_owned())}</dd>
                                </dl>
                                <RangeLinks base=base current=v.range />
                                <Chart chart=v.throughput.clone() testid="throughput-chart" />
                                <Chart chart=v.lag.clone() testid="lag-chart" />
                                <h3>"Consumer groups"</h3>
                                {if groups.is_empty() {
                                    view! { <p class="muted">"No consumer group has committed offsets for this topic."</p> }.into_any()
                                } else {
                                    view! {
                                        <table class="data-table">
                                            <caption class="visually-hidden">"Consumer groups reading this topic"</caption>
                                            <thead><tr><th scope="col">"Group"</th><th scope="col">"State"</th><th scope="col">"Lag (messages)"</th><th scope="col">"Behind"</th><th scope="col">"Status"</th><th scope="col">"Why"</th></tr></thead>
                                            <tbody>
                                                {groups.into_iter().map(|g| view! {
                                                    <tr>
                                                        <td><a href=health_link(&env, SubjectKind::Group, &g.id)><code>{g.id.clone()}</code></a></td>
                                                        <td>{g.state}</td>
                                                        <td>{g.lag}</td>
                                                        <td>{duration_words(g.seconds_behind.round() as i64)}</td>
                                                        <td>{status_badge(g.status)}</td>
                                                        <td>{g.reason}</td>
                                                    </tr>
                                                }).collect_view()}
                                            </tbody>
                                        </table>
                                    }.into_any()
                                }}
                                <h3>"Partitions"</h3>
                                <table class="data-table" data-testid="partitions">
                                    <caption class="visually-hidden">"Partitions of this topic"</caption>
                                    <thead><tr><th scope="col">"Partition"</th><th scope="col">"Leader"</th><th scope="col">"Replicas"</th><th scope="col">"In sync"</th><th scope="col">"Earliest offset"</th><th scope="col">"Latest offset"</th><th scope="col">"Messages per second"</th></tr></thead>
                                    <tbody>
                                        {t.partitions.iter().map(|p| {
                                            let join = |ids: &[i32]| ids.iter().map(i32::to_string).collect::<Vec<_>>().join(", ");
                                            view! {
                                                <tr>
                                                    <td>{p.partition}</td>
                                                    <td>{p.leader.map_or_else(|| "none (offline)".to_owned(), |l| l.to_string())}</td>
                                                    <td>{join(&p.replicas)}</td>
                                                    <td>{join(&p.isr)}</td>
                                                    <td>{p.earliest}</td>
                                                    <td>{p.latest}</td>
                                                    <td>{rate(p.rate)}</td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                {v.can_edit.then(|| view! {
                                    <h3>"Silence alerts"</h3>
                                    <PostForm action=save attr:class="request-form">
                                        <input type="hidden" name="topic" value=t.name.clone() />
                                        <div class="field">
                                            <label for="expected-minutes">"Expected interval between messages, in minutes (empty: learn it from the history)"</label>
                                            <input id="expected-minutes" name="minutes" inputmode="numeric" maxlength="5" value=v.owner_interval_minutes.map(|m| m.to_string()).unwrap_or_default() />
                                        </div>
                                        <button type="submit">"Save the expected interval"</button>
                                    </PostForm>
                                })}
                            }.into_any()
                        }
                        Err(e) => error_view(&e),
                    }
                })}
            </Transition>
            {save_error}
        </AreaPage>
    }
}

#[component]
pub fn GroupHealthPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let ticks = use_health_ticks();
    let data = load(
        move || {
            (
                params.read().get("env").unwrap_or_default(),
                params.read().get("group").unwrap_or_default(),
                query.read().get("range").unwrap_or_default(),
                ticks.get(),
            )
        },
        |(env, group, range, _)| group_health(env, group, range),
    );
    view! {
        <AreaPage area=Area::Health intro="" titled_by_page=true>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(v) => {
                            let g = v.group.clone();
                            let env = v.environment.clone();
                            let base = health_link(&env, SubjectKind::Group, &g.id);
                            let heading = (g.id.clone(), env.clone());
                            view! {
                                <PageHeading title=format!("Consumer group {} in {}", g.id, env)>"Consumer group " <code>{heading.0}</code> " in " {heading.1}</PageHeading>
                                <p data-testid="group-status">{status_badge(g.health.status)} " " {g.health.reason.clone()}</p>
                                <dl class="facts">
                                    <dt>"State"</dt><dd>{g.state.clone()}</dd>
                                    <dt>"Members"</dt><dd>{g.members}</dd>
                                    <dt>"Lag (messages)"</dt><dd data-testid="group-lag">{g.lag}</dd>
                                    <dt>"Estimated time behind"</dt><dd>{duration_words(g.seconds_behind.round() as i64)}</dd>
                                    <dt>"Owning team"</dt><dd>{g.owner.clone().unwrap_or_else(|| "unknown".to_owned())}</dd>
                                </dl>
                                <RangeLinks base=base current=v.range />
                                <Chart chart=v.lag.clone() testid="group-lag-chart" />
                                <table class="data-table">
                                    <caption>"Lag per partition"</caption>
                                    <thead><tr><th scope="col">"Topic"</th><th scope="col">"Partition"</th><th scope="col">"Committed offset"</th><th scope="col">"Latest offset"</th><th scope="col">"Lag"</th></tr></thead>
                                    <tbody>
                                        {g.partitions.into_iter().map(|p| view! {
                                            <tr>
                                                <td><a href=health_link(&env, SubjectKind::Topic, &p.topic)><code>{p.topic.clone()}</code></a></td>
                                                <td>{p.partition}</td>
                                                <td>{p.committed}</td>
                                                <td>{p.latest}</td>
                                                <td>{p.lag}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            }.into_any()
                        }
                        Err(e) => error_view(&e),
                    }
                })}
            </Transition>
        </AreaPage>
    }
}

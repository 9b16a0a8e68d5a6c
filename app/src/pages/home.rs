//! Home. Signed in: what waits for you (decisions, your teams' open requests, topics that need
//! attention, unread notices) or, for someone new, how to start. Signed out: what the bus is for,
//! and whether it fits your system.

use crate::CurrentUser;
use crate::home::{HomeItem, HomeSummary, what_waits};
use crate::loaded::load;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn HomePage() -> impl IntoView {
    let CurrentUser(user) = expect_context();
    // Created before the page suspends, in the same order on server and browser.
    let summary = load(|| (), |_| what_waits());
    view! {
        <Title text="" />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match user.await {
                    Ok(Some(user)) => match summary.await {
                        Ok(summary) => view! { <Dashboard name=user.display_name summary /> }.into_any(),
                        Err(_) => view! { <Landing signed_in=true /> }.into_any(),
                    },
                    _ => view! { <Landing signed_in=false /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn request_line(item: HomeItem) -> impl IntoView {
    let waiting = (!item.waiting_on.is_empty()).then(|| {
        format!(
            " · waiting for {}",
            crate::domain::in_words_list(
                &item
                    .waiting_on
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
            )
        )
    });
    view! {
        <li>
            <a href=format!("/requests/{}", item.id)>{item.title}</a>
            " " <span class="badge">{item.state.label()}</span>
            <span class="muted">{waiting} {format!(" · for {}", item.since)}</span>
        </li>
    }
}

/// What waits for a signed-in person.
#[component]
fn Dashboard(name: String, summary: HomeSummary) -> impl IntoView {
    let HomeSummary {
        to_decide,
        to_decide_total,
        open,
        attention,
        unread,
        new_here,
        can_request,
    } = summary;
    let nothing_waits =
        !new_here && to_decide.is_empty() && open.is_empty() && attention.is_empty();
    view! {
        <section class="panel" aria-labelledby="page-title" data-testid="home">
            <h1 id="page-title">{format!("Welcome, {name}")}</h1>
            {(unread > 0).then(|| view! {
                <p><a href="/notifications" class="notifications-link">{format!("{unread} unread notice{}", if unread == 1 { "" } else { "s" })}</a></p>
            })}
            {(!to_decide.is_empty()).then(|| view! {
                <section aria-labelledby="decide-title" data-testid="home-decide">
                    <h2 id="decide-title">"Waiting for your decision"</h2>
                    <ul class="home-list">{to_decide.into_iter().map(request_line).collect_view()}</ul>
                    <p><a href="/approvals">{format!("All {to_decide_total} in your approvals queue")}</a></p>
                </section>
            })}
            {(!open.is_empty()).then(|| view! {
                <section aria-labelledby="open-title" data-testid="home-open">
                    <h2 id="open-title">"Your open requests"</h2>
                    <ul class="home-list">{open.into_iter().map(request_line).collect_view()}</ul>
                    <p><a href="/requests">"All your requests"</a></p>
                </section>
            })}
            {(!attention.is_empty()).then(|| view! {
                <section aria-labelledby="attention-title" data-testid="home-attention">
                    <h2 id="attention-title">"Your teams' topics that need attention"</h2>
                    <ul class="home-list">
                        {attention.into_iter().map(|t| view! {
                            <li>
                                <a href=t.link()><code>{t.name.clone()}</code> " in " {t.environment.clone()}</a>
                                " " <span class="badge" data-status=t.status.as_str()>{t.status.label()}</span>
                                " " <span class="muted">{t.reason.clone()}</span>
                            </li>
                        }).collect_view()}
                    </ul>
                </section>
            })}
            {new_here.then(|| view! {
                <section aria-labelledby="start-title" data-testid="home-start">
                    <h2 id="start-title">"How to start"</h2>
                    <ol class="steps">
                        <li><a href="/catalog">"Find the events you need in the catalog"</a>": what each one means, who owns it, and where it is available."</li>
                        {if can_request {
                            view! {
                                <li><a href="/requests/new-application">"Register your application"</a>" with the compliance facts governance needs."</li>
                                <li><a href="/requests/new">"Ask for producer or consumer access"</a>", or "<a href="/requests/new-topic">"propose a new topic"</a>". The request page shows who decides and, once approved, how to connect."</li>
                            }.into_any()
                        } else {
                            view! {
                                <li><a href="/health">"See how the topics are doing"</a>": throughput, consumer lag and silence, live."</li>
                                <li>"To ask for access for an application, ask your team's lead to add you to your team's group in the identity provider; then sign in again."</li>
                            }.into_any()
                        }}
                    </ol>
                </section>
            })}
            {nothing_waits.then(|| view! {
                <p class="empty-state">"Nothing waits for you. "<a href="/catalog">"Browse the catalog"</a>"."</p>
            })}
        </section>
    }
}

/// What the bus is for, for people who have not signed in.
#[component]
fn Landing(signed_in: bool) -> impl IntoView {
    view! {
        <section class="hero" aria-labelledby="hero-title">
            <h1 id="hero-title">"Share events across the enterprise, safely and in real time"</h1>
            <p class="lead">
                "The event bus lets a system publish an event once, when its data changes, and lets any number of other systems react to it. "
                "Producers never need to know who consumes. Every event is governed: its schema is checked, its data classification recorded, and its health watched, so there are no silent failures."
            </p>
            {(!signed_in).then(|| view! {
                <p><a class="button" href="/auth/login" rel="external">"Sign in to request access"</a></p>
            })}
        </section>

        <section class="panel" aria-labelledby="how-title">
            <h2 id="how-title">"How the portal works"</h2>
            <ol class="steps">
                <li><strong>"Ask. "</strong>"Request producer or consumer access to a topic, propose a new event topic, or register a schema, with the compliance details the bus needs."</li>
                <li><strong>"Decide. "</strong>"The owning team and governance approve or decline with a reason. Nobody approves their own request, and every decision is recorded."</li>
                <li><strong>"Apply. "</strong>"The portal creates the topic, credentials and access rules on the Kafka cluster, and keeps checking that the cluster still matches."</li>
                <li><strong>"Watch. "</strong>"Throughput, consumer lag and silence are visible live, and owners are alerted when a topic goes quiet or a consumer falls behind."</li>
            </ol>
        </section>

        <section class="panel" aria-labelledby="fit-title">
            <h2 id="fit-title">"Is the event bus right for your system?"</h2>
            <div class="fit-grid">
                <div>
                    <h3>"A good fit when"</h3>
                    <ul>
                        <li>"Your system has many parts that change independently and need to hear about each other's changes."</li>
                        <li>"You want to replace polling or nightly batches with updates as they happen."</li>
                        <li>"People should see updates in real time, such as a decision letter being ready."</li>
                        <li>"Components should keep working while another one is slow or being updated."</li>
                    </ul>
                </div>
                <div>
                    <h3>"Not a good fit when"</h3>
                    <ul>
                        <li>"The system is simple or a prototype."</li>
                        <li>"Data is read on a schedule or rarely, and nothing is time-critical."</li>
                        <li>"You need a synchronous request and response."</li>
                        <li>"The data is High sensitivity under FISMA: only Low and Moderate data may travel on the bus."</li>
                    </ul>
                </div>
            </div>
        </section>
    }
}

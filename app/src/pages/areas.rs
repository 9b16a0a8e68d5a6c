//! The signed-in areas. Each checks the caller's roles before showing anything; the server also
//! redirects anonymous visitors to sign-in before these render.

use super::status::{ErrorPanel, Forbidden, SignInRequired};
use crate::CurrentUser;
use crate::domain::Area;
use crate::environments::list_environments;
use leptos::prelude::*;
use leptos_meta::Title;

/// Frame of an area page: the role check, then the title, heading and introduction.
#[component]
fn AreaPage(area: Area, intro: &'static str, children: ChildrenFn) -> impl IntoView {
    let CurrentUser(user) = expect_context();
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || {
                let children = children.clone();
                Suspend::new(async move {
                    match user.await {
                        Ok(Some(user)) if area.is_open_to(&user) => view! {
                            <Title text=area.label() />
                            <section class="panel" aria-labelledby="page-title">
                                <h1 id="page-title">{area.label()}</h1>
                                <p class="intro">{intro}</p>
                                {children()}
                            </section>
                        }.into_any(),
                        Ok(Some(_)) => view! { <Forbidden /> }.into_any(),
                        Ok(None) => view! { <SignInRequired next=area.path() /> }.into_any(),
                        Err(_) => view! { <ErrorPanel /> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

#[component]
fn EmptyState(text: &'static str) -> impl IntoView {
    view! { <p class="empty-state">{text}</p> }
}

#[component]
pub fn CatalogPage() -> impl IntoView {
    view! {
        <AreaPage
            area=Area::Catalog
            intro="Every event on the bus: what it means, who owns it, its schema, and which systems consume it."
        >
            <EmptyState text="No topics are registered yet." />
        </AreaPage>
    }
}

#[component]
pub fn MyRequestsPage() -> impl IntoView {
    view! {
        <AreaPage
            area=Area::MyRequests
            intro="Access, topic and schema requests made by you and your teams, with where each one stands."
        >
            <EmptyState text="You have no requests." />
        </AreaPage>
    }
}

#[component]
pub fn ApprovalsPage() -> impl IntoView {
    view! {
        <AreaPage
            area=Area::Approvals
            intro="Requests waiting for your decision, with the compliance details you need to decide."
        >
            <EmptyState text="Nothing is waiting for you." />
        </AreaPage>
    }
}

#[component]
pub fn HealthPage() -> impl IntoView {
    view! {
        <AreaPage
            area=Area::Health
            intro="Live throughput, consumer lag and silence for every topic on every cluster."
        >
            <EmptyState text="No topics are being monitored yet." />
        </AreaPage>
    }
}

#[component]
pub fn AdminPage() -> impl IntoView {
    view! {
        <AreaPage
            area=Area::Admin
            intro="Clusters, drift between the portal and Kafka, and the audit trail."
        >
            <Environments />
        </AreaPage>
    }
}

/// The clusters the portal manages, as configured.
#[component]
fn Environments() -> impl IntoView {
    let environments = Resource::new(|| (), |_| list_environments());
    view! {
        <h2>"Kafka environments"</h2>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match environments.await {
                    Ok(list) => view! {
                        <table class="data-table">
                            <caption class="visually-hidden">"Configured Kafka environments"</caption>
                            <thead><tr><th scope="col">"Name"</th><th scope="col">"Environment"</th><th scope="col">"PII and PHI"</th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|env| view! {
                                    <tr>
                                        <td><code>{env.name}</code></td>
                                        <td>{env.display_name}</td>
                                        <td>{if env.allows_pii { "Allowed" } else { "Not allowed" }}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(error) => view! { <p role="alert">{error.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

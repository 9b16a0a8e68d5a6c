//! The signed-in areas. Each checks the caller's roles before showing anything; the server also
//! redirects anonymous visitors to sign-in before these render.

use super::status::{ErrorPanel, Forbidden, SignInRequired};
use crate::CurrentUser;
use crate::domain::Area;
use crate::environments::list_environments;
use crate::loaded::{Loaded, load};
use leptos::prelude::*;
use leptos_meta::Title;

/// Loads what a page needs before it renders; see [`AreaPage`].
pub type Preload = std::sync::Arc<
    dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> + Send + Sync,
>;

/// Frame of an area page: the role check, then the title, heading and introduction.
#[component]
pub fn AreaPage(
    area: Area,
    intro: &'static str,
    /// Who may open the page, when it differs from the area's roles.
    #[prop(optional)]
    open_to: Option<&'static [crate::domain::Role]>,
    /// Data the page needs before it renders at all. Pages that would otherwise nest a
    /// `Transition` inside this frame load through here: nested suspense inside a form did not
    /// hydrate reliably.
    #[prop(optional)]
    preload: Option<Preload>,
    /// The page's heading and title when it is not the area's name ("New access request").
    #[prop(optional)]
    title: Option<&'static str>,
    /// The page names what it shows once loaded (a topic, a request): it renders its own
    /// heading, with [`PageHeading`].
    #[prop(optional)]
    titled_by_page: bool,
    children: ChildrenFn,
) -> impl IntoView {
    let title = title.unwrap_or_else(|| area.label());
    let CurrentUser(user) = expect_context();
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || {
                let children = children.clone();
                let preload = preload.clone();
                Suspend::new(async move {
                    if let Some(preload) = preload {
                        preload().await;
                    }
                    match user.await {
                        Ok(Some(user)) if open_to.map_or_else(|| area.is_open_to(&user), |roles| user.has_any_role(roles)) => view! {
                            {(!titled_by_page).then(|| view! { <Title text=title /> })}
                            <section class="panel" aria-labelledby="page-title">
                                {(!titled_by_page).then(|| view! { <h1 id="page-title">{title}</h1> })}
                                {(!intro.is_empty()).then(|| view! { <p class="intro">{intro}</p> })}
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

/// The heading of a page that names what it shows, and the window's title to match.
#[component]
pub fn PageHeading(title: String, children: Children) -> impl IntoView {
    view! {
        <Title text=title />
        <h1 id="page-title" class="page-name">{children()}</h1>
    }
}

#[component]
pub fn AdminPage() -> impl IntoView {
    // Resources are created before the page suspends, in the same order on server and browser.
    let audit = load(|| (), |_| crate::audit::verify_audit_chain());
    let environments = load(|| (), |_| list_environments());
    view! {
        <AreaPage
            area=Area::Admin
            intro="Clusters, drift between the portal and Kafka, and the audit trail."
        >
            <AuditChain status=audit />
            <h2>"Drift"</h2>
            <p><a href="/admin/drift">"Compare the clusters with the portal"</a>" — unknown topics and ACLs, restored ones, and the latest checks."</p>
            <Environments environments />
        </AreaPage>
    }
}

/// The clusters the portal manages, as configured.
#[component]
fn Environments(
    environments: Loaded<
        Result<Vec<crate::environments::EnvironmentSummary>, crate::error::AppError>,
    >,
) -> impl IntoView {
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

/// Whether the audit log's hash chain is intact, checked row by row on the server.
#[component]
fn AuditChain(
    status: Loaded<Result<crate::audit::ChainStatus, crate::error::AppError>>,
) -> impl IntoView {
    view! {
        <h2>"Audit trail"</h2>
        <Suspense fallback=|| view! { <p class="loading">"Checking…"</p> }>
            {move || Suspend::new(async move {
                match status.await {
                    Ok(s) if s.intact() => view! {
                        <p class="notice ok" data-testid="audit-status">{format!("Intact: all {} entries link to the one before and match their hashes.", s.rows_checked)}</p>
                    }.into_any(),
                    Ok(s) => view! {
                        <p class="notice bad" role="alert" data-testid="audit-status">{format!("Broken at entry {}: the log was changed outside the portal.", s.first_broken_id.unwrap_or_default())}</p>
                    }.into_any(),
                    Err(error) => view! { <p role="alert">{error.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The two ways out of a confirmation page: do it, or go back to `cancel` with nothing changed.
#[component]
pub fn ConfirmActions(
    /// The button that does it, in words that say what happens ("Yes, revoke access").
    yes: &'static str,
    cancel: String,
) -> impl IntoView {
    view! {
        <div class="actions">
            <button type="submit" class="danger">{yes}</button>
            <a class="button secondary" href=cancel>"Cancel"</a>
        </div>
    }
}

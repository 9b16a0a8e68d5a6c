//! Event Bus Portal: the pages, the server functions behind them, and the domain types that the
//! browser and the server share. Compiled twice: with `ssr` into the server, with `hydrate` into
//! the browser bundle.

pub mod applications;
pub mod apply;
pub mod audit;
pub mod auth;
pub mod catalog;
pub mod connect;
#[cfg(feature = "ssr")]
pub mod context;
#[cfg(feature = "ssr")]
pub mod credentials;
pub mod domain;
pub mod drift;
pub mod environments;
pub mod error;
pub mod form_action;
pub mod form_fields;
pub mod health;
pub mod home;
mod layout;
pub mod loaded;
pub mod notifications;
#[cfg(feature = "ssr")]
pub mod page_cache;
mod pages;
pub mod paging;
pub mod requests;
pub mod schemas;
#[cfg(feature = "ssr")]
pub mod store;
pub mod teams;
pub mod time;

use crate::loaded::Loaded;
use auth::get_session_user;
use domain::UserIdentity;
use error::AppError;
use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::{
    Lazy, SsrMode,
    components::{Route, Router, Routes},
    path,
};

/// Where server functions are served; every `#[server]` here uses this prefix.
pub const SERVER_FN_PREFIX: &str = "/api/";

/// The name of the browser bundle: `/pkg/<name>.js`, `/pkg/<name>_bg.wasm`, `/pkg/<name>.css`.
pub const BUNDLE_NAME: &str = "portal";

/// Where pages load the bundle from: `/static/<version>`, the version being a digest of the
/// bundle's files, so each build has addresses of its own and browsers keep every file for good.
/// Provided to the shell by the server; without it the bundle is loaded from `/pkg`.
#[derive(Clone, Debug)]
pub struct BundleRoot(pub std::sync::Arc<str>);

impl BundleRoot {
    /// The versioned address prefix of a bundle whose files digest to `version`.
    pub fn versioned(version: &str) -> Self {
        Self(format!("/static/{version}").into())
    }
}

/// The signed-in user for this page load, read once and shared with every component.
#[derive(Clone, Copy)]
pub struct CurrentUser(pub Loaded<Result<Option<UserIdentity>, AppError>>);

/// The Content-Security-Policy of an app page: scripts only from this origin or carrying this
/// response's nonce (the hydration scripts), WebAssembly compilation allowed, no inline styles,
/// forms only to the portal and the identity provider (sign-out continues there), no framing.
pub fn page_policy(nonce: &str, identity_provider_origin: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self' {identity_provider_origin}; \
         frame-ancestors 'none'"
    )
}

/// Every page is loaded with its route: the browser bundle's main module holds the shell
/// (header, router, sign-in state) and each page's code is a chunk of its own, fetched when the
/// page is first shown (and preloaded by the server's HTML for the page it renders). On the
/// server the pages render as usual.
mod lazy_pages {
    use crate::pages;
    use leptos::prelude::*;
    use leptos_router::{LazyRoute, lazy_route};

    macro_rules! lazy_page {
        ($($route:ident => $page:ident),* $(,)?) => {$(
            pub struct $route;

            #[lazy_route]
            impl LazyRoute for $route {
                fn data() -> Self {
                    Self
                }

                fn view(_this: Self) -> AnyView {
                    crate::mark_hydrated();
                    view! { <pages::$page /> }.into_any()
                }
            }
        )*};
    }

    lazy_page! {
        Home => HomePage,
        Catalog => CatalogPage,
        Topic => TopicPage,
        MyRequests => MyRequestsPage,
        NewRequest => NewRequestPage,
        NewTopic => NewTopicPage,
        TopicChange => TopicChangePage,
        SchemaChange => SchemaChangePage,
        Teams => TeamsPage,
        NewApplication => NewApplicationPage,
        Application => ApplicationPage,
        Request => RequestPage,
        Approvals => ApprovalsPage,
        Health => HealthPage,
        MyTopicsHealth => MyTopicsHealthPage,
        TopicHealth => TopicHealthPage,
        GroupHealth => GroupHealthPage,
        Notifications => NotificationsPage,
        Admin => AdminPage,
        Drift => DriftPage,
    }
}

/// Marks the body once the page's view is hydrated: a marker tests (and tools) can wait for.
/// Each page marks itself, because a page's code arrives after the shell's.
pub(crate) fn mark_hydrated() {
    // Effects run only in the browser, after the view they belong to is hydrated.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let root = use_context::<BundleRoot>().map_or_else(String::new, |r| r.0.to_string());
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="description" content="Self-service access, topics and schemas for the enterprise event bus." />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <link rel="stylesheet" id="portal" href=format!("{root}/pkg/{BUNDLE_NAME}.css") />
                <HydrationScripts options root />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn pages_allow_their_nonce_and_wasm_only() {
        let policy = super::page_policy("abc", "https://login.example.test");
        assert!(policy.contains("script-src 'self' 'nonce-abc' 'wasm-unsafe-eval'"));
        assert!(policy.contains("frame-ancestors 'none'"));
        assert!(policy.contains("form-action 'self' https://login.example.test"));
        assert!(!policy.contains("unsafe-inline"));
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Blocking: the whole response waits for it, as every page is drawn for this user.
    let user: Loaded<_> = Resource::new_with_options(|| (), |_| get_session_user(), true);
    provide_context(CurrentUser(user));

    view! {
        <Title formatter=|page: String| {
            if page.is_empty() { "Event Bus Portal".to_owned() } else { format!("{page} · Event Bus Portal") }
        } />
        <Router>
            <layout::Header />
            <main id="main" tabindex="-1">
                <Routes fallback=pages::NotFound>
                    <Route path=path!("/") view={Lazy::<lazy_pages::Home>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/catalog") view={Lazy::<lazy_pages::Catalog>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/catalog/:name") view={Lazy::<lazy_pages::Topic>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/requests") view={Lazy::<lazy_pages::MyRequests>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/requests/new") view={Lazy::<lazy_pages::NewRequest>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/requests/new-topic") view={Lazy::<lazy_pages::NewTopic>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/requests/topic-change") view={Lazy::<lazy_pages::TopicChange>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/requests/schema-change") view={Lazy::<lazy_pages::SchemaChange>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/requests/teams") view={Lazy::<lazy_pages::Teams>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/requests/new-application") view={Lazy::<lazy_pages::NewApplication>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/requests/applications/:id") view={Lazy::<lazy_pages::Application>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/requests/:id") view={Lazy::<lazy_pages::Request>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/approvals") view={Lazy::<lazy_pages::Approvals>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/health") view={Lazy::<lazy_pages::Health>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/health/mine") view={Lazy::<lazy_pages::MyTopicsHealth>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/health/:env/topics/:name") view={Lazy::<lazy_pages::TopicHealth>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/health/:env/groups/:group") view={Lazy::<lazy_pages::GroupHealth>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/notifications") view={Lazy::<lazy_pages::Notifications>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/admin") view={Lazy::<lazy_pages::Admin>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/admin/drift") view={Lazy::<lazy_pages::Drift>::new()} ssr=SsrMode::Async />
                </Routes>
            </main>
            <layout::Footer />
        </Router>
    }
}

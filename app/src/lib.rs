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
pub mod health;
pub mod home;
mod layout;
pub mod notifications;
mod pages;
pub mod requests;
pub mod schemas;
#[cfg(feature = "ssr")]
pub mod store;
pub mod teams;

use auth::get_session_user;
use domain::UserIdentity;
use error::AppError;
use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    SsrMode,
    components::{Route, Router, Routes},
    path,
};

/// Where server functions are served; every `#[server]` here uses this prefix.
pub const SERVER_FN_PREFIX: &str = "/api/";

/// The name of the browser bundle: `/pkg/<name>.js`, `/pkg/<name>_bg.wasm`, `/pkg/<name>.css`.
pub const BUNDLE_NAME: &str = "portal";

/// The signed-in user for this page load, read once and shared with every component.
#[derive(Clone, Copy)]
pub struct CurrentUser(pub Resource<Result<Option<UserIdentity>, AppError>>);

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

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="description" content="Self-service access, topics and schemas for the enterprise event bus." />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <HydrationScripts options />
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
    let user = Resource::new_blocking(|| (), |_| get_session_user());
    provide_context(CurrentUser(user));
    // Effects run only in the browser, after hydration: a marker tests (and tools) can wait for.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <Stylesheet id="portal" href=format!("/pkg/{BUNDLE_NAME}.css") />
        <Title formatter=|page: String| {
            if page.is_empty() { "Event Bus Portal".to_owned() } else { format!("{page} · Event Bus Portal") }
        } />
        <Router>
            <layout::Header />
            <main id="main" tabindex="-1">
                <Routes fallback=pages::NotFound>
                    <Route path=path!("/") view=pages::HomePage ssr=SsrMode::Async />
                    <Route path=path!("/catalog") view=pages::CatalogPage ssr=SsrMode::Async />
                    <Route path=path!("/catalog/:name") view=pages::TopicPage ssr=SsrMode::Async />
                    <Route path=path!("/requests") view=pages::MyRequestsPage ssr=SsrMode::Async />
                    <Route path=path!("/requests/new") view=pages::NewRequestPage ssr=SsrMode::Async />
                    <Route path=path!("/requests/new-topic") view=pages::NewTopicPage ssr=SsrMode::Async />
                    <Route path=path!("/requests/topic-change") view=pages::TopicChangePage ssr=SsrMode::Async />
                    <Route path=path!("/requests/schema-change") view=pages::SchemaChangePage ssr=SsrMode::Async />
                    <Route path=path!("/requests/teams") view=pages::TeamsPage ssr=SsrMode::Async />
                    <Route path=path!("/requests/new-application") view=pages::NewApplicationPage ssr=SsrMode::Async />
                    <Route path=path!("/requests/:id") view=pages::RequestPage ssr=SsrMode::Async />
                    <Route path=path!("/approvals") view=pages::ApprovalsPage ssr=SsrMode::Async />
                    <Route path=path!("/health") view=pages::HealthPage ssr=SsrMode::Async />
                    <Route path=path!("/health/mine") view=pages::MyTopicsHealthPage ssr=SsrMode::Async />
                    <Route path=path!("/health/:env/topics/:name") view=pages::TopicHealthPage ssr=SsrMode::Async />
                    <Route path=path!("/health/:env/groups/:group") view=pages::GroupHealthPage ssr=SsrMode::Async />
                    <Route path=path!("/notifications") view=pages::NotificationsPage ssr=SsrMode::Async />
                    <Route path=path!("/admin") view=pages::AdminPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/drift") view=pages::DriftPage ssr=SsrMode::Async />
                </Routes>
            </main>
            <layout::Footer />
        </Router>
    }
}

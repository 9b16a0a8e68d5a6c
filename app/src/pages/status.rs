//! Pages for "not found", "not allowed" and "something broke", each with its HTTP status.

use leptos::prelude::*;
use leptos_meta::Title;

/// Sets the status of the server-rendered response. Does nothing in the browser.
pub fn set_status(status: http::StatusCode) {
    #[cfg(feature = "ssr")]
    if let Some(options) = use_context::<leptos_axum::ResponseOptions>() {
        options.set_status(status);
    }
    #[cfg(not(feature = "ssr"))]
    let _ = status;
}

#[component]
pub fn NotFound() -> impl IntoView {
    set_status(http::StatusCode::NOT_FOUND);
    crate::mark_hydrated();
    view! {
        <Title text="Page not found" />
        <section class="panel status-page">
            <h1>"Page not found"</h1>
            <p>"There is no page at this address. It may have moved, or the link may be mistyped."</p>
            <p><a href="/" rel="external">"Go to the start page"</a></p>
        </section>
    }
}

#[component]
pub fn Forbidden() -> impl IntoView {
    set_status(http::StatusCode::FORBIDDEN);
    view! {
        <Title text="Not allowed" />
        <section class="panel status-page">
            <h1>"You do not have access to this page"</h1>
            <p>"Your roles do not include this area. If you need it, ask a platform administrator to add you to the right group in the identity provider."</p>
        </section>
    }
}

#[component]
pub fn SignInRequired(next: &'static str) -> impl IntoView {
    set_status(http::StatusCode::UNAUTHORIZED);
    view! {
        <Title text="Sign in required" />
        <section class="panel status-page">
            <h1>"Please sign in"</h1>
            <p>"Your session has ended or you have not signed in yet."</p>
            <p><a class="button" href=format!("/auth/login?next={next}") rel="external">"Sign in"</a></p>
        </section>
    }
}

#[component]
pub fn ErrorPanel() -> impl IntoView {
    set_status(http::StatusCode::INTERNAL_SERVER_ERROR);
    view! {
        <Title text="Something went wrong" />
        <section class="panel status-page" role="alert">
            <h1>"Something went wrong"</h1>
            <p>"The portal could not load this page. The problem has been logged; please try again in a moment."</p>
        </section>
    }
}

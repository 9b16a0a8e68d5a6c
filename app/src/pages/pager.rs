//! Links between the pages of a keyset-paged list.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use leptos_router::params::ParamsMap;

/// Links to the pages before and after this one of the list at `path`, keeping the page's other
/// query parameters (a search, filters): `before` and `after` name the row a page ends before
/// or starts after.
#[component]
pub(super) fn Pager(
    path: &'static str,
    next: Option<String>,
    previous: Option<String>,
) -> impl IntoView {
    pager(path, use_query_map().get_untracked(), next, previous)
}

/// The links of [`Pager`] for a page asked with `query`, drawn without a router (on the server,
/// for markup kept with a page).
pub(super) fn pager(
    path: &'static str,
    mut query: ParamsMap,
    next: Option<String>,
    previous: Option<String>,
) -> impl IntoView + use<> {
    query.remove("after");
    query.remove("before");
    let link = move |key: &'static str, row: &str| {
        let mut q = query.clone();
        q.replace(key, row.to_owned());
        format!("{path}{}", q.to_query_string())
    };
    (next.is_some() || previous.is_some()).then(|| {
        view! {
            <nav class="pager" aria-label="Pages">
                {previous.map(|row| view! { <a href=link("before", &row) rel="prev">"Previous"</a> })}
                {next.map(|row| view! { <a href=link("after", &row) rel="next">"Next"</a> })}
            </nav>
        }
    })
}

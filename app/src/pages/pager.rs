//! Links between the pages of a keyset-paged list.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// Links to the pages before and after this one of the list at `path`, keeping the page's other
/// query parameters (a search, filters): `before` and `after` name the row a page ends before
/// or starts after.
#[component]
pub(super) fn Pager(
    path: &'static str,
    next: Option<String>,
    previous: Option<String>,
) -> impl IntoView {
    let query = use_query_map();
    let link = move |key: &'static str, row: &str| {
        let mut q = query.get_untracked();
        q.remove("after");
        q.remove("before");
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

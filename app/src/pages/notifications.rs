//! The caller's notifications. Opening the page marks them read.

use super::status::SignInRequired;
use crate::CurrentUser;
use crate::loaded::load;
use crate::notifications::my_notifications;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotificationsPage() -> impl IntoView {
    let CurrentUser(user) = expect_context();
    let list = load(|| (), |_| my_notifications());
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                if !matches!(user.await, Ok(Some(_))) {
                    return view! { <SignInRequired next="/notifications" /> }.into_any();
                }
                match list.await {
                    Ok(items) => view! {
                        <Title text="Notifications" />
                        <section class="panel" aria-labelledby="page-title">
                            <h1 id="page-title">"Notifications"</h1>
                            {if items.is_empty() {
                                view! { <p class="empty-state">"Nothing new."</p> }.into_any()
                            } else {
                                view! {
                                    <ul class="notifications">
                                        {items.into_iter().map(|n| view! {
                                            <li class:unread=n.unread>
                                                <time datetime=n.created_at.to_rfc3339()>{crate::time::minute(&n.created_at)}</time>
                                                " "
                                                {match n.link {
                                                    Some(link) => view! { <a href=link>{n.message}</a> }.into_any(),
                                                    None => view! { <span>{n.message}</span> }.into_any(),
                                                }}
                                            </li>
                                        }).collect_view()}
                                    </ul>
                                }.into_any()
                            }}
                        </section>
                    }.into_any(),
                    Err(e) => view! { <p role="alert" class="error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

//! Header with navigation per role, and the footer.

use crate::CurrentUser;
use crate::domain::{Area, Role, UserIdentity};
use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn Header() -> impl IntoView {
    let CurrentUser(user) = expect_context();
    view! {
        <a class="skip-link" href="#main">"Skip to main content"</a>
        <header class="site-header">
            <a class="brand" href="/" rel="external">
                <span class="brand-mark" aria-hidden="true">"◆"</span>
                " Event Bus Portal"
            </a>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match user.await {
                        Ok(Some(user)) => view! { <SignedIn user /> }.into_any(),
                        _ => view! {
                            <a class="button" href="/auth/login" rel="external">"Sign in"</a>
                        }.into_any(),
                    }
                })}
            </Transition>
        </header>
    }
}

#[component]
fn SignedIn(user: UserIdentity) -> impl IntoView {
    // The counts are fetched by the browser once the page is live. Rendered on the server inside
    // the header too, they made hydration of the whole page fail intermittently; the pages they
    // lead to list everything, so a browser without JavaScript loses only the number.
    // Each count as shown ("100+" past the queue's cap), absent when there is nothing.
    let pending = RwSignal::new(None::<String>);
    let unread = RwSignal::new(None::<String>);
    let approves = user.has_any_role(&[Role::Approver, Role::TeamApprover]);
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            if approves && let Ok(n) = crate::requests::pending_approval_count().await {
                pending.set((!n.is_zero()).then(|| n.to_string()));
            }
            if let Ok(n) = crate::notifications::unread_notifications().await {
                unread.set((n > 0).then(|| n.to_string()));
            }
        });
    });
    let areas: Vec<Area> = Area::ALL
        .into_iter()
        .filter(|area| area.is_open_to(&user))
        .collect();
    let roles = user
        .roles
        .iter()
        .map(|role| view! { <li class="role-badge">{role.label()}</li> })
        .collect_view();
    let teams = (!user.teams.is_empty()).then(|| {
        let names = user
            .teams
            .iter()
            .map(|t| t.as_str().to_owned())
            .collect::<Vec<_>>()
            .join(", ");
        view! { <span class="user-teams">"Teams: " {names}</span> }
    });
    view! {
        <nav class="main-nav" aria-label="Main">
            <ul>
                {areas
                    .into_iter()
                    .map(|area| view! {
                        <li>
                            <A href=area.path()>
                                {area.label()}
                                {(area == Area::Approvals).then(|| view! { <Count count=pending label=" waiting" testid="pending-count" /> })}
                            </A>
                        </li>
                    })
                    .collect_view()}
            </ul>
        </nav>
        <div class="user-menu">
            <span class="user-name" data-testid="user-name">{user.display_name.clone()}</span>
            <A href="/notifications" attr:class="notifications-link">
                "Notifications"
                <Count count=unread label=" unread" testid="unread-count" />
            </A>
            <ul class="roles" aria-label="Your roles">{roles}</ul>
            {teams}
            <form method="post" action="/auth/logout">
                <button type="submit" class="button secondary">"Sign out"</button>
            </form>
        </div>
    }
}

#[component]
pub fn Footer() -> impl IntoView {
    view! {
        <footer class="site-footer">
            <p>"Event Bus Portal: self-service for the enterprise event bus. Every request and decision is recorded."</p>
        </footer>
    }
}

/// A count next to a link, shown when above zero.
#[component]
fn Count(
    count: RwSignal<Option<String>>,
    label: &'static str,
    testid: &'static str,
) -> impl IntoView {
    move || {
        count.get().map(|n| view! {
            <span class="count" data-testid=testid>{n}<span class="visually-hidden">{label}</span></span>
        })
    }
}

//! Team settings: display name, contact email and webhook, for the team's members and admins.

use super::areas::AreaPage;
use crate::domain::Area;
use crate::error::AppError;
use crate::form_action::{PostForm, form_action};
use crate::loaded::load;
use crate::teams::{FIELD_CONTACT, FIELD_DISPLAY_NAME, FIELD_WEBHOOK, UpdateTeam, my_teams};
use leptos::prelude::*;

#[component]
pub fn TeamsPage() -> impl IntoView {
    let update = form_action::<UpdateTeam>();
    let teams = load(move || update.version().get(), |_| my_teams());
    let result = update.value();
    let message = move |field: &'static str| {
        result.with(|r| match r {
            Some(Err(e)) => e.field_message(field).map(str::to_owned),
            _ => None,
        })
    };
    view! {
        <AreaPage area=Area::MyRequests title="Team settings" intro="How your teams are named and reached. Notifications about a team's requests go to its webhook, if it has one.">
            {move || result.with(|r| match r {
                Some(Ok(())) => Some(view! { <p role="status" class="notice ok">"Saved."</p> }.into_any()),
                Some(Err(AppError::Invalid(_))) => Some(view! { <p role="alert" class="error">"Some answers need another look; see the messages by each field."</p> }.into_any()),
                Some(Err(e)) => Some(view! { <p role="alert" class="error">{e.to_string()}</p> }.into_any()),
                None => None,
            })}
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match teams.await {
                        Ok(list) if list.is_empty() => view! { <p class="empty-state">"You belong to no team yet."</p> }.into_any(),
                        Ok(list) => list.into_iter().map(|t| {
                            let [title_id, name_id, email_id, hook_id] =
                                ["title", "name", "email", "hook"].map(|f| format!("{}-{f}", t.slug));
                            let [title_ref, name_ref, email_ref, hook_ref] =
                                [&title_id, &name_id, &email_id, &hook_id].map(Clone::clone);
                            view! {
                                <section class="team" aria-labelledby=title_ref>
                                    <h3 id=title_id><code>{t.slug.clone()}</code></h3>
                                    <PostForm action=update attr:class="request-form">
                                        <input type="hidden" name="input[slug]" value=t.slug.clone() />
                                        <div class="field">
                                            <label for=name_ref>{FIELD_DISPLAY_NAME}</label>
                                            <input id=name_id name="input[display_name]" maxlength="120" value=t.display_name.clone() />
                                        </div>
                                        <div class="field">
                                            <label for=email_ref>{FIELD_CONTACT}</label>
                                            <input id=email_id name="input[contact_email]" type="email" maxlength="320" value=t.contact_email.clone().unwrap_or_default() />
                                        </div>
                                        <div class="field">
                                            <label for=hook_ref>{FIELD_WEBHOOK} <span class="muted">" (optional; Slack-compatible)"</span></label>
                                            <input id=hook_id name="input[webhook_url]" type="url" maxlength="2000" value=t.webhook_url.clone().unwrap_or_default() />
                                        </div>
                                        <button type="submit">{format!("Save {}", t.slug)}</button>
                                    </PostForm>
                                </section>
                            }
                        }).collect_view().into_any(),
                        Err(e) => view! { <p role="alert" class="error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
            {move || [FIELD_DISPLAY_NAME, FIELD_CONTACT, FIELD_WEBHOOK].into_iter().filter_map(|f| message(f).map(|m| view! { <p class="field-error">{format!("{f}: {m}")}</p> })).collect_view()}
        </AreaPage>
    }
}

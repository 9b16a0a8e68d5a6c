//! Registering an application with its compliance facts, and an application's page: those
//! facts, what it may do on the bus, and for its team, its Kafka users and how to connect.

use super::apply::{Connect, CredentialActions, Credentials};
use super::areas::{AreaPage, PageHeading};
use super::form_check::FormCheck;
use super::requests::form_error;
use crate::CurrentUser;
use crate::applications::{
    ATO_STATUSES, ApplicationDetail, HOSTING_LOCATIONS, PRIVACY_ASSESSMENTS, RegisterApplication,
    get_application,
};
use crate::apply::CredentialState;
use crate::domain::{ApplicationId, Area, Role};
use crate::error::AppError;
use crate::form_action::{PostForm, form_action};
use crate::loaded::load;
use crate::requests::Compliance;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

/// The words for one of a fixed list's keys (`in_progress` reads "In progress").
fn label_of(choices: &[(&'static str, &'static str)], key: &str) -> String {
    choices
        .iter()
        .find(|(k, _)| *k == key)
        .map_or_else(|| key.replace('_', " "), |(_, label)| (*label).to_owned())
}

/// An application's compliance facts, as governance reads them.
#[component]
pub fn ComplianceFacts(c: Compliance) -> impl IntoView {
    view! {
        <dl class="facts" data-testid="compliance">
            <dt>"System registration"</dt><dd>{c.system_registration_id}</dd>
            <dt>"Security package"</dt><dd>{c.security_package_id} " (FISMA " {c.fisma_rating} ")"</dd>
            <dt>"Authority to operate"</dt><dd>{label_of(&ATO_STATUSES, &c.ato_status)}{c.ato_date.map(|d| format!(", {d}"))}</dd>
            <dt>"Privacy assessment"</dt><dd>{label_of(&PRIVACY_ASSESSMENTS, &c.privacy_assessment)}</dd>
            <dt>"Handles PII or PHI"</dt><dd>{if c.contains_pii { "Yes" } else { "No" }}</dd>
            <dt>"Hosting"</dt><dd>{label_of(&HOSTING_LOCATIONS, &c.hosting_location)}</dd>
            <dt>"Contacts"</dt><dd>{c.technical_contact} " (technical), " {c.product_contact} " (product)"</dd>
        </dl>
    }
}

#[component]
pub fn ApplicationPage() -> impl IntoView {
    let params = use_params_map();
    let actions = CredentialActions::new();
    // While a password is being set the page asks again each second; the worker sets it within
    // moments, and the asking stops once no password is in that state.
    let tick = RwSignal::new(0u32);
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<ApplicationId>().ok())
    };
    let application = load(
        move || {
            (
                id(),
                actions.reveal.version().get(),
                actions.rotate.version().get(),
                tick.get(),
            )
        },
        |(id, ..)| async move { get_application(id.ok_or(AppError::NotFound)?).await },
    );
    Effect::new(move |_| {
        let setting = application.with(|a| {
            matches!(a, Some(Ok(a)) if a.credentials.iter().any(|c| c.state == CredentialState::Setting))
        });
        if setting {
            set_timeout(
                move || tick.update(|t| *t += 1),
                std::time::Duration::from_secs(1),
            );
        }
    });
    view! {
        <AreaPage area=Area::MyRequests intro="" open_to=&Role::ALL titled_by_page=true>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match application.await {
                        Ok(detail) => view! { <ApplicationView detail actions /> }.into_any(),
                        Err(AppError::NotFound) => view! { <super::status::NotFound /> }.into_any(),
                        Err(e) => view! { <p role="alert" class="error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </AreaPage>
    }
}

#[component]
fn ApplicationView(detail: ApplicationDetail, actions: CredentialActions) -> impl IntoView {
    let here = format!("/requests/applications/{}", detail.id);
    let grants = detail.grants.clone();
    view! {
        <PageHeading title=detail.name.clone()>{detail.name.clone()}</PageHeading>
        <p class="intro">
            "An application of team " <code>{detail.team.clone()}</code>
            ", registered " {crate::time::date(detail.registered_at.date_naive())} "."
        </p>
        {detail.is_own.then(|| view! {
            <p class="actions">
                <a class="button" href=format!("/requests/new?application={}", detail.id)>"Ask for access for it"</a>
                <a class="button secondary" href="/requests/new-topic">"Propose a new topic"</a>
            </p>
        })}
        <h3>"Compliance"</h3>
        <ComplianceFacts c=detail.compliance.clone() />
        <h3>"Access on the bus"</h3>
        {if grants.is_empty() {
            view! { <p class="empty-state" data-testid="no-grants">"It has no access yet. Access is asked for per topic, and given once the topic's team and governance approve."</p> }.into_any()
        } else {
            view! {
                <table class="data-table" data-testid="grants">
                    <caption class="visually-hidden">"Live access"</caption>
                    <thead><tr>
                        <th scope="col">"Environment"</th><th scope="col">"Topic"</th><th scope="col">"Role"</th>
                        <th scope="col">"Consumer group"</th><th scope="col">"Until"</th><th scope="col">"Granted by"</th>
                    </tr></thead>
                    <tbody>
                        {grants.into_iter().map(|g| view! {
                            <tr>
                                <td>{g.environment.to_string()}</td>
                                <td><a href=format!("/catalog/{}", g.topic)><code>{g.topic.clone()}</code></a></td>
                                <td title=g.in_words.clone()>{g.role.label()}</td>
                                <td>{g.consumer_group.map(|c| view! { <code>{c}</code>{g.consumer_group_is_prefix.then_some(" (prefix)")} })}</td>
                                <td>{g.expires_on.map_or_else(|| "No end date".to_owned(), |d| d.to_string())}</td>
                                <td><a href=format!("/requests/{}", g.request)>"Request"</a></td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any()
        }}
        {(!detail.credentials.is_empty()).then(|| view! {
            <section class="apply" aria-labelledby="users-title">
                <h3 id="users-title">"Kafka users and passwords"</h3>
                <p>"One user per environment, shared by all of the application's access there. Its password is shown once; rotating gives a new one and stops the old."</p>
                <Credentials credentials=detail.credentials.clone() actions here />
            </section>
        })}
        <Connect markup=detail.connect.clone() />
    }
    .into_any()
}

/// `<option>`s for a fixed list.
fn options(choices: &'static [(&'static str, &'static str)]) -> impl IntoView {
    choices
        .iter()
        .map(|(value, label)| view! { <option value=*value>{*label}</option> })
        .collect_view()
}

#[component]
pub fn NewApplicationPage() -> impl IntoView {
    let CurrentUser(user) = expect_context();
    let action = form_action::<RegisterApplication>();
    let result = action.value();
    // The same rules as the server's, as one types.
    let check = FormCheck::new(result);
    let parse =
        |input: crate::applications::ApplicationInput| input.parse().err().unwrap_or_default();
    let error_for = move |field: &'static str, id: &'static str| check.message(result, field, id);
    // The caller's teams are known from the session; the list is fixed for the page's life.
    let teams = move || {
        user.get_untracked()
            .and_then(Result::ok)
            .flatten()
            .map(|u| {
                u.teams
                    .iter()
                    .map(|t| t.as_str().to_owned())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    view! {
        <AreaPage area=Area::MyRequests title="Register an application" intro="Register one of your team's systems, with the compliance facts governance needs, before it asks for access.">
            <PostForm action=action attr:class="request-form" attr:novalidate="">
                <div class="form-fields" on:input=check.on_input(parse) on:focusout=check.on_focusout()>
                {form_error(result)}
                <div class="field" data-field="team">
                    <label for="team">"Team"</label>
                    <select id="team" name="input[team]" inner_html={
                        // Team names are lowercase letters, digits and dashes: nothing to escape.
                        teams().iter().map(|t| format!("<option value=\"{t}\">{t}</option>")).collect::<String>()
                    }></select>
                    {error_for("Team", "team")}
                </div>
                <div class="field" data-field="name">
                    <label for="name">"Name"</label>
                    <input id="name" name="input[name]" required maxlength="80" aria-describedby="name-error" />
                    {error_for("Name", "name")}
                </div>
                <div class="field" data-field="system_registration_id">
                    <label for="system_registration_id">"System registration id"</label>
                    <input id="system_registration_id" name="input[system_registration_id]" required maxlength="64" aria-describedby="system_registration_id-error" />
                    {error_for("System registration id", "system_registration_id")}
                </div>
                <div class="field" data-field="security_package_id">
                    <label for="security_package_id">"Security package id"</label>
                    <input id="security_package_id" name="input[security_package_id]" required maxlength="64" aria-describedby="security_package_id-error" />
                    {error_for("Security package id", "security_package_id")}
                </div>
                <div class="field" data-field="fisma_rating">
                    <label for="fisma_rating">"FISMA rating"</label>
                    <select id="fisma_rating" name="input[fisma_rating]" aria-describedby="fisma_rating-error">
                        <option value="low">"Low"</option>
                        <option value="moderate">"Moderate"</option>
                        <option value="high">"High"</option>
                    </select>
                    {error_for("FISMA rating", "fisma_rating")}
                </div>
                <div class="field" data-field="ato_status">
                    <label for="ato_status">"Authority to operate"</label>
                    <select id="ato_status" name="input[ato_status]">{options(&ATO_STATUSES)}</select>
                    {error_for("Authority to operate", "ato_status")}
                </div>
                <div class="field" data-field="ato_date">
                    <label for="ato_date">"ATO date"</label>
                    <input id="ato_date" type="date" name="input[ato_date]" aria-describedby="ato_date-error" />
                    {error_for("ATO date", "ato_date")}
                </div>
                <div class="field" data-field="privacy_assessment">
                    <label for="privacy_assessment">"Privacy assessment"</label>
                    <select id="privacy_assessment" name="input[privacy_assessment]">{options(&PRIVACY_ASSESSMENTS)}</select>
                    {error_for("Privacy assessment", "privacy_assessment")}
                </div>
                <div class="field checkbox">
                    <input type="checkbox" id="contains_pii" name="input[contains_pii]" value="1" />
                    <label for="contains_pii">"The system handles PII or PHI"</label>
                </div>
                <div class="field" data-field="hosting_location">
                    <label for="hosting_location">"Hosting"</label>
                    <select id="hosting_location" name="input[hosting_location]">{options(&HOSTING_LOCATIONS)}</select>
                    {error_for("Hosting", "hosting_location")}
                </div>
                <div class="field" data-field="technical_contact">
                    <label for="technical_contact">"Technical contact (email)"</label>
                    <input id="technical_contact" type="email" name="input[technical_contact]" required maxlength="320" aria-describedby="technical_contact-error" />
                    {error_for("Technical contact", "technical_contact")}
                </div>
                <div class="field" data-field="product_contact">
                    <label for="product_contact">"Product contact (email)"</label>
                    <input id="product_contact" type="email" name="input[product_contact]" required maxlength="320" aria-describedby="product_contact-error" />
                    {error_for("Product contact", "product_contact")}
                </div>
                </div>
                <button type="submit">"Register"</button>
            </PostForm>
        </AreaPage>
    }
}

//! Registering an application with its compliance facts.

use super::areas::AreaPage;
use super::form_check::FormCheck;
use super::requests::form_error;
use crate::CurrentUser;
use crate::applications::{
    ATO_STATUSES, HOSTING_LOCATIONS, PRIVACY_ASSESSMENTS, RegisterApplication,
};
use crate::domain::Area;
use leptos::prelude::*;

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
    let action = ServerAction::<RegisterApplication>::new();
    let result = action.value();
    // The same rules as the server's, as one types.
    let check = FormCheck::new(result);
    let parse = |args: RegisterApplication| args.input.parse().err().unwrap_or_default();
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
            <ActionForm action=action attr:class="request-form" attr:novalidate="">
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
            </ActionForm>
        </AreaPage>
    }
}

//! Proposing a schema change with the compatibility check made as it is typed, and the parts of
//! the request page that show a schema change to its approvers.

use super::areas::{AreaPage, Preload};
use super::requests::{ApplicationSelect, field_error, form_error};
use crate::domain::{Area, Compatibility, SchemaFormat, SubjectPart};
use crate::error::AppError;
use crate::form_action::{PostForm, form_action};
use crate::loaded::load;
use crate::requests::form::{FIELD_APPLICATION, FIELD_PURPOSE, FIELD_TOPIC};
use crate::requests::schema_change::{
    FIELD_COMPATIBILITY, FIELD_FORMAT, FIELD_PART, FIELD_SCHEMA_TEXT, Finding, SchemaChangeInput,
    SchemaCheck,
};
use crate::requests::{ProposeSchemaChange, check_schema_change, my_applications};
use crate::schemas::diff::{DiffRow, Side};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use std::time::Duration;

/// How long typing must pause before the schema is checked again.
const CHECK_AFTER: Duration = Duration::from_millis(350);

/// An input handler that hands the field's text to `send` once typing has paused for
/// `CHECK_AFTER`. Bumping `typing` elsewhere drops a pending hand-over.
pub(super) fn after_typing(
    typing: StoredValue<u64>,
    send: impl Fn(String) + Copy + Send + Sync + 'static,
) -> impl Fn(leptos::ev::Event) + Copy + 'static {
    move |ev| {
        let text = event_target_value(&ev);
        typing.update_value(|n| *n += 1);
        let mine = typing.get_value();
        set_timeout(
            move || {
                if typing.get_value() == mine {
                    send(text);
                }
            },
            CHECK_AFTER,
        );
    }
}

/// What breaks, field by field.
#[component]
pub fn FindingsList(findings: Vec<Finding>, mode: Compatibility) -> impl IntoView {
    view! {
        <div class="notice bad" data-testid="schema-findings" role="status">
            <p><strong>{format!("Not {} compatible", mode.as_str())}</strong>
               {format!(": {}.", mode.broken())}</p>
            <ul>
                {findings.into_iter().map(|f| view! {
                    <li>
                        <code>{f.path}</code> " (against version " {f.version} "): "
                        <strong>{f.change}</strong> ". " {sentence(&f.why)}
                    </li>
                }).collect_view()}
            </ul>
        </div>
    }
}

/// A reason as a sentence of its own: capitalised, ending with a full stop.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

/// The earlier version and the proposal side by side.
#[component]
pub fn DiffTable(rows: Vec<DiffRow>, before: String) -> impl IntoView {
    if rows.is_empty() {
        return ().into_any();
    }
    let number = |n: Option<usize>| n.map(|n| n.to_string()).unwrap_or_default();
    view! {
        <table class="diff" data-testid="schema-diff">
            <caption>{format!("{before} beside the proposal")}</caption>
            <thead><tr>
                <th scope="col" class="line-no">"#"</th><th scope="col">{before.clone()}</th>
                <th scope="col" class="line-no">"#"</th><th scope="col">"Proposed"</th>
            </tr></thead>
            <tbody>
                {rows.into_iter().map(|r| {
                    let class = match r.side {
                        Side::Same => "same",
                        Side::Removed => "removed",
                        Side::Added => "added",
                        Side::Changed => "changed",
                    };
                    view! {
                        <tr class=class>
                            <td class="line-no">{number(r.left_no)}</td><td><pre>{r.left.unwrap_or_default()}</pre></td>
                            <td class="line-no">{number(r.right_no)}</td><td><pre>{r.right.unwrap_or_default()}</pre></td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

fn consumers_list(consumers: Vec<String>, empty: &'static str) -> AnyView {
    if consumers.is_empty() {
        view! { <p class="muted">{empty}</p> }.into_any()
    } else {
        view! {
            <ul data-testid="affected-consumers">
                {consumers.into_iter().map(|c| view! { <li>{c}</li> }).collect_view()}
            </ul>
        }
        .into_any()
    }
}

/// The result of the live check.
fn check_view(check: SchemaCheck) -> AnyView {
    if let Some(problem) = check.problem {
        return view! {
            <p role="alert" class="error" data-testid="schema-problem">"The schema cannot be read: " {problem}</p>
        }
        .into_any();
    }
    let verdict = if check.unchanged {
        view! { <p class="notice" data-testid="schema-unchanged">"Nothing changes: this is the latest version already, with the same mode."</p> }.into_any()
    } else if !check.findings.is_empty() {
        view! { <FindingsList findings=check.findings.clone() mode=check.checked_mode /> }
            .into_any()
    } else {
        let against = match check.latest_version {
            Some(v) if check.checked_mode == Compatibility::None => {
                format!("Mode NONE: no check against version {v}.")
            }
            Some(v) if check.checked_mode.is_transitive() => format!(
                "{} compatible with every version up to {v}.",
                check.checked_mode.as_str()
            ),
            Some(v) => format!(
                "{} compatible with version {v}.",
                check.checked_mode.as_str()
            ),
            None => format!("The first schema of {}.", check.subject),
        };
        view! { <p class="notice ok" data-testid="schema-compatible">{against}</p> }.into_any()
    };
    let before = check
        .latest_version
        .map(|v| format!("Version {v}"))
        .unwrap_or_default();
    view! {
        {verdict}
        <p data-testid="schema-approvals">{match check.governance_because {
            Some(why) => format!("Approval: the owning team, and governance because {why}."),
            None => "Approval: the owning team.".to_owned(),
        }}</p>
        <h3>"Consumers told on approval"</h3>
        {consumers_list(check.consumers, "No application consumes this topic yet.")}
        <DiffTable rows=check.diff before />
    }
    .into_any()
}

/// The smallest schema of a format for a subject part, to write a new one from.
fn skeleton(format: SchemaFormat, part: SubjectPart) -> &'static str {
    match (format, part) {
        (SchemaFormat::Avro, SubjectPart::Key) => "{\n  \"type\": \"string\"\n}",
        (SchemaFormat::Avro, SubjectPart::Value) => {
            "{\n  \"type\": \"record\",\n  \"name\": \"Event\",\n  \"fields\": []\n}"
        }
        (SchemaFormat::Json, SubjectPart::Key) => {
            "{\n  \"$schema\": \"https://json-schema.org/draft/2020-12/schema\",\n  \"type\": \"string\"\n}"
        }
        (SchemaFormat::Json, SubjectPart::Value) => {
            "{\n  \"$schema\": \"https://json-schema.org/draft/2020-12/schema\",\n  \"type\": \"object\",\n  \"properties\": {},\n  \"required\": []\n}"
        }
    }
}

/// A subject as the form starts from it.
#[derive(Default)]
struct Current {
    format: SchemaFormat,
    mode: Compatibility,
    text: String,
    view: Option<crate::schemas::SchemaView>,
}

impl Current {
    /// What the schema box starts from in `format`: the subject's latest version in its own
    /// format, a skeleton of the other format when the person switches (the latest version's
    /// text would only be a parse error there), nothing for a subject without versions.
    fn text_for(&self, format: SchemaFormat, part: SubjectPart) -> String {
        match &self.view {
            None => String::new(),
            Some(_) if format == self.format => self.text.clone(),
            Some(_) => skeleton(format, part).to_owned(),
        }
    }

    fn of(topic: &crate::catalog::TopicDetail, part: SubjectPart) -> Self {
        let view = match part {
            SubjectPart::Key => topic.key_schema.clone(),
            SubjectPart::Value => topic.value_schema.clone(),
        };
        Self {
            format: view
                .as_ref()
                .filter(|s| s.format == SchemaFormat::Json.label())
                .map_or(SchemaFormat::Avro, |_| SchemaFormat::Json),
            mode: view
                .as_ref()
                .and_then(|s| s.compatibility.parse().ok())
                .unwrap_or_default(),
            text: view.as_ref().map(|s| s.text.clone()).unwrap_or_default(),
            view,
        }
    }
}

/// The owning team proposes a new key or value schema; the check runs as they type.
#[component]
pub fn SchemaChangePage() -> impl IntoView {
    let action = form_action::<ProposeSchemaChange>();
    let result = action.value();
    let query = use_query_map();
    let topic_name = query.read_untracked().get("topic").unwrap_or_default();
    let part: SubjectPart = query
        .read_untracked()
        .get("part")
        .and_then(|p| p.parse().ok())
        .unwrap_or_default();
    let topic = load(
        {
            let name = topic_name.clone();
            move || name.clone()
        },
        crate::catalog::get_topic,
    );
    let applications = load(|| (), |_| my_applications());
    let preload: Preload = std::sync::Arc::new(move || {
        Box::pin(async move {
            let _ = topic.await;
            let _ = applications.await;
        })
    });

    // The form starts from the subject's latest version, so a change is an edit of it; what
    // the person picks or types overrides that.
    let (format, set_format) = signal(None::<String>);
    let (mode, set_mode) = signal(None::<String>);
    let (part_chosen, set_part) = signal(part.as_str().to_owned());
    let (typed, set_typed) = signal(None::<String>);
    let typing = StoredValue::new(0_u64);
    let check = load(
        move || (part_chosen.get(), format.get(), mode.get(), typed.get()),
        move |(part_chosen, format, mode, typed)| {
            let topic_name = topic_name.clone();
            async move {
                // What is not chosen or typed yet comes from the subject's latest version.
                let part: SubjectPart = part_chosen.parse().unwrap_or_default();
                let start = topic
                    .await
                    .ok()
                    .map(|t| Current::of(&t, part))
                    .unwrap_or_default();
                let format = format
                    .and_then(|f| f.parse::<SchemaFormat>().ok())
                    .unwrap_or(start.format);
                let input = SchemaChangeInput {
                    topic: topic_name,
                    part: part_chosen,
                    format: format.as_str().to_owned(),
                    compatibility: mode.unwrap_or(start.mode.as_str().to_owned()),
                    schema: typed.unwrap_or_else(|| start.text_for(format, part)),
                    ..SchemaChangeInput::default()
                };
                if input.schema.trim().is_empty() {
                    None
                } else {
                    Some(check_schema_change(input).await)
                }
            }
        },
    );
    let on_schema = after_typing(typing, move |text| set_typed.set(Some(text)));

    view! {
        <AreaPage area=Area::MyRequests title="Propose a schema change" intro="A new key or value schema for a topic your team owns. The portal checks it against the subject's earlier versions as you type; the owning team approves, and governance too when it breaks the subject's compatibility or lowers it." preload=preload>
            {move || match topic.get_untracked() {
                Some(Ok(t)) => {
                    let Current { format: current_format, mode: current_mode, text, .. } = Current::of(&t, part);
                    // Each choice of part starts from that subject's own latest version, format
                    // and mode; a choice of format from that format's text.
                    let detail = StoredValue::new(t.clone());
                    let chosen_part = move || part_chosen.get().parse::<SubjectPart>().unwrap_or_default();
                    let now = move || detail.with_value(|t| Current::of(t, chosen_part()));
                    let chosen_format = move || {
                        format
                            .get()
                            .and_then(|f| f.parse::<SchemaFormat>().ok())
                            .unwrap_or_else(|| now().format)
                    };
                    let on_part = move |ev: leptos::ev::Event| {
                        typing.update_value(|n| *n += 1);
                        set_typed.set(None);
                        set_format.set(None);
                        set_mode.set(None);
                        set_part.set(event_target_value(&ev));
                    };
                    let on_format = move |ev: leptos::ev::Event| {
                        typing.update_value(|n| *n += 1);
                        set_typed.set(None);
                        set_format.set(Some(event_target_value(&ev)));
                    };
                    let owner = t.summary.owning_team.clone();
                    let team_apps = applications
                        .get_untracked()
                        .and_then(Result::ok)
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|a| a.team == owner)
                        .collect::<Vec<_>>();
                    let part_option = move |value: SubjectPart, label: &'static str| {
                        view! { <option value=value.as_str() selected=part == value>{label}</option> }
                    };
                    let format_option = move |value: SchemaFormat| {
                        view! { <option value=value.as_str() selected=current_format == value>{value.label()}</option> }
                    };
                    let mode_option = move |value: Compatibility| {
                        view! { <option value=value.as_str() selected=current_mode == value>{format!("{}: {}", value.as_str(), value.description())}</option> }
                    };
                    view! {
                        <PostForm action=action attr:class="request-form" attr:novalidate="">
                            {form_error(result)}
                            <p>"Topic " <code>{t.summary.name.clone()}</code> ", owned by " {t.summary.owning_team.clone()} ". "
                               <span data-testid="schema-now">{move || now().view.as_ref().map_or("No schema yet for this part.".to_owned(), |s| format!("Now: version {} of {} ({}), {}.", s.version, s.subject, s.format, s.compatibility))}</span></p>
                            <input type="hidden" name="input[topic]" value=t.summary.name.clone() />
                            {field_error(result, FIELD_TOPIC, "topic")}
                            <div class="field">
                                <label for="part">{FIELD_PART}</label>
                                <select id="part" name="input[part]" on:change=on_part>
                                    {part_option(SubjectPart::Value, "Value: the event itself")}
                                    {part_option(SubjectPart::Key, "Key: what partitions and compacts events")}
                                </select>
                                {field_error(result, FIELD_PART, "part")}
                            </div>
                            <div class="field">
                                <label for="format">{FIELD_FORMAT}</label>
                                <select id="format" name="input[format]" on:change=on_format prop:value=move || chosen_format().as_str()>
                                    {format_option(SchemaFormat::Avro)}
                                    {format_option(SchemaFormat::Json)}
                                </select>
                                {field_error(result, FIELD_FORMAT, "format")}
                            </div>
                            <div class="field">
                                <label for="compatibility">{FIELD_COMPATIBILITY}</label>
                                <p class="hint" id="compatibility-hint">"Lowering the mode (or moving between backward and forward) needs governance."</p>
                                <select id="compatibility" name="input[compatibility]" aria-describedby="compatibility-hint"
                                    on:change=move |ev| set_mode.set(Some(event_target_value(&ev)))
                                    prop:value=move || mode.get().unwrap_or_else(|| now().mode.as_str().to_owned())>
                                    {mode_option(Compatibility::Backward)}
                                    {mode_option(Compatibility::BackwardTransitive)}
                                    {mode_option(Compatibility::Forward)}
                                    {mode_option(Compatibility::ForwardTransitive)}
                                    {mode_option(Compatibility::Full)}
                                    {mode_option(Compatibility::FullTransitive)}
                                    {mode_option(Compatibility::None)}
                                </select>
                                {field_error(result, FIELD_COMPATIBILITY, "compatibility")}
                            </div>
                            <div class="field">
                                <label for="schema">{FIELD_SCHEMA_TEXT}</label>
                                <textarea id="schema" name="input[schema]" rows="16" maxlength="65536" spellcheck="false" class="code"
                                    aria-describedby="schema-check schema-error" on:input=on_schema
                                    prop:value=move || now().text_for(chosen_format(), chosen_part())>{text}</textarea>
                                {field_error(result, FIELD_SCHEMA_TEXT, "schema")}
                            </div>
                            <section id="schema-check" class="schema-check" aria-live="polite" aria-label="Compatibility check">
                                <Transition fallback=|| view! { <p class="loading">"Checking…"</p> }>
                                    {move || Suspend::new(async move {
                                        match check.await {
                                            None => ().into_any(),
                                            Some(Ok(c)) => check_view(c),
                                            Some(Err(AppError::Invalid(errors))) => view! {
                                                <ul class="error" data-testid="schema-problem">
                                                    {errors.into_iter().map(|e| view! { <li>{e.field} ": " {e.message}</li> }).collect_view()}
                                                </ul>
                                            }.into_any(),
                                            Some(Err(e)) => view! { <p role="alert" class="error">{e.to_string()}</p> }.into_any(),
                                        }
                                    })}
                                </Transition>
                            </section>
                            <div class="field">
                                <label for="application">"Producing application"</label>
                                <ApplicationSelect apps=team_apps />
                                {field_error(result, FIELD_APPLICATION, "application")}
                            </div>
                            <div class="field">
                                <label for="purpose">"Why"</label>
                                <textarea id="purpose" name="input[purpose]" rows="3" aria-describedby="purpose-error"></textarea>
                                {field_error(result, FIELD_PURPOSE, "purpose")}
                            </div>
                            <button type="submit">"Submit for approval"</button>
                        </PostForm>
                    }.into_any()
                }
                Some(Err(AppError::NotFound)) | None => view! { <super::status::NotFound /> }.into_any(),
                Some(Err(e)) => view! { <p role="alert" class="error">{e.to_string()}</p> }.into_any(),
            }}
        </AreaPage>
    }
}

/// A schema change on its request page: what it registers, what the check found, the diff, and
/// the consumers who are told when it is approved. Drawn on the server (`draw_request`).
#[cfg(feature = "ssr")]
#[component]
pub fn SchemaChangeDetails(
    view: crate::requests::schema_change::SchemaChangeView,
) -> impl IntoView {
    let crate::requests::schema_change::SchemaChangeView {
        change,
        diff,
        consumers,
    } = view;
    let before = change
        .follows_version
        .map(|v| format!("Version {v}"))
        .unwrap_or_else(|| "No earlier version".to_owned());
    let checked = change.checked_mode();
    let verdict = if change.findings.is_empty() {
        view! { <p class="notice ok" data-testid="schema-compatible">{format!("{} compatible when it was proposed.", checked.as_str())}</p> }.into_any()
    } else {
        view! { <FindingsList findings=change.findings.clone() mode=checked /> }.into_any()
    };
    view! {
        <h3>"Proposed schema"</h3>
        <dl class="facts">
            <dt>"Subject"</dt><dd><code>{change.subject.clone()}</code></dd>
            <dt>"Change"</dt><dd>{change.in_words()}</dd>
            <dt>"Format"</dt><dd>{change.format.label()}</dd>
            <dt>"Compatibility"</dt><dd>{if change.mode_before == change.mode_after {
                change.mode_after.as_str().to_owned()
            } else {
                format!("{} to {}", change.mode_before.as_str(), change.mode_after.as_str())
            }}</dd>
        </dl>
        {verdict}
        <h3>"Consumers affected"</h3>
        {consumers_list(consumers, "No application consumes this topic now.")}
        <DiffTable rows=diff before />
    }
}

//! My requests, the access-request form, the request page, and the approvals queue.

use super::apply::{ApplyActions, ApplyPanel};
use super::areas::{AreaPage, PageHeading, Preload};
use super::form_check::{FormCheck, field_message};
use super::pager::Pager;
use super::topic_picker::TopicPicker;
use crate::apply::apply_status;
use crate::domain::{Area, RequestState};
use crate::domain::{EnvironmentName, RequestId};
use crate::environments::list_environments;
use crate::error::AppError;
use crate::form_action::{FormAction, PostForm, form_action};
use crate::loaded::{Loaded, load};
use crate::requests::form::{
    FIELD_APPLICATION, FIELD_ENVIRONMENTS, FIELD_EXPIRY, FIELD_GROUP, FIELD_KIND,
    FIELD_PROMOTED_FROM, FIELD_PURPOSE, FIELD_TOPIC, MAX_EXPIRY_DAYS, PURPOSE_MAX, PURPOSE_MIN,
};
use crate::requests::{
    DecideRequest, NewTopicSchema, ProposeTopic, ProposeTopicChange, RequestAccess, RequestDetail,
    RequestSummary, ResubmitRequest, WithdrawRequest, approval_queue, check_topic_schema,
    get_request, my_applications, my_requests,
};
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

fn state_badge(state: RequestState) -> impl IntoView {
    let class = match state {
        RequestState::Approved | RequestState::Active => "badge badge-ok",
        RequestState::Declined
        | RequestState::Withdrawn
        | RequestState::Failed
        | RequestState::Revoked
        | RequestState::Expired => "badge badge-bad",
        RequestState::ChangesRequested | RequestState::Applying => "badge badge-warn",
        _ => "badge",
    };
    view! { <span class=class data-testid="request-state">{state.label()}</span> }
}

/// A table of requests around its body (`<tbody>`).
fn request_table(body: impl IntoView) -> impl IntoView {
    view! {
        <table class="data-table">
            <caption class="visually-hidden">"Requests"</caption>
            <thead><tr>
                <th scope="col">"Request"</th><th scope="col">"Topic"</th><th scope="col">"Application"</th>
                <th scope="col">"Requested by"</th><th scope="col">"Environments"</th><th scope="col">"Status"</th>
            </tr></thead>
            {body}
        </table>
    }
}

/// One table row per request.
fn request_rows(requests: &[RequestSummary]) -> impl IntoView + use<> {
    requests
        .iter()
        .map(|r| {
            view! {
                <tr>
                    <td><a href=format!("/requests/{}", r.id)>{r.kind.label()}</a></td>
                    <td><code>{r.topic.clone()}</code></td>
                    <td>{r.application.clone()}</td>
                    <td>{r.requester.clone()}</td>
                    <td>{r.environments.join(", ")}</td>
                    <td>{state_badge(r.state)}</td>
                </tr>
            }
        })
        .collect_view()
}

/// The approvals queue's table rows, drawn once on the server and kept with the page in the
/// page cache (as the catalog's, see `super::catalog::draw_catalog_page`).
#[cfg(feature = "ssr")]
pub(crate) fn queue_rows(requests: &[RequestSummary]) -> crate::loaded::Markup {
    crate::loaded::Markup::new(request_rows(requests).to_html())
}

#[component]
fn RequestTable(requests: Vec<RequestSummary>, empty: &'static str) -> impl IntoView {
    if requests.is_empty() {
        return view! { <p class="empty-state">{empty}</p> }.into_any();
    }
    request_table(view! { <tbody>{request_rows(&requests)}</tbody> }).into_any()
}

#[component]
pub fn MyRequestsPage() -> impl IntoView {
    let requests = load(|| (), |_| my_requests());
    let applications = load(|| (), |_| my_applications());
    view! {
        <AreaPage area=Area::MyRequests intro="Requests made by you and your teams, with where each one stands.">
            <p class="actions">
                <a class="button" href="/requests/new">"New access request"</a>
                <a class="button secondary" href="/requests/new-topic">"Propose a new topic"</a>
                <a class="button secondary" href="/requests/new-application">"Register an application"</a>
                <a class="button secondary" href="/requests/teams">"Team settings"</a>
            </p>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match requests.await {
                        Ok(list) => view! { <RequestTable requests=list empty="You have no requests yet." /> }.into_any(),
                        Err(e) => view! { <p role="alert" class="error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    // Admins outside any team have no applications; the list is for members.
                    let apps = applications.await.unwrap_or_default();
                    (!apps.is_empty()).then(|| view! {
                        <section aria-labelledby="applications-title">
                            <h2 id="applications-title">"Applications"</h2>
                            <ul class="application-list" data-testid="applications">
                                {apps.into_iter().map(|a| view! {
                                    <li><a href=format!("/requests/applications/{}", a.id)>{a.name}</a> " (" {a.team} ")"</li>
                                }).collect_view()}
                            </ul>
                        </section>
                    })
                })}
            </Transition>
        </AreaPage>
    }
}

#[component]
pub fn ApprovalsPage() -> impl IntoView {
    let query = use_query_map();
    let page = load(
        move || {
            let q = query.read();
            (q.get("after"), q.get("before"))
        },
        |(after, before)| approval_queue(after, before),
    );
    view! {
        <AreaPage area=Area::Approvals intro="Requests waiting for a decision you can make, the longest waiting first. You never see your own requests here.">
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(page) if page.shown == 0 => view! {
                            <p class="empty-state">"Nothing is waiting for you."</p>
                        }.into_any(),
                        // The rows come drawn (`queue_rows`), kept with the page on the server;
                        // the requests themselves are not in the hydration data.
                        Ok(page) => view! {
                            {request_table(view! { <tbody inner_html=page.rows.html()></tbody> })}
                            <Pager path="/approvals" next=page.next.map(|k| k.to_string()) previous=page.previous.map(|k| k.to_string()) />
                        }.into_any(),
                        Err(e) => view! { <p role="alert" class="error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </AreaPage>
    }
}

/// The summary above a form after a refused submission.
pub(super) fn form_error<T: Send + Sync + 'static>(
    result: MappedSignal<Option<Result<T, AppError>>>,
) -> impl IntoView + use<T> {
    move || {
        result
            .with(|r| match r {
                Some(Err(AppError::Invalid(_))) => Some(
                    "Some answers need another look; see the messages by each field.".to_owned(),
                ),
                Some(Err(e)) => Some(e.to_string()),
                _ => None,
            })
            .map(|m| view! { <p role="alert" class="error">{m}</p> })
    }
}

/// A field's error from the last submission, shown under the field and linked to it.
pub(super) fn field_error<T: Send + Sync + 'static>(
    result: MappedSignal<Option<Result<T, AppError>>>,
    field: &'static str,
    id: &'static str,
) -> impl IntoView + use<T> {
    move || {
        result.with(|r| match r {
            Some(Err(e)) => e.field_message(field).map(|m| field_message(id, m)),
            _ => None,
        })
    }
}

#[component]
pub fn NewRequestPage() -> impl IntoView {
    let action = form_action::<RequestAccess>();
    let result = action.value();
    let query = use_query_map();
    let param = move |key: &str| query.read_untracked().get(key).unwrap_or_default();
    let topic = move || param("topic");
    let promoted_from = StoredValue::new(param("from"));
    let preset_kind = StoredValue::new(param("kind"));
    let preset_app = StoredValue::new(param("application"));
    let preset_group = StoredValue::new(param("group"));
    let preset_purpose = StoredValue::new(param("purpose"));
    // The chosen kind of access (the group field is for consumers) and the purpose's length,
    // followed as one types once the page is hydrated.
    let producing = RwSignal::new(preset_kind.with_value(|k| k == "producer_access"));
    // Without JavaScript the group field stays, whatever is chosen: nothing could bring it back.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let purpose_length = RwSignal::new(preset_purpose.with_value(|p| p.chars().count()));
    let counter_class = move || {
        if purpose_length.get() > PURPOSE_MAX {
            "counter over"
        } else {
            "counter"
        }
    };
    let applications = load(|| (), |_| my_applications());
    let environments = load(|| (), |_| list_environments());
    let preload: Preload = std::sync::Arc::new(move || {
        Box::pin(async move {
            let _ = applications.await;
            let _ = environments.await;
        })
    });
    // The same rules as the server's, as one types.
    let check = FormCheck::new(result);
    let parse = move |input: crate::requests::AccessRequestInput| {
        let known = environment_names(environments);
        input
            .parse(&known, chrono::Local::now().date_naive())
            .err()
            .unwrap_or_default()
    };
    let message = move |field: &'static str, id: &'static str| check.message(result, field, id);
    view! {
        <AreaPage area=Area::MyRequests title="New access request" intro="Ask for access to an event. The topic's owning team and governance will review it." preload=preload>
            <PostForm action=action attr:class="request-form" attr:novalidate="">
                <div class="form-fields" on:input=check.on_input(parse) on:focusout=check.on_focusout()>
                {form_error(result)}
                {promoted_from.with_value(|f| !f.is_empty()).then(|| view! {
                    <p class="notice" role="status">"This repeats an approved request in another environment. It needs its own approval."</p>
                })}
                <input type="hidden" name="input[promoted_from]" value=promoted_from.get_value() />
                <fieldset data-field="kind">
                    <legend>{FIELD_KIND}</legend>
                    <div class="field checkbox">
                        <input type="radio" id="kind-consumer" name="input[kind]" value="consumer_access" checked=preset_kind.with_value(|k| k != "producer_access") on:change=move |_| producing.set(false) />
                        <label for="kind-consumer">"Consume events (read)"</label>
                    </div>
                    <div class="field checkbox">
                        <input type="radio" id="kind-producer" name="input[kind]" value="producer_access" checked=preset_kind.with_value(|k| k == "producer_access") on:change=move |_| producing.set(true) />
                        <label for="kind-producer">"Produce events (write)"</label>
                    </div>
                    {message(FIELD_KIND, "kind")}
                </fieldset>
                <div class="field" data-field="topic">
                    <label for="topic">{FIELD_TOPIC}</label>
                    <p class="hint" id="topic-hint">"Type part of its name or title and choose from the matches, or "<a href="/catalog">"find it in the catalog"</a>" and choose \"Request access\" there. Names use letters, digits, '.', '_' and '-'."</p>
                    <TopicPicker name="input[topic]" value=topic() described_by="topic-hint topic-error" />
                    {message(FIELD_TOPIC, "topic")}
                </div>
                <div class="field" data-field="application">
                    <label for="application">{FIELD_APPLICATION}</label>
                    {
                        let mut apps = applications.get_untracked().and_then(Result::ok).unwrap_or_default();
                        // A promoted request names its application: list it first, so it is the
                        // one chosen, with or without JavaScript.
                        apps.sort_by_key(|a| preset_app.with_value(|p| *p != a.id.to_string()));
                        view! { <ApplicationSelect apps /> }
                    }
                    {message(FIELD_APPLICATION, "application")}
                </div>
                <EnvironmentChoices environments error=message(FIELD_ENVIRONMENTS, "environments") />
                <div class="field" data-field="consumer_group" data-testid="consumer-group-field" hidden=move || hydrated.get() && producing.get()>
                    <label for="consumer_group">{FIELD_GROUP} <span class="muted">" (consumers only)"</span></label>
                    <input id="consumer_group" name="input[consumer_group]" maxlength="255" value=preset_group.get_value() aria-describedby="consumer_group-hint consumer_group-error" />
                    <div class="checkbox">
                        <input type="checkbox" id="group_is_prefix" name="input[group_is_prefix]" value="1" />
                        <label for="group_is_prefix">"Treat it as a prefix (for groups named per instance)"</label>
                    </div>
                    <p class="hint" id="consumer_group-hint">{format!("Letters, digits, '.', '_' and '-', at most 255 characters. A consumer group belongs to one team: a name or prefix another team holds is refused. A group prefix needs at least {} characters.", crate::domain::GROUP_PREFIX_MIN)}</p>
                    {message(FIELD_GROUP, "consumer_group")}
                </div>
                <div class="field" data-field="purpose">
                    <label for="purpose">{FIELD_PURPOSE}</label>
                    <p class="hint" id="purpose-hint">{format!("What your system does with the events, and why it needs them: at least {PURPOSE_MIN} and at most {PURPOSE_MAX} characters.")}</p>
                    {move || {
                        // An empty text node inside a textarea is lost in the server-rendered
                        // HTML and breaks hydration, so the empty field is a view of its own.
                        let preset = preset_purpose.get_value();
                        if preset.is_empty() {
                            view! {
                                <textarea id="purpose" name="input[purpose]" rows="4" required minlength=PURPOSE_MIN.to_string() aria-describedby="purpose-hint purpose-count purpose-error"
                                    on:input=move |ev| purpose_length.set(event_target_value(&ev).chars().count())></textarea>
                            }.into_any()
                        } else {
                            view! {
                                <textarea id="purpose" name="input[purpose]" rows="4" required minlength=PURPOSE_MIN.to_string() aria-describedby="purpose-hint purpose-count purpose-error"
                                    on:input=move |ev| purpose_length.set(event_target_value(&ev).chars().count())>{preset}</textarea>
                            }.into_any()
                        }
                    }}
                    // Nothing past the limit is cut off: the count says how far over it is, and
                    // the server refuses it with the same words.
                    <p id="purpose-count" data-testid="purpose-count"
                        class=counter_class>
                        {move || format!("{} of {} characters", thousands(purpose_length.get()), thousands(PURPOSE_MAX))}
                    </p>
                    {message(FIELD_PURPOSE, "purpose")}
                </div>
                <div class="field" data-field="expiry">
                    <label for="expiry">{FIELD_EXPIRY} <span class="muted">" (optional)"</span></label>
                    <p class="hint" id="expiry-hint">{format!("A day in the future, at most {MAX_EXPIRY_DAYS} days ahead. Without one, access lasts until it is revoked.")}</p>
                    <input id="expiry" type="date" name="input[expiry]" aria-describedby="expiry-hint expiry-error" />
                    {message(FIELD_EXPIRY, "expiry")}
                </div>
                {message(FIELD_PROMOTED_FROM, "promoted_from")}
                </div>
                <div class="actions">
                    <button type="submit">"Submit for approval"</button>
                    <button type="submit" class="secondary" name="input[save_as_draft]" value="1">"Save as draft"</button>
                </div>
            </PostForm>
        </AreaPage>
    }
}

#[component]
pub fn RequestPage() -> impl IntoView {
    let params = use_params_map();
    let decide = form_action::<DecideRequest>();
    let withdraw = form_action::<WithdrawRequest>();
    let resubmit = form_action::<ResubmitRequest>();
    let actions = ApplyActions::new();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<RequestId>().ok())
    };
    // Every change to the request, its approvals or its apply steps, whoever made it, pushed by
    // the server's event stream: the page follows them without a reload.
    let changes = super::live::use_event_count(
        move || id().map(|id| format!("/events/requests/{id}")),
        "changed",
    );
    // The request and its progress on Kafka, fetched together (progress second, so the steps
    // shown are never older than the state): one snapshot per change.
    let request = load(
        move || {
            (
                id(),
                decide.version().get(),
                withdraw.version().get(),
                resubmit.version().get(),
                actions.versions(),
                changes.get(),
            )
        },
        |(id, ..)| async move {
            let id = id.ok_or(AppError::NotFound)?;
            let detail = get_request(id).await?;
            let progress = apply_status(id).await;
            Ok::<_, AppError>((detail, progress))
        },
    );
    // Approvers open requests from their queue too; the server decides who may see which.
    view! {
        <AreaPage area=Area::MyRequests intro="" open_to=&crate::domain::Role::ALL titled_by_page=true>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match request.await {
                        Ok((detail, progress)) => {
                            let progress = progress.ok().filter(|p| !p.steps.is_empty() || p.can_revoke || p.can_request_revocation || !p.credentials.is_empty());
                            view! { <RequestView detail decide withdraw resubmit progress actions /> }.into_any()
                        }
                        Err(AppError::NotFound) => view! { <super::status::NotFound /> }.into_any(),
                        Err(e) => view! { <p role="alert" class="error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </AreaPage>
    }
}

/// What a request is, what it proposes and where its approvals stand (`facts`), and its timeline
/// (`history`), drawn on the server and shown with `inner_html`: the page has nothing to do with
/// them but show them, so the browser carries neither their drawing nor their data's readers.
#[cfg(feature = "ssr")]
pub(crate) fn draw_request(detail: &mut RequestDetail) {
    let s = detail.summary.clone();
    let facts = view! {
        <dl class="facts">
            <dt>"Application"</dt><dd><a href=format!("/requests/applications/{}", detail.application_id)>{s.application.clone()}</a> " (team " {detail.application_team.clone()} ")"</dd>
            <dt>"Requested by"</dt><dd>{s.requester.clone()}</dd>
            <dt>"Environments"</dt><dd>{s.environments.join(", ")}</dd>
            {detail.consumer_group.clone().map(|g| view! {
                <dt>"Consumer group"</dt><dd><code>{g}</code>{detail.group_is_prefix.then_some(" (prefix)")}</dd>
            })}
            <dt>"Purpose"</dt><dd>{detail.purpose.clone()}</dd>
            <dt>"Access until"</dt><dd>{detail.requested_expiry.map_or("No end date".to_owned(), |d| d.to_string())}</dd>
            <dt>"Topic data"</dt><dd>{detail.classification.map_or("", |c| c.label())}{detail.topic_contains_pii.then_some(", contains PII")}</dd>
            <dt>"Topic owner"</dt><dd>{detail.topic_owner.clone().unwrap_or_default()}</dd>
        </dl>
        {detail.schema_change.0.clone().map(|view| view! { <super::schemas::SchemaChangeDetails view /> })}
        {detail.topic_change.0.map(|c| view! {
            <h3>"Proposed settings"</h3>
            <ul class="grant-words">{c.in_words().into_iter().map(|w| view! { <li>{w}</li> }).collect_view()}</ul>
        })}
        {detail.proposal.0.clone().map(|p| view! {
            <h3>"Proposed topic"</h3>
            <dl class="facts">
                <dt>"Name"</dt><dd><code>{p.name.to_string()}</code></dd>
                <dt>"Title"</dt><dd>{p.title}</dd>
                <dt>"Description"</dt><dd>{p.description}</dd>
                <dt>"Business domain"</dt><dd>{p.business_domain}</dd>
                <dt>"Data"</dt><dd>{p.classification.label()}{p.contains_pii.then_some(", contains PII")}</dd>
                <dt>"Partitions"</dt><dd>{p.partitions.get()}</dd>
                <dt>"Retention"</dt><dd>{format!("{} days", p.retention_days.days())}</dd>
                <dt>"Source systems"</dt><dd>{p.source_systems.join(", ")}</dd>
            </dl>
            {p.value_schema.map(|schema| view! {
                <h3>"Proposed value schema (Avro)"</h3>
                <pre class="schema" data-testid="proposed-schema">{schema}</pre>
            })}
            {p.key_schema.map(|schema| view! {
                <h3>"Proposed key schema (Avro)"</h3>
                <pre class="schema" data-testid="proposed-key-schema">{schema}</pre>
            })}
            <p data-testid="proposed-compatibility">"Compatibility mode of its schemas: " {p.compatibility.as_str()} "."</p>
        })}
        {(!detail.fit.is_empty()).then(|| view! {
            <h3>"Fit check"</h3>
            <ul class="fit-answers">
                {detail.fit.iter().cloned().map(|a| view! {
                    <li>
                        {a.question} " " <strong>{if a.answer { "Yes" } else { "No" }}</strong>
                        {a.concern.map(|c| view! { <br/><span class="concern">"Not a fit: " {c}</span> })}
                    </li>
                }).collect_view()}
            </ul>
        })}
        {detail.promoted_from.map(|from| {
            let words = if s.kind == crate::domain::RequestKind::RevokeAccess {
                ("Takes away the access granted by request ", ".")
            } else {
                ("Repeats the approved request ", " in another environment.")
            };
            view! {
                <p>{words.0} <a href=format!("/requests/{from}")>{from.to_string()}</a> {words.1}</p>
            }
        })}
        {detail.can_promote.then(|| {
            let mut query = url_query(&[
                ("from", s.id.to_string()),
                ("kind", s.kind.as_str().to_owned()),
                ("topic", s.topic.clone()),
                ("application", detail.application_id.to_string()),
                ("group", detail.consumer_group.clone().unwrap_or_default()),
                ("purpose", detail.purpose.clone()),
            ]);
            query.insert(0, '?');
            view! {
                <p><a class="button secondary" href=format!("/requests/new{query}")>"Promote to another environment"</a></p>
            }
        })}
        <h3>"Compliance"</h3>
        {detail.compliance.0.clone().map(|c| view! { <super::applications::ComplianceFacts c /> })}
        <h3>"Approvals"</h3>
        <ul class="slots">
            {detail.slots.iter().cloned().map(|slot| view! {
                <li class="slot" data-testid=format!("slot-{}", slot.kind.as_str())>
                    <strong>{slot.kind.label()}</strong>
                    {slot.team.clone().map(|t| format!(" ({t})"))}
                    ": "
                    {match (&slot.decided_by, slot.decision) {
                        (Some(by), Some(d)) => format!("{} by {by}", d.past_tense()),
                        _ => slot.waited.as_ref().map_or_else(|| "waiting".to_owned(), |w| format!("waiting for {w}")),
                    }}
                    {slot.decided_by.is_none().then(|| view! { <br/><span data-testid="can-decide">{who_can_decide(&slot)}</span> })}
                    <br/><span class="muted">{slot.reason}</span>
                    {slot.decision_reason.map(|r| view! { <br/><span>"“" {r} "”"</span> })}
                </li>
            }).collect_view()}
        </ul>
    };
    detail.facts = crate::loaded::Markup::new(facts.to_html());
    let history = view! {
        <h3>"Timeline"</h3>
        <ol class="timeline">
            {detail.timeline.iter().cloned().map(|e| view! {
                <li>
                    <time datetime=e.at.to_rfc3339()>{crate::time::minute(&e.at)}</time>
                    " " <strong>{e.actor}</strong> " " {e.action}
                    {e.detail.map(|d| view! { ": “" {d} "”" })}
                </li>
            }).collect_view()}
        </ol>
    };
    detail.history = crate::loaded::Markup::new(history.to_html());
}

/// A count with thousands separated: 2,000.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Who can fill a waiting slot, by name.
#[cfg(feature = "ssr")]
fn who_can_decide(slot: &crate::requests::SlotView) -> String {
    let mut names: Vec<&str> = slot.can_decide.iter().map(String::as_str).collect();
    let others = match slot.others_can_decide {
        0 => None,
        1 => Some("1 other".to_owned()),
        n => Some(format!("{n} others")),
    };
    if let Some(others) = &others {
        names.push(others);
    }
    if names.is_empty() {
        return match &slot.team {
            Some(team) => format!("Nobody the portal knows can decide yet: a team approver of {team} can, once they sign in."),
            None => "Nobody the portal knows can decide yet: a governance approver can, once they sign in.".to_owned(),
        };
    }
    format!("{} can decide.", crate::domain::in_words_list(&names))
}

#[component]
fn RequestView(
    detail: RequestDetail,
    decide: FormAction<DecideRequest>,
    withdraw: FormAction<WithdrawRequest>,
    resubmit: FormAction<ResubmitRequest>,
    progress: Option<crate::apply::ApplyProgress>,
    actions: ApplyActions,
) -> impl IntoView {
    let resubmit_error = move || {
        resubmit.value().with(|r| {
            r.as_ref()
                .and_then(|r| r.as_ref().err().map(|e| e.to_string()))
        })
    };
    let s = detail.summary.clone();
    let decision_error = move || {
        decide.value().with(|r| {
            r.as_ref()
                .and_then(|r| r.as_ref().err().map(|e| e.to_string()))
        })
    };
    let withdraw_error = move || {
        withdraw.value().with(|r| {
            r.as_ref()
                .and_then(|r| r.as_ref().err().map(|e| e.to_string()))
        })
    };
    let heading = s.kind.title(&s.topic, &s.application);
    let show_reason = matches!(
        s.state,
        RequestState::Declined | RequestState::ChangesRequested
    );
    view! {
        <PageHeading title=heading.clone()>{heading}</PageHeading>
        <p>"Status: " {state_badge(s.state)}</p>
        {show_reason.then(|| detail.decision_reason.clone().map(|reason| view! {
            <div class="notice" role="status"><strong>"Reason given: "</strong>{reason}</div>
        }))}
        {progress.map(|progress| view! { <ApplyPanel id=s.id progress actions /> }.into_any())}
        <div class="request-facts" inner_html=detail.facts.html()></div>
        {detail.decidable_slot.map(|slot| view! {
            <section class="decision" aria-labelledby="decide-title">
                <h3 id="decide-title">"Your decision (" {slot.label()} ")"</h3>
                <PostForm action=decide>
                    <input type="hidden" name="id" value=s.id.to_string() />
                    <input type="hidden" name="version" value=detail.version.to_string() />
                    <div class="field">
                        <label for="reason">"Reason (required to decline or ask for changes)"</label>
                        <textarea id="reason" name="reason" rows="3"></textarea>
                    </div>
                    {move || decision_error().map(|m| view! { <p role="alert" class="error">{m}</p> })}
                    <div class="actions">
                        <button type="submit" name="decision" value="approve">"Approve"</button>
                        <button type="submit" name="decision" value="request_changes" class="secondary">"Request changes"</button>
                        <button type="submit" name="decision" value="decline" class="danger">"Decline"</button>
                    </div>
                </PostForm>
            </section>
        })}
        {detail.can_resubmit.then(|| {
            let is_consumer = detail.consumer_group.is_some();
            view! {
            <section class="decision" aria-labelledby="resubmit-title">
                <h3 id="resubmit-title">{if s.state == RequestState::Draft { "Finish the draft and send it for approval" } else { "Make the changes and send it again" }}</h3>
                <PostForm action=resubmit>
                    <input type="hidden" name="id" value=s.id.to_string() />
                    <input type="hidden" name="version" value=detail.version.to_string() />
                    {is_consumer.then(|| view! {
                        <div class="field">
                            <label for="resubmit-group">{FIELD_GROUP}</label>
                            <input id="resubmit-group" name="consumer_group" maxlength="255" value=detail.consumer_group.clone().unwrap_or_default() />
                        </div>
                    })}
                    <div class="field">
                        <label for="resubmit-purpose">{FIELD_PURPOSE}</label>
                        <textarea id="resubmit-purpose" name="purpose" rows="3">{detail.purpose.clone()}</textarea>
                    </div>
                    {move || resubmit_error().map(|m| view! { <p role="alert" class="error">{m}</p> })}
                    <button type="submit">"Send for approval again"</button>
                </PostForm>
            </section>
        }})}
        {detail.can_withdraw.then(|| view! {
            <PostForm action=withdraw attr:class="withdraw">
                <input type="hidden" name="id" value=s.id.to_string() />
                <input type="hidden" name="version" value=detail.version.to_string() />
                {move || withdraw_error().map(|m| view! { <p role="alert" class="error">{m}</p> })}
                <button type="submit" class="secondary">"Withdraw request"</button>
            </PostForm>
        })}
        <div class="request-history" inner_html=detail.history.html()></div>
    }
}

#[component]
pub fn NewTopicPage() -> impl IntoView {
    use crate::requests::topic_form::{
        FIELD_CLASSIFICATION, FIELD_CLEANUP, FIELD_DESCRIPTION, FIELD_DOMAIN, FIELD_FIT,
        FIELD_NAME, FIELD_PARTITIONS, FIELD_RETENTION, FIELD_SOURCES, FIELD_TITLE,
        FIELD_TOPIC_COMPATIBILITY, FIT_QUESTIONS,
    };
    let action = form_action::<ProposeTopic>();
    let result = action.value();
    let applications = load(|| (), |_| my_applications());
    let environments = load(|| (), |_| list_environments());
    let naming = load(|| (), |_| crate::catalog::naming_policy());
    let preload: Preload = std::sync::Arc::new(move || {
        Box::pin(async move {
            let _ = applications.await;
            let _ = environments.await;
            let _ = naming.await;
        })
    });
    // The same rules as the server's, as one types.
    let check = FormCheck::new(result);
    // The page's data is loaded when its form first changes (the form renders after it).
    let policy = move || {
        naming
            .get_untracked()
            .and_then(Result::ok)
            .unwrap_or_default()
    };
    let parse = move |input: crate::requests::TopicProposalInput| {
        let known = environment_names(environments);
        input.parse(&policy(), &known).err().unwrap_or_default()
    };
    let message = move |field: &'static str, id: &'static str| check.message(result, field, id);
    // Answers kept in the browser so concerns show as soon as a question is answered.
    let answers = RwSignal::new(std::collections::HashMap::<&'static str, bool>::new());
    view! {
        <AreaPage area=Area::MyRequests title="Propose a new topic" intro="Propose a new event. Governance reviews every new topic; producer access for your application comes with it." preload=preload>
            <PostForm action=action attr:class="request-form" attr:novalidate="">
                <div class="form-fields" on:input=check.on_input(parse) on:focusout=check.on_focusout()>
                {form_error(result)}
                <fieldset data-field="fit">
                    <legend>"Is the event bus a fit?"</legend>
                    {FIT_QUESTIONS.iter().map(|q| {
                        let name = format!("input[fit_{}]", q.key);
                        let yes = format!("fit-{}-yes", q.key);
                        let no = format!("fit-{}-no", q.key);
                        let key = q.key;
                        let not_fit_when = q.not_fit_when;
                        let explanation = q.explanation;
                        view! {
                            <div class="fit-question" role="group" aria-labelledby=format!("fit-{key}-q")>
                                <p id=format!("fit-{key}-q")>{q.question}</p>
                                <span class="checkbox">
                                    <input type="radio" id=yes.clone() name=name.clone() value="yes" on:change=move |_| answers.update(|a| { a.insert(key, true); }) />
                                    <label for=yes>"Yes"</label>
                                </span>
                                <span class="checkbox">
                                    <input type="radio" id=no.clone() name=name value="no" on:change=move |_| answers.update(|a| { a.insert(key, false); }) />
                                    <label for=no>"No"</label>
                                </span>
                                {move || (answers.with(|a| a.get(key).copied()) == Some(not_fit_when)).then(|| view! {
                                    <p class="concern" role="status">"Not a fit: " {explanation}</p>
                                })}
                            </div>
                        }
                    }).collect_view()}
                    {message(FIELD_FIT, "fit")}
                </fieldset>
                <div class="field" data-field="name">
                    <label for="name">{FIELD_NAME}</label>
                    <p class="hint" id="name-hint">{policy().describe()}</p>
                    <input id="name" name="input[name]" required maxlength="120" aria-describedby="name-hint name-error" />
                    {message(FIELD_NAME, "name")}
                </div>
                <div class="field" data-field="title">
                    <label for="title">{FIELD_TITLE}</label>
                    <input id="title" name="input[title]" required maxlength="120" aria-describedby="title-error" />
                    {message(FIELD_TITLE, "title")}
                </div>
                <div class="field" data-field="description">
                    <label for="description">{FIELD_DESCRIPTION}</label>
                    <p class="hint" id="description-hint">"When the event is published, what it carries, and who is expected to consume it: at least 10 and at most 4000 characters."</p>
                    <textarea id="description" name="input[description]" rows="4" required aria-describedby="description-hint description-error"></textarea>
                    {message(FIELD_DESCRIPTION, "description")}
                </div>
                <div class="field" data-field="business_domain">
                    <label for="business_domain">{FIELD_DOMAIN}</label>
                    <input id="business_domain" name="input[business_domain]" required maxlength="60" aria-describedby="business_domain-error" />
                    {message(FIELD_DOMAIN, "business_domain")}
                </div>
                <div class="field" data-field="classification">
                    <label for="classification">{FIELD_CLASSIFICATION}</label>
                    <select id="classification" name="input[classification]" aria-describedby="classification-error">
                        <option value="low">"Low"</option>
                        <option value="moderate">"Moderate"</option>
                        <option value="high">"High"</option>
                    </select>
                    <div class="checkbox">
                        <input type="checkbox" id="contains_pii" name="input[contains_pii]" value="1" />
                        <label for="contains_pii">"The events include PII or PHI"</label>
                    </div>
                    {message(FIELD_CLASSIFICATION, "classification")}
                </div>
                <div class="field" data-field="partitions">
                    <label for="partitions">{FIELD_PARTITIONS}</label>
                    <input id="partitions" name="input[partitions]" type="number" min="1" max="1000" value="3" aria-describedby="partitions-error" />
                    {message(FIELD_PARTITIONS, "partitions")}
                </div>
                <div class="field" data-field="retention_days">
                    <label for="retention_days">{FIELD_RETENTION}</label>
                    <input id="retention_days" name="input[retention_days]" type="number" min="1" max="365" value="7" aria-describedby="retention_days-error" />
                    {message(FIELD_RETENTION, "retention_days")}
                </div>
                <div class="field" data-field="cleanup_policy">
                    <label for="cleanup_policy">{FIELD_CLEANUP}</label>
                    <select id="cleanup_policy" name="input[cleanup_policy]">
                        <option value="delete">"Delete old events"</option>
                        <option value="compact">"Compact: keep the latest per key"</option>
                        <option value="compact_delete">"Compact and delete"</option>
                    </select>
                    {message(FIELD_CLEANUP, "cleanup_policy")}
                </div>
                <div class="field" data-field="source_systems">
                    <label for="source_systems">{FIELD_SOURCES} <span class="muted">" (comma-separated)"</span></label>
                    <input id="source_systems" name="input[source_systems]" maxlength="1700" aria-describedby="source_systems-error" />
                    {message(FIELD_SOURCES, "source_systems")}
                </div>
                <TopicSchemaField part=NewTopicSchema::Value id="value_schema" label=crate::schemas::FIELD_SCHEMA
                    hint="The events' first schema, an Avro record, registered as version 1 of the topic's value subject when the topic is approved. Clients never register schemas themselves."
                    error=message(crate::schemas::FIELD_SCHEMA, "value_schema").into_any() />
                <TopicSchemaField part=NewTopicSchema::Key id="key_schema" label=crate::schemas::FIELD_KEY_SCHEMA
                    hint="The keys' first schema (often just {\"type\": \"string\"}), registered as version 1 of the topic's key subject with the value schema."
                    error=message(crate::schemas::FIELD_KEY_SCHEMA, "key_schema").into_any() />
                <div class="field" data-field="compatibility">
                    <label for="compatibility">{FIELD_TOPIC_COMPATIBILITY}</label>
                    <p class="hint" id="compatibility-hint">"How later versions of the schemas must fit earlier ones. BACKWARD, the usual choice, lets consumers move to a new version before producers do."</p>
                    <select id="compatibility" name="input[compatibility]" aria-describedby="compatibility-hint compatibility-error">
                        {crate::domain::Compatibility::ALL.map(|mode| view! {
                            <option value=mode.as_str() selected=mode == crate::domain::Compatibility::default()>{format!("{}: {}", mode.as_str(), mode.description())}</option>
                        }).into_iter().collect_view()}
                    </select>
                    {message(FIELD_TOPIC_COMPATIBILITY, "compatibility")}
                </div>
                <div class="field" data-field="application">
                    <label for="application">"Producing application"</label>
                    <ApplicationSelect apps=applications.get_untracked().and_then(Result::ok).unwrap_or_default() />
                    {message(FIELD_APPLICATION, "application")}
                </div>
                <EnvironmentChoices environments error=message(FIELD_ENVIRONMENTS, "environments") />
                </div>
                <button type="submit">"Submit for approval"</button>
            </PostForm>
        </AreaPage>
    }
}

/// A new topic's schema, checked by the server a moment after typing stops, by the rules the
/// proposal is held to on submit.
#[component]
fn TopicSchemaField(
    part: NewTopicSchema,
    id: &'static str,
    label: &'static str,
    hint: &'static str,
    /// The field's message from the last submission.
    error: AnyView,
) -> impl IntoView {
    let (typed, set_typed) = signal(String::new());
    let typing = StoredValue::new(0_u64);
    let verdict = load(
        move || typed.get(),
        move |text| async move {
            if text.trim().is_empty() {
                None
            } else {
                Some(check_topic_schema(part, text).await)
            }
        },
    );
    let on_input = super::schemas::after_typing(typing, move |text| set_typed.set(text));
    view! {
        <div class="field" data-field=id>
            <label for=id>{label} <span class="muted">" (optional)"</span></label>
            <p class="hint" id=format!("{id}-hint")>{hint}</p>
            <textarea id=id name=format!("input[{id}]") rows="8" maxlength="65536" spellcheck="false" class="code"
                aria-describedby=format!("{id}-hint {id}-check {id}-error") on:input=on_input></textarea>
            <div id=format!("{id}-check") aria-live="polite" data-testid=format!("{id}-check")>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        match verdict.await {
                            None => ().into_any(),
                            Some(Ok(said)) => view! { <p class="notice ok">{said}</p> }.into_any(),
                            Some(Err(e)) => {
                                let said = e.field_message(label).map_or_else(|| e.to_string(), str::to_owned);
                                view! { <p class="error">{said}</p> }.into_any()
                            }
                        }
                    })}
                </Transition>
            </div>
            {error}
        </div>
    }
}

/// The owning team proposes new settings for a topic; governance decides.
#[component]
pub fn TopicChangePage() -> impl IntoView {
    use crate::requests::topic_form::{FIELD_CLEANUP, FIELD_PARTITIONS, FIELD_RETENTION};
    let action = form_action::<ProposeTopicChange>();
    let result = action.value();
    let query = use_query_map();
    let name = query.read_untracked().get("topic").unwrap_or_default();
    let topic = load(move || name.clone(), crate::catalog::get_topic);
    let applications = load(|| (), |_| my_applications());
    let preload: Preload = std::sync::Arc::new(move || {
        Box::pin(async move {
            let _ = topic.await;
            let _ = applications.await;
        })
    });
    // The same rules as the server's, as one types.
    let check = FormCheck::new(result);
    let parse = |input: crate::requests::TopicChangeInput| input.parse().err().unwrap_or_default();
    let message = move |field: &'static str, id: &'static str| check.message(result, field, id);
    view! {
        <AreaPage area=Area::MyRequests title="Propose new settings" intro="New settings for a topic your team owns. Governance reviews them; the portal then applies them to every environment of the topic." preload=preload>
            {move || match topic.get_untracked() {
                Some(Ok(t)) => {
                    let cleanup = t.cleanup_policy;
                    let option = move |value: &'static str, label: &'static str| {
                        view! { <option value=value selected=cleanup.as_str() == value>{label}</option> }
                    };
                    view! {
                        <PostForm action=action attr:class="request-form" attr:novalidate="">
                            <div class="form-fields" on:input=check.on_input(parse) on:focusout=check.on_focusout()>
                            {form_error(result)}
                            <p>"Topic " <code>{t.summary.name.clone()}</code> ", owned by " {t.summary.owning_team.clone()}
                               ". Now: " {t.partitions} " partitions, " {t.retention_days} " days of retention, cleanup " {t.cleanup_policy.as_str()} "."</p>
                            <input type="hidden" name="input[topic]" value=t.summary.name.clone() />
                            {message(FIELD_TOPIC, "topic")}
                            <div class="field" data-field="partitions">
                                <label for="partitions">{FIELD_PARTITIONS}</label>
                                <p class="hint" id="partitions-hint">"Partitions can only be raised: Kafka cannot remove them, and keys move to other partitions when their number changes."</p>
                                <input id="partitions" name="input[partitions]" type="number" min="1" max="1000" value=t.partitions.to_string() aria-describedby="partitions-hint partitions-error" />
                                {message(FIELD_PARTITIONS, "partitions")}
                            </div>
                            <div class="field" data-field="retention_days">
                                <label for="retention_days">{FIELD_RETENTION}</label>
                                <input id="retention_days" name="input[retention_days]" type="number" min="1" max="365" value=t.retention_days.to_string() aria-describedby="retention_days-error" />
                                {message(FIELD_RETENTION, "retention_days")}
                            </div>
                            <div class="field" data-field="cleanup_policy">
                                <label for="cleanup_policy">{FIELD_CLEANUP}</label>
                                <select id="cleanup_policy" name="input[cleanup_policy]">
                                    {option("delete", "Delete old events")}
                                    {option("compact", "Compact: keep the latest per key")}
                                    {option("compact_delete", "Compact and delete")}
                                </select>
                                {message(FIELD_CLEANUP, "cleanup_policy")}
                            </div>
                            <div class="field" data-field="application">
                                <label for="application">"Producing application"</label>
                                <ApplicationSelect apps=applications.get_untracked().and_then(Result::ok).unwrap_or_default() />
                                {message(FIELD_APPLICATION, "application")}
                            </div>
                            <div class="field" data-field="purpose">
                                <label for="purpose">"Why"</label>
                                <p class="hint" id="purpose-hint">{format!("At least {PURPOSE_MIN} and at most {PURPOSE_MAX} characters.")}</p>
                                <textarea id="purpose" name="input[purpose]" rows="3" aria-describedby="purpose-hint purpose-error"></textarea>
                                {message(FIELD_PURPOSE, "purpose")}
                            </div>
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

/// `key=value&...` with each value percent-encoded.
#[cfg(feature = "ssr")]
fn url_query(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            let encoded: String = v
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect();
            format!("{k}={encoded}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The applications to choose from, as a select named for the form.
#[component]
pub(super) fn ApplicationSelect(apps: Vec<crate::requests::ApplicationOption>) -> impl IntoView {
    view! {
        <select id="application" name="input[application]" required aria-describedby="application-error"
            inner_html=application_options(&apps)></select>
    }
}

/// A checkbox per environment, with the field's error from the last submission.
#[component]
fn EnvironmentChoices(
    environments: Loaded<Result<Vec<crate::environments::EnvironmentSummary>, AppError>>,
    /// The field's message, under the choices.
    error: impl IntoView + 'static,
) -> impl IntoView {
    let choices = environments
        .get_untracked()
        .and_then(Result::ok)
        .unwrap_or_default();
    view! {
        <fieldset data-field="environments">
            <legend>{FIELD_ENVIRONMENTS}</legend>
            {choices.into_iter().map(|env| {
                let id = format!("env-{}", env.name);
                view! {
                    <div class="field checkbox">
                        <input type="checkbox" id=id.clone() name="input[environments][]" value=env.name.clone() />
                        <label for=id>{env.display_name.clone()} {(!env.allows_pii).then_some(" (no PII or PHI)")}</label>
                    </div>
                }
            }).collect_view()}
            {error}
        </fieldset>
    }
}

/// The names of the bus's environments, once the page's resource has them.
fn environment_names(
    environments: Loaded<Result<Vec<crate::environments::EnvironmentSummary>, AppError>>,
) -> Vec<EnvironmentName> {
    environments
        .get_untracked()
        .and_then(Result::ok)
        .unwrap_or_default()
        .into_iter()
        .map(|e| e.name)
        .collect()
}

/// The application choices as HTML. Written as markup rather than as child views: Chromium's
/// parser does not keep the hydration markers that a list of child views leaves inside a
/// `<select>`, and the page would fail to hydrate.
fn application_options(apps: &[crate::requests::ApplicationOption]) -> String {
    apps.iter()
        .map(|a| {
            format!(
                "<option value=\"{}\">{} ({})</option>",
                a.id,
                escape_html(&a.name),
                escape_html(&a.team)
            )
        })
        .collect()
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

//! The part of the request page that follows an approval onto Kafka: each step's status (live),
//! what the grant allows in words, the application's password shown once, and the retry and
//! revoke actions.

use super::areas::ConfirmActions;
use crate::apply::{
    ApplyProgress, CredentialState, CredentialView, RetryRequest, RevealCredential, RevokeRequest,
    RotateCredential,
};
#[cfg(feature = "ssr")]
use crate::connect::{Client, ClientSettings};
use crate::domain::RequestId;
use crate::domain::StepStatus;
use crate::form_action::{FormAction, PostForm, form_action};
use crate::requests::RequestRevocation;
use leptos::prelude::*;

/// The actions the panel offers; created by the page so their results survive refreshes.
#[derive(Clone, Copy)]
pub struct ApplyActions {
    pub reveal: FormAction<RevealCredential>,
    pub rotate: FormAction<RotateCredential>,
    pub retry: FormAction<RetryRequest>,
    pub revoke: FormAction<RevokeRequest>,
    pub ask_revocation: FormAction<RequestRevocation>,
}

/// What a credential's section can do: show its waiting password once, or set a new one.
#[derive(Clone, Copy)]
pub struct CredentialActions {
    pub reveal: FormAction<RevealCredential>,
    pub rotate: FormAction<RotateCredential>,
}

impl CredentialActions {
    pub fn new() -> Self {
        Self {
            reveal: form_action(),
            rotate: form_action(),
        }
    }
}

impl Default for CredentialActions {
    fn default() -> Self {
        Self::new()
    }
}

impl ApplyActions {
    pub fn credentials(&self) -> CredentialActions {
        CredentialActions {
            reveal: self.reveal,
            rotate: self.rotate,
        }
    }

    pub fn new() -> Self {
        Self {
            reveal: form_action(),
            rotate: form_action(),
            retry: form_action(),
            revoke: form_action(),
            ask_revocation: form_action(),
        }
    }

    /// Changes whenever one of them completes.
    pub fn versions(&self) -> (usize, usize, usize, usize) {
        (
            self.reveal.version().get(),
            self.rotate.version().get(),
            self.retry.version().get(),
            self.revoke.version().get(),
        )
    }
}

impl Default for ApplyActions {
    fn default() -> Self {
        Self::new()
    }
}

fn step_class(status: StepStatus) -> &'static str {
    match status {
        StepStatus::Done => "step step-done",
        StepStatus::Failed => "step step-failed",
        StepStatus::WaitingForCluster => "step step-waiting",
        StepStatus::Cancelled => "step step-cancelled",
        StepStatus::Pending => "step",
    }
}

fn error_of<S: leptos::server_fn::ServerFn<Output: Send + Sync + 'static>>(
    action: FormAction<S>,
) -> impl Fn() -> Option<String> + Copy {
    move || {
        action.value().with(|r| {
            r.as_ref()
                .and_then(|r| r.as_ref().err().map(|e| e.to_string()))
        })
    }
}

#[component]
pub fn ApplyPanel(id: RequestId, progress: ApplyProgress, actions: ApplyActions) -> impl IntoView {
    let retry_error = error_of(actions.retry);
    let revoke_error = error_of(actions.revoke);
    let ask_error = error_of(actions.ask_revocation);
    let has_steps = !progress.steps.is_empty();
    // Revoking and rotating are confirmed on a page of their own (`?confirm=...`), which works
    // with and without JavaScript.
    let query = leptos_router::hooks::use_query_map();
    let confirming = move || query.read().get("confirm");
    let here = format!("/requests/{id}");
    view! {
        <section class="apply" aria-labelledby="apply-title">
            <h3 id="apply-title">"On Kafka"</h3>
            {(!progress.grants_in_words.is_empty()).then(|| view! {
                <ul class="grant-words">
                    {progress.grants_in_words.iter().cloned().map(|w| view! { <li>{w}</li> }).collect_view()}
                </ul>
            })}
            {has_steps.then(|| view! {
                <ol class="steps" data-testid="apply-steps" aria-live="polite">
                    {progress.steps.iter().cloned().map(|step| view! {
                        <li class=step_class(step.status) data-status=step.status.as_str()>
                            <span class="step-name">{step.kind.label()} " (" {step.environment.clone()} ")"</span>
                            ": " <strong>{step.status.label()}</strong>
                            {step.last_error.filter(|_| !step.status.is_settled() || step.status == StepStatus::Failed).map(|e| view! {
                                <br/><span class="muted">{format!("Last try: {e} (attempt {})", step.attempts)}</span>
                            })}
                        </li>
                    }).collect_view()}
                </ol>
            })}
            <Credentials credentials=progress.credentials.clone() actions=actions.credentials() here=here.clone() />
            <Connect markup=progress.connect.clone() />
            {progress.can_retry.then(|| view! {
                <PostForm action=actions.retry>
                    <input type="hidden" name="id" value=id.to_string() />
                    <input type="hidden" name="version" value=progress.version.to_string() />
                    {move || retry_error().map(|m| view! { <p role="alert" class="error">{m}</p> })}
                    <button type="submit">"Retry the failed steps"</button>
                </PostForm>
            })}
            {progress.can_revoke.then(|| {
                let version = progress.version;
                let here = here.clone();
                move || if confirming().as_deref() == Some("revoke") {
                    let cancel = here.clone();
                    view! {
                        <section class="confirm" aria-labelledby="confirm-revoke" data-testid="confirm-revoke">
                            <h3 id="confirm-revoke">"Revoke this access?"</h3>
                            <PostForm action=actions.revoke>
                                <input type="hidden" name="id" value=id.to_string() />
                                <input type="hidden" name="version" value=version.to_string() />
                                <p>"The application's ACLs for this request are removed from every environment at once: its clients are refused from their next request. Its credentials stay for its other grants. This cannot be undone; the access would have to be asked for again."</p>
                                <div class="field">
                                    <label for="revoke-reason">"Reason (optional)"</label>
                                    <input id="revoke-reason" name="reason" maxlength="2000" />
                                </div>
                                {move || revoke_error().map(|m| view! { <p role="alert" class="error">{m}</p> })}
                                <ConfirmActions yes="Yes, revoke access" cancel />
                            </PostForm>
                        </section>
                    }.into_any()
                } else {
                    view! {
                        <p><a class="button danger" href=format!("{here}?confirm=revoke")>"Revoke access…"</a></p>
                    }.into_any()
                }
            })}
            {progress.can_request_revocation.then(|| view! {
                <details class="revoke">
                    <summary>"Ask to revoke this access (owning team)"</summary>
                    <PostForm action=actions.ask_revocation>
                        <input type="hidden" name="id" value=id.to_string() />
                        <p>"Your team owns this topic. Governance and another person of your team decide; the requesting team is told."</p>
                        <div class="field">
                            <label for="ask-revoke-reason">"Why it should end"</label>
                            <textarea id="ask-revoke-reason" name="reason" rows="3"></textarea>
                        </div>
                        {move || ask_error().map(|m| view! { <p role="alert" class="error">{m}</p> })}
                        <button type="submit" class="secondary">"Send for approval"</button>
                    </PostForm>
                </details>
            })}
        </section>
    }
}

/// An application's Kafka users, the password shown once, and what went wrong showing or
/// rotating one. `here` is the page's own address, for the rotation's confirmation.
#[component]
pub fn Credentials(
    credentials: Vec<CredentialView>,
    actions: CredentialActions,
    here: String,
) -> impl IntoView {
    // The password button waits for JavaScript: a plain form post would use up the one showing
    // without a page to show it on (it never travels in an address).
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let revealed = actions.reveal.value();
    let reveal_error = error_of(actions.reveal);
    let rotate_error = error_of(actions.rotate);
    view! {
        {credentials.into_iter().map(|c| view! { <Credential c actions hydrated here=here.clone() /> }.into_any()).collect_view()}
        {move || revealed.with(|r| r.as_ref().and_then(|r| r.as_ref().ok()).cloned()).map(|secret| view! {
            <div class="notice secret" role="status" data-testid="revealed-credential">
                <p><strong>"Copy this password now."</strong> " It is shown once: the portal does not keep it, and reloading the page will not show it again."</p>
                <p class="hint">"A client that was refused before this access existed sees it at its next metadata refresh (librdkafka: every 5 minutes by default); an idempotent producer refused at start-up stops for good. Restart such clients once the access is in place on the cluster."</p>
                <dl class="facts">
                    <dt>"Environment"</dt><dd>{secret.environment.clone()}</dd>
                    <dt>"User name"</dt><dd><code>{secret.principal.clone()}</code></dd>
                    <dt>"Mechanism"</dt><dd>{secret.mechanism.clone()} " over SASL_SSL (SASL_PLAINTEXT locally)"</dd>
                    <dt><label for="revealed-password">"Password"</label></dt>
                    <dd>
                        <input id="revealed-password" readonly value=secret.password.clone() size="48" autocomplete="off" spellcheck="false" />
                        <button type="button" class="secondary" onclick="navigator.clipboard.writeText(document.getElementById('revealed-password').value)">"Copy"</button>
                    </dd>
                </dl>
            </div>
        })}
        {move || reveal_error().or_else(rotate_error).map(|m| view! { <p role="alert" class="error">{m}</p> })}
    }
}

/// How to connect with each grant: per environment (a request's page), or per environment and
/// topic (an application's page, which lists all of its grants). Drawn on the server, where the
/// data is read, and shown with `inner_html` ([`Connect`]): the client configurations are text
/// the browser never has to build.
#[cfg(feature = "ssr")]
pub(crate) fn draw_connect_section(
    connections: &[ClientSettings],
    by_topic: bool,
) -> crate::loaded::Markup {
    if connections.is_empty() {
        return crate::loaded::Markup::default();
    }
    let section = view! {
        <section class="connect" aria-labelledby="connect-title" data-testid="connect">
            <h3 id="connect-title">"Connect your application"</h3>
            <p>"Each configuration reads the password from the " <code>"KAFKA_PASSWORD"</code> " environment variable: set it to the password shown once above (if it was lost, rotate the password). Nothing here is secret, so the configurations can be shared and kept with the application's code."</p>
            {connections.iter().map(|c| {
                let (heading, testid) = if by_topic {
                    (
                        format!("{} of {} in {}", c.role.label(), c.topic, c.environment),
                        format!("connect-{}-{}-{}", c.environment, c.topic, c.role.as_str()),
                    )
                } else {
                    (format!("In {}", c.environment), format!("connect-{}", c.environment))
                };
                connection(c, heading, testid)
            }).collect_view()}
        </section>
    };
    crate::loaded::Markup::new(section.to_html())
}

/// The markup `draw_connect_section` drew on the server (empty when there is nothing to connect).
#[component]
pub fn Connect(markup: crate::loaded::Markup) -> impl IntoView {
    view! { <div class="connect-drawn" inner_html=markup.html()></div> }
}

/// How to reach one environment with one grant's access, and a configuration per client.
#[cfg(feature = "ssr")]
fn connection(c: &ClientSettings, heading: String, testid: String) -> impl IntoView + use<> {
    let env = c.environment.clone();
    let group = c.consumer_group.clone().map(|g| {
        let words = if c.group_is_prefix {
            " (a prefix: name groups that start with it)"
        } else {
            ""
        };
        view! { <dt>"Consumer group"</dt><dd><code>{g}</code>{words}</dd> }
    });
    let snippets = Client::ALL
        .into_iter()
        .map(|client| {
            let testid = format!("snippet-{}-{}", client.as_str(), env);
            view! {
                <details class="snippet">
                    <summary>{client.label()}</summary>
                    <p class="hint">"Needs " {client.minimum_version()} "."</p>
                    <pre data-testid=testid><code>{c.snippet(client)}</code></pre>
                </details>
            }
        })
        .collect_view();
    view! {
        <div class="connection" data-testid=testid>
            <h4>{heading}</h4>
            <dl class="facts">
                <dt>"Bootstrap servers"</dt><dd><code>{c.address.bootstrap_servers.clone()}</code></dd>
                <dt>"Security protocol"</dt><dd><code>{c.address.security_protocol.clone()}</code></dd>
                <dt>"SASL mechanism"</dt><dd><code>{c.address.sasl_mechanism.clone()}</code></dd>
                <dt>"User name"</dt><dd><code>{c.principal.clone()}</code></dd>
                {group}
                <dt>"Schema registry"</dt><dd><code>{c.registry_url.clone()}</code> " (the same user name and password)"</dd>
            </dl>
            {snippets}
        </div>
    }
}

#[component]
fn Credential(
    c: CredentialView,
    actions: CredentialActions,
    hydrated: RwSignal<bool>,
    here: String,
) -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let confirm_key = format!("rotate-{}", c.environment);
    let confirm_link = format!("{here}?confirm={confirm_key}");
    let cancel_link = here;
    let confirming = move || query.read().get("confirm").as_deref() == Some(confirm_key.as_str());
    let words = match c.state {
        CredentialState::Missing => "It has no password yet.",
        CredentialState::Setting => "A password is being set on the cluster.",
        CredentialState::ReadyToShow => "A new password is ready. It can be shown once.",
        CredentialState::Shown => {
            "Its password was shown once already; the portal does not keep it."
        }
    };
    // The password just shown on this page is not "shown once already" beside itself.
    let shown_here = {
        let env = c.environment.clone();
        move || {
            actions
                .reveal
                .value()
                .with(|r| matches!(r, Some(Ok(secret)) if secret.environment == env))
        }
    };
    let environment = c.environment.clone();
    let environment_again = c.environment.clone();
    let environment_missing = c.environment.clone();
    view! {
        <div class="credential" data-testid=format!("credential-{}", c.environment)>
            <p>
                "Application user " <code>{format!("User:{}", c.principal)}</code>
                " in " {c.environment.clone()} ": "
                {move || if shown_here() { "Its password is shown below, once: copy it now." } else { words }}
            </p>
            {(c.can_manage && c.state == CredentialState::ReadyToShow).then(|| view! {
                <PostForm action=actions.reveal>
                    <input type="hidden" name="application" value=c.application_id.to_string() />
                    <input type="hidden" name="environment" value=environment />
                    <button type="submit" disabled=move || !hydrated.get()>"Show the password once"</button>
                    <noscript>" Showing a password needs JavaScript, so that it never travels in a page address."</noscript>
                </PostForm>
            })}
            {(c.can_manage && c.state == CredentialState::Missing).then(|| view! {
                <PostForm action=actions.rotate>
                    <input type="hidden" name="application" value=c.application_id.to_string() />
                    <input type="hidden" name="environment" value=environment_missing />
                    <button type="submit" class="secondary">"Create a password"</button>
                </PostForm>
            })}
            {(c.can_manage && c.state == CredentialState::Shown).then(|| {
                let application = c.application_id;
                move || if confirming() {
                    let (environment, cancel) = (environment_again.clone(), cancel_link.clone());
                    view! {
                        <section class="confirm" aria-labelledby="confirm-rotate" data-testid="confirm-rotate">
                            <h3 id="confirm-rotate">{format!("Rotate the password in {environment}?")}</h3>
                            <PostForm action=actions.rotate>
                                <input type="hidden" name="application" value=application.to_string() />
                                <input type="hidden" name="environment" value=environment />
                                <p>"A new password is set. The old one stops working as soon as the cluster has the new one, so every client of this application must be given the new password."</p>
                                <ConfirmActions yes="Yes, rotate the password" cancel />
                            </PostForm>
                        </section>
                    }.into_any()
                } else {
                    view! {
                        <p><a class="button secondary" href=confirm_link.clone()>"Rotate the password…"</a></p>
                    }.into_any()
                }
            })}
        </div>
    }
}

//! The admin Drift page: what the reconciler found on the clusters that the portal did not
//! create, with adopt and remove actions, and each environment's latest check.

use super::areas::{AreaPage, ConfirmActions};
use crate::domain::{Area, EnvironmentName};
use crate::drift::{AdoptAll, CheckDriftNow, ResolveFinding, get_drift_report};
use crate::form_action::{PostForm, form_action};
use crate::loaded::load;
use leptos::prelude::*;

#[component]
pub fn DriftPage() -> impl IntoView {
    let resolve = form_action::<ResolveFinding>();
    // Removing is confirmed on a page of its own (`?confirm=remove-<id>`), with or without
    // JavaScript.
    let query = leptos_router::hooks::use_query_map();
    let confirming = move || query.read().get("confirm");
    let adopt_all = form_action::<AdoptAll>();
    let check = form_action::<CheckDriftNow>();
    let report = load(
        move || {
            (
                resolve.version().get(),
                adopt_all.version().get(),
                check.version().get(),
            )
        },
        |_| get_drift_report(),
    );
    let errors = move || {
        resolve
            .value()
            .with(|r| {
                r.as_ref()
                    .and_then(|r| r.as_ref().err().map(|e| e.to_string()))
            })
            .or_else(|| {
                adopt_all.value().with(|r| {
                    r.as_ref()
                        .and_then(|r| r.as_ref().err().map(|e| e.to_string()))
                })
            })
    };
    view! {
        <AreaPage area=Area::Admin intro="Topics and ACLs on the clusters that the portal did not create. Missing ones are restored by themselves; unknown ones wait for your decision.">
            <h2>"Drift"</h2>
            <PostForm action=check attr:class="inline-form">
                <button type="submit" class="secondary">"Check the clusters now"</button>
            </PostForm>
            {move || check.value().with(|r| matches!(r, Some(Ok(())))).then(|| view! {
                <p role="status" class="notice">"A check was started; reload in a few seconds to see its result."</p>
            })}
            {move || errors().map(|m| view! { <p role="alert" class="error">{m}</p> })}
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match report.await {
                        Ok(report) => view! {
                            <h3>"Latest checks"</h3>
                            <table class="data-table" data-testid="reconcile-runs">
                                <thead><tr>
                                    <th scope="col">"Environment"</th><th scope="col">"Finished"</th>
                                    <th scope="col">"ACLs seen"</th><th scope="col">"Topics seen"</th>
                                    <th scope="col">"Restored"</th><th scope="col">"Unknown"</th>
                                    <th scope="col">"Took"</th><th scope="col">"Problem"</th>
                                </tr></thead>
                                <tbody>
                                    {report.runs.into_iter().map(|r| view! {
                                        <tr>
                                            <td>{r.environment}</td>
                                            <td><time datetime=r.finished_at.to_rfc3339()>{crate::time::second(&r.finished_at)}</time></td>
                                            <td>{r.acls_seen}</td><td>{r.topics_seen}</td>
                                            <td>{r.restored}</td><td>{r.unknown}</td>
                                            <td>{format!("{} ms", r.elapsed_ms)}</td>
                                            <td>{r.error.unwrap_or_default()}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            <h3>"Unknown on the clusters"</h3>
                            {if report.findings.is_empty() {
                                view! { <p class="empty-state">"Nothing unknown: the clusters hold only what the portal knows."</p> }.into_any()
                            } else {
                                let mut envs: Vec<EnvironmentName> = report.findings.iter().map(|f| f.environment.clone()).collect();
                                envs.dedup();
                                view! {
                                    <div class="actions">
                                        {envs.into_iter().map(|env| view! {
                                            <PostForm action=adopt_all attr:class="inline-form">
                                                <input type="hidden" name="environment" value=env.clone() />
                                                <button type="submit" class="secondary">{format!("Adopt everything in {env} (import)")}</button>
                                            </PostForm>
                                        }).collect_view()}
                                    </div>
                                    <table class="data-table" data-testid="drift-findings">
                                        <thead><tr>
                                            <th scope="col">"Environment"</th><th scope="col">"What"</th>
                                            <th scope="col">"First seen"</th><th scope="col">"Decision"</th>
                                        </tr></thead>
                                        <tbody>
                                            {report.findings.into_iter().map(|f| view! {
                                                <tr>
                                                    <td>{f.environment}</td>
                                                    <td>{f.description.clone()}</td>
                                                    <td><time datetime=f.first_seen_at.to_rfc3339()>{crate::time::minute(&f.first_seen_at)}</time></td>
                                                    <td>
                                                        {if f.removal_requested {
                                                            view! { <span>"Being removed"</span> }.into_any()
                                                        } else {
                                                            view! {
                                                                <PostForm action=resolve attr:class="inline-form">
                                                                    <input type="hidden" name="id" value=f.id.to_string() />
                                                                    <button type="submit" name="action" value="adopt" class="secondary">"Adopt"</button>
                                                                </PostForm>
                                                                {
                                                                    let key = format!("remove-{}", f.id);
                                                                    let id = f.id.to_string();
                                                                    let what = f.description.clone();
                                                                    move || if confirming().as_deref() == Some(key.as_str()) {
                                                                        let (id, what) = (id.clone(), what.clone());
                                                                        view! {
                                                                            <div class="confirm" data-testid="confirm-remove">
                                                                                <p><strong>"Remove it from the cluster?"</strong> " " {what} " is deleted from Kafka for good: clients using it are refused, and a topic's events are gone."</p>
                                                                                <PostForm action=resolve attr:class="inline-form">
                                                                                    <input type="hidden" name="id" value=id />
                                                                                    <input type="hidden" name="action" value="remove" />
                                                                                    <ConfirmActions yes="Yes, remove it" cancel="/admin/drift".to_owned() />
                                                                                </PostForm>
                                                                            </div>
                                                                        }.into_any()
                                                                    } else {
                                                                        view! { <a class="button danger" href=format!("/admin/drift?confirm={key}")>"Remove…"</a> }.into_any()
                                                                    }
                                                                }
                                                            }.into_any()
                                                        }}
                                                    </td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                }.into_any()
                            }}
                        }.into_any(),
                        Err(e) => view! { <p role="alert" class="error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </AreaPage>
    }
}

//! The landing page: what the bus is for, and whether it fits your system. Open to everyone.

use crate::CurrentUser;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn HomePage() -> impl IntoView {
    let CurrentUser(user) = expect_context();
    view! {
        <Title text="" />
        <section class="hero" aria-labelledby="hero-title">
            <h1 id="hero-title">"Share events across the enterprise, safely and in real time"</h1>
            <p class="lead">
                "The event bus lets a system publish an event once, when its data changes, and lets any number of other systems react to it. "
                "Producers never need to know who consumes. Every event is governed: its schema is checked, its data classification recorded, and its health watched, so there are no silent failures."
            </p>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match user.await {
                        Ok(Some(user)) => view! {
                            <p class="welcome">"Welcome back, " {user.display_name} "."</p>
                        }.into_any(),
                        _ => view! {
                            <p><a class="button" href="/auth/login" rel="external">"Sign in to request access"</a></p>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </section>

        <section class="panel" aria-labelledby="how-title">
            <h2 id="how-title">"How the portal works"</h2>
            <ol class="steps">
                <li><strong>"Ask. "</strong>"Request producer or consumer access to a topic, propose a new event topic, or register a schema, with the compliance details the bus needs."</li>
                <li><strong>"Decide. "</strong>"The owning team and governance approve or decline with a reason. Nobody approves their own request, and every decision is recorded."</li>
                <li><strong>"Apply. "</strong>"The portal creates the topic, credentials and access rules on the Kafka cluster, and keeps checking that the cluster still matches."</li>
                <li><strong>"Watch. "</strong>"Throughput, consumer lag and silence are visible live, and owners are alerted when a topic goes quiet or a consumer falls behind."</li>
            </ol>
        </section>

        <section class="panel" aria-labelledby="fit-title">
            <h2 id="fit-title">"Is the event bus right for your system?"</h2>
            <div class="fit-grid">
                <div>
                    <h3>"A good fit when"</h3>
                    <ul>
                        <li>"Your system has many parts that change independently and need to hear about each other's changes."</li>
                        <li>"You want to replace polling or nightly batches with updates as they happen."</li>
                        <li>"People should see updates in real time, such as a decision letter being ready."</li>
                        <li>"Components should keep working while another one is slow or being updated."</li>
                    </ul>
                </div>
                <div>
                    <h3>"Not a good fit when"</h3>
                    <ul>
                        <li>"The system is simple or a prototype."</li>
                        <li>"Data is read on a schedule or rarely, and nothing is time-critical."</li>
                        <li>"You need a synchronous request and response."</li>
                        <li>"The data is High sensitivity under FISMA: only Low and Moderate data may travel on the bus."</li>
                    </ul>
                </div>
            </div>
        </section>
    }
}

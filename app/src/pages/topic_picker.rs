//! The topic field of the request forms: a plain text field that, once the page is hydrated,
//! offers the catalog's topics as one types (an ARIA combobox: arrow keys move through the
//! offers, Enter takes one, Escape closes them). Without JavaScript the field still takes a
//! name, and the catalog lists every topic with a way back to the form.

use crate::catalog::{TopicSuggestion, suggest_topics};
use leptos::prelude::*;

/// Fewer characters than this offer nothing: two letters already narrow 10,000 topics.
const MIN_TEXT: usize = 2;
/// How long typing pauses before the topics are looked up.
const PAUSE: std::time::Duration = std::time::Duration::from_millis(150);

#[component]
pub fn TopicPicker(
    /// The form field's name.
    name: &'static str,
    /// The topic already chosen, if any.
    value: String,
    /// Ids the field is described by (hint, error).
    described_by: &'static str,
) -> impl IntoView {
    let input = NodeRef::<leptos::html::Input>::new();
    let offers = RwSignal::new(Vec::<TopicSuggestion>::new());
    let open = RwSignal::new(false);
    let active = RwSignal::new(None::<usize>);
    // Answers can arrive out of order: only the latest question's answer is shown.
    let asked = StoredValue::new(0u64);

    let look_up = move |text: String| {
        let question = asked.get_value() + 1;
        asked.set_value(question);
        active.set(None);
        if text.trim().chars().count() < MIN_TEXT {
            offers.set(Vec::new());
            open.set(false);
            return;
        }
        // Asked once typing pauses, not for every keystroke.
        set_timeout(
            move || {
                if asked.get_value() != question {
                    return;
                }
                leptos::task::spawn_local(async move {
                    let found = suggest_topics(text).await.unwrap_or_default();
                    if asked.get_value() == question {
                        open.set(!found.is_empty());
                        offers.set(found);
                    }
                });
            },
            PAUSE,
        );
    };
    let choose = move |index: usize| {
        if let (Some(field), Some(topic)) = (input.get(), offers.with(|o| o.get(index).cloned())) {
            field.set_value(&topic.name);
            // The form's own checks hear of the change like any other input.
            if let Ok(event) = web_sys::Event::new_with_event_init_dict("input", &{
                let init = web_sys::EventInit::new();
                init.set_bubbles(true);
                init
            }) {
                let _ = field.dispatch_event(&event);
            }
        }
        open.set(false);
        active.set(None);
    };
    let on_keydown = move |ev: web_sys::KeyboardEvent| {
        let count = offers.with(Vec::len);
        if !open.get_untracked() || count == 0 {
            return;
        }
        match ev.key().as_str() {
            "ArrowDown" => {
                ev.prevent_default();
                active.update(|a| *a = Some(a.map_or(0, |i| (i + 1) % count)));
            }
            "ArrowUp" => {
                ev.prevent_default();
                active.update(|a| *a = Some(a.map_or(count - 1, |i| (i + count - 1) % count)));
            }
            "Enter" => {
                if let Some(index) = active.get_untracked() {
                    // Takes the offer instead of sending the form.
                    ev.prevent_default();
                    choose(index);
                }
            }
            "Escape" => {
                open.set(false);
                active.set(None);
            }
            _ => {}
        }
    };
    let active_id = move || active.get().map(|i| format!("topic-offer-{i}"));

    view! {
        <div class="combobox">
            <input id="topic" name=name required maxlength="249" value=value autocomplete="off"
                role="combobox" aria-autocomplete="list" aria-controls="topic-offers"
                aria-expanded=move || if open.get() { "true" } else { "false" }
                aria-activedescendant=active_id
                aria-describedby=described_by
                node_ref=input
                on:input=move |ev| {
                    // Events this component sends itself after a choice carry no new text.
                    if ev.is_trusted() {
                        look_up(event_target_value(&ev));
                    }
                }
                on:keydown=on_keydown
                on:blur=move |_| open.set(false) />
            <ul id="topic-offers" role="listbox" aria-label="Suggestions" class="combobox-offers"
                data-testid="topic-offers" hidden=move || !open.get()>
                <For each=move || offers.get().into_iter().enumerate() key=|(i, t)| (*i, t.name.clone()) let((index, topic))>
                    <li role="option" id=format!("topic-offer-{index}")
                        aria-selected=move || if active.get() == Some(index) { "true" } else { "false" }
                        // Before the field's blur closes the list.
                        on:mousedown=move |ev| { ev.prevent_default(); choose(index); }>
                        <span class="offer-name">{topic.name}</span>
                        <span class="offer-detail">{format!("{} · {}", topic.title, topic.owning_team)}</span>
                    </li>
                </For>
            </ul>
        </div>
    }
}

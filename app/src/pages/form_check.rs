//! Forms checked as one types, by the rules the server applies: the browser reads the form's
//! current fields into the server function's input (`crate::form_fields`) and runs the same
//! parser on it. A field's
//! message shows once the person has changed that field and moved on, and from then on follows
//! every keystroke. Until then, and for rules only the server can judge (a topic that does not
//! exist, a group another team holds), the message is the server's from the last submission.

use crate::domain::FieldError;
use crate::error::AppError;
use crate::form_fields::ReadFields;
use leptos::prelude::*;
use leptos::wasm_bindgen::JsCast;

/// A message as the page shows it: a sentence, starting with a capital letter.
pub fn as_sentence(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A field's message under the field, as its `<id>-error` that the field is described by.
pub fn field_message(id: &'static str, message: &str) -> impl IntoView + use<> {
    view! { <p class="field-error" id=format!("{id}-error")>{as_sentence(message)}</p> }
}

/// The live state of one form. Each field's wrapper names the field's error id in
/// `data-field`; the handlers go on an element around the fields.
#[derive(Clone, Copy)]
pub struct FormCheck {
    errors: RwSignal<Vec<FieldError>>,
    changed: RwSignal<Vec<String>>,
    left: RwSignal<Vec<String>>,
}

impl FormCheck {
    /// Follows the form; a new answer from the server starts the fields afresh, so that its
    /// messages show until the person changes those fields again.
    pub fn new<T: Send + Sync + 'static>(
        result: MappedSignal<Option<Result<T, AppError>>>,
    ) -> Self {
        let check = Self {
            errors: RwSignal::new(Vec::new()),
            changed: RwSignal::new(Vec::new()),
            left: RwSignal::new(Vec::new()),
        };
        Effect::new(move |_| {
            result.track();
            check.changed.set(Vec::new());
            check.left.set(Vec::new());
        });
        check
    }

    /// Re-checks the whole form with `parse` (the rules the server applies to the `Input` of
    /// its server function, read from the form's fields) after each change.
    pub fn on_input<Input: ReadFields + 'static>(
        self,
        parse: impl Fn(Input) -> Vec<FieldError> + Copy + 'static,
    ) -> impl Fn(web_sys::Event) + Copy + 'static {
        move |ev: web_sys::Event| {
            let Some((field, form)) = field_and_form(&ev) else {
                return;
            };
            self.changed.update(|c| {
                if !c.contains(&field) {
                    c.push(field.clone());
                }
            });
            self.recheck(&form, parse);
        }
    }

    /// Marks a changed field as left for another field, so its message shows. Leaving it for
    /// a button (or for nothing, as Safari does on a button) shows nothing yet: a message
    /// appearing above the button would move it away under the pointer and lose the click,
    /// and the answer to that click names every field anyway.
    pub fn on_focusout(self) -> impl Fn(web_sys::FocusEvent) + Copy + 'static {
        move |ev: web_sys::FocusEvent| {
            let to_a_field = ev
                .related_target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .is_some_and(|el| {
                    matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
                });
            if !to_a_field {
                return;
            }
            let Some((field, _)) = field_and_form(&ev) else {
                return;
            };
            if self.changed.with(|c| c.contains(&field)) {
                self.left.update(|l| {
                    if !l.contains(&field) {
                        l.push(field);
                    }
                });
            }
        }
    }

    fn recheck<Input: ReadFields>(
        self,
        form: &web_sys::HtmlFormElement,
        parse: impl Fn(Input) -> Vec<FieldError>,
    ) {
        let Ok(fields) = web_sys::FormData::new_with_form(form) else {
            return;
        };
        self.errors.set(parse(Input::read(&fields)));
    }

    /// The message for one field: the live one once the field was changed and left, otherwise
    /// the server's from the last submission.
    pub fn message<T: Send + Sync + 'static>(
        self,
        result: MappedSignal<Option<Result<T, AppError>>>,
        field: &'static str,
        id: &'static str,
    ) -> impl IntoView + use<T> {
        move || {
            let message = if self.left.with(|l| l.iter().any(|f| f == id)) {
                self.errors.with(|errors| {
                    errors
                        .iter()
                        .find(|e| e.field == field)
                        .map(|e| e.message.clone())
                })
            } else {
                result.with(|r| match r {
                    Some(Err(e)) => e.field_message(field).map(str::to_owned),
                    _ => None,
                })
            };
            message.map(|m| field_message(id, &m))
        }
    }
}

/// The `data-field` of the changed element's wrapper, and its form.
fn field_and_form(ev: &web_sys::Event) -> Option<(String, web_sys::HtmlFormElement)> {
    let target: web_sys::Element = ev.target()?.dyn_into().ok()?;
    let field = target
        .closest("[data-field]")
        .ok()??
        .get_attribute("data-field")?;
    let form = target.closest("form").ok()??.dyn_into().ok()?;
    Some((field, form))
}

#[cfg(test)]
mod tests {
    use super::as_sentence;

    #[test]
    fn messages_start_with_a_capital_letter() {
        assert_eq!(
            as_sentence("the purpose is required"),
            "The purpose is required"
        );
        assert_eq!(as_sentence("écrit"), "Écrit");
        assert_eq!(as_sentence("A topic"), "A topic");
        assert_eq!(as_sentence(""), "");
    }
}

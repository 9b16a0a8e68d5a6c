//! Forms that call a server function with their fields as the browser posts them.
//!
//! Every form of the portal posts to its server function, and works so without JavaScript. Once
//! the page is live, [`PostForm`] sends the same fields (`application/x-www-form-urlencoded`,
//! with the button pressed) from the page instead, and keeps the answer in a [`FormAction`]. The
//! server function reads the fields into its input as it does for a page without JavaScript, so
//! the browser holds no code that turns a form into each function's input and that input back
//! into a request (leptos's `ActionForm` does both, with serde_qs, for every input type); only the
//! reading of each answer.

use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use serde::de::DeserializeOwned;
use std::marker::PhantomData;
use std::ops::Deref;

/// A submitted form's fields, URL-encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostedFields(pub String);

/// A form's server function `S`, and its latest answer (`value()`), counted by `version()`.
pub struct FormAction<S: ServerFn> {
    action: Action<PostedFields, Result<S::Output, AppError>>,
    function: PhantomData<fn() -> S>,
}

impl<S: ServerFn> Clone for FormAction<S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S: ServerFn> Copy for FormAction<S> {}

impl<S: ServerFn> Deref for FormAction<S> {
    type Target = Action<PostedFields, Result<S::Output, AppError>>;

    fn deref(&self) -> &Self::Target {
        &self.action
    }
}

/// The action of a form posting to `S`. Its first answer is the refusal a page posted without
/// JavaScript came back with (leptos_axum sends it back to the page with the error).
#[track_caller]
pub fn form_action<S>() -> FormAction<S>
where
    S: ServerFn<Error = AppError>,
    S::Output: DeserializeOwned + Send + Sync + 'static,
{
    let refused = use_context::<leptos::server::ServerActionError>()
        .filter(|refusal| refusal.path() == S::PATH)
        .map(|refusal| {
            Err(leptos::server_fn::error::ServerFnUrlError::<AppError>::decode_err(refusal.err()))
        });
    FormAction {
        // The answer is kept where server rendering reads it from any thread; the post itself
        // runs in the browser only, on its one thread.
        action: Action::new_with_value(refused, |fields: &PostedFields| {
            let fields = fields.0.clone();
            send_wrapper::SendWrapper::new(async move {
                let body = post(S::PATH, fields).await?;
                serde_json::from_slice(&body).map_err(|_| AppError::Internal)
            })
        }),
        function: PhantomData,
    }
}

/// Posts `fields` to the server function at `path`: its answer's body, or the error it sent.
/// Follows a redirect the function asks for, as server functions' own client does.
#[cfg(feature = "hydrate")]
async fn post(path: &'static str, fields: String) -> Result<leptos::server_fn::Bytes, AppError> {
    use leptos::server_fn::ContentType;
    use leptos::server_fn::client::{Client, browser::BrowserClient};
    use leptos::server_fn::codec::{Json, PostUrl};
    use leptos::server_fn::error::FromServerFnError;
    use leptos::server_fn::request::ClientReq;
    use leptos::server_fn::response::ClientRes;
    let request = <BrowserClient as Client<AppError>>::Request::try_new_post(
        path,
        PostUrl::CONTENT_TYPE,
        Json::CONTENT_TYPE,
        fields,
    )?;
    let response = <BrowserClient as Client<AppError>>::send(request).await?;
    type Answer = <BrowserClient as Client<AppError>>::Response;
    let status = <Answer as ClientRes<AppError>>::status(&response);
    let redirect =
        (300..=399).contains(&status) || <Answer as ClientRes<AppError>>::has_redirect(&response);
    let location = <Answer as ClientRes<AppError>>::location(&response);
    let body = <Answer as ClientRes<AppError>>::try_into_bytes(response).await?;
    if (400..=599).contains(&status) {
        return Err(AppError::de(body));
    }
    if redirect {
        leptos::server_fn::redirect::call_redirect_hook(&location);
    }
    Ok(body)
}

/// Forms are posted from the browser only: no page posts one while it is drawn on the server.
#[cfg(not(feature = "hydrate"))]
async fn post(_path: &'static str, _fields: String) -> Result<Vec<u8>, AppError> {
    Err(AppError::BadRequest)
}

/// A form posting to `S`: without JavaScript the browser posts it; on a live page its fields
/// are sent from the page and the answer kept in `action`. Other attributes go on the `<form>`
/// (`attr:class=...`).
#[component]
pub fn PostForm<S>(
    /// Where the answers are kept.
    action: FormAction<S>,
    /// The form's fields and buttons.
    children: Children,
) -> impl IntoView
where
    S: ServerFn<Error = AppError> + 'static,
    S::Output: Send + Sync + 'static,
{
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        if ev.default_prevented() {
            return;
        }
        // A form whose fields cannot be read here is posted by the browser itself.
        let Some(fields) = posted_fields(&ev) else {
            return;
        };
        ev.prevent_default();
        action.dispatch(PostedFields(fields));
    };
    view! {
        <form method="post" action=S::PATH on:submit=on_submit>
            {children()}
        </form>
    }
}

/// The fields a submit event would post, the button pressed among them.
fn posted_fields(ev: &leptos::ev::SubmitEvent) -> Option<String> {
    let form = leptos::form::form_data_from_event(ev).ok()?;
    web_sys::UrlSearchParams::new_with_str_sequence_sequence(&form)
        .ok()?
        .to_string()
        .as_string()
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use crate::requests::{DecideRequest, WithdrawRequest};
    use leptos::server::ServerActionError;
    use leptos::server_fn::error::ServerFnUrlError;

    #[test]
    fn a_refusal_a_page_came_back_with_is_its_forms_first_answer() {
        let owner = Owner::new();
        owner.set();
        // As leptos_axum sends a page posted without JavaScript back, and the router reads it.
        let back = ServerFnUrlError::new(
            DecideRequest::PATH,
            AppError::Conflict("Someone decided first.".into()),
        )
        .to_url("http://portal.test/requests/1")
        .expect("a url");
        let error = back
            .query_pairs()
            .find(|(key, _)| key == "__err")
            .expect("the error")
            .1
            .into_owned();
        provide_context(ServerActionError::new(DecideRequest::PATH, &error));

        // (Server rendering reads it on whichever thread polls the page, which this test cannot
        // reproduce: the end-to-end test of a refused form without JavaScript covers it.)
        let decide = form_action::<DecideRequest>();
        assert!(decide.value().with_untracked(|answer| matches!(
            answer,
            Some(Err(AppError::Conflict(message))) if message == "Someone decided first."
        )));
        // Another form of the page did not post.
        let withdraw = form_action::<WithdrawRequest>();
        assert!(withdraw.value().with_untracked(Option::is_none));
    }
}

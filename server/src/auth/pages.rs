use axum::response::{Html, IntoResponse, Response};
use http::StatusCode;

/// A small self-contained page for sign-in problems. Messages are fixed text, never error details.
pub fn auth_error_page(status: StatusCode, title: &str, message: &str) -> Response {
    let title = escape(title);
    let message = escape(message);
    let css = app::BUNDLE_NAME;
    let body = format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Event Bus Portal</title><link rel="stylesheet" href="/pkg/{css}.css"></head>
<body>
<header class="site-header"><a class="brand" href="/">Event Bus Portal</a></header>
<main id="main"><section class="panel status-page" role="alert"><h1>{title}</h1><p>{message}</p>
<p><a class="button" href="/auth/login">Sign in again</a> <a href="/">Go to the start page</a></p></section></main>
</body>
</html>"#
    );
    (status, Html(body)).into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

//! Browser hardening: state-changing requests from other sites are refused, and every response
//! carries headers that keep the portal's pages out of frames, stop type sniffing, keep
//! addresses out of referrers and (over https) pin the browser to https. Pages rendered by the
//! app set their own Content-Security-Policy with the per-response nonce of their inline
//! scripts (`app::shell`); everything else gets a policy that allows nothing.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method, StatusCode, header};
use std::sync::Arc;

/// What the middleware needs from configuration.
#[derive(Debug, Clone)]
pub struct BrowserPolicy {
    /// `scheme://host[:port]` of the portal, as browsers send it in `Origin`.
    pub origin: String,
    /// Sends `Strict-Transport-Security` (the portal is reached over https).
    pub https: bool,
    /// Sign-out forms continue at the identity provider (`form-action`).
    pub identity_provider_origin: String,
}

/// A fresh nonce: 122 random bits from the OS (a v4 UUID), as hex.
fn new_nonce() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The policy for responses that are not app pages: JSON, static files, redirects.
const DEFAULT_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether a state-changing request comes from another site. Browsers say so in
/// `Sec-Fetch-Site`; older ones at least send `Origin` on cross-origin posts. Clients that are
/// not browsers (the registry's serializers, scripts) send neither and are not affected: they
/// carry no ambient cookies to abuse.
pub fn is_cross_site(headers: &http::HeaderMap, origin: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return !matches!(site.to_str(), Ok("same-origin" | "none"));
    }
    match headers.get(header::ORIGIN).map(HeaderValue::to_str) {
        Some(Ok(sent)) => !sent.eq_ignore_ascii_case(origin),
        Some(Err(_)) => true,
        None => false,
    }
}

/// Refuses state-changing requests (server functions, form posts, sign-out, registry writes)
/// that another site's page made the browser send.
pub async fn refuse_cross_site(
    State(policy): State<Arc<BrowserPolicy>>,
    request: Request,
    next: Next,
) -> Response {
    if changes_state(request.method()) && is_cross_site(request.headers(), &policy.origin) {
        tracing::warn!(
            method = %request.method(),
            path = request.uri().path(),
            "cross-site request refused"
        );
        return (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "Refused: this request came from another site.",
        )
            .into_response();
    }
    next.run(request).await
}

/// Adds the hardening headers to every response. Each request gets a nonce (a request extension
/// the page renderer puts on its inline scripts, `app::context::provide_request_nonce`); an HTML
/// response gets the page policy with that nonce, anything else a policy that allows nothing.
pub async fn headers(
    State(policy): State<Arc<BrowserPolicy>>,
    mut request: Request,
    next: Next,
) -> Response {
    let nonce = new_nonce();
    request
        .extensions_mut()
        .insert(app::context::CspNonce(nonce.as_str().into()));
    let mut response = next.run(request).await;
    let is_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_page
        && let Ok(value) =
            HeaderValue::from_str(&app::page_policy(&nonce, &policy.identity_provider_origin))
    {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    let headers = response.headers_mut();
    let mut set = |name: header::HeaderName, value: &'static str| {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    };
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::REFERRER_POLICY, "same-origin");
    set(header::CONTENT_SECURITY_POLICY, DEFAULT_CSP);
    set(
        header::HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        header::HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), payment=()",
    );
    if policy.https {
        set(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=63072000; includeSubDomains",
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    const ORIGIN: &str = "https://portal.example.test";

    #[test]
    fn fetch_metadata_decides_when_present() {
        assert!(!is_cross_site(
            &headers(&[("sec-fetch-site", "same-origin")]),
            ORIGIN
        ));
        assert!(!is_cross_site(
            &headers(&[("sec-fetch-site", "none")]),
            ORIGIN
        ));
        assert!(is_cross_site(
            &headers(&[("sec-fetch-site", "same-site")]),
            ORIGIN
        ));
        assert!(is_cross_site(
            &headers(&[("sec-fetch-site", "cross-site")]),
            ORIGIN
        ));
        assert!(is_cross_site(
            &headers(&[("sec-fetch-site", "cross-site"), ("origin", ORIGIN)]),
            ORIGIN
        ));
    }

    #[test]
    fn origin_decides_for_older_browsers() {
        assert!(!is_cross_site(&headers(&[("origin", ORIGIN)]), ORIGIN));
        assert!(is_cross_site(
            &headers(&[("origin", "https://evil.example")]),
            ORIGIN
        ));
        assert!(is_cross_site(&headers(&[("origin", "null")]), ORIGIN));
        assert!(is_cross_site(
            &headers(&[("origin", "http://portal.example.test")]),
            ORIGIN
        ));
    }

    #[test]
    fn clients_that_are_not_browsers_pass() {
        assert!(!is_cross_site(&HeaderMap::new(), ORIGIN));
    }
}

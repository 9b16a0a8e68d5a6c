//! The portal against its own users and the network: browser headers, forged cross-site
//! requests, body limits, bounded metrics, a readiness answer reused rather than recomputed,
//! live streams capped per session and ended at sign-out, and a configuration that refuses to
//! serve with development secrets.

use crate::fixtures::{self, AccessForm, LOW_TOPIC, Snapshot, owner_approver, requester, submit};
use crate::helpers::{Form, TestApp, settings};
use std::time::{Duration, Instant};

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[sqlx::test(migrations = "../migrations")]
async fn pages_and_answers_carry_the_browser_hardening_headers(pool: sqlx::PgPool) {
    let app = TestApp::spawn(pool).await;
    let page = app.get("/").await;
    assert_eq!(page.status(), 200);
    let policy = header(&page, "content-security-policy");
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap_or_else(|| panic!("no nonce in {policy}"))
        .to_owned();
    for part in [
        "script-src 'self' 'nonce-",
        "'wasm-unsafe-eval'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'none'",
    ] {
        assert!(policy.contains(part), "{part} missing from {policy}");
    }
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert_eq!(header(&page, "x-content-type-options"), "nosniff");
    assert_eq!(header(&page, "x-frame-options"), "DENY");
    assert_eq!(header(&page, "referrer-policy"), "same-origin");
    assert_eq!(header(&page, "strict-transport-security"), "", "plain http");
    let html = page.text().await.expect("html");
    // Every inline script carries this response's nonce, so hydration runs under the policy.
    let tags: Vec<&str> = html
        .split("<script")
        .skip(1)
        .map(|rest| rest.split('>').next().unwrap_or_default())
        .collect();
    assert!(!tags.is_empty());
    for tag in tags {
        assert!(tag.contains(&format!("nonce=\"{nonce}\"")), "<script{tag}>");
    }
    let second = app.get("/").await;
    assert_ne!(
        header(&second, "content-security-policy"),
        policy,
        "a new nonce per response"
    );

    let json = app.get("/healthz").await;
    assert!(header(&json, "content-security-policy").starts_with("default-src 'none'"));
    assert_eq!(header(&json, "x-content-type-options"), "nosniff");
}

#[sqlx::test(migrations = "../migrations")]
async fn over_https_browsers_are_told_to_stay_on_https(pool: sqlx::PgPool) {
    let mut settings = settings();
    settings.server.public_url = "https://127.0.0.1".parse().expect("url");
    let app = TestApp::spawn_with(pool, settings).await;
    let page = app.get("/healthz").await;
    assert_eq!(
        header(&page, "strict-transport-security"),
        "max-age=63072000; includeSubDomains"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_forged_cross_site_approval_is_refused_and_changes_nothing(pool: sqlx::PgPool) {
    fixtures::seed(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let rita = app.session_cookie_for(&requester()).await;
    let id = submit(&app, &rita, &AccessForm::consumer(LOW_TOPIC)).await;
    let otto = app.session_cookie_for(&owner_approver()).await;
    let approve = || {
        Form::new()
            .field("id", id.to_string())
            .field("version", "1")
            .field("decision", "approve")
            .field("reason", "")
            .encode()
    };
    let before = Snapshot::take(&pool).await;
    for (name, value, accept) in [
        ("origin", "https://evil.example", "*/*"),
        ("sec-fetch-site", "cross-site", "*/*"),
        ("sec-fetch-site", "same-site", "*/*"),
        // The same approval as a plain form post from another site's page.
        ("origin", "https://evil.example", "text/html"),
    ] {
        let response = app
            .client
            .post(app.url("/api/requests/decide"))
            .header("cookie", &otto)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", accept)
            .header(name, value)
            .body(approve())
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 403, "{name}: {value}");
    }
    // Signing out is a state change too.
    let logout = app
        .client
        .post(app.url("/auth/logout"))
        .header("cookie", &otto)
        .header("origin", "https://evil.example")
        .send()
        .await
        .expect("request");
    assert_eq!(logout.status(), 403);
    before.assert_unchanged(&Snapshot::take(&pool).await, "forged approvals");

    // From the portal's own pages it goes through.
    let response = app
        .client
        .post(app.url("/api/requests/decide"))
        .header("cookie", &otto)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", &app.address)
        .header("sec-fetch-site", "same-origin")
        .body(approve())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
}

#[sqlx::test(migrations = "../migrations")]
async fn bodies_larger_than_a_form_may_be_are_refused_everywhere(pool: sqlx::PgPool) {
    let app = TestApp::spawn(pool).await;
    let big = "x".repeat(server::startup::MAX_BODY_BYTES + 1);
    for path in [
        "/api/requests/schema-check",
        "/subjects/orders-value/versions",
    ] {
        let response = app
            .client
            .post(app.url(path))
            .header("content-type", "application/json")
            .body(big.clone())
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 413, "{path}");
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn readiness_is_answered_from_a_recent_check(pool: sqlx::PgPool) {
    let app = TestApp::spawn(pool).await;
    let checked_at = |body: serde_json::Value| body["checked_at"].as_str().map(str::to_owned);
    let first: serde_json::Value = app.get("/readyz").await.json().await.expect("json");
    let started = Instant::now();
    let answers = futures::future::join_all((0..20).map(|_| app.get("/readyz"))).await;
    let elapsed = started.elapsed();
    for answer in answers {
        let body: serde_json::Value = answer.json().await.expect("json");
        assert_eq!(checked_at(body), checked_at(first.clone()));
    }
    assert!(
        elapsed < Duration::from_millis(500),
        "20 probes answered from memory, not 20 cluster connections ({elapsed:?})"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn metrics_are_labelled_by_route_pattern_and_a_fixed_set_of_methods(pool: sqlx::PgPool) {
    let app = TestApp::spawn(pool).await;
    let id = uuid::Uuid::new_v4();
    let ada = app.session_cookie_for(&fixtures::admin()).await;
    app.get_as(&format!("/requests/{id}"), &ada).await;
    app.get_as("/catalog/some_topic", &ada).await;
    app.get("/subjects/orders-value/versions/latest").await;
    app.client
        .request(
            reqwest::Method::from_bytes(b"BREW").expect("method"),
            app.url("/healthz"),
        )
        .send()
        .await
        .expect("request");
    app.get("/no/such/page").await;
    let text = app.get("/metrics").await.text().await.expect("metrics");
    for label in [
        r#"route="/requests/{id}""#,
        r#"route="/catalog/{name}""#,
        r#"route="/subjects/{subject}/versions/{version}""#,
        r#"method="other""#,
        r#"route="unmatched""#,
    ] {
        assert!(text.contains(label), "{label} missing:\n{text}");
    }
    assert!(!text.contains(&id.to_string()), "no raw path in labels");
    assert!(!text.contains("BREW"));
    assert!(!text.contains("some_topic"));
}

#[sqlx::test(migrations = "../migrations")]
async fn live_streams_are_capped_per_session_and_end_at_sign_out(pool: sqlx::PgPool) {
    let mut settings = settings();
    settings.auth.max_streams_per_session = 3;
    let app = TestApp::spawn_with(pool, settings).await;
    let victor = app
        .session_cookie_for(&crate::helpers::user(
            "victor",
            &[app::domain::Role::Viewer],
            &[],
        ))
        .await;
    let mut streams = Vec::new();
    for _ in 0..3 {
        let stream = app.get_as("/health/events", &victor).await;
        assert_eq!(stream.status(), 200);
        streams.push(stream);
    }
    let over = app.get_as("/health/events", &victor).await;
    assert_eq!(over.status(), 429, "a fourth stream in the same session");
    let other = app
        .session_cookie_for(&crate::helpers::user(
            "vera",
            &[app::domain::Role::Viewer],
            &[],
        ))
        .await;
    assert_eq!(app.get_as("/health/events", &other).await.status(), 200);

    let logout = app.sign_out(&victor).await;
    assert!(logout.status().is_redirection());
    for mut stream in streams {
        let ended = tokio::time::timeout(Duration::from_secs(5), async {
            while let Some(_chunk) = stream.chunk().await.expect("stream") {}
        })
        .await;
        assert!(ended.is_ok(), "the stream did not end at sign-out");
    }
    let again = app.get_as("/health/events", &victor).await;
    assert_eq!(again.status(), 303, "signed out: sent to sign in");
    assert!(header(&again, "location").starts_with("/auth/login"));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_public_address_with_development_secrets_does_not_start(pool: sqlx::PgPool) {
    let mut settings = settings();
    settings.server.public_url = "https://portal.example.test".parse().expect("url");
    let refused = match server::startup::build(settings, pool).await {
        Ok(_) => panic!("started with development secrets on a public address"),
        Err(error) => format!("{error:#}"),
    };
    for setting in [
        "auth.client_secret",
        "kafka.credential_key",
        "audit.key",
        "kafka.environments.prod.sasl_password",
        "kafka.environments.sandbox.security_protocol",
    ] {
        assert!(
            refused.contains(setting),
            "{setting} not named in: {refused}"
        );
    }
    assert!(!refused.contains("portal-admin-secret"), "{refused}");
}

#[test]
fn check_config_prints_the_configuration_without_secrets_and_the_problems() {
    let run = |public_url: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_event-bus-portal"))
            .arg("--check-config")
            .env("PORTAL__SERVER__PUBLIC_URL", public_url)
            .env("PORTAL__AUTH__CLIENT_SECRET", "a-very-real-client-secret")
            .output()
            .expect("the binary runs")
    };
    let deployed = run("https://portal.example.test");
    let out = String::from_utf8_lossy(&deployed.stdout);
    assert_eq!(deployed.status.code(), Some(1), "{out}");
    assert!(out.contains("[kafka.environments.prod]"), "{out}");
    assert!(
        out.contains("kafka.credential_key: is the built-in development secret"),
        "{out}"
    );
    assert!(
        !out.contains("auth.client_secret:"),
        "a real secret is no problem: {out}"
    );
    for secret in [
        "a-very-real-client-secret",
        "portal-admin-secret",
        "ZXZlbnQtYnVz",
    ] {
        assert!(!out.contains(secret), "{secret} printed:\n{out}");
    }
    let local = run("http://127.0.0.1:3000");
    assert_eq!(local.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&local.stdout).contains("No problems found"));
}

/// The bundle's files keep their own status while pages that are not found render beside them:
/// a file is never answered with another response's status.
#[sqlx::test(migrations = "../migrations")]
async fn bundle_files_are_served_whole_while_not_found_pages_render_beside_them(
    pool: sqlx::PgPool,
) {
    let root = std::env::temp_dir().join(format!("portal-site-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(root.join("pkg")).expect("site folder");
    let chunk = vec![7u8; 5585];
    std::fs::write(root.join("pkg/chunk_90.wasm"), &chunk).expect("chunk");
    std::fs::write(root.join("favicon.svg"), "<svg/>").expect("icon");
    let mut settings = settings();
    settings.server.site_root = root.to_string_lossy().into_owned();
    let app = TestApp::spawn_with(pool, settings).await;

    let mut answers = Vec::new();
    for _ in 0..25 {
        let calls = (0..8).map(|i| {
            let path = match i % 4 {
                0 | 1 => "/pkg/chunk_90.wasm",
                2 => "/favicon.svg",
                _ => "/no-such-page",
            };
            let (client, url) = (app.client.clone(), app.url(path));
            async move {
                let response = client.get(url).send().await.expect("answer");
                let status = response.status().as_u16();
                let body = response.bytes().await.expect("body");
                (path, status, body)
            }
        });
        answers.extend(futures::future::join_all(calls).await);
    }
    for (path, status, body) in answers {
        match path {
            "/pkg/chunk_90.wasm" => {
                assert_eq!(status, 200, "{path}");
                assert_eq!(body.as_ref(), chunk.as_slice());
            }
            "/favicon.svg" => assert_eq!((status, body.as_ref()), (200, b"<svg/>".as_ref())),
            _ => assert_eq!(status, 404, "{path}"),
        }
    }
    // A file the bundle does not have is not found, plainly.
    assert_eq!(app.get("/pkg/chunk_91.wasm").await.status().as_u16(), 404);
    std::fs::remove_dir_all(root).expect("cleanup");
}

/// Pages load the bundle from an address named after its contents, which browsers may keep for
/// good, gzipped when they accept it; the plain `/pkg/` names are checked again before each use;
/// a missing file is not to be kept. A new build gets a new address.
#[sqlx::test(migrations = "../migrations")]
async fn the_bundle_is_served_under_its_version_for_good_and_gzipped(pool: sqlx::PgPool) {
    let root = std::env::temp_dir().join(format!("portal-site-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(root.join("pkg")).expect("site folder");
    let script = "export function hydrate() {}\n".repeat(40);
    std::fs::write(root.join("pkg/portal.js"), &script).expect("script");
    // The build's gzipped copy; the server sends it as it is.
    let gzipped = b"\x1f\x8b\x08 the build's gzipped copy".to_vec();
    std::fs::write(root.join("pkg/portal.js.gz"), &gzipped).expect("gzipped script");
    let version = server::startup::bundle_version(&root.join("pkg")).expect("version");
    let mut settings = settings();
    settings.server.site_root = root.to_string_lossy().into_owned();
    let app = TestApp::spawn_with(pool, settings).await;

    let page = app.get("/").await.text().await.expect("page");
    let versioned = format!("/static/{version}/pkg/portal.js");
    assert!(page.contains(&versioned), "{page}");
    assert!(page.contains(&format!("/static/{version}/pkg/portal.css")));

    let kept = app
        .client
        .get(app.url(&versioned))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("script");
    assert_eq!(kept.status().as_u16(), 200);
    assert_eq!(
        header(&kept, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(header(&kept, "content-encoding"), "gzip");
    assert_eq!(
        kept.bytes().await.expect("body").as_ref(),
        gzipped.as_slice()
    );

    let plain = app.get("/pkg/portal.js").await;
    assert_eq!(header(&plain, "cache-control"), "no-cache");
    assert_eq!(header(&plain, "content-encoding"), "");
    assert_eq!(plain.text().await.expect("body"), script);

    let missing = app
        .get(&format!("/static/{version}/pkg/chunk_1.wasm"))
        .await;
    assert_eq!(missing.status().as_u16(), 404);
    assert_eq!(header(&missing, "cache-control"), "");
    // Another build's address is not this one's.
    let other = app.get("/static/0123456789abcdef/pkg/portal.js").await;
    assert_eq!(other.status().as_u16(), 404);

    std::fs::write(
        root.join("pkg/portal.js"),
        "export function hydrate() { /* v2 */ }\n",
    )
    .expect("new build");
    assert_ne!(
        server::startup::bundle_version(&root.join("pkg")).expect("version"),
        version
    );
    std::fs::remove_dir_all(root).expect("cleanup");
}

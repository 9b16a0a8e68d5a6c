use crate::helpers::{TestApp, user};
use app::domain::Role;
use serde_json::Value;
use sqlx::PgPool;

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"]
        .to_str()
        .expect("ascii location")
        .to_owned()
}

#[sqlx::test(migrations = "../migrations")]
async fn the_landing_page_is_open_to_everyone(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let response = app.get("/").await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.expect("body");
    assert!(html.contains("Share events across the enterprise"));
    assert!(html.contains(r#"href="/auth/login""#));
}

#[sqlx::test(migrations = "../migrations")]
async fn every_signed_in_area_redirects_anonymous_visitors_to_sign_in(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    for path in [
        "/catalog",
        "/requests",
        "/approvals",
        "/health",
        "/admin",
        "/catalog/x?y=1",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 303, "{path}");
        let expected = format!(
            "/auth/login?{}",
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("next", path)
                .finish()
        );
        assert_eq!(location(&response), expected, "{path}");
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn sign_in_starts_at_the_provider_with_pkce_state_and_nonce(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let response = app.get("/auth/login?next=/approvals").await;
    assert_eq!(response.status(), 303);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(cookie.starts_with("portal_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain http in local development: {cookie}"
    );

    let target = url::Url::parse(&location(&response)).expect("absolute URL");
    assert!(target.as_str().starts_with(&app.settings.auth.issuer_url));
    let query: std::collections::HashMap<_, _> = target.query_pairs().into_owned().collect();
    assert_eq!(query["response_type"], "code");
    assert_eq!(query["client_id"], "event-bus-portal");
    assert_eq!(query["code_challenge_method"], "S256");
    assert!(query["code_challenge"].len() >= 43);
    assert!(query["state"].len() >= 16 && query["nonce"].len() >= 16);
    assert!(query["scope"].split(' ').any(|s| s == "groups"));
    assert_eq!(query["redirect_uri"], app.url("/auth/callback"));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_callback_with_a_foreign_state_is_refused_and_signs_nobody_in(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let started = app.get("/auth/login").await;
    let cookie = started.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .split(';')
        .next()
        .expect("cookie pair")
        .to_owned();

    let response = app
        .get_as("/auth/callback?code=stolen&state=not-the-one", &cookie)
        .await;
    assert_eq!(response.status(), 400);
    let html = response.text().await.expect("body");
    assert!(html.contains("Sign-in refused"));
    assert_eq!(app.get_as("/catalog", &cookie).await.status(), 303);

    let without_session = app.get("/auth/callback?code=x&state=y").await;
    assert_eq!(without_session.status(), 400);
}

#[sqlx::test(migrations = "../migrations")]
async fn areas_are_shown_per_role_with_403_outside_it(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let viewer = app
        .session_cookie_for(&user("victor", &[Role::Viewer], &[]))
        .await;
    let admin = app
        .session_cookie_for(&user("ada", &[Role::Admin], &[]))
        .await;

    let catalog = app.get_as("/catalog", &viewer).await;
    assert_eq!(catalog.status(), 200);
    let html = catalog.text().await.expect("body");
    assert!(html.contains("victor tester"));
    assert!(
        !html.contains(r#"href="/admin""#),
        "no Admin link for a viewer"
    );

    let refused = app.get_as("/admin", &viewer).await;
    assert_eq!(refused.status(), 403);
    let html = refused.text().await.expect("body");
    assert!(html.contains("You do not have access"));
    assert!(
        !html.contains("Kafka environments"),
        "a refused page shows none of its data"
    );

    let allowed = app.get_as("/admin", &admin).await;
    assert_eq!(allowed.status(), 200);
    let html = allowed.text().await.expect("body");
    assert!(html.contains("Kafka environments") && html.contains("Production"));
}

#[sqlx::test(migrations = "../migrations")]
async fn server_functions_check_the_caller_first(pool: PgPool) {
    let app = TestApp::spawn(pool).await;

    let anonymous = app.call("environments", None).await;
    assert_eq!(anonymous.status(), 401);
    let body = anonymous.text().await.expect("body");
    assert!(
        body.contains("Unauthenticated") && !body.contains("sandbox"),
        "{body}"
    );

    let no_role = app.session_cookie_for(&user("stranger", &[], &[])).await;
    let refused = app.call("environments", Some(&no_role)).await;
    assert_eq!(refused.status(), 403);
    assert!(!refused.text().await.expect("body").contains("sandbox"));

    let member = app
        .session_cookie_for(&user("maria", &[Role::Member], &["claims-status"]))
        .await;
    let allowed = app.call("environments", Some(&member)).await;
    assert_eq!(allowed.status(), 200);
    let list: Value = allowed.json().await.expect("json");
    let names: Vec<&str> = list
        .as_array()
        .expect("array")
        .iter()
        .map(|e| e["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, vec!["sandbox", "prod"]);

    let me: Value = app
        .call("session/user", Some(&member))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(me["subject"], "maria");
    assert_eq!(me["teams"][0], "claims-status");
    let nobody = app.call("session/user", None).await;
    assert_eq!(nobody.text().await.expect("body"), "null");
}

#[sqlx::test(migrations = "../migrations")]
async fn sign_out_ends_the_session_and_goes_to_the_provider(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let cookie = app
        .session_cookie_for(&user("ada", &[Role::Admin], &[]))
        .await;
    assert_eq!(app.get_as("/admin", &cookie).await.status(), 200);

    let response = app.sign_out(&cookie).await;
    assert_eq!(response.status(), 303);
    let target = location(&response);
    assert!(
        target.starts_with(&app.settings.auth.issuer_url),
        "{target}"
    );
    assert!(target.contains("post_logout_redirect_uri="));

    assert_eq!(app.get_as("/admin", &cookie).await.status(), 303);
}

#[sqlx::test(migrations = "../migrations")]
async fn unknown_pages_are_404(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let response = app.get("/definitely/not/here").await;
    assert_eq!(response.status(), 404);
    assert!(
        response
            .text()
            .await
            .expect("body")
            .contains("Page not found")
    );
}

/// An active session's idle expiry moves on with use, written back at most once a minute; its
/// reads come from memory (a row removed behind the server's back is still honoured until the
/// entry ages out, which bounds what another server's sign-out leaves here); signing out here
/// ends it at once.
#[sqlx::test(migrations = "../migrations")]
async fn an_active_session_outlives_its_idle_limit_and_is_read_from_memory(pool: PgPool) {
    use tower_sessions::SessionStore;
    let app = TestApp::spawn(pool.clone()).await;
    let cookie = app
        .session_cookie_for(&user("ada", &[Role::Admin], &[]))
        .await;
    let id = crate::helpers::session_id(&cookie);
    let stored_expiry = || async {
        sqlx::query_scalar::<_, time::OffsetDateTime>(
            "select expiry_date from tower_sessions.session where id = $1",
        )
        .bind(id.to_string())
        .fetch_one(&pool)
        .await
        .expect("the session row")
    };

    // Last written back two minutes ago, with 30 s of idle time left.
    let mut record = app
        .sessions
        .load(&id)
        .await
        .expect("load")
        .expect("session");
    let now = time::OffsetDateTime::now_utc();
    record
        .data
        .insert("seen_at".into(), Value::from(now.unix_timestamp() - 120));
    record.expiry_date = now + time::Duration::seconds(30);
    app.sessions.save(&record).await.expect("save");

    assert_eq!(app.get_as("/admin", &cookie).await.status(), 200);
    let idle = time::Duration::minutes(app.settings.auth.session_idle_minutes);
    let written = stored_expiry().await;
    assert!(
        written > now + idle - time::Duration::minutes(1),
        "the idle expiry moved on: {written} (idle limit {idle})"
    );
    // Used again at once: nothing is written back.
    assert_eq!(app.get_as("/admin", &cookie).await.status(), 200);
    assert_eq!(stored_expiry().await, written);

    // Read from memory: the row is gone, the session still answers here.
    sqlx::query("delete from tower_sessions.session where id = $1")
        .bind(id.to_string())
        .execute(&pool)
        .await
        .expect("delete the row");
    assert_eq!(app.get_as("/admin", &cookie).await.status(), 200);

    let out = app.sign_out(&cookie).await;
    assert_eq!(out.status(), 303);
    assert_eq!(app.get_as("/admin", &cookie).await.status(), 303);
}

//! Sign-in against a real OpenID Connect provider of the test's own (dev/idp, started on a free
//! port with its own users file and keys): roles follow the provider's groups while signed in,
//! sessions have an absolute lifetime, and a token signed with a key the portal has not seen is
//! verified after fetching the keys again, with the authorization code exchanged once.

use crate::helpers::{TestApp, settings};
use reqwest::cookie::CookieStore;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};

/// The dev identity provider, run by this test.
struct PrivateIdp {
    child: tokio::process::Child,
    port: u16,
    dir: PathBuf,
    log: Arc<Mutex<Vec<String>>>,
}

fn users_file(dir: &Path) -> PathBuf {
    dir.join("users.json")
}

/// Writes the provider's users; it reads the file again when it changes.
fn write_users(dir: &Path, groups: &[(&str, &[&str])]) {
    let users: Vec<serde_json::Value> = groups
        .iter()
        .map(|(name, groups)| {
            serde_json::json!({
                "username": name, "password": format!("{name}-pw"), "name": format!("{name} tester"),
                "email": format!("{name}@example.test"), "groups": groups,
            })
        })
        .collect();
    let staged = dir.join("users.json.new");
    std::fs::write(&staged, serde_json::to_vec(&users).expect("json")).expect("write users");
    std::fs::rename(staged, users_file(dir)).expect("replace users");
}

impl PrivateIdp {
    /// Starts the provider on `port` (0: any free one) for a portal at `portal`.
    async fn start(port: u16, dir: &Path, portal: &str) -> Self {
        Self::try_start(port, dir, portal)
            .await
            .expect("the provider started")
    }

    /// `None` when it exits during start-up (the port is taken).
    async fn try_start(port: u16, dir: &Path, portal: &str) -> Option<Self> {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../dev/idp/server.mjs");
        let mut child = tokio::process::Command::new("node")
            .arg(script)
            .env("IDP_PORT", port.to_string())
            .env("IDP_STATE_DIR", dir)
            .env("IDP_USERS_FILE", users_file(dir))
            .env("PORTAL_REDIRECT_URIS", format!("{portal}/auth/callback"))
            .env("PORTAL_POST_LOGOUT_REDIRECT_URIS", format!("{portal}/"))
            .env_remove("IDP_ISSUER")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs dev/idp/server.mjs (dev/stack.sh installs its packages)");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let log = Arc::new(Mutex::new(Vec::new()));
        let deadline = Instant::now() + Duration::from_secs(20);
        let port = loop {
            let line = tokio::time::timeout_at(deadline.into(), lines.next_line())
                .await
                .expect("the provider started within 20 s")
                .expect("provider output")?;
            if let Some(rest) = line.split("listening on http://127.0.0.1:").nth(1) {
                break rest
                    .split(|c: char| !c.is_ascii_digit())
                    .next()
                    .and_then(|p| p.parse().ok())
                    .expect("port");
            }
        };
        let sink = log.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                sink.lock().expect("log").push(line);
            }
        });
        Some(Self {
            child,
            port,
            dir: dir.to_owned(),
            log,
        })
    }

    fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn token_requests(&self) -> usize {
        self.log
            .lock()
            .expect("log")
            .iter()
            .filter(|l| l.contains("POST /token "))
            .count()
    }

    async fn stop(mut self) -> PathBuf {
        let _ = self.child.kill().await;
        let _ = self.child.wait().await;
        self.dir
    }
}

/// A browser: follows redirects and keeps cookies for the portal and the provider.
fn browser() -> (reqwest::Client, Arc<reqwest::cookie::Jar>) {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let client = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .build()
        .expect("client");
    (client, jar)
}

/// Signs in through the provider's login form; the page the portal finally shows.
async fn sign_in(client: &reqwest::Client, portal: &str, user: &str) -> reqwest::Response {
    let form = client
        .get(format!("{portal}/auth/login?next=/health"))
        .send()
        .await
        .expect("sign-in starts");
    let status = form.status();
    let at = form.url().clone();
    assert_eq!(
        status,
        200,
        "the provider's login form at {at}: {}",
        form.text().await.unwrap_or_default()
    );
    let form_url = at;
    let action = format!("{}/login", form_url.as_str().trim_end_matches('/'));
    assert!(action.contains("/interaction/"), "{action}");
    client
        .post(action)
        .form(&[("username", user), ("password", &format!("{user}-pw"))])
        .send()
        .await
        .expect("sign-in completes")
}

fn session_cookie(jar: &reqwest::cookie::Jar, portal: &str) -> String {
    let url: url::Url = portal.parse().expect("url");
    let cookies = jar.cookies(&url).expect("cookies");
    cookies
        .to_str()
        .expect("ascii")
        .split("; ")
        .find(|c| c.starts_with("portal_session="))
        .expect("a portal session")
        .to_owned()
}

async fn portal_with_idp(pool: sqlx::PgPool, dir: &Path) -> (TestApp, PrivateIdp) {
    let listener = TestApp::listener().await;
    let portal = format!(
        "http://127.0.0.1:{}",
        listener.local_addr().expect("address").port()
    );
    let idp = PrivateIdp::start(0, dir, &portal).await;
    let mut settings = settings();
    settings.auth.issuer_url = idp.issuer();
    let app = TestApp::spawn_on(listener, pool, settings).await;
    (app, idp)
}

fn state_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ebp-idp-{tag}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("state dir");
    dir
}

#[sqlx::test(migrations = "../migrations")]
async fn someone_removed_from_a_group_loses_the_role_at_the_next_refresh(pool: sqlx::PgPool) {
    let dir = state_dir("groups");
    write_users(&dir, &[("gwen", &["governance"])]);
    let (app, idp) = portal_with_idp(pool.clone(), &dir).await;
    let (client, jar) = browser();
    let landed = sign_in(&client, &app.address, "gwen").await;
    assert_eq!(landed.status(), 200);
    assert!(
        landed.url().as_str().ends_with("/health"),
        "{}",
        landed.url()
    );
    let cookie = session_cookie(&jar, &app.address);
    assert_eq!(app.get_as("/approvals", &cookie).await.status(), 200);

    // Governance no more: within the refresh interval the session keeps what it was given...
    write_users(&dir, &[("gwen", &["engineers"])]);
    assert_eq!(app.get_as("/approvals", &cookie).await.status(), 200);
    // ... and once the interval has passed, the provider is asked again and the role is gone.
    let interval = app.settings.auth.roles_refresh_minutes * 60;
    app.age_session(&cookie, interval + 60, interval + 1).await;
    assert_eq!(app.get_as("/approvals", &cookie).await.status(), 403);
    assert_eq!(
        app.get_as("/health", &cookie).await.status(),
        200,
        "a viewer now"
    );
    let groups: Vec<String> =
        sqlx::query_scalar("select groups from app_user where subject = 'gwen'")
            .fetch_one(&pool)
            .await
            .expect("user");
    assert_eq!(
        groups,
        vec!["engineers"],
        "notifications follow the groups too"
    );

    // Removed from the provider altogether: the next refresh ends the session.
    // The check time set here must differ from the one set above, whatever the clock did
    // in between: the portal recognises a refresh already made by the check time it followed.
    write_users(&dir, &[("someone-else", &[])]);
    app.age_session(&cookie, interval + 900, interval + 600)
        .await;
    let ended = app.get_as("/health", &cookie).await;
    assert_eq!(ended.status(), 303, "sent to sign in");
    assert!(
        ended.headers()["location"]
            .to_str()
            .expect("ascii")
            .starts_with("/auth/login")
    );
    drop(idp.stop().await);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_session_ends_at_its_absolute_lifetime_however_active(pool: sqlx::PgPool) {
    let dir = state_dir("lifetime");
    write_users(&dir, &[("maya", &["engineers"])]);
    let (app, idp) = portal_with_idp(pool, &dir).await;
    let (client, jar) = browser();
    assert_eq!(sign_in(&client, &app.address, "maya").await.status(), 200);
    let cookie = session_cookie(&jar, &app.address);
    let lifetime = app.settings.auth.session_absolute_hours * 3600;
    // Active a minute ago, signed in just under the lifetime ago: still signed in.
    app.age_session(&cookie, lifetime - 60, 60).await;
    assert_eq!(app.get_as("/health", &cookie).await.status(), 200);
    app.age_session(&cookie, lifetime + 1, 60).await;
    assert_eq!(app.get_as("/health", &cookie).await.status(), 303);
    drop(idp.stop().await);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_token_signed_with_a_new_key_is_verified_once_the_keys_are_fetched_again(
    pool: sqlx::PgPool,
) {
    let dir = state_dir("keys");
    write_users(&dir, &[("kim", &["engineers"])]);
    let (app, idp) = portal_with_idp(pool, &dir).await;
    let (client, _) = browser();
    assert_eq!(sign_in(&client, &app.address, "kim").await.status(), 200);
    let port = idp.port;

    // The provider restarts with a new signing key; the portal still holds the old keys.
    let dir = idp.stop().await;
    std::fs::remove_file(dir.join("jwks.json")).expect("old key removed");
    let deadline = Instant::now() + Duration::from_secs(10);
    let idp = loop {
        // The old process's port is free again in a moment.
        if let Some(idp) = PrivateIdp::try_start(port, &dir, &app.address).await {
            break idp;
        }
        assert!(Instant::now() < deadline, "port {port} did not come free");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    let (client, jar) = browser();
    let landed = sign_in(&client, &app.address, "kim").await;
    assert_eq!(landed.status(), 200, "signed in with the new key");
    assert!(
        landed.url().as_str().ends_with("/health"),
        "{}",
        landed.url()
    );
    let cookie = session_cookie(&jar, &app.address);
    assert_eq!(app.get_as("/health", &cookie).await.status(), 200);
    assert_eq!(
        idp.token_requests(),
        1,
        "the authorization code was exchanged once"
    );
    drop(idp.stop().await);
}

use app::auth::ssr::USER_KEY;
use app::domain::{Role, TeamSlug, UserIdentity};
use server::config::Settings;
use server::startup;
use sqlx::PgPool;
use std::collections::HashMap;
use tower_sessions::SessionStore;
use tower_sessions::session::{Id, Record};
use tower_sessions_sqlx_store::PostgresStore;

/// The portal served on a random port, with its own database.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub settings: Settings,
    store: PostgresStore,
}

/// Settings for the local stack, as `dev/test` exports them (defaults match `dev/run`).
pub fn settings() -> Settings {
    Settings::load().expect("configuration for the local stack")
}

impl TestApp {
    pub async fn spawn(pool: PgPool) -> Self {
        Self::spawn_with(pool, settings()).await
    }

    pub async fn spawn_with(pool: PgPool, mut settings: Settings) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port");
        let port = listener.local_addr().expect("local address").port();
        settings.server.port = port;
        settings.server.public_url = format!("http://127.0.0.1:{port}").parse().expect("url");
        let application = startup::build(settings.clone(), pool)
            .await
            .expect("application builds");
        tokio::spawn(async move {
            axum::serve(listener, application.router)
                .await
                .expect("server runs");
        });
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self {
            address: format!("http://127.0.0.1:{port}"),
            client,
            settings,
            store: application.session_store,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    pub async fn get_as(&self, path: &str, cookie: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .header("cookie", cookie)
            .send()
            .await
            .expect("request")
    }

    /// Calls a server function the way the browser does (URL-encoded POST).
    pub async fn call(&self, endpoint: &str, cookie: Option<&str>) -> reqwest::Response {
        let mut request = self
            .client
            .post(self.url(&format!("/api/{endpoint}")))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("");
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send().await.expect("request")
    }

    /// A session cookie for a signed-in user, written straight into the session store: the
    /// sign-in itself is exercised end to end by the browser tests against the real provider.
    pub async fn session_cookie_for(&self, user: &UserIdentity) -> String {
        let mut data = HashMap::new();
        data.insert(
            USER_KEY.to_owned(),
            serde_json::to_value(user).expect("serialize user"),
        );
        let mut record = Record {
            id: Id::default(),
            data,
            expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        };
        self.store.create(&mut record).await.expect("store session");
        format!("portal_session={}", record.id)
    }
}

pub fn user(subject: &str, roles: &[Role], teams: &[&str]) -> UserIdentity {
    UserIdentity {
        subject: subject.to_owned(),
        display_name: format!("{subject} tester"),
        roles: roles.to_vec(),
        teams: teams
            .iter()
            .map(|t| TeamSlug::parse(*t).expect("team"))
            .collect(),
    }
}

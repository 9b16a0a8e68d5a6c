use app::domain::{Role, TeamSlug, UserIdentity};
use serde_json::Value;
use server::config::Settings;
use server::startup;
use sqlx::PgPool;
use tower_sessions_sqlx_store::PostgresStore;

/// The portal served on a random port, with its own database.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub settings: Settings,
    store: PostgresStore,
    /// The sessions as the server reads them (memory, then the table).
    pub sessions: server::auth::CachedSessions,
    /// The listings' pages the server reuses while what they show is unchanged.
    pub listings: app::page_cache::Listings,
    /// What the server runs beside its routes in every deployment: the relay of changed
    /// requests to the request pages' event streams, and of listing changes to its page caches.
    _background: server::background::Supervisor,
}

/// The local stack's first environment, where most tests run.
pub fn sandbox() -> app::domain::EnvironmentName {
    app::domain::EnvironmentName::parse("sandbox").expect("a valid name")
}

/// Settings for the local stack, as `dev/test` exports them (defaults match `dev/run`).
/// The session id a `portal_session=...` cookie carries.
pub fn session_id(cookie: &str) -> tower_sessions::session::Id {
    cookie
        .trim_start_matches("portal_session=")
        .parse()
        .expect("session id")
}

pub fn settings() -> Settings {
    Settings::load().expect("configuration for the local stack")
}

impl TestApp {
    /// A server function's answer as `cookie`, which must succeed, as JSON.
    pub async fn page(&self, endpoint: &str, cookie: &str, form: Form) -> Value {
        let answer = self.answer(endpoint, Some(cookie), form).await;
        answer.expect_status(200);
        answer.json()
    }

    /// A listing's page once `done` holds of it, asked again until then (at most 5 s): the
    /// server reuses a listing's page until Postgres announces a change to what it shows, which
    /// reaches the server a moment after the writer commits.
    pub async fn page_until(
        &self,
        endpoint: &str,
        cookie: &str,
        form: impl Fn() -> Form,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let page = self.page(endpoint, cookie, form()).await;
            if done(&page) {
                return page;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{endpoint} still answers {page} 5 s after the change"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Every page of a keyset-paged list, in order: the first, then each page after the one
    /// before, for as long as `next` gives the form that asks for it.
    pub async fn pages_forward(
        &self,
        endpoint: &str,
        cookie: &str,
        next: impl Fn(&Value) -> Option<Form>,
    ) -> Vec<Value> {
        let mut pages = Vec::new();
        let mut form = Some(Form::new());
        while let Some(asked) = form {
            let page = self.page(endpoint, cookie, asked).await;
            form = next(&page);
            pages.push(page);
        }
        pages
    }

    pub async fn spawn(pool: PgPool) -> Self {
        Self::spawn_with(pool, settings()).await
    }

    pub async fn spawn_with(pool: PgPool, settings: Settings) -> Self {
        Self::spawn_on(Self::listener().await, pool, settings).await
    }

    /// A free port held open, for tests that must know the portal's address before it starts.
    pub async fn listener() -> tokio::net::TcpListener {
        tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port")
    }

    pub async fn spawn_on(
        listener: tokio::net::TcpListener,
        pool: PgPool,
        mut settings: Settings,
    ) -> Self {
        let port = listener.local_addr().expect("local address").port();
        settings.server.port = port;
        let scheme = settings.server.public_url.scheme().to_owned();
        settings.server.public_url = format!("{scheme}://127.0.0.1:{port}").parse().expect("url");
        let application = startup::build(settings.clone(), pool.clone())
            .await
            .expect("application builds");
        let mut background = server::background::Supervisor::default();
        background.spawn_task(server::events::RequestFeedListener::new(
            pool.clone(),
            application.requests.clone(),
        ));
        until_listening(application.requests.listening(), "the request relay").await;
        background.spawn_task(server::events::ListingListener::new(
            pool.clone(),
            application.listings.clone(),
        ));
        background.spawn_task(server::events::TopicIndexer::new(
            pool.clone(),
            application.listings.clone(),
        ));
        until_listening(application.listings.relay(), "the listing relay").await;
        tokio::spawn(async move {
            server::startup::serve(listener, application.router)
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
            sessions: application.cached_sessions,
            listings: application.listings,
            _background: background,
        }
    }

    /// Signs the session of `cookie` out, as the page's sign-out button does.
    pub async fn sign_out(&self, cookie: &str) -> reqwest::Response {
        self.client
            .post(self.url("/auth/logout"))
            .header("cookie", cookie)
            .send()
            .await
            .expect("sign out")
    }

    /// Moves the session's sign-in and last role check back in time, as if it were older.
    pub async fn age_session(&self, cookie: &str, since_sign_in: i64, since_role_check: i64) {
        use app::auth::ssr::{SessionTimes, TIMES_KEY};
        use tower_sessions::SessionStore;
        let id = session_id(cookie);
        let mut record = self
            .sessions
            .load(&id)
            .await
            .expect("load")
            .expect("the session exists");
        let now = chrono::Utc::now().timestamp();
        record.data.insert(
            TIMES_KEY.to_owned(),
            serde_json::to_value(SessionTimes {
                signed_in_at: now - since_sign_in,
                roles_checked_at: now - since_role_check,
            })
            .expect("times"),
        );
        self.sessions.save(&record).await.expect("save");
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
        self.call_with(endpoint, cookie, Form::new()).await
    }

    /// Calls a server function with arguments, URL-encoded like a browser form.
    pub async fn call_with(
        &self,
        endpoint: &str,
        cookie: Option<&str>,
        form: Form,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(self.url(&format!("/api/{endpoint}")))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.encode());
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send().await.expect("request")
    }

    /// Like [`TestApp::call_with`], with the answer read into status and body.
    pub async fn answer(&self, endpoint: &str, cookie: Option<&str>, form: Form) -> Answer {
        let response = self.call_with(endpoint, cookie, form).await;
        let status = response.status().as_u16();
        let body = response.text().await.expect("body");
        Answer {
            endpoint: endpoint.to_owned(),
            status,
            body,
        }
    }

    /// A session cookie for a signed-in user, written straight into the session store: the
    /// sign-in itself is exercised end to end by the browser tests and by `oidc.rs` against
    /// the real provider.
    pub async fn session_cookie_for(&self, user: &UserIdentity) -> String {
        server::auth::write_signed_in_session(&self.store, user, time::Duration::hours(1))
            .await
            .expect("store session")
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

/// Server-function arguments as form fields, in order: `input[kind]`, `input[environments][]`...
#[derive(Debug, Clone, Default)]
pub struct Form(Vec<(String, String)>);

impl Form {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn field(mut self, name: &str, value: impl Into<String>) -> Self {
        self.0.push((name.to_owned(), value.into()));
        self
    }

    /// Drops every field whose name starts with `prefix` (to send a form without a field).
    pub fn without(mut self, prefix: &str) -> Self {
        self.0.retain(|(name, _)| !name.starts_with(prefix));
        self
    }

    pub fn encode(&self) -> String {
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in &self.0 {
            serializer.append_pair(name, value);
        }
        serializer.finish()
    }
}

/// What a server function answered.
#[derive(Debug, Clone)]
pub struct Answer {
    pub endpoint: String,
    pub status: u16,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("{} answered no JSON ({e}): {}", self.endpoint, self.body))
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect_status(&self, status: u16) -> &Self {
        assert_eq!(
            self.status, status,
            "{} answered {}: {}",
            self.endpoint, self.status, self.body
        );
        self
    }

    /// The fields named by an `AppError::Invalid` answer.
    pub fn invalid_fields(&self) -> Vec<String> {
        self.json()["Invalid"]
            .as_array()
            .unwrap_or_else(|| panic!("{} answered no field errors: {}", self.endpoint, self.body))
            .iter()
            .map(|e| e["field"].as_str().expect("field name").to_owned())
            .collect()
    }

    /// The text of an `AppError::Conflict` answer.
    pub fn conflict(&self) -> String {
        self.json()["Conflict"]
            .as_str()
            .unwrap_or_else(|| panic!("{} answered no conflict: {}", self.endpoint, self.body))
            .to_owned()
    }
}

/// Waits, at most 10 s, until a relay of Postgres notices says it listens.
async fn until_listening(mut listening: tokio::sync::watch::Receiver<bool>, relay: &str) {
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        listening.wait_for(|listening| *listening),
    )
    .await
    .unwrap_or_else(|_| panic!("{relay} listens within 10 s"))
    .unwrap_or_else(|_| panic!("{relay} runs"));
}

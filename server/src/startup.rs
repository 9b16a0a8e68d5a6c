//! Builds the application: state, routes and middleware. Used by `main` and by the tests.

use crate::auth::{self, Oidc};
use crate::config::Settings;
use crate::security::{self, BrowserPolicy};
use crate::state::AppState;
use crate::{db, ops};
use anyhow::Context;
use app::context::PortalContext;
use app::environments::EnvironmentSummary;
use app::{App, BUNDLE_NAME, shell};
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use std::sync::{Arc, OnceLock};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::PostgresStore;

/// The page routes, worked out once per process. Working them out renders the app with resource
/// loading switched off by a process-wide flag (leptos_server's `SuppressResourceLoad`): a page
/// rendered by another server in the same process at that moment (tests start many) would wait
/// forever on its first resource. Done once, before any server built here serves, no render can
/// overlap it.
fn page_routes() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: OnceLock<Vec<leptos_axum::AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// What server functions in the `app` crate may read from context.
pub fn portal_context(settings: &Settings, db: &sqlx::PgPool) -> anyhow::Result<PortalContext> {
    let vault = app::credentials::CredentialVault::from_base64(&settings.kafka.credential_key)
        .context("kafka.credential_key")?;
    install_audit_key(settings)?;
    Ok(PortalContext {
        vault,
        webhooks: Arc::new(
            settings
                .webhooks
                .policy(settings.server.is_local_development()),
        ),
        health: app::health::cache::HealthCache::new(settings.health.history_points()),
        db: db.clone(),
        approvals: Arc::new(settings.approvals.clone()),
        naming: Arc::new(settings.naming.clone()),
        roles: Arc::new(settings.auth.roles.clone()),
        public_url: settings
            .server
            .public_url
            .as_str()
            .trim_end_matches('/')
            .into(),
        environments: settings
            .environments()
            .into_iter()
            .map(|(name, env)| EnvironmentSummary {
                name: name.to_owned(),
                display_name: env.display_name.clone(),
                allows_pii: env.allows_pii,
                address: app::connect::ClusterAddress {
                    bootstrap_servers: env
                        .public_bootstrap_servers
                        .clone()
                        .unwrap_or_else(|| env.bootstrap_servers.clone()),
                    security_protocol: env.security_protocol.clone(),
                    sasl_mechanism: env.sasl_mechanism.clone(),
                },
            })
            .collect(),
    })
}

/// The identity provider's origin (sign-out forms continue there).
fn portal_context_origin(settings: &Settings) -> anyhow::Result<String> {
    Ok(url::Url::parse(&settings.auth.issuer_url)
        .context("auth.issuer_url")?
        .origin()
        .ascii_serialization())
}

/// Installs the key that seals audit rows, for this process.
pub fn install_audit_key(settings: &Settings) -> anyhow::Result<()> {
    let key = app::audit::ssr::AuditKey::from_base64(&settings.audit.key).context("audit.key")?;
    app::audit::ssr::install_key(key).map_err(|e| anyhow::anyhow!("audit.key: {e}"))
}

/// Largest request body accepted anywhere: forms, server functions and registry writes (a
/// schema is at most `app::schemas::SCHEMA_MAX_BYTES`, which encoding can double or triple).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Serves the router, telling handlers each connection's peer address (the registry counts
/// failed sign-ins per client address).
pub async fn serve(listener: tokio::net::TcpListener, router: Router) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .await
}

/// The browser bundle (`/pkg`) and the public files, served from the site root. They are served
/// here rather than by Leptos's fallback, which answers a file with the status of whatever page
/// is being rendered on the same thread at that moment (a 404 page made a bundle chunk 404).
fn static_files(site_root: &str) -> Router<AppState> {
    let root = std::path::Path::new(site_root);
    Router::new()
        .nest_service("/pkg", ServeDir::new(root.join("pkg")))
        .route_service("/favicon.svg", ServeFile::new(root.join("favicon.svg")))
}

pub struct Application {
    pub router: Router,
    /// What the health collectors publish and the pages read.
    pub health: app::health::cache::HealthCache,
    /// Changed requests, for the request pages' event streams; fed by
    /// [`crate::events::RequestFeedListener`].
    pub requests: crate::events::RequestFeed,
    pub state: AppState,
    pub session_store: PostgresStore,
}

/// Everything the server needs, built from settings and an open pool. Runs migrations.
pub async fn build(settings: Settings, pool: sqlx::PgPool) -> anyhow::Result<Application> {
    settings.check_deployment()?;
    db::migrate(&pool).await?;
    let session_store = PostgresStore::new(pool.clone());
    session_store
        .migrate()
        .await
        .context("creating the session table")?;

    let leptos_options = LeptosOptions::builder()
        .output_name(BUNDLE_NAME)
        .site_root(settings.server.site_root.as_str())
        .site_pkg_dir("pkg")
        .site_addr(settings.server.bind_addr()?)
        .build();
    let oidc = Oidc::new(&settings.auth, &settings.server.public_url)?;
    let vault = app::credentials::CredentialVault::from_base64(&settings.kafka.credential_key)
        .context("kafka.credential_key")?;
    let state = AppState {
        leptos_options: leptos_options.clone(),
        db: pool,
        settings: Arc::new(settings),
        oidc: Arc::new(oidc),
        metrics: ops::metrics_handle()?,
        readiness: Arc::default(),
        vault,
        sessions: Arc::default(),
    };

    let portal = portal_context(&state.settings, &state.db)?;
    let health = portal.health.clone();
    let requests = crate::events::RequestFeed::default();
    let routes = page_routes();

    let secure_cookies = state.settings.server.serves_https();
    let browser = Arc::new(BrowserPolicy {
        origin: state.settings.server.origin(),
        https: secure_cookies,
        identity_provider_origin: portal_context_origin(&state.settings)?,
    });
    let idle = time::Duration::minutes(state.settings.auth.session_idle_minutes);
    let sessions = SessionManagerLayer::new(session_store.clone())
        .with_name("portal_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(secure_cookies)
        .with_expiry(Expiry::OnInactivity(idle));

    let router = Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/auth/login", get(auth::login))
        .route("/auth/callback", get(auth::callback))
        .route("/auth/logout", post(auth::logout))
        .route(
            "/health/events",
            get({
                let (health, store) = (health.clone(), session_store.clone());
                move |State(state): State<AppState>, session: tower_sessions::Session| {
                    crate::events::health_events(state, store.clone(), session, health.clone())
                }
            }),
        )
        .route(
            "/events/requests/{id}",
            get({
                let (feed, store) = (requests.clone(), session_store.clone());
                move |State(state): State<AppState>,
                      session: tower_sessions::Session,
                      axum::extract::Path(id): axum::extract::Path<String>| {
                    crate::events::request_events(state, store.clone(), session, feed.clone(), id)
                }
            }),
        )
        .leptos_routes_with_context(
            &state,
            routes,
            {
                let state = state.clone();
                move || {
                    app::context::provide_request_nonce();
                    provide_context(state.clone());
                    provide_context(portal.clone());
                }
            },
            {
                let options = leptos_options.clone();
                move || shell(options.clone())
            },
        )
        .merge(crate::registry::router(crate::registry::Registry::new(
            state.db.clone(),
            state.settings.clone(),
        )))
        .route_layer(from_fn(ops::label_route))
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(app::context::provide_request_nonce, shell))
        .layer(from_fn(auth::require_sign_in))
        .layer(from_fn_with_state(state.clone(), auth::keep_fresh))
        .layer(sessions)
        // Outside the session layers: the bundle and the public files need no session.
        .merge(static_files(&state.settings.server.site_root))
        .layer(from_fn_with_state(
            browser.clone(),
            security::refuse_cross_site,
        ))
        .layer(from_fn_with_state(browser, security::headers))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(from_fn(ops::track_requests))
        .layer(
            // Paths only: query strings can carry authorization codes.
            TraceLayer::new_for_http().make_span_with(|request: &http::Request<_>| {
                tracing::info_span!(
                    "http",
                    method = %request.method(),
                    path = %request.uri().path(),
                )
            }),
        )
        .with_state(state.clone());

    Ok(Application {
        router,
        health,
        requests,
        state,
        session_store,
    })
}

//! Builds the application: state, routes and middleware. Used by `main` and by the tests.

use crate::auth::{self, Oidc};
use crate::config::Settings;
use crate::state::AppState;
use crate::{db, ops};
use anyhow::Context;
use app::context::PortalContext;
use app::environments::EnvironmentSummary;
use app::{App, BUNDLE_NAME, shell};
use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use std::collections::HashSet;
use std::sync::Arc;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::PostgresStore;

/// What server functions in the `app` crate may read from context.
pub fn portal_context(settings: &Settings, db: &sqlx::PgPool) -> anyhow::Result<PortalContext> {
    let vault = app::credentials::CredentialVault::from_base64(&settings.kafka.credential_key)
        .context("kafka.credential_key")?;
    Ok(PortalContext {
        vault,
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
            })
            .collect(),
    })
}

pub struct Application {
    pub router: Router,
    /// What the health collectors publish and the pages read.
    pub health: app::health::cache::HealthCache,
    pub state: AppState,
    pub session_store: PostgresStore,
}

/// Everything the server needs, built from settings and an open pool. Runs migrations.
pub async fn build(settings: Settings, pool: sqlx::PgPool) -> anyhow::Result<Application> {
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
    let state = AppState {
        leptos_options: leptos_options.clone(),
        db: pool,
        settings: Arc::new(settings),
        oidc: Arc::new(oidc),
        metrics: ops::metrics_handle()?,
    };

    let portal = portal_context(&state.settings, &state.db)?;
    let health = portal.health.clone();
    let routes = generate_route_list(App);
    let mut known_routes: HashSet<String> = routes.iter().map(|r| r.path().to_owned()).collect();
    known_routes.extend(
        [
            "/healthz",
            "/readyz",
            "/metrics",
            "/auth/login",
            "/auth/callback",
            "/auth/logout",
            "/health/events",
        ]
        .map(String::from),
    );
    known_routes
        .extend(leptos::server_fn::axum::server_fn_paths().map(|(path, _method)| path.to_owned()));

    let secure_cookies = state.settings.server.serves_https();
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
                let health = health.clone();
                move |session: tower_sessions::Session| {
                    crate::health::events(session, health.clone())
                }
            }),
        )
        .leptos_routes_with_context(
            &state,
            routes,
            {
                let state = state.clone();
                move || {
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
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(from_fn(auth::require_sign_in))
        .layer(sessions)
        .layer(from_fn_with_state(
            Arc::new(known_routes),
            ops::track_requests,
        ))
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
        state,
        session_store,
    })
}

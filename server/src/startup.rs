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
use axum::middleware::{from_fn, from_fn_with_state, map_response};
use axum::response::Response;
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
        listings: app::page_cache::Listings::default(),
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
        without_delay(listener),
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .await
}

/// The browser bundle and the public files, served from the site root. They are served here
/// rather than by Leptos's fallback, which answers a file with the status of whatever page is
/// being rendered on the same thread at that moment (a 404 page made a bundle chunk 404).
///
/// Pages load the bundle from `/static/<version>/pkg/` (see [`app::BundleRoot`]): those answers
/// may be kept for good. `/pkg/` serves the same files for anything that asks for them by
/// their plain names, to be checked again before each use. Files are sent gzipped when the
/// build left a `.gz` beside them and the browser accepts it.
fn static_files(site_root: &str, version: &str) -> Router<AppState> {
    let root = std::path::Path::new(site_root);
    let bundle = || ServeDir::new(root.join("pkg")).precompressed_gzip();
    Router::new()
        .nest_service(
            &format!("{}/pkg", app::BundleRoot::versioned(version).0),
            bundle(),
        )
        .layer(map_response(|response: Response| async move {
            cache_for(response, "public, max-age=31536000, immutable")
        }))
        .merge(
            Router::new()
                .nest_service("/pkg", bundle())
                .route_service("/favicon.svg", ServeFile::new(root.join("favicon.svg")))
                .layer(map_response(|response: Response| async move {
                    cache_for(response, "no-cache")
                })),
        )
}

/// Sets how long a file found may be kept; a refusal or a missing file is not to be kept.
fn cache_for(mut response: Response, policy: &'static str) -> Response {
    if response.status().is_success() || response.status() == http::StatusCode::NOT_MODIFIED {
        response.headers_mut().insert(
            http::header::CACHE_CONTROL,
            http::HeaderValue::from_static(policy),
        );
    }
    response
}

/// The bundle's version: a digest of the names and contents of every file under `pkg`
/// (the gzipped copies and the pages' packs of chunks aside, which follow from the rest). A site
/// without a bundle digests to the empty digest's prefix.
pub fn bundle_version(pkg: &std::path::Path) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                files(&path, out)?;
            } else if path.extension().is_none_or(|e| e != "gz")
                && !path
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("pack__"))
            {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut paths = Vec::new();
    if pkg.is_dir() {
        files(pkg, &mut paths)?;
    }
    paths.sort();
    let mut digest = Sha256::new();
    for path in paths {
        let name = path.strip_prefix(pkg).unwrap_or(&path).to_string_lossy();
        digest.update((name.len() as u64).to_le_bytes());
        digest.update(name.as_bytes());
        let contents = std::fs::read(&path)?;
        digest.update((contents.len() as u64).to_le_bytes());
        digest.update(&contents);
    }
    Ok(digest.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// The listener with Nagle's algorithm off on every connection: small answers (a bundle chunk,
/// a server function's reply) leave at once instead of waiting on the client's delayed
/// acknowledgement, which cost a kept-alive connection 40 ms per request.
pub fn without_delay(
    listener: tokio::net::TcpListener,
) -> axum::serve::TapIo<tokio::net::TcpListener, fn(&mut tokio::net::TcpStream)> {
    fn no_delay(stream: &mut tokio::net::TcpStream) {
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "could not turn Nagle's algorithm off");
        }
    }
    axum::serve::ListenerExt::tap_io(listener, no_delay as fn(&mut tokio::net::TcpStream))
}

pub struct Application {
    pub router: Router,
    /// What the health collectors publish and the pages read.
    pub health: app::health::cache::HealthCache,
    /// Changed requests, for the request pages' event streams; fed by
    /// [`crate::events::RequestFeedListener`].
    pub requests: crate::events::RequestFeed,
    pub state: AppState,
    /// The listings' reused pages; told of changes by [`crate::events::ListingListener`].
    pub listings: app::page_cache::Listings,
    /// The session table, read directly by live streams and swept by the session sweeper.
    pub session_store: PostgresStore,
    /// What requests read sessions through: recent sessions in memory, then the table.
    pub cached_sessions: auth::CachedSessions,
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

    let bundle_version =
        bundle_version(&std::path::Path::new(&state.settings.server.site_root).join("pkg"))
            .context("reading the browser bundle")?;
    let bundle_root = app::BundleRoot::versioned(&bundle_version);
    let portal = portal_context(&state.settings, &state.db)?;
    let health = portal.health.clone();
    let listings = portal.listings.clone();
    let requests = crate::events::RequestFeed::default();
    let routes = page_routes();

    let secure_cookies = state.settings.server.serves_https();
    let browser = Arc::new(BrowserPolicy {
        origin: state.settings.server.origin(),
        https: secure_cookies,
        identity_provider_origin: portal_context_origin(&state.settings)?,
    });
    let idle = time::Duration::minutes(state.settings.auth.session_idle_minutes);
    let cached_sessions = auth::CachedSessions::new(
        auth::RecentSessions::new(auth::CacheLimits::default()),
        session_store.clone(),
    );
    let sessions = SessionManagerLayer::new(cached_sessions.clone())
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
                // leptos_axum provides the state itself.
                let bundle_root = bundle_root.clone();
                move || {
                    app::context::provide_request_nonce();
                    provide_context(portal.clone());
                    provide_context(bundle_root.clone());
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
        >(
            move || {
                app::context::provide_request_nonce();
                provide_context(bundle_root.clone());
            },
            shell,
        ))
        .layer(from_fn(auth::require_sign_in))
        .layer(from_fn_with_state(state.clone(), auth::keep_fresh))
        .layer(sessions)
        // Outside the session layers: the bundle and the public files need no session.
        .merge(static_files(
            &state.settings.server.site_root,
            &bundle_version,
        ))
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
        listings,
        state,
        session_store,
        cached_sessions,
    })
}

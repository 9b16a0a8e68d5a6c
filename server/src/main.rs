// No `unsafe` in the binary either; the library confines it to `kafka::admin::ffi`.
#![deny(unsafe_code)]

use anyhow::Context;
use server::apply::{ApplyWorker, Clusters, supervise_workers};
use server::background::{Exit, Relay, SessionSweeper, Supervisor};
use server::config::Settings;
use server::events::{ListingListener, RequestFeedListener, TopicIndexer};
use server::reconcile::{ReconcileTask, Reconciler};
use server::webhooks::{WebhookTask, WebhookWorker};
use server::{db, startup, telemetry};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// `event-bus-portal --check-config` prints the effective configuration, secrets redacted, and
/// what would stop it from serving outside local development; it exits 1 when something would.
fn check_config() -> anyhow::Result<std::process::ExitCode> {
    let settings = Settings::load();
    print!("{}", server::config::deployment::redacted(Settings::raw()?));
    let problems = match &settings {
        Ok(settings) => settings
            .deployment_problems()
            .into_iter()
            .map(|p| p.to_string())
            .collect(),
        Err(error) => vec![format!("{error:#}")],
    };
    if problems.is_empty() {
        println!("\n# No problems found.");
        return Ok(std::process::ExitCode::SUCCESS);
    }
    println!("\n# Problems ({}):", problems.len());
    for problem in &problems {
        println!("#   - {problem}");
    }
    Ok(std::process::ExitCode::FAILURE)
}

/// `event-bus-portal --seal-audit-log` seals audit rows that have no seal yet (rows loaded with
/// SQL, such as the demo data, or written before seals existed), if the chain is intact.
async fn seal_audit_log() -> anyhow::Result<std::process::ExitCode> {
    let settings = Settings::load()?;
    startup::install_audit_key(&settings)?;
    let pool = db::pool(&settings.database)?;
    match app::audit::ssr::seal_unsealed(&pool)
        .await
        .context("sealing the audit log")?
    {
        Ok(sealed) => {
            println!("audit log: {sealed} rows sealed");
            Ok(std::process::ExitCode::SUCCESS)
        }
        Err(broken) => {
            eprintln!(
                "audit log: not sealed: the chain is broken at entry {broken} (changed outside the portal)"
            );
            Ok(std::process::ExitCode::FAILURE)
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn main() -> anyhow::Result<std::process::ExitCode> {
    match std::env::args().nth(1).as_deref() {
        Some("--check-config") => check_config(),
        Some("--seal-audit-log") => runtime()?.block_on(seal_audit_log()),
        Some(other) => {
            anyhow::bail!("unknown argument {other:?} (known: --check-config, --seal-audit-log)")
        }
        None => {
            runtime()?.block_on(serve())?;
            Ok(std::process::ExitCode::SUCCESS)
        }
    }
}

async fn serve() -> anyhow::Result<()> {
    let settings = Settings::load()?;
    settings.check_deployment()?;
    telemetry::init(&settings.log);
    let addr = settings.server.bind_addr()?;
    let pool = db::pool(&settings.database)?;
    let app = startup::build(settings, pool).await?;

    let background = background_work(&app)?;

    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    tracing::info!(%addr, "Event Bus Portal listening");
    let (health, requests) = (app.health.clone(), app.requests.clone());
    axum::serve(
        startup::without_delay(listener),
        app.router
            .into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown_signal().await;
        // Live streams end, so open pages do not hold the shutdown up.
        health.close();
        requests.close();
    })
    .await
    .context("serving HTTP")?;
    for (task, exit) in background.stop(Duration::from_secs(15)).await {
        match exit {
            Exit::Stopped => tracing::debug!(task, "stopped"),
            Exit::DidNotStop => tracing::warn!(
                task,
                "did not stop within 15 s (a claimed step is released and runs again)"
            ),
            Exit::Failed(why) => tracing::error!(task, why, "ended abnormally"),
        }
    }
    tracing::info!("stopped");
    Ok(())
}

/// Every background task of the server, supervised: the relay of changed requests to the
/// request pages' event streams, the relay of listing changes to the catalog's and the queue's page caches, the catalog's
/// topic index, session sweeping, webhook deliveries, the
/// apply workers and their wake-up relay, the reconciler and its relay, a health collector per
/// cluster.
fn background_work(app: &startup::Application) -> anyhow::Result<Supervisor> {
    let settings = app.state.settings.clone();
    let db = app.state.db.clone();
    let mut supervisor = Supervisor::default();
    let (feed_db, feed) = (db.clone(), app.requests.clone());
    supervisor.spawn(move || Ok(RequestFeedListener::new(feed_db.clone(), feed.clone())))?;
    let (listing_db, listings) = (db.clone(), app.listings.clone());
    supervisor.spawn(move || Ok(ListingListener::new(listing_db.clone(), listings.clone())))?;
    let (index_db, listings) = (db.clone(), app.listings.clone());
    supervisor.spawn(move || Ok(TopicIndexer::new(index_db.clone(), listings.clone())))?;
    let store = app.session_store.clone();
    supervisor.spawn(move || {
        Ok(SessionSweeper {
            store: store.clone(),
            every: Duration::from_secs(300),
        })
    })?;
    if settings.webhooks.enabled {
        let (db, settings) = (db.clone(), settings.clone());
        supervisor.spawn(move || {
            let policy = settings
                .webhooks
                .policy(settings.server.is_local_development());
            Ok(WebhookTask::new(WebhookWorker::new(
                db.clone(),
                settings.webhooks.clone(),
                policy,
            )?))
        })?;
    }
    if settings.apply.enabled {
        let clusters = Clusters::from_settings(&settings)?;
        let vault = app::credentials::CredentialVault::from_base64(&settings.kafka.credential_key)?;
        let worker = ApplyWorker::new(db.clone(), clusters.clone(), vault, settings.apply.clone());
        supervise_workers(&mut supervisor, &worker, settings.apply.workers)?;
        let reconcile_wake = Arc::new(Notify::new());
        let (relay_db, relay_wake) = (db.clone(), reconcile_wake.clone());
        supervisor.spawn(move || {
            Ok(Relay::new(
                relay_db.clone(),
                "reconcile",
                relay_wake.clone(),
            ))
        })?;
        let apply = settings.apply.clone();
        supervisor.spawn(move || {
            Ok(ReconcileTask {
                reconciler: Reconciler::new(db.clone(), clusters.clone(), apply.clone()),
                wake: reconcile_wake.clone(),
            })
        })?;
    }
    if settings.health.enabled {
        for make in server::health::collector_factories(&settings, &app.state.db, &app.health) {
            supervisor.spawn(make)?;
        }
    }
    Ok(supervisor)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

use anyhow::Context;
use server::apply::{ApplyWorker, Clusters, listen};
use server::config::Settings;
use server::reconcile::Reconciler;
use server::webhooks::WebhookWorker;
use server::{db, startup, telemetry};
use std::time::Duration;
use tower_sessions::ExpiredDeletion;

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

    let deletion = tokio::spawn(
        app.session_store
            .clone()
            .continuously_delete_expired(Duration::from_secs(300)),
    );

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let webhooks = if app.state.settings.webhooks.enabled {
        let settings = &app.state.settings;
        let worker = WebhookWorker::new(
            app.state.db.clone(),
            settings.webhooks.clone(),
            settings
                .webhooks
                .policy(settings.server.is_local_development()),
        )?;
        Some(tokio::spawn(worker.run_until_stopped(stopped.clone())))
    } else {
        None
    };

    let mut background = Vec::new();
    let apply = app.state.settings.apply.clone();
    if apply.enabled {
        let clusters = Clusters::from_settings(&app.state.settings)?;
        let vault = app::credentials::CredentialVault::from_base64(
            &app.state.settings.kafka.credential_key,
        )?;
        let wake = listen(app.state.db.clone(), "apply_step", stopped.clone());
        let worker = ApplyWorker::new(app.state.db.clone(), clusters.clone(), vault, apply.clone());
        for _ in 0..apply.workers {
            background.push(tokio::spawn(
                worker
                    .clone()
                    .run_until_stopped(wake.clone(), stopped.clone()),
            ));
        }
        let reconcile_wake = listen(app.state.db.clone(), "reconcile", stopped.clone());
        let reconciler = Reconciler::new(app.state.db.clone(), clusters, apply);
        background.push(tokio::spawn(
            reconciler.run_until_stopped(reconcile_wake, stopped.clone()),
        ));
    }

    if app.state.settings.health.enabled {
        background.extend(server::health::spawn_collectors(
            &app.state.settings,
            &app.state.db,
            &app.health,
            &stopped,
        )?);
    }

    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    tracing::info!(%addr, "Event Bus Portal listening");
    let health = app.health.clone();
    axum::serve(
        listener,
        app.router
            .into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown_signal().await;
        // Live health streams end, so open pages do not hold the shutdown up.
        health.close();
    })
    .await
    .context("serving HTTP")?;
    deletion.abort();
    let _ = stop.send(true);
    if let Some(worker) = webhooks
        && tokio::time::timeout(Duration::from_secs(15), worker)
            .await
            .is_err()
    {
        tracing::warn!("the webhook worker did not stop within 15 s");
    }
    for task in background {
        if tokio::time::timeout(Duration::from_secs(15), task)
            .await
            .is_err()
        {
            tracing::warn!(
                "a Kafka worker did not stop within 15 s; its step is released and runs again"
            );
        }
    }
    tracing::info!("stopped");
    Ok(())
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

use anyhow::Context;
use server::apply::{ApplyWorker, Clusters, listen};
use server::config::Settings;
use server::reconcile::Reconciler;
use server::webhooks::WebhookWorker;
use server::{db, startup, telemetry};
use std::time::Duration;
use tower_sessions::ExpiredDeletion;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::load()?;
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
        let worker = WebhookWorker::new(app.state.db.clone(), app.state.settings.webhooks.clone())?;
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
    axum::serve(listener, app.router)
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

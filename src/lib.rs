//! hubport: a HubSpot-compatible CRM imports API server.
//!
//! `http` (thin handlers) → `app` (what each endpoint does) → `import` (the engine, no HTTP or
//! SQL), `db` (storage) and `jobs` (the durable queue and worker). `crm` holds the vocabulary
//! they share; `config`, `auth` and `error` are cross-cutting.

pub mod app;
pub mod auth;
pub mod client;
pub mod config;
pub mod crm;
pub mod db;
pub mod error;
pub mod http;
pub mod import;
pub mod jobs;
pub mod metrics;

use actix_web::dev::ServerHandle;
use std::net::TcpListener;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Db(#[from] db::DbError),
    #[error("could not start the HTTP server: {0}")]
    Io(#[from] std::io::Error),
}

/// Opens the database and applies migrations (creating the SQLite file on first start).
pub fn open_database(config: &config::Config) -> Result<db::Db, db::DbError> {
    let db = db::Db::connect(&config.database_url, config.pool_size, config.db_timeout)?;
    let ran = db.migrate()?;
    if ran > 0 {
        tracing::info!(
            migrations = ran,
            backend = db.backend().name(),
            "database migrated"
        );
    }
    Ok(db)
}

/// Runs the API (and, if configured, the import worker) on `listener` until the server stops.
/// `on_ready` receives the handle that stops it; tests use it, `main` ignores it.
pub fn run(
    config: config::Config,
    listener: TcpListener,
    on_ready: impl FnOnce(ServerHandle),
) -> Result<(), StartError> {
    let db = open_database(&config)?;
    let tokens = auth::Tokens::load(&db, &config)?;
    let metrics = std::sync::Arc::new(metrics::Metrics::default());
    let workers = config
        .run_worker
        .then(|| jobs::Workers::spawn(db.clone(), &config, metrics.clone(), config.workers));
    let rate_limits = std::sync::Arc::new(http::rate_limit::RateLimits::new(
        http::rate_limit::Policy {
            per_10s: config.rate_limit_per_10s,
            per_day: config.rate_limit_per_day,
        },
    ));
    let daily_sync =
        http::rate_limit::DailySync::spawn(rate_limits.clone(), db.clone(), config.rate_limit_sync);
    let state = actix_web::web::Data::new(http::AppState {
        db,
        tokens,
        rate_limits,
        metrics,
        auth_failures: http::rate_limit::AuthFailures::new(config.auth_failures_per_10s),
        config: config.clone(),
        wake: workers.as_ref().map(|w| w.wake.clone()),
    });
    let addr = listener.local_addr()?;
    let stop_workers = workers.as_ref().map(|w| w.stopper());
    let result = actix_web::rt::System::new().block_on(async move {
        let server = actix_web::HttpServer::new(move || http::app(state.clone()))
            .workers(2)
            .shutdown_timeout(10)
            .disable_signals()
            .listen(listener)?
            .run();
        tracing::info!(%addr, "hubport listening");
        let handle = server.handle();
        on_ready(handle.clone());
        // On SIGTERM/SIGINT the workers stop at their next batch at once (their leases released),
        // while the HTTP server finishes the requests in flight.
        actix_web::rt::spawn(async move {
            if shutdown_signal().await.is_ok() {
                tracing::info!("shutting down");
                if let Some(stop) = stop_workers {
                    stop();
                }
                handle.stop(true).await;
            }
        });
        server.await
    });
    if let Some(w) = workers {
        w.stop();
    }
    daily_sync.stop();
    Ok(result?)
}

/// Runs only the import worker (`hubport worker`) until SIGTERM or SIGINT; the current batch
/// is committed or rolled back and the job's lease released before it exits.
pub fn run_worker(config: config::Config) -> Result<(), StartError> {
    let db = open_database(&config)?;
    let metrics = std::sync::Arc::new(metrics::Metrics::default());
    let workers = jobs::Workers::spawn(db, &config, metrics, config.workers.max(1));
    tracing::info!(workers = config.workers, "hubport worker running");
    actix_web::rt::System::new().block_on(shutdown_signal())?;
    tracing::info!("stopping the worker");
    workers.stop();
    Ok(())
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use actix_web::rt::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        tokio::select! {
            r = actix_web::rt::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    actix_web::rt::signal::ctrl_c().await
}

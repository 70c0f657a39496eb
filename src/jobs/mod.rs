//! The import worker: threads that claim jobs from the durable queue (woken at once by a local
//! import, by polling for imports created on other nodes) and run them.

mod batch;
pub mod queue;
pub mod run;
pub mod source;

use crate::config::Config;
use crate::db::{Db, DbError};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A job that failed this many times for an internal reason ends FAILED.
pub const MAX_ATTEMPTS: i32 = 5;

/// Uploads that never became an import (a crash mid-upload) are removed after this long.
const ORPHAN_UPLOAD_AGE: Duration = Duration::from_secs(24 * 3600);

pub struct WorkerCtx {
    pub db: Db,
    pub metrics: Arc<crate::metrics::Metrics>,
    pub config: Config,
    pub worker_id: String,
    pub shutdown: Arc<AtomicBool>,
}

/// Wakes idle workers when this process enqueues an import.
#[derive(Default)]
pub struct Wake {
    pending: Mutex<bool>,
    cond: Condvar,
}

impl Wake {
    pub fn notify(&self) {
        *self.pending.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.cond.notify_all();
    }

    fn wait(&self, timeout: Duration) {
        let guard = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let (mut guard, _) = self
            .cond
            .wait_timeout_while(guard, timeout, |pending| !*pending)
            .unwrap_or_else(|e| e.into_inner());
        *guard = false;
    }
}

/// Running worker threads; `stop` asks them to finish their current batch and exit.
pub struct Workers {
    pub wake: Arc<Wake>,
    shutdown: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Workers {
    pub fn spawn(
        db: Db,
        config: &Config,
        metrics: Arc<crate::metrics::Metrics>,
        count: usize,
    ) -> Workers {
        let wake = Arc::new(Wake::default());
        let shutdown = Arc::new(AtomicBool::new(false));
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "local".into());
        let threads = (0..count)
            .map(|n| {
                let ctx = WorkerCtx {
                    db: db.clone(),
                    metrics: metrics.clone(),
                    config: config.clone(),
                    worker_id: format!(
                        "{host}-{}-{n}-{}",
                        std::process::id(),
                        uuid::Uuid::new_v4().simple()
                    ),
                    shutdown: shutdown.clone(),
                };
                let wake = wake.clone();
                std::thread::Builder::new()
                    .name(format!("hubport-worker-{n}"))
                    .spawn(move || work_loop(ctx, &wake))
                    .expect("spawn worker thread")
            })
            .collect();
        Workers {
            wake,
            shutdown,
            threads,
        }
    }

    /// Asks the workers to stop after their current batch (releasing their jobs' leases).
    pub fn signal_stop(&self) {
        self.shutdown.store(true, Ordering::Relaxed);
        self.wake.notify();
    }

    /// A handle that asks the workers to stop, for a signal handler.
    pub fn stopper(&self) -> impl Fn() + Send + 'static {
        let (shutdown, wake) = (self.shutdown.clone(), self.wake.clone());
        move || {
            shutdown.store(true, Ordering::Relaxed);
            wake.notify();
        }
    }

    pub fn stop(self) {
        self.signal_stop();
        for t in self.threads {
            let _ = t.join();
        }
    }
}

fn work_loop(ctx: WorkerCtx, wake: &Wake) {
    let mut last_sweep: Option<Instant> = None;
    while !ctx.shutdown.load(Ordering::Relaxed) {
        if last_sweep.is_none_or(|t| t.elapsed() > Duration::from_secs(600)) {
            last_sweep = Some(Instant::now());
            sweep_orphans(&ctx);
        }
        match claim(&ctx) {
            Ok(Some(job)) => {
                let span = tracing::info_span!(
                    "import",
                    import_id = job.import_id,
                    portal = job.portal_id,
                    attempt = job.attempts
                );
                let _enter = span.enter();
                if let Err(e) = run::run_import(&ctx, &job) {
                    after_failure(&ctx, &job, &e);
                }
            }
            Ok(None) => wake.wait(ctx.config.poll_interval),
            Err(e) => {
                tracing::warn!(error = %e, "could not claim a job");
                wake.wait(ctx.config.poll_interval.max(Duration::from_secs(1)));
            }
        }
    }
}

/// Gives a job whose run stopped early back to the queue. A failure while the database is
/// unreachable (a restart, a network cut, every pooled connection busy) is not the job's fault:
/// the worker waits for the database and hands the job back at once without counting the
/// attempt. (Only an outage longer than the lease can let another worker take the job over
/// first, which counts one attempt, as for a worker that died.) Any other failure counts, and is
/// retried after an exponential backoff (at most a lease) until `MAX_ATTEMPTS`.
fn after_failure(ctx: &WorkerCtx, job: &queue::Job, e: &run::RunError) {
    use queue::Attempt;
    use run::RunError;
    let outage = match e {
        // The lease is another worker's now; the job is not ours to release.
        RunError::LostLease => return,
        RunError::Shutdown => false,
        RunError::Db(DbError::Unavailable(_)) => true,
        // Reading the stored file reports a lost connection as a read error: ask the database.
        _ => !ctx.db.reachable(),
    };
    let reason = e.to_string();
    let (retry_in, attempt) = match e {
        RunError::Shutdown => (Duration::ZERO, Attempt::NotCounted),
        _ if outage => (Duration::ZERO, Attempt::NotCounted),
        // Exponential, but never longer than a lease.
        _ => (
            Duration::from_secs(1 << job.attempts.clamp(0, 6)).min(ctx.config.lease),
            Attempt::Counted,
        ),
    };
    if outage {
        tracing::warn!(error = %e, "database unreachable; the import retries its batch once it is back");
    } else {
        tracing::warn!(error = %e, ?retry_in, "import interrupted; it resumes from its last checkpoint");
    }
    let mut pause = Duration::from_millis(100);
    loop {
        match ctx
            .db
            .write(|c| queue::release(c, job, &ctx.worker_id, &reason, retry_in, attempt))
        {
            Ok(()) => return,
            // Waiting for the database: each try itself waits up to the pool's timeout.
            Err(DbError::Unavailable(_)) if outage && !ctx.shutdown.load(Ordering::Relaxed) => {
                std::thread::sleep(pause);
                // Short: after an outage longer than the lease, this release must come before
                // another worker's claim, which would take the job over and count an attempt.
                pause = (pause * 2).min(Duration::from_secs(1));
            }
            Err(e2) => {
                tracing::warn!(error = %e2, "could not release the job; its lease will expire");
                return;
            }
        }
    }
}

fn claim(ctx: &WorkerCtx) -> Result<Option<queue::Job>, crate::db::DbError> {
    let per_portal = ctx.config.max_concurrent_imports;
    ctx.db.write(|c| {
        let job = queue::claim(c, &ctx.worker_id, ctx.config.lease, per_portal)?;
        queue::mark_deferred(c, per_portal)?;
        Ok(job)
    })
}

/// Housekeeping: uploads that never became an import, and the bytes of ended imports past
/// their retention.
fn sweep_orphans(ctx: &WorkerCtx) {
    let cutoff = crate::db::now() - ORPHAN_UPLOAD_AGE;
    match ctx
        .db
        .write(|c| crate::db::files::delete_stale_unattached(c, cutoff))
    {
        Ok(0) => {}
        Ok(n) => tracing::info!(files = n, "removed uploads that never became an import"),
        Err(e) => tracing::warn!(error = %e, "could not sweep orphaned uploads"),
    }
    let cutoff = crate::db::now() - ctx.config.upload_retention;
    match ctx.db.write(|c| {
        crate::db::files::delete_bytes_of_ended(c, &crate::import::ImportState::FINISHED, cutoff)
    }) {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            files = n,
            "removed the uploaded bytes of imports past their retention"
        ),
        Err(e) => tracing::warn!(error = %e, "could not apply the upload retention"),
    }
}

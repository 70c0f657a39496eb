//! One `Config`, read once from flags and environment (clap), passed everywhere by reference.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Everything the server, the worker and the CLI need. Built by `main` from clap, or directly by tests.
#[derive(Clone)]
pub struct Config {
    /// `sqlite://<path>` or `postgres://…`.
    pub database_url: String,
    pub data_dir: PathBuf,
    pub bind: String,
    /// HS256 secret for API tokens; when `None` one is generated once and kept in the database.
    pub jwt_secret: Option<String>,
    /// Run the import worker inside this process.
    pub run_worker: bool,
    /// How often an idle worker looks for jobs created by other processes.
    pub poll_interval: Duration,
    /// A claimed job is reclaimable by another worker after this long without a checkpoint.
    pub lease: Duration,
    /// Rows the worker plans and checkpoints together, the unit in which parsing and writing
    /// overlap (twice as many on PostgreSQL while an import's batches only create records:
    /// `jobs::batch::new_batch_rows`).
    pub batch_rows: usize,
    /// How long batches keep arriving into one transaction: long enough that SQLite rewrites
    /// each touched index page once for many batches, short enough that API writes (and a
    /// cancel) never wait long for SQLite's single writer. Zero commits every batch alone.
    pub group_commit: Duration,
    /// Database connections in the pool.
    pub pool_size: u32,
    /// Longest wait for a working database connection: past it a request answers 503 (database
    /// down, or every pooled connection busy) instead of hanging.
    pub db_timeout: Duration,
    /// Default per-key limits (HubSpot Professional: 190 per 10 s, 625,000 per day).
    pub rate_limit_per_10s: u32,
    pub rate_limit_per_day: u32,
    /// How often this node adds its daily request counts to the database and reads every node's
    /// totals back: the daily budget is global, at most about two intervals of traffic late.
    pub rate_limit_sync: Duration,
    /// Per uploaded file (HubSpot: 512 MB and 1,048,576 rows), and per portal per rolling 24 h
    /// (HubSpot: 80,000,000 rows through the API).
    pub max_file_bytes: u64,
    pub max_file_rows: u64,
    pub max_rows_per_day: u64,
    /// Imports of one portal processing at once (HubSpot: 3); later ones wait DEFERRED.
    pub max_concurrent_imports: u32,
    /// Worker threads in this process.
    pub workers: usize,
    /// Failed authentications per client address per 10 s before the address is refused.
    pub auth_failures_per_10s: u32,
    /// Uploaded bytes are deleted this long after their import ended (imports and errors stay).
    pub upload_retention: Duration,
}

impl Config {
    /// The defaults a fresh checkout runs with: a SQLite file under `./hubport-data/`.
    pub fn with_database(database_url: impl Into<String>, data_dir: impl Into<PathBuf>) -> Self {
        Config {
            database_url: database_url.into(),
            data_dir: data_dir.into(),
            bind: "127.0.0.1:8080".into(),
            jwt_secret: None,
            run_worker: true,
            poll_interval: Duration::from_millis(500),
            lease: Duration::from_secs(30),
            batch_rows: 2000,
            group_commit: Duration::from_millis(200),
            pool_size: 10,
            db_timeout: Duration::from_secs(2),
            rate_limit_per_10s: 190,
            rate_limit_per_day: 625_000,
            rate_limit_sync: Duration::from_secs(1),
            max_file_bytes: 512 * 1024 * 1024,
            max_file_rows: 1_048_576,
            max_rows_per_day: 80_000_000,
            max_concurrent_imports: 3,
            workers: 2,
            auth_failures_per_10s: 50,
            upload_retention: Duration::from_secs(7 * 24 * 3600),
        }
    }

    /// `sqlite://` + the data dir's `hubport.db`.
    pub fn default_database_url(data_dir: &std::path::Path) -> String {
        format!("sqlite://{}", data_dir.join("hubport.db").display())
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &redact_url(&self.database_url))
            .field("data_dir", &self.data_dir)
            .field("bind", &self.bind)
            .field(
                "jwt_secret",
                &self.jwt_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("run_worker", &self.run_worker)
            .field("poll_interval", &self.poll_interval)
            .field("lease", &self.lease)
            .field("batch_rows", &self.batch_rows)
            .field("group_commit", &self.group_commit)
            .field("pool_size", &self.pool_size)
            .field("db_timeout", &self.db_timeout)
            .field("rate_limit_per_10s", &self.rate_limit_per_10s)
            .field("rate_limit_per_day", &self.rate_limit_per_day)
            .field("rate_limit_sync", &self.rate_limit_sync)
            .field("max_file_bytes", &self.max_file_bytes)
            .field("max_file_rows", &self.max_file_rows)
            .field("max_rows_per_day", &self.max_rows_per_day)
            .field("max_concurrent_imports", &self.max_concurrent_imports)
            .field("workers", &self.workers)
            .field("auth_failures_per_10s", &self.auth_failures_per_10s)
            .field("upload_retention", &self.upload_retention)
            .finish()
    }
}

/// Hides a password in `postgres://user:password@host/db`.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:<redacted>{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_secrets() {
        let mut c = Config::with_database("postgres://u:hunter2@h/db", "d");
        c.jwt_secret = Some("s3cret".into());
        let s = format!("{c:?}");
        assert!(!s.contains("hunter2") && !s.contains("s3cret"), "{s}");
        assert!(s.contains("postgres://u:<redacted>@h/db"));
    }
}

//! Storage: one connection type for SQLite and PostgreSQL, a pool whose backend is chosen by the
//! URL scheme, embedded migrations, and small query modules that each take a `PortalId` where
//! the data belongs to a portal. Branch per backend only where the SQL really differs.

pub mod associations;
mod checkpoint;
pub mod errors;
pub mod files;
pub mod imports;
pub mod keys;
pub mod properties;
pub mod records;
pub mod schema;
pub mod settings;
pub mod sql;
pub mod usage;

use checkpoint::Checkpointer;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::R2D2Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use std::time::Duration;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// Runs the same diesel code against whichever backend `conn` is, for the statements the
/// multi-backend connection cannot express (ON CONFLICT, RETURNING, multi-row inserts).
#[macro_export]
macro_rules! db_run {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Postgres($c) => $body,
            $crate::db::DbConnection::Sqlite($c) => $body,
        }
    };
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No working connection: the pool timed out, or the connection died under a statement
    /// (the server restarted, the network dropped). Retrying later can succeed.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database has no room left to write (SQLITE_FULL, PostgreSQL's disk_full).
    #[error("database storage full: {0}")]
    Full(String),
    #[error("database error: {0}")]
    Query(#[source] diesel::result::Error),
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// Records a batch read ahead of its write changed before it wrote them.
    #[error("records changed under a batch: {0}")]
    Changed(String),
    #[error("{0}")]
    Setup(String),
}

impl From<diesel::result::Error> for DbError {
    /// Sorts out the failures a caller reacts to differently from a failing statement: a lost
    /// connection (answer 503, retry the batch) and a full disk (507).
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind as K, Error as E};
        match &e {
            E::DatabaseError(K::ClosedConnection | K::UnableToSendCommand, info) => {
                DbError::Unavailable(info.message().to_string())
            }
            // The connection's transaction state is unknown after a failed rollback; the pool
            // drops it (`has_broken`) and the next attempt gets a fresh one.
            E::BrokenTransactionManager => DbError::Unavailable(e.to_string()),
            E::DatabaseError(_, info) if is_storage_full(info.message()) => {
                DbError::Full(info.message().to_string())
            }
            _ => DbError::Query(e),
        }
    }
}

/// diesel exposes neither SQLite's result code nor PostgreSQL's SQLSTATE, only the message:
/// SQLITE_FULL reads "database or disk is full", and PostgreSQL's disk_full (53100) errors end
/// in the OS's ENOSPC text, "No space left on device" (in an English locale).
fn is_storage_full(message: &str) -> bool {
    message.contains("database or disk is full") || message.contains("No space left on device")
}

impl From<r2d2::Error> for DbError {
    fn from(e: r2d2::Error) -> Self {
        DbError::Unavailable(e.to_string())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Splits a database URL into its backend and the string the driver wants.
pub fn parse_url(url: &str) -> Result<(Backend, String), DbError> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        if path.is_empty() {
            return Err(DbError::Setup("sqlite:// URL without a path".into()));
        }
        Ok((Backend::Sqlite, path.to_string()))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok((Backend::Postgres, url.to_string()))
    } else {
        Err(DbError::Setup(format!(
            "unsupported database URL (expected sqlite://<path> or postgres://…): {}",
            url.split('@').next_back().unwrap_or(url)
        )))
    }
}

pub struct Manager {
    backend: Backend,
    target: String,
}

impl r2d2::ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        match self.backend {
            Backend::Postgres => diesel::PgConnection::establish(&self.target)
                .map(DbConnection::Postgres)
                .map_err(diesel::r2d2::Error::ConnectionError),
            Backend::Sqlite => {
                let mut c = diesel::SqliteConnection::establish(&self.target)
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                // busy_timeout lets short API writes queue behind a worker batch instead of failing;
                // it comes first because even setting the cache can meet a lock (the server's
                // first connection checkpoints the file as it closes, while the pool fills).
                c.batch_execute(
                    "PRAGMA busy_timeout = 15000; PRAGMA foreign_keys = ON; \
                     PRAGMA synchronous = NORMAL;",
                )
                .map_err(diesel::r2d2::Error::QueryError)?;
                c.batch_execute(DEFAULT_CACHE)
                    .map_err(diesel::r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(c))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        conn.is_broken()
    }
}

pub type PooledConn = r2d2::PooledConnection<Manager>;

/// The pool and the backend it talks to. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<Manager>,
    backend: Backend,
    /// What the pool connects to, for `own_conn`.
    target: std::sync::Arc<str>,
    gate: Option<std::sync::Arc<WriteGate>>,
}

impl Db {
    /// Opens the pool (creating the SQLite file's folder) without touching the schema.
    /// `timeout` bounds how long a caller waits for a working connection before getting
    /// `DbError::Unavailable` (an API request then answers 503 instead of hanging).
    pub fn connect(url: &str, pool_size: u32, timeout: Duration) -> Result<Db, DbError> {
        let (backend, target) = parse_url(url)?;
        if backend == Backend::Sqlite {
            keep_c_allocator_small();
            configure_sqlite();
            if let Some(dir) = std::path::Path::new(&target).parent() {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        DbError::Setup(format!("cannot create {}: {e}", dir.display()))
                    })?;
                }
            }
            // WAL lets API reads proceed while the worker writes; it is a property of the file.
            // So is the page size, chosen while the file is still empty (later a no-op): 16 KiB
            // pages make an import's appends and checkpoints a quarter of the page writes and
            // system calls of 4 KiB ones (bulk inserts measured 25–35 % faster).
            let mut c = diesel::SqliteConnection::establish(&target)
                .map_err(|e| DbError::Setup(e.to_string()))?;
            c.batch_execute(
                "PRAGMA busy_timeout = 15000; PRAGMA page_size = 16384; PRAGMA journal_mode = WAL;",
            )?;
        }
        let pool = r2d2::Pool::builder()
            .max_size(pool_size)
            .connection_timeout(timeout)
            // Checked out connections are pinged first (r2d2's default, relied on): after a
            // server restart the dead ones are dropped and replaced instead of failing a request.
            .test_on_check_out(true)
            .error_handler(Box::<ConnectErrors>::default())
            .build(Manager {
                backend,
                target: target.clone(),
            })
            .map_err(|e| DbError::Unavailable(e.to_string()))?;
        let gate = (backend == Backend::Sqlite).then(Default::default);
        Ok(Db {
            pool,
            backend,
            target: target.into(),
            gate,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// (open connections, idle connections) of the pool.
    pub fn pool_state(&self) -> (u32, u32) {
        let s = self.pool.state();
        (s.connections, s.idle_connections)
    }

    pub fn conn(&self) -> Result<PooledConn, DbError> {
        Ok(self.pool.get()?)
    }

    /// A connection of its own, outside the pool, for work that speeds an import up but must
    /// never take a connection an API request is waiting for (`jobs::batch::ReadAhead`).
    pub fn own_conn(&self) -> Result<DbConnection, DbError> {
        use r2d2::ManageConnection;
        let manager = Manager {
            backend: self.backend,
            target: self.target.to_string(),
        };
        manager
            .connect()
            .map_err(|e| DbError::Unavailable(e.to_string()))
    }

    /// `own_conn` for the same lookups over and over with different keys
    /// (`jobs::batch::ReadAhead`): PostgreSQL plans them once for any keys. Planned for each
    /// lookup's keys, it estimated how many records each of a batch's thousands of keys would
    /// match, a tenth of that server process's time.
    pub fn own_lookup_conn(&self) -> Result<DbConnection, DbError> {
        let mut c = self.own_conn()?;
        if let DbConnection::Postgres(pg) = &mut c {
            use diesel::connection::SimpleConnection;
            pg.batch_execute("SET plan_cache_mode = force_generic_plan")?;
        }
        Ok(c)
    }

    /// Whether a working connection can be had (within the pool's timeout).
    pub fn reachable(&self) -> bool {
        self.conn().is_ok()
    }

    /// Runs `f` in one write transaction, in turn with this process's other writes (see
    /// `WriteGate`). Every write goes through here or through a `BulkWriter`.
    pub fn write<T, E>(&self, f: impl FnOnce(&mut DbConnection) -> Result<T, E>) -> Result<T, E>
    where
        E: From<diesel::result::Error> + From<DbError>,
    {
        let _pass = self.gate.as_deref().map(WriteGate::enter);
        let mut conn = self.conn()?;
        transaction(&mut conn, f)
    }

    /// A connection kept for the batches of one import, with a page cache big enough to hold
    /// the key indexes it probes and extends (SQLite; PostgreSQL caches in the server). On
    /// SQLite, with `checkpoint_apart`, a thread of its own runs the checkpoints of its commits
    /// (see `checkpoint`).
    pub fn bulk_writer(&self, checkpoint_apart: bool) -> Result<BulkWriter, DbError> {
        release_free_memory();
        let mut conn = self.sized_conn(BULK_CACHE)?;
        let checkpointer = match &mut *conn {
            DbConnection::Sqlite(c) if checkpoint_apart => self.checkpointer(c),
            _ => None,
        };
        Ok(BulkWriter {
            conn,
            gate: self.gate.clone(),
            checkpointer,
        })
    }

    /// The thread that checkpoints an import's commits (see `checkpoint`); None, leaving them to
    /// the writer's connection as usual, when it cannot have a connection or a thread.
    fn checkpointer(&self, writer: &mut diesel::SqliteConnection) -> Option<Checkpointer> {
        let started = match self.own_conn() {
            Ok(DbConnection::Sqlite(c)) => Checkpointer::start(c, writer),
            Ok(DbConnection::Postgres(_)) => return None,
            Err(e) => Err(e.to_string()),
        };
        started
            .inspect_err(|e| {
                tracing::warn!(error = %e, "no checkpointing thread; the import's writer checkpoints")
            })
            .ok()
    }

    /// A connection kept for reading one stored upload through once. Its pages are never read
    /// again, so a small cache keeps them from filling the caches of the pool's connections.
    pub fn scan_conn(&self) -> Result<SizedConn, DbError> {
        self.sized_conn(SCAN_CACHE)
    }

    fn sized_conn(&self, cache: &'static str) -> Result<SizedConn, DbError> {
        let mut conn = self.conn()?;
        if let DbConnection::Sqlite(c) = &mut *conn {
            c.batch_execute(cache)?;
        }
        Ok(SizedConn(conn))
    }

    /// Whether the database answers and has every migration this binary knows.
    pub fn check_ready(&self) -> Result<(), DbError> {
        let mut conn = self.conn()?;
        let pending = match &mut *conn {
            DbConnection::Postgres(c) => c.has_pending_migration(POSTGRES_MIGRATIONS),
            DbConnection::Sqlite(c) => c.has_pending_migration(SQLITE_MIGRATIONS),
        }
        .map_err(|e| DbError::Unavailable(e.to_string()))?;
        if pending {
            return Err(DbError::Unavailable(
                "migrations are pending: run `hubport migrate`".into(),
            ));
        }
        Ok(())
    }

    /// Applies pending migrations; returns how many ran.
    pub fn migrate(&self) -> Result<usize, DbError> {
        let mut conn = self.conn()?;
        let ran = match &mut *conn {
            DbConnection::Postgres(c) => c
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|v| v.len()),
            DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        };
        ran.map_err(|e| DbError::Setup(format!("migration failed: {e}")))
    }
}

/// 64 MiB, as the reference `sqlite3 .import` gets; a pool connection has 8 MiB (the default
/// pool of ten stays well inside the memory budget). Held by at most one connection per running
/// import, and given back when the import's writer is dropped.
const BULK_CACHE: &str = "PRAGMA cache_size = -65536";
const DEFAULT_CACHE: &str = "PRAGMA cache_size = -8192";
const SCAN_CACHE: &str = "PRAGMA cache_size = -1024";

/// SQLite allocates through the C allocator, whose per-thread arenas keep what was freed. Left
/// alone, an import and a re-import of a million rows peaked at 270 MiB instead of 190: the
/// 1 MiB buffers of each stored upload chunk stayed in the arenas of the threads that wrote
/// them (glibc serves such sizes from its arenas once one has been freed), and each import's
/// 64 MiB cache came on top of the previous one's.
///
/// So buffers from 256 KiB up are always mapped on their own and unmapped when freed.
fn keep_c_allocator_small() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        // SAFETY: mallopt only changes a threshold of the C allocator.
        ONCE.call_once(|| unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 10);
        });
    }
}

/// SQLite's process-wide settings, made before its first connection (later they are refused, and
/// change nothing). Each connection is used by one thread at a time (the pool hands it out), so
/// SQLite need not lock it on every call; nor count every allocation, which hubport never reads.
/// Each took a lock per call: without them an import's writing thread runs 3–5 % fewer
/// instructions.
fn configure_sqlite() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: sqlite3_config before sqlite3_initialize only sets the threading mode and whether
    // allocations are counted; after it, SQLite returns SQLITE_MISUSE and changes nothing.
    ONCE.call_once(|| unsafe {
        use libsqlite3_sys as ffi;
        ffi::sqlite3_config(ffi::SQLITE_CONFIG_MULTITHREAD);
        ffi::sqlite3_config(ffi::SQLITE_CONFIG_MEMSTATUS, 0 as std::ffi::c_int);
    });
}

/// Gives the C allocator's free memory back to the system (see `keep_c_allocator_small`):
/// called when an import's cache is given back and before the next one fills.
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory of the C allocator to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// A pooled connection with its own SQLite page cache size while it is held.
pub struct SizedConn(PooledConn);

impl std::ops::Deref for SizedConn {
    type Target = DbConnection;
    fn deref(&self) -> &DbConnection {
        &self.0
    }
}

impl std::ops::DerefMut for SizedConn {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.0
    }
}

impl Drop for SizedConn {
    fn drop(&mut self) {
        if let DbConnection::Sqlite(c) = &mut *self.0 {
            // Back to the pool's size; shrinking frees the pages it no longer may hold.
            let _ = c.batch_execute(DEFAULT_CACHE);
            release_free_memory();
        }
    }
}

pub struct BulkWriter {
    conn: SizedConn,
    gate: Option<std::sync::Arc<WriteGate>>,
    checkpointer: Option<Checkpointer>,
}

impl BulkWriter {
    /// Like `Db::write`, on this writer's connection.
    pub fn write<T, E>(&mut self, f: impl FnOnce(&mut DbConnection) -> Result<T, E>) -> Result<T, E>
    where
        E: From<diesel::result::Error> + From<DbError>,
    {
        let _pass = self.gate.as_deref().map(WriteGate::enter);
        let written = transaction(&mut self.conn, f)?;
        if let Some(c) = &self.checkpointer {
            c.nudge();
        }
        Ok(written)
    }
}

impl Drop for BulkWriter {
    /// The pooled connection checkpoints for itself again.
    fn drop(&mut self) {
        if let (Some(c), DbConnection::Sqlite(writer)) = (self.checkpointer.take(), &mut *self.conn)
        {
            c.finish(writer);
        }
    }
}

/// r2d2 reports every failed connection attempt, several a second per pool while the database
/// is down; one line every ten seconds says as much.
#[derive(Debug, Default)]
struct ConnectErrors {
    last: std::sync::Mutex<Option<std::time::Instant>>,
}

impl r2d2::HandleError<diesel::r2d2::Error> for ConnectErrors {
    fn handle_error(&self, error: diesel::r2d2::Error) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
            *last = Some(std::time::Instant::now());
            tracing::error!(%error, "database connection failed (repeats within 10 s are not logged)");
        }
    }
}

/// First come, first served: SQLite has one writer, and its busy handler (sleep and retry)
/// lets a worker that commits batch after batch starve an API request waiting to write. Every
/// write of this process takes a ticket here, so a waiting request goes right after the current
/// batch. (PostgreSQL needs no gate: it locks rows.)
#[derive(Default)]
pub struct WriteGate {
    tickets: std::sync::Mutex<(u64, u64)>,
    turn: std::sync::Condvar,
}

pub struct GatePass<'a>(&'a WriteGate);

impl WriteGate {
    pub fn enter(&self) -> GatePass<'_> {
        let mut t = self.tickets.lock().unwrap_or_else(|e| e.into_inner());
        let mine = t.0;
        t.0 += 1;
        while t.1 != mine {
            t = self.turn.wait(t).unwrap_or_else(|e| e.into_inner());
        }
        GatePass(self)
    }
}

impl Drop for GatePass<'_> {
    fn drop(&mut self) {
        self.0.tickets.lock().unwrap_or_else(|e| e.into_inner()).1 += 1;
        self.0.turn.notify_all();
    }
}

fn transaction<T, E>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    match conn {
        DbConnection::Postgres(_) => conn.transaction(f),
        DbConnection::Sqlite(_) => {
            // IMMEDIATE takes the write lock up front instead of failing on a read→write upgrade.
            conn.batch_execute("BEGIN IMMEDIATE")?;
            match f(conn) {
                Ok(v) => match conn.batch_execute("COMMIT") {
                    Ok(()) => Ok(v),
                    Err(e) => {
                        let _ = conn.batch_execute("ROLLBACK");
                        Err(e.into())
                    }
                },
                Err(e) => {
                    let _ = conn.batch_execute("ROLLBACK");
                    Err(e)
                }
            }
        }
    }
}

/// Lets PostgreSQL acknowledge this transaction's commit before its WAL reaches the disk. Only
/// for transactions whose loss in a server crash is harmless:
/// - an import batch commits its records together with its checkpoint, so a lost batch is lost
///   whole and the resumed job writes it again;
/// - an uploaded file's chunks are named by no import until the import's own commit, which is
///   durable, and flushing its WAL flushes theirs, written before it.
///
/// Saves a WAL flush per batch, and per 1 MiB of an upload.
pub fn relax_commit_durability(conn: &mut DbConnection) -> Result<(), DbError> {
    if let DbConnection::Postgres(c) = conn {
        c.batch_execute("SET LOCAL synchronous_commit = off")?;
    }
    Ok(())
}

/// Current UTC time as stored in TIMESTAMP columns (millisecond precision on both backends).
pub fn now() -> chrono::NaiveDateTime {
    let n = chrono::Utc::now().naive_utc();
    n - Duration::from_nanos(u64::from(n.and_utc().timestamp_subsec_nanos() % 1_000_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_the_backend() {
        assert_eq!(
            parse_url("sqlite:///var/lib/hubport/hubport.db").unwrap(),
            (Backend::Sqlite, "/var/lib/hubport/hubport.db".into())
        );
        assert_eq!(
            parse_url("sqlite://./hubport-data/hubport.db").unwrap().1,
            "./hubport-data/hubport.db"
        );
        assert_eq!(parse_url("postgres://u@h/db").unwrap().0, Backend::Postgres);
        assert!(parse_url("mysql://x").is_err());
        assert!(parse_url("sqlite://").is_err());
    }

    #[test]
    fn both_backends_have_the_same_migrations() {
        let names = |b: &str| {
            let mut v: Vec<String> = std::fs::read_dir(format!("migrations/{b}"))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        assert_eq!(names("sqlite"), names("postgres"));
        assert!(!names("sqlite").is_empty());
    }
}

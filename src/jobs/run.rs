//! Runs one claimed import: streams each stored file through the engine on one thread, reads
//! each batch's stored records ahead and prepares it on a second, and commits the batches on a
//! third (`batch.rs`), files that own a common column first.

use super::batch::{self, Spent};
use super::queue::{self, Job};
use super::source::{open_source, OpenError};
use super::WorkerCtx;
use crate::crm::{ObjectType, PortalId};
use crate::db::files::FileRow;
use crate::db::{self, BulkWriter, DbError};
use crate::import::apply::{prepare_creation, Counters};
use crate::import::mapping::{Catalogue, FilePlan, MappedRow, RecordDraft};
use crate::import::request::FileSpec;
use crate::import::source::SourceError;
use crate::import::{ImportRequest, ImportState, RowError};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::time::Instant;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("lost the job's lease to another worker")]
    LostLease,
    #[error("could not read the stored file: {0}")]
    Source(String),
    #[error("worker shutting down")]
    Shutdown,
}

impl From<diesel::result::Error> for RunError {
    fn from(e: diesel::result::Error) -> Self {
        RunError::Db(e.into())
    }
}

/// What the thread that reads ahead hands the writer.
enum Item {
    Rows(Batch),
    /// The file cannot be mapped at all (e.g. a mapped column is missing).
    FileError(RowError),
    Failed(String),
}

/// Rows to write, how many lines of the file they stand for, and the stored records they match,
/// read ahead here unless the writer expects to insert them without looking keys up
/// (`batch::write`); then they come planned instead (`batch::PlannedAhead`).
struct Batch {
    rows: Vec<MappedRow>,
    consumed: i64,
    read_ahead: Option<batch::ReadAhead>,
    planned: Option<batch::PlannedAhead>,
}

/// Why processing stopped before the end.
pub(super) enum Stop {
    Canceled,
}

pub(super) struct ImportCtx<'a> {
    pub(super) job: &'a Job,
    pub(super) portal: PortalId,
    pub(super) import_id: i64,
    pub(super) request: &'a ImportRequest,
    pub(super) catalogue: &'a Catalogue,
}

pub fn run_import(ctx: &WorkerCtx, job: &Job) -> Result<(), RunError> {
    let portal = PortalId(job.portal_id);
    let mut conn = ctx.db.conn()?;
    let Some(import) = db::imports::get(&mut conn, portal, job.import_id)? else {
        ctx.db
            .write(|c| queue::finish(c, job, Some("import no longer exists")))?;
        return Ok(());
    };
    if ImportState::parse(&import.state).is_none_or(ImportState::is_finished) {
        ctx.db.write(|c| queue::finish(c, job, None))?;
        return Ok(());
    }
    if job.attempts > super::MAX_ATTEMPTS {
        return give_up(
            ctx,
            job,
            &format!(
                "gave up after {} attempts; the last one failed with: {}",
                job.attempts - 1,
                job.last_error.as_deref().unwrap_or("unknown")
            ),
        );
    }
    let request = match ImportRequest::parse(&import.request_json) {
        Ok(r) => r,
        Err(e) => return give_up(ctx, job, &format!("stored importRequest is invalid: {e}")),
    };
    ctx.db.write(|c| {
        db::imports::transition(
            c,
            portal,
            import.id,
            &[
                ImportState::Started.as_str(),
                ImportState::Deferred.as_str(),
            ],
            ImportState::Processing.as_str(),
            None,
        )
    })?;
    let files = db::files::for_import(&mut conn, portal, import.id)?;
    let mut custom = Vec::new();
    for ot in ObjectType::ALL {
        custom.extend(
            db::properties::list(&mut conn, portal, ot)?
                .into_iter()
                .map(|d| (ot, d)),
        );
    }
    let catalogue = Catalogue::with_custom(custom);
    let mut counters =
        Counters::from_json(&serde_json::from_str(&import.counters).unwrap_or_default());
    drop(conn);

    let ictx = ImportCtx {
        job,
        portal,
        import_id: import.id,
        request: &request,
        catalogue: &catalogue,
    };
    // The files that own a common column go first, so the others can link to their records.
    let owns = |f: &FileRow| {
        request
            .files
            .get(f.position as usize)
            .is_some_and(|s| s.columns.iter().any(|c| c.association_identifier))
    };
    let mut files = files;
    files.sort_by_key(|f| (!owns(f), f.position));
    for (index, file) in files
        .iter()
        .enumerate()
        .skip(job.file_index.max(0) as usize)
    {
        let Some(spec) = request.files.get(file.position as usize) else {
            return Err(RunError::Source(format!(
                "file {} has no entry in the request",
                file.id
            )));
        };
        let skip = if index == job.file_index as usize {
            job.rows_done
        } else {
            0
        };
        if let Some(Stop::Canceled) =
            process_file(ctx, &ictx, index as i32, file, spec, skip, &mut counters)?
        {
            ctx.db.write(|c| queue::finish(c, job, None))?;
            tracing::info!(
                import_id = import.id,
                portal = portal.0,
                "import canceled; committed batches kept"
            );
            return Ok(());
        }
    }
    ctx.db.write(|c| {
        db::imports::transition(
            c,
            portal,
            import.id,
            &[ImportState::Processing.as_str()],
            ImportState::Done.as_str(),
            None,
        )?;
        queue::finish(c, job, None)
    })?;
    tracing::info!(
        import_id = import.id,
        portal = portal.0,
        rows = counters.total_rows,
        created = counters.created,
        updated = counters.updated,
        errors = counters.errors,
        "import done"
    );
    Ok(())
}

/// Ends the import FAILED with `reason` (shown in its `errorMessage`) and retires its job.
fn give_up(ctx: &WorkerCtx, job: &Job, reason: &str) -> Result<(), RunError> {
    let portal = PortalId(job.portal_id);
    ctx.db.write(|c| {
        let failed = ImportState::Failed.as_str();
        db::imports::transition(
            c,
            portal,
            job.import_id,
            &ImportState::CANCELABLE,
            failed,
            Some(reason),
        )?;
        queue::finish(c, job, Some(reason))
    })?;
    tracing::warn!(
        import_id = job.import_id,
        portal = portal.0,
        reason,
        "import failed"
    );
    Ok(())
}

fn process_file(
    ctx: &WorkerCtx,
    ictx: &ImportCtx,
    index: i32,
    file: &FileRow,
    spec: &FileSpec,
    skip: i64,
    counters: &mut Counters,
) -> Result<Option<Stop>, RunError> {
    // Processes sharing one SQLite file run with group commit 0 and take turns to write between
    // transactions (README); a checkpointing thread's locks, taken after every commit, kept the
    // other process out until the import ended. So only grouped commits checkpoint apart.
    let mut writer = ctx.db.bulk_writer(!ctx.config.group_commit.is_zero())?;
    let batches_new = AtomicBool::new(false);
    std::thread::scope(|s| {
        // Two batches in flight to the writer: preparing the next while the current one commits.
        let (tx, rx) = sync_channel(2);
        // Parsed batches go through a thread of their own that reads their records ahead and
        // plans them, so parsing never waits on the database.
        let (feed_tx, feed_rx) = sync_channel(1);
        // Committed batches go back to the parsing thread to be freed there (`batch::Spent`).
        let (spent_tx, spent_rx) = channel();
        let db = ctx.db.clone();
        let batch_rows = ctx.config.batch_rows.max(1);
        let catalogue = ictx.catalogue;
        let batches_new = &batches_new;
        let backend = db.backend();
        let new_batch_rows = batch::new_batch_rows(backend, batch_rows);
        let ahead_db = db.clone();
        s.spawn(move || {
            // Its own connection: the pool's are for the writer and the API.
            let read_ahead = match batch::reads_ahead(backend) {
                false => None,
                true => match ahead_db.own_lookup_conn() {
                    Ok(c) => Some(c),
                    Err(e) => {
                        tracing::warn!(error = %e, "no connection to read batches ahead with; the writer looks their records up itself");
                        None
                    }
                },
            };
            let mut out = Handoff {
                tx,
                batches_new,
                read_ahead,
                ictx,
                backend,
            };
            for fed in feed_rx {
                let open = match fed {
                    Fed::Rows(rows, consumed) => out.rows(rows, consumed),
                    Fed::Item(item) => out.send(item),
                };
                if !open {
                    return;
                }
            }
        });
        s.spawn(move || {
            let feed = Feed {
                tx: feed_tx,
                spent: spent_rx,
                batches_new,
                new_batch_rows,
            };
            produce(db, file, spec, catalogue, skip, batch_rows, feed)
        });
        consume(
            ctx,
            &mut writer,
            ictx,
            index,
            file,
            skip,
            counters,
            rx,
            spent_tx,
            batches_new,
        )
    })
}

/// What the parsing thread hands the thread that reads ahead (`Handoff`).
enum Fed {
    /// A batch's rows and how many lines of the file they stand for.
    Rows(Vec<MappedRow>, i64),
    Item(Item),
}

/// The parsing thread's end of the channel to the thread that reads ahead, and of the one that
/// brings committed batches back to be freed.
struct Feed<'a> {
    tx: SyncSender<Fed>,
    spent: Receiver<Spent>,
    batches_new: &'a AtomicBool,
    /// Rows per batch while `batches_new` (`batch::new_batch_rows`).
    new_batch_rows: usize,
}

impl Feed<'_> {
    /// False once the thread that reads ahead has stopped (the writer hung up).
    fn rows(&self, rows: Vec<MappedRow>, consumed: i64) -> bool {
        while self.spent.try_recv().is_ok() {}
        self.tx.send(Fed::Rows(rows, consumed)).is_ok()
    }

    /// False once the thread that reads ahead has stopped (the writer hung up).
    fn send(&self, item: Item) -> bool {
        self.tx.send(Fed::Item(item)).is_ok()
    }

    /// Rows to gather into the next batch.
    fn batch_rows(&self, base: usize) -> usize {
        match self.batches_new.load(Ordering::Relaxed) {
            true => self.new_batch_rows,
            false => base,
        }
    }
}

/// The thread that reads ahead's end of the channel to the writer.
struct Handoff<'a> {
    tx: SyncSender<Item>,
    batches_new: &'a AtomicBool,
    /// Where batches are read ahead (`batch::ReadAhead`), on backends where that pays.
    read_ahead: Option<db::DbConnection>,
    ictx: &'a ImportCtx<'a>,
    backend: db::Backend,
}

impl Handoff<'_> {
    /// Hands a batch over, having written the JSON of the records it may create
    /// (`prepare_creation`). False once the writer has hung up.
    fn rows(&mut self, mut rows: Vec<MappedRow>, consumed: i64) -> bool {
        let batches_new = self.batches_new.load(Ordering::Relaxed);
        let read_ahead = match (batches_new, &mut self.read_ahead) {
            (false, Some(conn)) => batch::read_ahead(conn, self.ictx, &rows),
            _ => None,
        };
        let matched = read_ahead.as_ref().map(batch::ReadAhead::matched_keys);
        let stored = |d: &RecordDraft| match (&matched, &d.key) {
            (Some(m), Some(k)) => m.contains(&(d.object_type, k.as_str())),
            _ => false,
        };
        for row in &mut rows {
            prepare_creation(row, stored);
        }
        drop(matched);
        let planned = match batches_new {
            true => batch::plan_ahead(self.ictx, self.backend, &mut rows, self.read_ahead.as_mut()),
            false => None,
        };
        self.send(Item::Rows(Batch {
            rows,
            consumed,
            read_ahead,
            planned,
        }))
    }

    /// False once the writer has hung up.
    fn send(&self, item: Item) -> bool {
        self.tx.send(item).is_ok()
    }
}

#[allow(clippy::too_many_arguments)] // one file's whole context
fn produce(
    db: crate::db::Db,
    file: &FileRow,
    spec: &FileSpec,
    catalogue: &Catalogue,
    skip: i64,
    batch_rows: usize,
    out: Feed<'_>,
) {
    let mut source = match open_source(db, file, spec) {
        Ok(s) => s,
        Err(OpenError::Unreadable(e)) => {
            out.send(Item::FileError(e));
            return;
        }
        Err(OpenError::Failed(m)) => {
            out.send(Item::Failed(m));
            return;
        }
    };
    let plan = match FilePlan::new(spec, source.header(), catalogue) {
        Ok(p) => p,
        Err(e) => {
            out.send(Item::FileError(e));
            return;
        }
    };
    let mut seen = 0i64;
    let mut rows = Vec::with_capacity(batch_rows);
    let mut consumed = 0i64;
    while let Some(next) = source.next_row() {
        let mapped = match next {
            Err(SourceError::Unreadable(e)) => {
                // Rows so far are committed; the file ends with one file-wide error.
                if !rows.is_empty() && !out.rows(std::mem::take(&mut rows), consumed) {
                    return;
                }
                out.send(Item::FileError(e));
                return;
            }
            Err(e) => {
                out.send(Item::Failed(e.to_string()));
                return;
            }
            Ok(Ok(row)) => {
                seen += 1;
                if seen <= skip {
                    continue;
                }
                plan.map_row(row)
            }
            Ok(Err(broken)) => {
                seen += 1;
                if seen <= skip {
                    continue;
                }
                MappedRow {
                    line: broken.line,
                    cells: broken.cells,
                    drafts: Vec::new(),
                    errors: vec![broken.error],
                }
            }
        };
        rows.push(mapped);
        consumed += 1;
        if rows.len() >= out.batch_rows(batch_rows) {
            let batch = std::mem::replace(&mut rows, Vec::with_capacity(batch_rows));
            if !out.rows(batch, consumed) {
                return;
            }
            consumed = 0;
        }
    }
    if !rows.is_empty() {
        out.rows(rows, consumed);
    }
}

#[allow(clippy::too_many_arguments)] // one file's whole context
fn consume(
    ctx: &WorkerCtx,
    writer: &mut BulkWriter,
    ictx: &ImportCtx,
    index: i32,
    file: &FileRow,
    skip: i64,
    counters: &mut Counters,
    rx: Receiver<Item>,
    spent: Sender<Spent>,
    batches_new: &AtomicBool,
) -> Result<Option<Stop>, RunError> {
    let mut done = skip;
    // Tables an import fills have no planner statistics yet; without them PostgreSQL reads
    // every record of the portal to find a batch's keys. They are refreshed whenever this
    // import's created records double, so an import that only updates never pays for it.
    let mut analyze_at = counters.created + ctx.config.batch_rows.max(1) as i64;
    let mut held: Option<Item> = None;
    // Whether the last batch matched no stored record (`batch::write`); the first looks.
    let mut all_new = false;
    while let Some(item) = held.take().or_else(|| rx.recv().ok()) {
        if ctx.shutdown.load(Ordering::Relaxed) {
            return Err(RunError::Shutdown);
        }
        let started = Instant::now();
        // `Some` ends the file, with why it stopped early if it did.
        let (next, end) = match item {
            Item::Failed(m) => return Err(RunError::Source(m)),
            Item::FileError(e) => {
                let mut rows = [MappedRow {
                    line: 0,
                    cells: Default::default(),
                    drafts: Vec::new(),
                    errors: vec![e],
                }];
                let (next, stop) = writer.write(|c| {
                    db::relax_commit_durability(c)?;
                    let written = batch::write(
                        c,
                        ctx,
                        ictx,
                        index + 1,
                        0,
                        file,
                        &mut rows,
                        counters,
                        false,
                        &mut false,
                        None,
                        None,
                    )?;
                    Ok::<_, RunError>(match written {
                        Ok((next, _)) => (next, None),
                        Err(stop) => (*counters, Some(stop)),
                    })
                })?;
                (next, Some(stop))
            }
            Item::Rows(first) => {
                let mut pending = Some(first);
                let (next, upto, stop) = writer.write(|c| {
                    db::relax_commit_durability(c)?;
                    let (mut acc, mut upto) = (*counters, done);
                    while let Some(mut b) = pending.take() {
                        let written = batch::write(
                            c,
                            ctx,
                            ictx,
                            index,
                            upto + b.consumed,
                            file,
                            &mut b.rows,
                            &acc,
                            true,
                            &mut all_new,
                            b.read_ahead.take(),
                            b.planned.take(),
                        )?;
                        // While batches keep being new, later ones are not read ahead.
                        batches_new.store(all_new, Ordering::Relaxed);
                        match written {
                            Err(stop) => return Ok((acc, upto, Some(stop))),
                            Ok((next, leftovers)) => {
                                (acc, upto) = (next, upto + b.consumed);
                                let _ = spent.send(leftovers);
                                let _ = spent.send(Box::new(b.rows));
                            }
                        }
                        let left = ctx.config.group_commit.saturating_sub(started.elapsed());
                        if left.is_zero() || ctx.shutdown.load(Ordering::Relaxed) {
                            break;
                        }
                        match rx.recv_timeout(left) {
                            Ok(Item::Rows(b)) => pending = Some(b),
                            Ok(other) => held = Some(other),
                            // Nothing more in time, or the file ended: commit what is written.
                            Err(_) => {}
                        }
                    }
                    Ok::<_, RunError>((acc, upto, None))
                })?;
                done = upto;
                (next, stop.map(Some))
            }
        };
        ctx.metrics.rows(
            next.total_rows - counters.total_rows,
            next.created - counters.created,
            next.updated - counters.updated,
            next.errors - counters.errors,
        );
        *counters = next;
        if let Some(stop) = end {
            return Ok(stop);
        }
        if counters.created >= analyze_at {
            analyze_at = counters.created * 2;
            if let Err(e) = ctx
                .db
                .conn()
                .and_then(|mut c| db::records::refresh_statistics(&mut c))
            {
                tracing::warn!(error = %e, "could not refresh planner statistics");
            }
        }
    }
    Ok(None)
}

//! Runs one claimed import: streams each stored file through the engine on one thread while
//! another commits batches (records, row errors, counters and the job checkpoint in one
//! transaction), so a restart resumes after the last commit and never writes a row twice.

use super::queue::{self, Job};
use super::WorkerCtx;
use crate::crm::{ObjectType, PortalId};
use crate::db::associations::Association;
use crate::db::errors::NewImportError;
use crate::db::files::{ChunkReader, FileRow};
use crate::db::records::{NewRecord, RecordUpdate};
use crate::db::{self, now, DbConnection, DbError};
use crate::import::apply::{aliases_of, plan_batch, Counters, Existing, RecordRef};
use crate::import::mapping::{Catalogue, FilePlan, LinkTarget, MappedRow, ADDITIONAL_EMAILS};
use crate::import::request::FileFormat;
use crate::import::request::FileSpec;
use crate::import::sheet::SheetSource;
use crate::import::source::{CsvSource, RowSource, SourceError};
use crate::import::{ImportRequest, ImportState, RowError};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

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

/// What the parsing thread hands the writer.
enum Item {
    Rows {
        rows: Vec<MappedRow>,
        consumed: i64,
    },
    /// The file cannot be mapped at all (e.g. a mapped column is missing).
    FileError(RowError),
    Failed(String),
}

/// Why processing stopped before the end.
enum Stop {
    Canceled,
}

struct ImportCtx<'a> {
    job: &'a Job,
    portal: PortalId,
    import_id: i64,
    request: &'a ImportRequest,
    catalogue: &'a Catalogue,
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
            &["STARTED", "DEFERRED"],
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
            &["PROCESSING"],
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
    std::thread::scope(|s| {
        // Two batches in flight: parsing the next while the current one commits uses both cores.
        let (tx, rx) = sync_channel(2);
        let db = ctx.db.clone();
        let batch_rows = ctx.config.batch_rows.max(1);
        let catalogue = ictx.catalogue;
        s.spawn(move || produce(db, file, spec, catalogue, skip, batch_rows, tx));
        consume(ctx, ictx, index, file, skip, counters, rx)
    })
}

/// Spreadsheet readers need to seek: the stored file is copied to a temporary file first.
fn open_sheet(
    db: crate::db::Db,
    file: &FileRow,
    has_header: bool,
) -> Result<Result<SheetSource, RowError>, String> {
    let mut tmp = tempfile::NamedTempFile::new().map_err(|e| format!("temporary file: {e}"))?;
    std::io::copy(&mut ChunkReader::new(db, file), tmp.as_file_mut()).map_err(|e| e.to_string())?;
    Ok(SheetSource::open(tmp.path(), has_header))
}

/// Why a stored file gives no rows.
pub enum OpenError {
    /// The file is not readable as rows: one file-wide row error, the import goes on.
    Unreadable(RowError),
    /// Reading it failed (storage): the job is retried.
    Failed(String),
}

/// A stored file as rows, CSV or spreadsheet as its request says.
pub fn open_source(
    db: crate::db::Db,
    file: &FileRow,
    spec: &FileSpec,
) -> Result<Box<dyn RowSource>, OpenError> {
    match spec.format {
        FileFormat::Csv => match CsvSource::new(ChunkReader::new(db, file), spec.has_header) {
            Ok(s) => Ok(Box::new(s)),
            Err(SourceError::Unreadable(e)) => Err(OpenError::Unreadable(e)),
            Err(e) => Err(OpenError::Failed(e.to_string())),
        },
        FileFormat::Spreadsheet => match open_sheet(db, file, spec.has_header) {
            Ok(Ok(s)) => Ok(Box::new(s)),
            Ok(Err(e)) => Err(OpenError::Unreadable(e)),
            Err(e) => Err(OpenError::Failed(e)),
        },
    }
}

fn produce(
    db: crate::db::Db,
    file: &FileRow,
    spec: &FileSpec,
    catalogue: &Catalogue,
    skip: i64,
    batch_rows: usize,
    tx: SyncSender<Item>,
) {
    let mut source = match open_source(db, file, spec) {
        Ok(s) => s,
        Err(OpenError::Unreadable(e)) => {
            let _ = tx.send(Item::FileError(e));
            return;
        }
        Err(OpenError::Failed(m)) => {
            let _ = tx.send(Item::Failed(m));
            return;
        }
    };
    let plan = match FilePlan::new(spec, source.header(), catalogue) {
        Ok(p) => p,
        Err(e) => {
            let _ = tx.send(Item::FileError(e));
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
                if !rows.is_empty() {
                    let batch = std::mem::take(&mut rows);
                    if tx
                        .send(Item::Rows {
                            rows: batch,
                            consumed,
                        })
                        .is_err()
                    {
                        return;
                    }
                }
                let _ = tx.send(Item::FileError(e));
                return;
            }
            Err(e) => {
                let _ = tx.send(Item::Failed(e.to_string()));
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
        if rows.len() >= batch_rows {
            let batch = std::mem::replace(&mut rows, Vec::with_capacity(batch_rows));
            if tx
                .send(Item::Rows {
                    rows: batch,
                    consumed,
                })
                .is_err()
            {
                return;
            }
            consumed = 0;
        }
    }
    if !rows.is_empty() {
        let _ = tx.send(Item::Rows { rows, consumed });
    }
}

fn consume(
    ctx: &WorkerCtx,
    ictx: &ImportCtx,
    index: i32,
    file: &FileRow,
    skip: i64,
    counters: &mut Counters,
    rx: Receiver<Item>,
) -> Result<Option<Stop>, RunError> {
    let mut done = skip;
    let mut batches: u64 = 0;
    for item in rx {
        if ctx.shutdown.load(Ordering::Relaxed) {
            return Err(RunError::Shutdown);
        }
        match item {
            Item::Failed(m) => return Err(RunError::Source(m)),
            Item::FileError(e) => {
                let row = MappedRow {
                    line: 0,
                    cells: Vec::new(),
                    drafts: Vec::new(),
                    errors: vec![e],
                };
                let stop = commit(ctx, ictx, index + 1, 0, file, &[row], counters, false)?;
                return Ok(stop);
            }
            Item::Rows { rows, consumed } => {
                done += consumed;
                if let Some(stop) = commit(ctx, ictx, index, done, file, &rows, counters, true)? {
                    return Ok(Some(stop));
                }
                batches += 1;
                // Tables an import fills have no planner statistics yet; without them PostgreSQL
                // reads every record of the portal to find a batch's keys.
                if batches.is_power_of_two() {
                    if let Err(e) = ctx
                        .db
                        .conn()
                        .and_then(|mut c| db::records::refresh_statistics(&mut c))
                    {
                        tracing::warn!(error = %e, "could not refresh planner statistics");
                    }
                }
            }
        }
    }
    Ok(None)
}

/// One transaction: cancel check, record writes, row errors, counters, checkpoint.
#[allow(clippy::too_many_arguments)] // the batch's whole context; bundling it would only rename it
fn commit(
    ctx: &WorkerCtx,
    ictx: &ImportCtx,
    file_index: i32,
    rows_done: i64,
    file: &FileRow,
    rows: &[MappedRow],
    counters: &mut Counters,
    count_rows: bool,
) -> Result<Option<Stop>, RunError> {
    let (portal, import_id) = (ictx.portal, ictx.import_id);
    let result = ctx.db.write(|c| {
        let state = db::imports::get(c, portal, import_id)?.map(|i| i.state);
        if state.as_deref() != Some(ImportState::Processing.as_str()) {
            return Ok(Err(Stop::Canceled));
        }
        let existing = load_existing(c, portal, rows)?;
        let plan = plan_batch(rows, import_id, |ot| ictx.request.operation(ot), &existing);
        let mut new_ids: BTreeMap<ObjectType, Vec<i64>> = BTreeMap::new();
        for (ot, w) in &plan.writes {
            let inserts: Vec<NewRecord> = w
                .inserts
                .iter()
                .map(|i| NewRecord {
                    key: i.key.clone(),
                    properties: to_json(&i.properties),
                    import_id: Some(import_id),
                })
                .collect();
            new_ids.insert(*ot, db::records::insert(c, portal, *ot, &inserts)?);
            let updates: Vec<RecordUpdate> = w
                .updates
                .iter()
                .map(|u| RecordUpdate {
                    id: u.id,
                    key: u.key.clone(),
                    properties: to_json(&u.properties),
                    import_id: Some(import_id),
                })
                .collect();
            db::records::update(c, portal, *ot, &updates)?;
            let unique = ictx.catalogue.unique_properties(*ot);
            if !unique.is_empty() {
                let written = w
                    .inserts
                    .iter()
                    .map(|i| &i.properties)
                    .zip(new_ids[ot].iter().copied());
                for (props, id) in written.chain(w.updates.iter().map(|u| (&u.properties, u.id))) {
                    let pairs: Vec<(String, String)> = unique
                        .iter()
                        .filter_map(|p| props.get(p).map(|v| (p.clone(), v.clone())))
                        .collect();
                    db::records::set_unique_values(c, portal, *ot, id, &pairs)?;
                }
            }
            if *ot == ObjectType::Contact {
                let written = w
                    .inserts
                    .iter()
                    .map(|i| &i.properties)
                    .zip(new_ids[ot].iter().copied());
                let written = written.chain(w.updates.iter().map(|u| (&u.properties, u.id)));
                for (props, id) in written.filter(|(p, _)| p.contains_key(ADDITIONAL_EMAILS)) {
                    db::records::set_secondary_emails(c, portal, id, &aliases_of(props))?;
                }
            }
        }
        let id_of = |(ot, r): (ObjectType, RecordRef)| match r {
            RecordRef::Stored(id) => id,
            RecordRef::New(ix) => new_ids[&ot][ix],
        };
        let links: Vec<Association> = plan
            .associations
            .iter()
            .map(|a| Association {
                from: (a.from.0, id_of(a.from)),
                to: (a.to.0, id_of(a.to)),
                type_id: a.type_id,
            })
            .collect();
        db::associations::insert(c, portal, &links)?;
        let t = now();
        let errors: Vec<NewImportError> = plan
            .errors
            .iter()
            .map(|(i, e)| {
                let row = &rows[*i];
                NewImportError {
                    import_id,
                    portal_id: portal.0,
                    file_id: file.id,
                    line_number: row.line as i64,
                    error_type: e.error_type.as_str().to_string(),
                    message: e.message.clone(),
                    object_type_id: e.object_type.map(|o| o.type_id().to_string()),
                    column_number: e.column.map(|c| c as i32),
                    invalid_value: e.invalid_value.clone(),
                    row_data: serde_json::to_string(&row.cells).unwrap_or_else(|_| "[]".into()),
                    created_at: t,
                }
            })
            .collect();
        db::errors::insert(c, &errors)?;
        let mut next = *counters;
        let mut delta = plan.counters;
        if !count_rows {
            delta.total_rows = 0;
        }
        next.add(&delta);
        db::imports::set_counters(c, portal, import_id, &next.to_json().to_string())?;
        if !queue::checkpoint(
            c,
            ictx.job,
            &ctx.worker_id,
            file_index,
            rows_done,
            ctx.config.lease,
        )? {
            return Err(RunError::LostLease);
        }
        Ok(Ok(next))
    });
    match result {
        Ok(Ok(next)) => {
            ctx.metrics.rows(
                next.total_rows - counters.total_rows,
                next.created - counters.created,
                next.updated - counters.updated,
                next.errors - counters.errors,
            );
            *counters = next;
            Ok(None)
        }
        Ok(Err(stop)) => Ok(Some(stop)),
        Err(e) => Err(e),
    }
}

fn load_existing(
    c: &mut DbConnection,
    portal: PortalId,
    rows: &[MappedRow],
) -> Result<BTreeMap<ObjectType, Vec<Existing>>, DbError> {
    let mut out = BTreeMap::new();
    for ot in ObjectType::ALL {
        let drafts = rows
            .iter()
            .flat_map(|r| r.drafts.iter())
            .filter(|d| d.object_type == ot);
        let (mut ids, mut keys, mut unique) = (Vec::new(), Vec::new(), Vec::new());
        // Records other rows link to are loaded too, to resolve those links.
        for link in rows
            .iter()
            .flat_map(|r| r.drafts.iter())
            .flat_map(|d| d.links.iter())
            .filter(|l| l.to == ot)
        {
            match &link.target {
                LinkTarget::Id(id) => ids.push(*id),
                LinkTarget::Key(k) => keys.push(k.clone()),
            }
        }
        for d in drafts {
            match (d.id, &d.key) {
                (Some(id), _) => ids.push(id),
                (None, Some(k)) => keys.push(k.clone()),
                _ => {}
            }
            if let (Some(_), Some(k)) = (d.id, &d.key) {
                keys.push(k.clone());
            }
            keys.extend(d.aliases.iter().cloned());
            unique.extend(d.unique.iter().cloned());
        }
        ids.extend(
            db::records::find_by_unique(c, portal, ot, &unique)?
                .into_iter()
                .map(|(_, _, id)| id),
        );
        if ids.is_empty() && keys.is_empty() {
            continue;
        }
        ids.sort_unstable();
        ids.dedup();
        keys.sort_unstable();
        keys.dedup();
        let mut found = db::records::find_by_keys(c, portal, ot, &keys, true)?;
        if ot == ObjectType::Contact {
            // Emails that are no contact's primary one may be someone's secondary one.
            let missing: Vec<String> = keys
                .iter()
                .filter(|k| !found.iter().any(|r| r.key.as_ref() == Some(*k)))
                .cloned()
                .collect();
            ids.extend(
                db::records::find_by_secondary_email(c, portal, &missing)?
                    .into_iter()
                    .map(|(_, id)| id),
            );
            ids.sort_unstable();
            ids.dedup();
        }
        found.extend(db::records::find_by_ids(c, portal, ot, &ids, true)?);
        found.sort_by_key(|r| r.id);
        found.dedup_by_key(|r| r.id);
        let existing = found
            .into_iter()
            .map(|r| {
                let properties = serde_json::from_str(&r.properties)
                    .map_err(|e| DbError::Corrupt(format!("{} {}: {e}", ot.singular(), r.id)))?;
                Ok(Existing {
                    id: r.id,
                    key: r.key,
                    properties,
                    created_by_import: r.created_by_import,
                })
            })
            .collect::<Result<Vec<_>, DbError>>()?;
        out.insert(ot, existing);
    }
    Ok(out)
}

fn to_json(p: &BTreeMap<String, String>) -> String {
    serde_json::to_string(p).unwrap_or_else(|_| "{}".into())
}

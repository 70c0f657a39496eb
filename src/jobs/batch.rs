//! One batch's writes: the cancel check, record writes (with associations, secondary emails and
//! unique values), row errors, counters and the job checkpoint, inside the transaction
//! `run::consume` groups batches into. They commit together, so a restarted worker resumes after
//! the last commit and never writes a row twice.

use super::queue;
use super::run::{ImportCtx, RunError, Stop};
use super::WorkerCtx;
use crate::crm::ObjectType;
use crate::db::associations::Association;
use crate::db::errors::NewImportError;
use crate::db::files::FileRow;
use crate::db::records::{Change, NewRecord, RecordUpdate};
use crate::db::{self, now, DbConnection, DbError};
use crate::import::apply::{
    aliases_of, changes_nothing, from_stored_named, plan_batch, restorable, restore, to_stored,
    BatchPlan, Counters, Existing, Name, Properties, RecordRef,
};
use crate::import::mapping::{LinkTarget, MappedRow, RecordDraft, ADDITIONAL_EMAILS};
use crate::import::request::Operation;
use crate::import::ImportState;
use diesel::connection::SimpleConnection;
use foldhash::HashSet;
use std::collections::BTreeMap;

/// What a committed batch leaves behind (its rows, plan, loaded records), handed back to the
/// parsing thread (`run::Feed`) to be freed there: dropping maps and strings is work, the
/// writing thread is the busier one, and most of them were allocated by the parsing thread,
/// which frees them cheapest (freed on the thread that reads ahead, each was a cross-thread free
/// and each shared property name's count a cache line pulled between cores: a sixth of an
/// import's CPU in hubport).
pub(super) type Spent = Box<dyn Send>;

/// One batch's writes inside the caller's transaction (`run::consume` groups several): cancel
/// check, record writes, row errors, counters, checkpoint. Returns the counters once it commits
/// and what to free, or why to stop, with nothing of this batch written.
///
/// `all_new` says the previous batch matched no stored record. A plain batch (keys only: no
/// record ids, links, secondary or unique values, no key twice) then skips looking its keys up
/// and inserts them all, trusting the key index: a key that does exist makes the insert fail,
/// the batch is rolled back to its savepoint, given back its drafts (`apply::restore`) and
/// written after the lookup. A fresh import of new records so spares a key lookup per row, its
/// largest cost after the insert.
#[allow(clippy::too_many_arguments)] // the batch's whole context; bundling it would only rename it
pub(super) fn write(
    c: &mut DbConnection,
    ctx: &WorkerCtx,
    ictx: &ImportCtx,
    file_index: i32,
    rows_done: i64,
    file: &FileRow,
    rows: &mut [MappedRow],
    counters: &Counters,
    count_rows: bool,
    all_new: &mut bool,
    read_ahead: Option<ReadAhead>,
    planned: Option<PlannedAhead>,
) -> Result<Result<(Counters, Spent), Stop>, RunError> {
    let (portal, import_id) = (ictx.portal, ictx.import_id);
    let state = db::imports::get(c, portal, import_id)?.map(|i| i.state);
    if state.as_deref() != Some(ImportState::Processing.as_str()) {
        return Ok(Err(Stop::Canceled));
    }
    let at = Checkpoint {
        file_index,
        rows_done,
        count_rows,
    };
    let write_planned = |c: &mut DbConnection,
                         rows: &[MappedRow],
                         plan: &mut BatchPlan,
                         places: &Places,
                         keep_json: bool,
                         copies: &mut Copies| {
        write_plan(
            c, ctx, ictx, &at, file, rows, counters, plan, places, keep_json, copies,
        )
    };
    // A batch planned ahead was plain and restorable before planning took its drafts.
    let assumed_new = *all_new
        && (planned.is_some() || (plain(ictx, rows) && restorable(rows, |_| false)))
        && !db::records::any_secondary_email(c, portal)?;
    let mut planned = planned;
    if !assumed_new {
        if let Some(mut p) = planned.take() {
            restore(rows, &mut p.plan);
        }
    }
    if assumed_new {
        c.batch_execute("SAVEPOINT assumed_new")?;
        let mut existing = BTreeMap::new();
        let (mut plan, mut copies) = match planned {
            Some(p) => (p.plan, p.copies),
            None => (plan(ictx, rows, &mut existing), Copies::new()),
        };
        let nowhere = Places::default();
        match write_planned(c, rows, &mut plan, &nowhere, true, &mut copies) {
            Ok(next) => {
                c.batch_execute("RELEASE SAVEPOINT assumed_new")?;
                return Ok(Ok((next, Box::new((plan, existing)) as Spent)));
            }
            Err(RunError::Db(DbError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )))) => {
                c.batch_execute(
                    "ROLLBACK TO SAVEPOINT assumed_new; RELEASE SAVEPOINT assumed_new",
                )?;
                restore(rows, &mut plan);
            }
            Err(e) => return Err(e),
        }
    }
    if let Some(ahead) = read_ahead {
        let matched = ahead.matched_keys();
        let stored = |d: &RecordDraft| {
            d.key
                .as_deref()
                .is_some_and(|k| matched.contains(&(d.object_type, k)))
        };
        let undoable = keys_only(rows) && restorable(rows, stored);
        drop(matched);
        if undoable && !db::records::any_secondary_email(c, portal)? {
            c.batch_execute("SAVEPOINT read_ahead")?;
            let mut places = Places::default();
            let mut existing = trust(c, ictx, rows, ahead, &mut places)?;
            *all_new = existing.values().all(Vec::is_empty);
            let mut plan = plan(ictx, rows, &mut existing);
            match write_planned(c, rows, &mut plan, &places, false, &mut Copies::new()) {
                Ok(next) => {
                    c.batch_execute("RELEASE SAVEPOINT read_ahead")?;
                    return Ok(Ok((next, Box::new((plan, existing)) as Spent)));
                }
                // A record read ahead changed since (an earlier batch of this import, or anyone
                // else, wrote it): undone, the batch is planned again from locked records.
                Err(RunError::Db(DbError::Changed(m))) => {
                    tracing::debug!(reason = %m, "a batch read ahead is planned again");
                    c.batch_execute(
                        "ROLLBACK TO SAVEPOINT read_ahead; RELEASE SAVEPOINT read_ahead",
                    )?;
                    restore(rows, &mut plan);
                }
                Err(e) => return Err(e),
            }
        }
    }
    let mut places = Places::default();
    let mut existing = load_existing(c, ictx, rows, &mut places)?;
    *all_new = existing.values().all(Vec::is_empty);
    let mut plan = plan(ictx, rows, &mut existing);
    let next = write_planned(c, rows, &mut plan, &places, false, &mut Copies::new())?;
    Ok(Ok((next, Box::new((plan, existing)) as Spent)))
}

/// A batch planned ahead of the writer while batches only create records (`run`'s
/// `batches_new`), its new records already built for COPY on PostgreSQL. Planning and building
/// them were a third of a fresh import's writing thread, which the database waits on. The writer
/// writes it as planned if it still assumes the batch new (`write`); otherwise it gives the
/// batch its drafts back (`apply::restore`) and plans it itself.
pub(super) struct PlannedAhead {
    plan: BatchPlan,
    copies: Copies,
}

/// New records of some object types, already built for COPY (`PlannedAhead`).
type Copies = BTreeMap<ObjectType, db::records::CopyRows>;

/// Plans a plain, restorable batch as if none of its keys were stored; None for other batches.
/// `numbering` is the connection batches are read ahead on, if any (`db::records::copy_rows`).
pub(super) fn plan_ahead(
    ictx: &ImportCtx,
    backend: db::Backend,
    rows: &mut [MappedRow],
    mut numbering: Option<&mut DbConnection>,
) -> Option<PlannedAhead> {
    if !(plain(ictx, rows) && restorable(rows, |_| false)) {
        return None;
    }
    let plan = plan(ictx, rows, &mut BTreeMap::new());
    let mut copies = Copies::new();
    if backend == db::Backend::Postgres {
        let t = now();
        for (ot, w) in &plan.writes {
            // Only where the writer needs no ids back (`write_plan`); `copy_rows` draws them.
            let built = !w.inserts.is_empty()
                && ictx.catalogue.unique_properties(*ot).is_empty()
                && w.inserts.iter().all(|i| i.json.is_some());
            if built {
                let records = w
                    .inserts
                    .iter()
                    .map(|i| (i.key.as_deref(), i.json.as_deref().unwrap_or_default()));
                copies.insert(
                    *ot,
                    db::records::copy_rows(
                        ictx.portal,
                        *ot,
                        ictx.import_id,
                        records,
                        t,
                        numbering.as_deref_mut(),
                    ),
                );
            }
        }
    }
    Some(PlannedAhead { plan, copies })
}

/// Whether batches should come with their stored records read ahead (`ReadAhead`): on
/// PostgreSQL, where the lookup is a round of index probes in the server. On SQLite, where the
/// writer looks keys up in-process through its large page cache, reading ahead on another
/// connection (on the parsing thread, then) made the re-import no faster (4.61-4.71 s against
/// 4.32-4.42 s).
pub(super) fn reads_ahead(backend: db::Backend) -> bool {
    backend == db::Backend::Postgres
}

/// Rows per batch while batches only create records (`run`'s `batches_new`): twice
/// `batch_rows` on PostgreSQL, where each batch costs the writer a round of statements and a
/// `COPY` the server waits on (fresh processing 5.82–6.15 s against 6.43–7.02 s, four runs each;
/// re-imports, whose batches are read ahead, no faster with larger ones). SQLite's in-process
/// batches gained nothing (2.81–2.93 s against 2.71–2.83 s).
pub(super) fn new_batch_rows(backend: db::Backend, batch_rows: usize) -> usize {
    match backend {
        db::Backend::Postgres => batch_rows.saturating_mul(2),
        db::Backend::Sqlite => batch_rows,
    }
}

/// The stored records a batch's keys matched, read ahead of the writer on a connection of
/// their own while the writer commits earlier batches, with their versions and places. The
/// writer plans the batch from them without reading them again, and updates each only if it is
/// still the version read (`db::records::update`); keys that matched nothing are looked up
/// again, as they may have been created since. Reading and parsing the records was a fifth to
/// a half of a re-import's writing thread, and locking them again by their place a third of the
/// server's work of updating them.
pub(super) struct ReadAhead(BTreeMap<ObjectType, Vec<Peek>>);

/// A record read ahead: as the engine sees it, and where and which version it was.
struct Peek {
    existing: Existing,
    place: Place,
}

/// Where a record a batch read is stored and which version it was (`ImportTarget::at`,
/// `ImportTarget::version`): the batch's update finds it there, if it is still that version.
#[derive(Clone)]
struct Place {
    at: Option<String>,
    version: i64,
}

/// The place of each record a batch read, by object type and id.
type Places = foldhash::HashMap<(ObjectType, i64), Place>;

impl ReadAhead {
    /// The keys of each object type that matched a stored record.
    pub(super) fn matched_keys(&self) -> foldhash::HashSet<(ObjectType, &str)> {
        self.0
            .iter()
            .flat_map(|(ot, found)| {
                found
                    .iter()
                    .filter_map(|p| p.existing.key.as_deref().map(|k| (*ot, k)))
            })
            .collect()
    }
}

/// Reads ahead the records a batch of keys-only drafts matches; None for other batches, or when
/// the read fails (logged; the writer then looks the keys up itself).
pub(super) fn read_ahead(
    c: &mut DbConnection,
    ictx: &ImportCtx,
    rows: &[MappedRow],
) -> Option<ReadAhead> {
    if !keys_only(rows) {
        return None;
    }
    let mut read = || -> Result<ReadAhead, DbError> {
        let mut out = BTreeMap::new();
        for (ot, keys) in batch_keys(rows) {
            let reading = Reading::new(ictx, rows, ot);
            let found = db::records::peek_by_keys(c, ictx.portal, ot, &keys)?
                .into_iter()
                .map(|r| {
                    let place = place_of(&r);
                    Ok(Peek {
                        existing: to_existing(ot, r, &reading)?,
                        place,
                    })
                })
                .collect::<Result<Vec<_>, DbError>>()?;
            out.insert(ot, found);
        }
        Ok(ReadAhead(out))
    };
    read()
        .map_err(|e| tracing::warn!(error = %e, "could not read a batch ahead; the writer looks its records up"))
        .ok()
}

/// The stored records of a keys-only batch: those read ahead, as they were read, plus a fresh
/// locked lookup of every other key. Records `places` where each is.
fn trust(
    c: &mut DbConnection,
    ictx: &ImportCtx,
    rows: &[MappedRow],
    ahead: ReadAhead,
    places: &mut Places,
) -> Result<BTreeMap<ObjectType, Vec<Existing>>, DbError> {
    let mut ahead = ahead.0;
    let mut out = BTreeMap::new();
    for (ot, keys) in batch_keys(rows) {
        let peeked = ahead.remove(&ot).unwrap_or_default();
        let mut existing: Vec<Existing> = Vec::with_capacity(peeked.len());
        for p in peeked {
            places.insert((ot, p.existing.id), p.place);
            existing.push(p.existing);
        }
        let read: HashSet<&str> = existing.iter().filter_map(|e| e.key.as_deref()).collect();
        let others: Vec<String> = keys
            .into_iter()
            .filter(|k| !read.contains(k.as_str()))
            .collect();
        let have: HashSet<i64> = existing.iter().map(|e| e.id).collect();
        let reading = Reading::new(ictx, rows, ot);
        for r in db::records::lock_by_keys(c, ictx.portal, ot, &others)? {
            if !have.contains(&r.id) {
                existing.push(locked(ot, r, &reading, places)?);
            }
        }
        out.insert(ot, existing);
    }
    Ok(out)
}

/// Each object type the batch's drafts name by key, with the distinct keys, sorted.
fn batch_keys(rows: &[MappedRow]) -> Vec<(ObjectType, Vec<String>)> {
    let mut by_type: BTreeMap<ObjectType, Vec<String>> = BTreeMap::new();
    for d in rows.iter().flat_map(|r| r.drafts.iter()) {
        if let Some(k) = &d.key {
            by_type.entry(d.object_type).or_default().push(k.clone());
        }
    }
    by_type
        .into_iter()
        .map(|(ot, mut keys)| {
            keys.sort_unstable();
            keys.dedup();
            (ot, keys)
        })
        .collect()
}

/// The property names the batch's drafts of `ot` set, sorted (those of its draft with the most),
/// to read its stored records with (`from_stored_named`).
fn draft_names(rows: &[MappedRow], ot: ObjectType) -> Vec<Name> {
    rows.iter()
        .flat_map(|r| r.drafts.iter())
        .filter(|d| d.object_type == ot)
        .max_by_key(|d| d.properties.len())
        .map(|d| d.properties.keys().cloned().collect())
        .unwrap_or_default()
}

/// The drafts of `ot` a stored record is checked against before its properties are parsed
/// (`Existing::unchanged`), by key: in a batch of keys alone, of an object type without unique
/// properties, each key's draft if it is the only one naming it.
fn sole_drafts<'a>(
    ictx: &ImportCtx,
    rows: &'a [MappedRow],
    ot: ObjectType,
) -> foldhash::HashMap<&'a str, Option<&'a Properties>> {
    let mut out = foldhash::HashMap::default();
    if !keys_only(rows) || !ictx.catalogue.unique_properties(ot).is_empty() {
        return out;
    }
    for d in rows.iter().flat_map(|r| r.drafts.iter()) {
        if let (true, Some(k)) = (d.object_type == ot, &d.key) {
            out.entry(k.as_str())
                .and_modify(|p| *p = None)
                .or_insert(Some(&d.properties));
        }
    }
    out
}

/// What a batch reads its stored records of one object type with: the names its drafts share
/// (`draft_names`) and the drafts they may be checked against (`sole_drafts`).
struct Reading<'a> {
    names: Vec<Name>,
    sole: foldhash::HashMap<&'a str, Option<&'a Properties>>,
}

impl<'a> Reading<'a> {
    fn new(ictx: &ImportCtx, rows: &'a [MappedRow], ot: ObjectType) -> Reading<'a> {
        Reading {
            names: draft_names(rows, ot),
            sole: sole_drafts(ictx, rows, ot),
        }
    }
}

/// A stored record as planning needs it: its properties parsed under the drafts' names, unless
/// its only draft changes none of them.
fn to_existing(
    ot: ObjectType,
    r: db::records::ImportTarget,
    reading: &Reading,
) -> Result<Existing, DbError> {
    let key = r.key.as_deref();
    let unchanged = key
        .and_then(|k| reading.sole.get(k).copied().flatten())
        .is_some_and(|p| changes_nothing(ot, &r.properties, key, p));
    let properties = match unchanged {
        true => Properties::new(),
        false => from_stored_named(ot, &r.properties, key, &reading.names)
            .map_err(|e| DbError::Corrupt(format!("{} {}: {e}", ot.singular(), r.id)))?,
    };
    Ok(Existing {
        id: r.id,
        key: r.key,
        properties,
        created_by_import: r.created_by_import,
        json: Some(r.properties),
        unchanged,
    })
}

/// A record the batch locked, with its place noted in `places`.
fn locked(
    ot: ObjectType,
    r: db::records::ImportTarget,
    reading: &Reading,
    places: &mut Places,
) -> Result<Existing, DbError> {
    places.insert((ot, r.id), place_of(&r));
    to_existing(ot, r, reading)
}

fn place_of(r: &db::records::ImportTarget) -> Place {
    Place {
        at: r.at.clone(),
        version: r.version,
    }
}

/// Where a batch leaves its file: the job's checkpoint once it commits.
struct Checkpoint {
    file_index: i32,
    rows_done: i64,
    count_rows: bool,
}

/// Whether every draft of the batch names its record by key alone, in an import that may create.
fn plain(ictx: &ImportCtx, rows: &[MappedRow]) -> bool {
    keys_only(rows)
        && rows
            .iter()
            .flat_map(|r| r.drafts.iter())
            .all(|d| ictx.request.operation(d.object_type) != Operation::Update)
}

/// Whether every draft of the batch names its record by key alone: no record ids, links,
/// secondary or unique values.
fn keys_only(rows: &[MappedRow]) -> bool {
    rows.iter().flat_map(|r| r.drafts.iter()).all(|d| {
        d.id.is_none() && d.links.is_empty() && d.aliases.is_empty() && d.unique.is_empty()
    })
}

/// Plans the batch against the stored records it matched.
fn plan(
    ictx: &ImportCtx,
    rows: &mut [MappedRow],
    existing: &mut BTreeMap<ObjectType, Vec<Existing>>,
) -> BatchPlan {
    plan_batch(
        rows,
        ictx.import_id,
        |ot| ictx.request.operation(ot),
        existing,
    )
}

/// Writes a planned batch. `keep_json` leaves the plan's JSON in place (copying it), for a plan
/// that may have to be `restore`d to its batch. `copies` holds the new records of some object
/// types already built for COPY (`plan_ahead`).
#[allow(clippy::too_many_arguments)] // the batch's whole context
fn write_plan(
    c: &mut DbConnection,
    ctx: &WorkerCtx,
    ictx: &ImportCtx,
    at: &Checkpoint,
    file: &FileRow,
    rows: &[MappedRow],
    counters: &Counters,
    plan: &mut BatchPlan,
    places: &Places,
    keep_json: bool,
    copies: &mut Copies,
) -> Result<Counters, RunError> {
    let (portal, import_id) = (ictx.portal, ictx.import_id);
    let mut new_ids: BTreeMap<ObjectType, Vec<i64>> = BTreeMap::new();
    let linked = !plan.associations.is_empty();
    // A new record has secondary emails only if a draft brought some: looking for them in every
    // new record's properties was an eighth of a fresh import's writing thread.
    let aliased = rows
        .iter()
        .flat_map(|r| r.drafts.iter())
        .any(|d| !d.aliases.is_empty());
    for (ot, w) in &mut plan.writes {
        let unique = ictx.catalogue.unique_properties(*ot);
        // New records' ids are needed only to link them, or to note their unique values or
        // secondary emails; a plain batch needs none.
        let ids = match linked || !unique.is_empty() || aliased {
            true => db::records::Ids::Wanted,
            false => db::records::Ids::NotWanted,
        };
        let created = match (ids, copies.remove(ot)) {
            (db::records::Ids::NotWanted, Some(built)) => {
                db::records::insert_copied(c, *ot, built)?;
                Vec::new()
            }
            _ => {
                let inserts: Vec<NewRecord> = w
                    .inserts
                    .iter_mut()
                    .map(|i| NewRecord {
                        key: i.key.clone(),
                        properties: match keep_json {
                            true => i.json.clone(),
                            false => i.json.take(),
                        }
                        .unwrap_or_else(|| to_stored(*ot, &i.properties, i.key.as_deref())),
                    })
                    .collect();
                db::records::insert(c, portal, *ot, import_id, inserts, ids)?
            }
        };
        new_ids.insert(*ot, created);
        let updates: Vec<RecordUpdate> = w
            .updates
            .iter_mut()
            .map(|u| {
                // Every record a plan updates was read by this batch, which noted its place.
                let place = places.get(&(*ot, u.id)).cloned().ok_or_else(|| {
                    DbError::Corrupt(format!("{} {} was not read", ot.singular(), u.id))
                })?;
                // A record's stored JSON comes back only if no row changed its properties.
                let change = match (u.key.clone().filter(|_| u.rekeyed), u.json.take()) {
                    (None, Some(_)) => Change::Nothing,
                    (None, None) => {
                        Change::Properties(to_stored(*ot, &u.properties, u.key.as_deref()))
                    }
                    (Some(key), json) => Change::KeyAndProperties {
                        properties: json
                            .unwrap_or_else(|| to_stored(*ot, &u.properties, Some(&key))),
                        key,
                    },
                };
                Ok(RecordUpdate {
                    id: u.id,
                    change,
                    at: place.at,
                    version: place.version,
                })
            })
            .collect::<Result<_, DbError>>()?;
        db::records::update(c, portal, *ot, import_id, updates)?;
        // Every record the batch wrote, with its id.
        let written: Vec<(&Properties, i64)> = w
            .inserts
            .iter()
            .map(|i| &i.properties)
            .zip(new_ids[ot].iter().copied())
            .chain(w.updates.iter().map(|u| (&u.properties, u.id)))
            .collect();
        if !unique.is_empty() {
            for &(props, id) in &written {
                let pairs: Vec<(String, String)> = unique
                    .iter()
                    .filter_map(|p| props.get(p).map(|v| (p.clone(), v.clone())))
                    .collect();
                db::records::set_unique_values(c, portal, *ot, id, &pairs)?;
            }
        }
        if *ot == ObjectType::Contact {
            let stored = w.updates.len();
            for &(props, id) in written
                .iter()
                .skip(if aliased { 0 } else { written.len() - stored })
                .filter(|(p, _)| p.contains_key(ADDITIONAL_EMAILS))
            {
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
    if !at.count_rows {
        delta.total_rows = 0;
    }
    next.add(&delta);
    db::imports::set_counters(c, portal, import_id, &next.to_json().to_string())?;
    if !queue::checkpoint(
        c,
        ictx.job,
        &ctx.worker_id,
        at.file_index,
        at.rows_done,
        ctx.config.lease,
    )? {
        return Err(RunError::LostLease);
    }
    Ok(next)
}

/// The stored records a batch names (by id, key, secondary email or unique value, or as a link's
/// target), locked, with `places` noted.
fn load_existing(
    c: &mut DbConnection,
    ictx: &ImportCtx,
    rows: &[MappedRow],
    places: &mut Places,
) -> Result<BTreeMap<ObjectType, Vec<Existing>>, DbError> {
    let portal = ictx.portal;
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
            ids.extend(d.id);
            keys.extend(d.key.iter().cloned());
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
        let mut found = db::records::lock_by_keys(c, portal, ot, &keys)?;
        if ot == ObjectType::Contact {
            // Emails that are no contact's primary one may be someone's secondary one.
            let primary: HashSet<&str> = found.iter().filter_map(|r| r.key.as_deref()).collect();
            let missing: Vec<String> = keys
                .iter()
                .filter(|k| !primary.contains(k.as_str()))
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
        found.extend(db::records::lock_by_ids(c, portal, ot, &ids)?);
        found.sort_by_key(|r| r.id);
        found.dedup_by_key(|r| r.id);
        let reading = Reading::new(ictx, rows, ot);
        let existing = found
            .into_iter()
            .map(|r| locked(ot, r, &reading, places))
            .collect::<Result<Vec<_>, DbError>>()?;
        out.insert(ot, existing);
    }
    Ok(out)
}

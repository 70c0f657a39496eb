//! Contacts, companies and deals: three tables of one shape (an indexed alternate key column plus
//! a JSON properties document), so one set of queries serves all three, keyed by `ObjectType`.

use super::sql::{self, Val};
use super::{now, DbConnection, DbError};
use crate::crm::{ObjectType, PortalId};
use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamp};
use diesel::QueryableByName;

#[derive(Debug, Clone, QueryableByName)]
pub struct StoredRecord {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub key: Option<String>,
    #[diesel(sql_type = Text)]
    pub properties: String,
    #[diesel(sql_type = Timestamp)]
    pub created_at: chrono::NaiveDateTime,
    #[diesel(sql_type = Timestamp)]
    pub updated_at: chrono::NaiveDateTime,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub created_by_import: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub updated_by_import: Option<i64>,
}

/// A stored record as an import rewrites it: no timestamps, which it never reads (parsing them
/// from SQLite's text was 6 % of a re-import's writing thread).
#[derive(Debug, Clone, QueryableByName)]
pub struct ImportTarget {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub key: Option<String>,
    #[diesel(sql_type = Text)]
    pub properties: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub created_by_import: Option<i64>,
    /// Where this version of the row is stored: PostgreSQL's `ctid` (None on SQLite). Updating
    /// a record there fetches it directly, where its id cost an index probe.
    #[diesel(sql_type = Nullable<Text>)]
    pub at: Option<String>,
    /// This version of the row: PostgreSQL's `xmin` (the transaction that wrote it), which an
    /// update checks so that it applies only to the version it was planned from. 0 on SQLite,
    /// whose single writer reads and updates a batch's records under one lock.
    #[diesel(sql_type = BigInt)]
    pub version: i64,
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// A record to create; `properties` is the JSON document.
#[derive(Debug, Clone)]
pub struct NewRecord {
    pub key: Option<String>,
    pub properties: String,
}

/// An existing record an import updates: it is marked as updated by the import, and its
/// properties (merged by the engine beforehand) and key replaced where they changed.
#[derive(Debug, Clone)]
pub struct RecordUpdate {
    pub id: i64,
    pub change: Change,
    /// Where the version this batch read is stored (`ImportTarget::at`); PostgreSQL updates the
    /// record there (None on SQLite, which updates by id).
    pub at: Option<String>,
    /// The version this batch read (`ImportTarget::version`).
    pub version: i64,
}

/// What an update replaces besides the import's marks (`updated_at`, `updated_by_import`).
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Nothing: every value the import's rows set is the stored one.
    Nothing,
    /// The properties document.
    Properties(String),
    /// The alternate key, and the properties document with it.
    KeyAndProperties { key: String, properties: String },
}

impl Change {
    fn into_parts(self) -> (Option<String>, Option<String>) {
        match self {
            Change::Nothing => (None, None),
            Change::Properties(p) => (None, Some(p)),
            Change::KeyAndProperties { key, properties } => (Some(key), Some(properties)),
        }
    }
}

/// The columns a `StoredRecord` reads.
const RECORD_COLUMNS: &str =
    "properties, created_at, updated_at, created_by_import, updated_by_import";
/// The columns an `ImportTarget` reads.
fn target_columns(conn: &DbConnection) -> &'static str {
    match conn {
        DbConnection::Postgres(_) => {
            "properties, created_by_import, ctid::text AS at, xmin::text::bigint AS version"
        }
        DbConnection::Sqlite(_) => "properties, created_by_import, NULL AS at, 0 AS version",
    }
}

/// `SELECT id, key, <columns> FROM <table>`, the key column named `key` for every object type.
fn select_list(ot: ObjectType, columns: &str) -> String {
    format!("{} FROM {}", select_columns(ot, columns), ot.table())
}

fn select_columns(ot: ObjectType, columns: &str) -> String {
    let key = ot.alternate_key().unwrap_or("CAST(NULL AS TEXT)");
    format!("SELECT id, {key} AS key, {columns}")
}

pub fn get(
    conn: &mut DbConnection,
    portal: PortalId,
    ot: ObjectType,
    id: i64,
) -> Result<Option<StoredRecord>, DbError> {
    Ok(find_in(
        conn,
        portal,
        ot,
        RECORD_COLUMNS,
        "id",
        Among::Ids(&[id]),
        false,
    )?
    .pop())
}

pub fn get_by_key(
    conn: &mut DbConnection,
    portal: PortalId,
    ot: ObjectType,
    key: &str,
) -> Result<Option<StoredRecord>, DbError> {
    let Some(col) = ot.alternate_key() else {
        return Ok(None);
    };
    let keys = [key.to_string()];
    Ok(find_in(
        conn,
        portal,
        ot,
        RECORD_COLUMNS,
        col,
        Among::Keys(&keys),
        false,
    )?
    .pop())
}

/// Records an import batch rewrites, by id; locked until the batch commits on PostgreSQL, so two
/// imports touching one record serialise instead of losing an update (SQLite's single writer
/// already does).
pub fn lock_by_ids(
    conn: &mut DbConnection,
    portal: PortalId,
    ot: ObjectType,
    ids: &[i64],
) -> Result<Vec<ImportTarget>, DbError> {
    let columns = target_columns(conn);
    find_in(conn, portal, ot, columns, "id", Among::Ids(ids), true)
}

/// Records an import batch rewrites whose alternate key (email, domain) is one of `keys`; empty
/// for objects without one. Locked like `lock_by_ids`.
pub fn lock_by_keys(
    conn: &mut DbConnection,
    portal: PortalId,
    ot: ObjectType,
    keys: &[String],
) -> Result<Vec<ImportTarget>, DbError> {
    targets_by_keys(conn, portal, ot, keys, true)
}

/// Records whose alternate key is one of `keys`, read without a lock ahead of the batch that
/// rewrites them (`jobs::batch::ReadAhead`); empty for objects without one. Their versions tell
/// the batch's updates whether they changed since.
pub fn peek_by_keys(
    conn: &mut DbConnection,
    portal: PortalId,
    ot: ObjectType,
    keys: &[String],
) -> Result<Vec<ImportTarget>, DbError> {
    targets_by_keys(conn, portal, ot, keys, false)
}

fn targets_by_keys(
    conn: &mut DbConnection,
    portal: PortalId,
    ot: ObjectType,
    keys: &[String],
    for_update: bool,
) -> Result<Vec<ImportTarget>, DbError> {
    let columns = target_columns(conn);
    match ot.alternate_key() {
        Some(col) => find_in(
            conn,
            portal,
            ot,
            columns,
            col,
            Among::Keys(keys),
            for_update,
        ),
        None => Ok(Vec::new()),
    }
}

/// The values a lookup matches a column against.
enum Among<'a> {
    Ids(&'a [i64]),
    Keys(&'a [String]),
}

/// `IN (…)` lists are split at `MAX_IN` values, well under SQLite's 32,766 binds.
const MAX_IN: usize = 4096;

/// The portal's records whose `col` is one of `among`. PostgreSQL gets one array bind; SQLite one
/// JSON array, each of whose values probes the index in turn (`CROSS JOIN` keeps that order).
/// That replaced an `IN` list of a bind per value, which SQLite first copied into a temporary
/// index: a fifth of a fresh import's writing thread, in instructions. Either way the statement
/// text is the same whatever the number of values, so it stays prepared.
fn find_in<
    T: QueryableByName<diesel::pg::Pg> + QueryableByName<diesel::sqlite::Sqlite> + 'static,
>(
    conn: &mut DbConnection,
    portal: PortalId,
    ot: ObjectType,
    columns: &str,
    col: &str,
    among: Among,
    for_update: bool,
) -> Result<Vec<T>, DbError> {
    let empty = match among {
        Among::Ids(v) => v.is_empty(),
        Among::Keys(v) => v.is_empty(),
    };
    if empty {
        return Ok(Vec::new());
    }
    if let DbConnection::Postgres(c) = conn {
        use diesel::RunQueryDsl;
        let lock = if for_update { " FOR UPDATE" } else { "" };
        let q = diesel::sql_query(format!(
            "{} WHERE portal_id = $1 AND {col} = ANY($2){lock}",
            select_list(ot, columns)
        ))
        .bind::<BigInt, _>(portal.0);
        return Ok(match among {
            Among::Ids(v) => q.bind::<Array<BigInt>, _>(v).load(c)?,
            Among::Keys(v) => q.bind::<Array<Text>, _>(v).load(c)?,
        });
    }
    // Each value once, so each record comes back once; in order, for the index's sake.
    let list = match among {
        Among::Ids(v) => {
            let mut v = v.to_vec();
            v.sort_unstable();
            v.dedup();
            serde_json::to_string(&v)
        }
        Among::Keys(v) => {
            let mut v: Vec<&String> = v.iter().collect();
            v.sort_unstable();
            v.dedup();
            serde_json::to_string(&v)
        }
    }
    .expect("numbers and strings serialise");
    let q = format!(
        "{} FROM (SELECT value AS v FROM json_each(?)) AS j CROSS JOIN {} \
         ON portal_id = ? AND {col} = j.v",
        select_columns(ot, columns),
        ot.table()
    );
    sql::load_prepared(conn, &q, vec![Val::Text(list), Val::I64(portal.0)])
}

/// Ascending ids after `after`.
pub fn page(
    conn: &mut DbConnection,
    portal: PortalId,
    ot: ObjectType,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<StoredRecord>, DbError> {
    let q = format!(
        "{} WHERE portal_id = ? AND id > ? ORDER BY id LIMIT ?",
        select_list(ot, RECORD_COLUMNS)
    );
    sql::load(
        conn,
        &q,
        vec![
            Val::I64(portal.0),
            Val::I64(after.unwrap_or(0)),
            Val::I64(limit),
        ],
    )
}

/// Rows per multi-row statement; full chunks are kept prepared, the last one of a batch is not
/// (its size varies, and each distinct statement would stay cached).
const INSERT_CHUNK: usize = 500;
const UPDATE_CHUNK: usize = 1000;

/// Whether `insert` returns the new records' ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ids {
    Wanted,
    /// The writer reads none back: the column default draws them as the rows are stored, or
    /// the thread that reads ahead drew them (`copy_rows`). On PostgreSQL, the writer drawing
    /// them first and reading them was a round trip per batch and a fifth of a fresh import's
    /// writing thread.
    NotWanted,
}

/// Creates records on behalf of `import_id` and returns their ids in the order of `rows`, or
/// none if they are not `Ids::Wanted`.
pub fn insert(
    conn: &mut DbConnection,
    portal: PortalId,
    ot: ObjectType,
    import_id: i64,
    rows: Vec<NewRecord>,
    wanted: Ids,
) -> Result<Vec<i64>, DbError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let t = now();
    if let DbConnection::Postgres(c) = conn {
        return copy_insert(c, portal, ot, import_id, &rows, t, wanted);
    }
    // What every row shares is bound once per statement, each row only its key and JSON: with
    // seven binds a row, binding was an eighth of a fresh import's writing thread.
    let stamp = stamp(conn, t);
    let (cols, picks, per_row) = match ot.alternate_key() {
        Some(k) => (format!("{k}, properties"), "column1, column2", "(?,?)"),
        None => ("properties".to_string(), "column1", "(?)"),
    };
    let mut ids = Vec::with_capacity(rows.len());
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<NewRecord> = rows.by_ref().take(INSERT_CHUNK).collect();
        let q = format!(
            "INSERT INTO {} (portal_id, {cols}, created_at, updated_at, created_by_import, \
             updated_by_import) SELECT ?, {picks}, ?, ?, ?, ? FROM (VALUES {}){}",
            ot.table(),
            vec![per_row; chunk.len()].join(","),
            if wanted == Ids::Wanted {
                " RETURNING id"
            } else {
                ""
            }
        );
        let mut vals = Vec::with_capacity(chunk.len() * 2 + 5);
        vals.extend([
            Val::I64(portal.0),
            stamp.clone(),
            stamp.clone(),
            Val::I64(import_id),
            Val::I64(import_id),
        ]);
        let full = chunk.len() == INSERT_CHUNK;
        for r in chunk {
            if ot.alternate_key().is_some() {
                vals.push(Val::OptText(r.key));
            }
            vals.push(Val::Text(r.properties));
        }
        if wanted == Ids::NotWanted {
            match full {
                true => sql::execute_prepared(conn, &q, vals)?,
                false => sql::execute(conn, &q, vals)?,
            };
            continue;
        }
        // Ids come from a monotonic sequence evaluated in VALUES order, so sorting the
        // RETURNING rows restores the input order.
        let got = if full {
            sql::load_prepared::<IdRow>(conn, &q, vals)?
        } else {
            sql::load::<IdRow>(conn, &q, vals)?
        };
        let mut got: Vec<i64> = got.into_iter().map(|r| r.id).collect();
        got.sort_unstable();
        ids.extend(got);
    }
    Ok(ids)
}

/// A timestamp bind made once per statement batch: SQLite stores timestamps as text, and
/// diesel would otherwise run chrono's format parser for every row's two stamps.
fn stamp(conn: &DbConnection, t: chrono::NaiveDateTime) -> Val {
    match conn {
        DbConnection::Sqlite(_) => Val::Text(stamp_text(t)),
        DbConnection::Postgres(_) => Val::Ts(t),
    }
}

/// A TIMESTAMP as text, the way diesel writes one to SQLite.
fn stamp_text(t: chrono::NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.f").to_string()
}

/// PostgreSQL: new records go in through COPY, 3–4× cheaper than a multi-row INSERT. COPY
/// returns no ids, so when they are wanted they are drawn from the table's sequence first;
/// otherwise the column's default draws them.
fn copy_insert(
    c: &mut diesel::PgConnection,
    portal: PortalId,
    ot: ObjectType,
    import_id: i64,
    rows: &[NewRecord],
    t: chrono::NaiveDateTime,
    wanted: Ids,
) -> Result<Vec<i64>, DbError> {
    let ids = match wanted {
        Ids::Wanted => Some(draw_pg_ids(c, ot, rows.len())?),
        Ids::NotWanted => None,
    };
    let records = rows
        .iter()
        .map(|r| (r.key.as_deref(), r.properties.as_str()));
    let data = copy_data(portal, ot, import_id, records, ids.as_deref(), t);
    send_copy(c, ot, data)?;
    Ok(ids.unwrap_or_default())
}

/// `n` new ids of `ot`'s records, ascending, drawn from PostgreSQL's sequence (no transaction
/// needed: a sequence never hands an id out twice, and ids drawn but not used are only a gap).
fn draw_pg_ids(
    c: &mut diesel::PgConnection,
    ot: ObjectType,
    n: usize,
) -> Result<Vec<i64>, DbError> {
    use diesel::RunQueryDsl;
    let mut ids: Vec<i64> = diesel::sql_query(format!(
        "SELECT nextval('{}_id_seq') AS id FROM generate_series(1, $1)",
        ot.table()
    ))
    .bind::<BigInt, _>(n as i64)
    .load::<IdRow>(c)?
    .into_iter()
    .map(|r| r.id)
    .collect();
    ids.sort_unstable();
    Ok(ids)
}

/// New records in the form PostgreSQL's COPY takes them: built by whichever thread has the time,
/// sent by `insert_copied`.
pub struct CopyRows(CopyData);

/// Builds `CopyRows` from each record's key and stored JSON, stamped `t`. With `numbering`, a
/// PostgreSQL connection other than the writer's, their ids are drawn on it, which spares the
/// writer's server process evaluating the id column's default for every row (4 % of its CPU
/// in a fresh import); without it, or if drawing fails, the column default draws them.
pub fn copy_rows<'a>(
    portal: PortalId,
    ot: ObjectType,
    import_id: i64,
    records: impl ExactSizeIterator<Item = (Option<&'a str>, &'a str)>,
    t: chrono::NaiveDateTime,
    numbering: Option<&mut DbConnection>,
) -> CopyRows {
    let ids = match numbering {
        Some(DbConnection::Postgres(c)) => draw_pg_ids(c, ot, records.len())
            .map_err(|e| tracing::warn!(error = %e, "could not draw ids ahead; the database draws them as it inserts"))
            .ok(),
        _ => None,
    };
    CopyRows(copy_data(portal, ot, import_id, records, ids.as_deref(), t))
}

/// Creates the records of `rows` (built by `copy_rows` for this portal and import) in the
/// caller's transaction.
pub fn insert_copied(
    conn: &mut DbConnection,
    ot: ObjectType,
    rows: CopyRows,
) -> Result<(), DbError> {
    match conn {
        DbConnection::Postgres(c) => send_copy(c, ot, rows.0),
        DbConnection::Sqlite(_) => Err(DbError::Corrupt(
            "COPY rows were built for a SQLite database".into(),
        )),
    }
}

/// A COPY's rows and which of the table's columns they hold.
struct CopyData {
    bytes: Vec<u8>,
    /// With the id column (ids drawn beforehand), or without it (the column default draws them).
    numbered: bool,
}

fn copy_data<'a>(
    portal: PortalId,
    ot: ObjectType,
    import_id: i64,
    records: impl ExactSizeIterator<Item = (Option<&'a str>, &'a str)>,
    ids: Option<&[i64]>,
    t: chrono::NaiveDateTime,
) -> CopyData {
    let mut data = CopyBinary::with_capacity(records.len() * 400);
    let keyed = ot.alternate_key().is_some();
    for (n, (key, properties)) in records.enumerate() {
        data.row(6 + i16::from(keyed) + i16::from(ids.is_some()));
        if let Some(ids) = ids {
            data.int8(Some(ids[n]));
        }
        data.int8(Some(portal.0));
        if keyed {
            data.text(key);
        }
        data.text(Some(properties));
        data.timestamp(t);
        data.timestamp(t);
        data.int8(Some(import_id));
        data.int8(Some(import_id));
    }
    CopyData {
        bytes: data.finish(),
        numbered: ids.is_some(),
    }
}

fn send_copy(c: &mut diesel::PgConnection, ot: ObjectType, data: CopyData) -> Result<(), DbError> {
    use diesel::pg::CopyFormat;
    use diesel::ExecuteCopyFromDsl;
    let CopyData { bytes, numbered } = data;
    let write = |w: &mut dyn std::io::Write| -> Result<(), diesel::result::Error> {
        w.write_all(&bytes)
            .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))
    };
    // The columns the data holds: all of the table's when numbered, else all but the id.
    macro_rules! copy {
        ($t:ident $(, $key:ident)?) => {{
            use super::schema::$t::dsl::*;
            match numbered {
                true => diesel::copy_from($t)
                    .from_raw_data($t, write)
                    .with_format(CopyFormat::Binary)
                    .execute(c)?,
                false => diesel::copy_from($t)
                    .from_raw_data(
                        (portal_id, $($key,)? properties, created_at, updated_at,
                         created_by_import, updated_by_import),
                        write,
                    )
                    .with_format(CopyFormat::Binary)
                    .execute(c)?,
            }
        }};
    }
    match ot {
        ObjectType::Contact => copy!(contacts, email),
        ObjectType::Company => copy!(companies, domain),
        ObjectType::Deal => copy!(deals),
    };
    Ok(())
}

/// COPY's binary format: the server stores each field as it comes, where the text format made it
/// scan every byte of the JSON for escapes and parse the numbers and timestamps back.
struct CopyBinary(Vec<u8>);

impl CopyBinary {
    fn with_capacity(n: usize) -> Self {
        let mut out = Vec::with_capacity(n + 32);
        // Signature, flags, header extension length.
        out.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
        out.extend_from_slice(&0i32.to_be_bytes());
        out.extend_from_slice(&0i32.to_be_bytes());
        CopyBinary(out)
    }

    fn row(&mut self, fields: i16) {
        self.0.extend_from_slice(&fields.to_be_bytes());
    }

    fn field(&mut self, value: Option<&[u8]>) {
        match value {
            None => self.0.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(v) => {
                self.0.extend_from_slice(&(v.len() as i32).to_be_bytes());
                self.0.extend_from_slice(v);
            }
        }
    }

    fn int8(&mut self, v: Option<i64>) {
        self.field(v.map(i64::to_be_bytes).as_ref().map(|b| &b[..]));
    }

    fn text(&mut self, v: Option<&str>) {
        self.field(v.map(str::as_bytes));
    }

    /// A TIMESTAMP: microseconds since 2000-01-01 00:00.
    fn timestamp(&mut self, t: chrono::NaiveDateTime) {
        let epoch = chrono::NaiveDate::from_ymd_opt(2000, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .expect("a valid date");
        let micros = (t - epoch).num_microseconds().unwrap_or(i64::MAX);
        self.field(Some(&micros.to_be_bytes()));
    }

    fn finish(mut self) -> Vec<u8> {
        self.0.extend_from_slice(&(-1i16).to_be_bytes());
        self.0
    }
}

/// Replaces the properties (and key) of existing records on behalf of `import_id`: one prepared
/// statement per record on SQLite, where that is as fast as any multi-row form; a thousand per
/// statement on PostgreSQL, which saves the round trips. There each record is updated only if
/// it is still the version the batch read (`RecordUpdate::version`); if any is not, the batch
/// was planned from a record that changed since, and the caller undoes it (`DbError::Changed`).
pub fn update(
    conn: &mut DbConnection,
    portal: PortalId,
    ot: ObjectType,
    import_id: i64,
    rows: Vec<RecordUpdate>,
) -> Result<(), DbError> {
    let t = now();
    let stamp = stamp(conn, t);
    let n = rows.len();
    let mut done = 0;
    if let DbConnection::Sqlite(_) = conn {
        let table = ot.table();
        // The key only where it changed: setting it, even to the same value, rewrites the
        // record's entry in the key index. Likewise the properties.
        let rest = "updated_at = ?, updated_by_import = ? WHERE id = ? AND portal_id = ?";
        let stamp_text = format!("UPDATE {table} SET {rest}");
        let stamping = sql::Split::new(&stamp_text);
        let keep_text = format!("UPDATE {table} SET properties = ?, {rest}");
        let keep = sql::Split::new(&keep_text);
        let rekey_text = ot
            .alternate_key()
            .map(|k| format!("UPDATE {table} SET {k} = ?, properties = ?, {rest}"));
        let rekeying = rekey_text.as_deref().map(sql::Split::new);
        for r in rows {
            let mut vals = Vec::with_capacity(6);
            let (shape, q) = match r.change {
                Change::KeyAndProperties { key, properties } if rekeying.is_some() => {
                    vals.extend([Val::Text(key), Val::Text(properties)]);
                    (Shape::Rekey, rekeying.as_ref().expect("checked"))
                }
                Change::KeyAndProperties { properties, .. } | Change::Properties(properties) => {
                    vals.push(Val::Text(properties));
                    (Shape::Keep, &keep)
                }
                Change::Nothing => (Shape::Stamp, &stamping),
            };
            vals.extend([
                stamp.clone(),
                Val::I64(import_id),
                Val::I64(r.id),
                Val::I64(portal.0),
            ]);
            done += execute_update(conn, ot, shape, q, vals)?;
        }
    } else {
        // Records whose properties stay need only their two stamps: one statement finds them
        // all by place, where a row of values each cost the server a scan of its own.
        let (stamped, full): (Vec<_>, Vec<_>) = rows
            .into_iter()
            .partition(|r| r.change == Change::Nothing && r.at.is_some());
        if !stamped.is_empty() {
            done += stamp_unchanged(conn, portal, ot, import_id, t, &stamped)?;
        }
        let mut rows = full.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<RecordUpdate> = rows.by_ref().take(UPDATE_CHUNK).collect();
            done += update_chunk(conn, portal, ot, import_id, &stamp, chunk)?;
        }
    }
    match n - done {
        0 => Ok(()),
        missed => Err(DbError::Changed(format!(
            "{missed} of {n} {} changed since this batch read them",
            ot.table()
        ))),
    }
}

/// PostgreSQL: one multi-row `UPDATE` of `rows`, each found where it is stored (`at`, a TID
/// scan: no index probe) if it still is the version read. Returns the number of records it
/// rewrote.
fn update_chunk(
    conn: &mut DbConnection,
    portal: PortalId,
    ot: ObjectType,
    import_id: i64,
    stamp: &Val,
    rows: Vec<RecordUpdate>,
) -> Result<usize, DbError> {
    let table = ot.table();
    let keyed = ot.alternate_key();
    let mut cols = vec!["id", "at", "version"];
    // A row another transaction updated since is no longer at `at` nor of `version`: the
    // statement skips it (and, had it waited for that transaction, rechecks both).
    let find = format!(
        "{table}.ctid = v.at::tid AND {table}.xmin = v.version::text::xid \
         AND {table}.id = v.id AND {table}.portal_id = ?"
    );
    let set_key = match keyed {
        Some(k) => {
            cols.push("k");
            format!("{k} = COALESCE(v.k, {table}.{k}), ")
        }
        None => String::new(),
    };
    cols.push("properties");
    let per_row = format!("({})", vec!["?"; cols.len()].join(","));
    let q = format!(
        "WITH v({}) AS (VALUES {}) \
         UPDATE {table} SET {set_key}properties = COALESCE(v.properties, {table}.properties), \
         updated_at = ?, \
         updated_by_import = ? FROM v WHERE {find}",
        cols.join(", "),
        vec![per_row.as_str(); rows.len()].join(",")
    );
    let full = rows.len() == UPDATE_CHUNK;
    let mut vals = Vec::with_capacity(rows.len() * cols.len() + 3);
    for r in rows {
        vals.push(Val::I64(r.id));
        vals.push(Val::OptText(r.at));
        vals.push(Val::I64(r.version));
        let (key, properties) = r.change.into_parts();
        if keyed.is_some() {
            vals.push(Val::OptText(key));
        }
        vals.push(Val::OptText(properties));
    }
    vals.extend([stamp.clone(), Val::I64(import_id), Val::I64(portal.0)]);
    if full {
        sql::execute_prepared(conn, &q, vals)
    } else {
        sql::execute(conn, &q, vals)
    }
}

/// What a SQLite per-record `UPDATE` sets besides the import's marks.
#[derive(Clone, Copy)]
enum Shape {
    Stamp,
    Keep,
    Rekey,
}

/// One SQLite per-record `UPDATE` text: its object type and `Shape`.
struct UpdateShape<const OBJECT: u8, const SHAPE: u8>;

/// Runs a per-record `UPDATE` kept prepared under its `UpdateShape`.
fn execute_update(
    conn: &mut DbConnection,
    ot: ObjectType,
    shape: Shape,
    q: &sql::Split,
    vals: Vec<Val>,
) -> Result<usize, DbError> {
    use ObjectType::{Company, Contact, Deal};
    use Shape::{Keep, Rekey, Stamp};
    macro_rules! run {
        ($o:literal, $s:literal) => {
            sql::execute_shaped::<UpdateShape<$o, $s>>(conn, q, vals)
        };
    }
    match (ot, shape) {
        (Contact, Stamp) => run!(0, 0),
        (Contact, Keep) => run!(0, 1),
        (Contact, Rekey) => run!(0, 2),
        (Company, Stamp) => run!(1, 0),
        (Company, Keep) => run!(1, 1),
        (Company, Rekey) => run!(1, 2),
        (Deal, Stamp) => run!(2, 0),
        (Deal, Keep) => run!(2, 1),
        (Deal, Rekey) => run!(2, 2),
    }
}

/// PostgreSQL: marks `rows`, whose properties and keys stay as they are, as updated by the
/// import, each where it is stored (`at`) if it still is a version read (`version`). Every
/// version read is of a transaction committed before the read, and a record stored since at a
/// place read holds a version of a later one, so comparing a place with the versions read as a
/// set is as strict as comparing it with its own. Returns the number of records it marked.
fn stamp_unchanged(
    conn: &mut DbConnection,
    portal: PortalId,
    ot: ObjectType,
    import_id: i64,
    t: chrono::NaiveDateTime,
    rows: &[RecordUpdate],
) -> Result<usize, DbError> {
    let DbConnection::Postgres(c) = conn else {
        return Err(DbError::Corrupt("places are PostgreSQL's".into()));
    };
    use diesel::RunQueryDsl;
    let places: Vec<&str> = rows.iter().filter_map(|r| r.at.as_deref()).collect();
    let mut versions: Vec<String> = rows.iter().map(|r| r.version.to_string()).collect();
    versions.sort_unstable();
    versions.dedup();
    let q = format!(
        "UPDATE {} SET updated_at = $1, updated_by_import = $2 \
         WHERE portal_id = $3 AND ctid = ANY($4::tid[]) AND xmin = ANY($5::xid[])",
        ot.table()
    );
    Ok(diesel::sql_query(q)
        .bind::<Timestamp, _>(t)
        .bind::<BigInt, _>(import_id)
        .bind::<BigInt, _>(portal.0)
        .bind::<Array<Text>, _>(places)
        .bind::<Array<Text>, _>(versions)
        .execute(c)?)
}

/// Refreshes PostgreSQL's planner statistics of the record tables (SQLite needs none: its
/// planner prefers the unique key index without them). From a sample of 3,000 records, not the
/// default 30,000: the lookups only need to know the tables are large and their keys distinct,
/// and each larger sample of a million contacts took the server 210 ms instead of 15 ms, during
/// the import. Autovacuum's ANALYZE later takes the full sample.
pub fn refresh_statistics(conn: &mut DbConnection) -> Result<(), DbError> {
    if let DbConnection::Postgres(c) = conn {
        use diesel::connection::{Connection, SimpleConnection};
        c.transaction(|c| {
            c.batch_execute(
                "SET LOCAL default_statistics_target = 10; ANALYZE contacts, companies, deals",
            )
        })?;
    }
    Ok(())
}

/// Contacts whose secondary emails include any of `emails`: `(email, contact id)`.
pub fn find_by_secondary_email(
    conn: &mut DbConnection,
    portal: PortalId,
    emails: &[String],
) -> Result<Vec<(String, i64)>, DbError> {
    use super::schema::contact_emails as ce;
    use diesel::prelude::*;
    let mut out = Vec::new();
    // Most portals have no secondary emails: one probe then saves looking up every email.
    if emails.is_empty() || !any_secondary_email(conn, portal)? {
        return Ok(out);
    }
    for chunk in emails.chunks(MAX_IN) {
        out.extend(
            ce::table
                .filter(ce::portal_id.eq(portal.0))
                .filter(ce::email.eq_any(chunk))
                .select((ce::email, ce::contact_id))
                .load::<(String, i64)>(conn)?,
        );
    }
    Ok(out)
}

/// Whether any contact of the portal has a secondary email.
pub fn any_secondary_email(conn: &mut DbConnection, portal: PortalId) -> Result<bool, DbError> {
    use super::schema::contact_emails as ce;
    use diesel::prelude::*;
    Ok(diesel::select(diesel::dsl::exists(
        ce::table.filter(ce::portal_id.eq(portal.0)),
    ))
    .get_result::<bool>(conn)?)
}

/// Makes the secondary-email index of `contact_id` exactly `emails`.
pub fn set_secondary_emails(
    conn: &mut DbConnection,
    portal: PortalId,
    contact_id: i64,
    emails: &[String],
) -> Result<(), DbError> {
    use super::schema::contact_emails as ce;
    use diesel::prelude::*;
    diesel::delete(
        ce::table
            .filter(ce::portal_id.eq(portal.0))
            .filter(ce::contact_id.eq(contact_id)),
    )
    .execute(conn)?;
    for e in emails {
        crate::db_run!(&mut *conn, c => diesel::insert_into(ce::table)
            .values((ce::portal_id.eq(portal.0), ce::email.eq(e), ce::contact_id.eq(contact_id)))
            .on_conflict_do_nothing()
            .execute(c))?;
    }
    Ok(())
}

/// Records holding any of the `(property, value)` pairs of custom unique properties:
/// `(property, value, record id)`.
pub fn find_by_unique(
    conn: &mut DbConnection,
    portal: PortalId,
    ot: ObjectType,
    pairs: &[(String, String)],
) -> Result<Vec<(String, String, i64)>, DbError> {
    use super::schema::unique_values as uv;
    use diesel::prelude::*;
    let mut out = Vec::new();
    let mut props: Vec<&String> = pairs.iter().map(|(p, _)| p).collect();
    props.sort();
    props.dedup();
    for prop in props {
        let values: Vec<&String> = pairs
            .iter()
            .filter(|(p, _)| p == prop)
            .map(|(_, v)| v)
            .collect();
        for chunk in values.chunks(MAX_IN) {
            let rows: Vec<(String, String, i64)> = uv::table
                .filter(uv::portal_id.eq(portal.0))
                .filter(uv::object_type.eq(ot.type_id()))
                .filter(uv::property.eq(prop))
                .filter(uv::value.eq_any(chunk))
                .select((uv::property, uv::value, uv::record_id))
                .load(conn)?;
            out.extend(rows);
        }
    }
    Ok(out)
}

/// Makes the unique-value index of one record exactly `pairs`.
pub fn set_unique_values(
    conn: &mut DbConnection,
    portal: PortalId,
    ot: ObjectType,
    id: i64,
    pairs: &[(String, String)],
) -> Result<(), DbError> {
    use super::schema::unique_values as uv;
    use diesel::prelude::*;
    diesel::delete(
        uv::table
            .filter(uv::portal_id.eq(portal.0))
            .filter(uv::object_type.eq(ot.type_id()))
            .filter(uv::record_id.eq(id)),
    )
    .execute(conn)?;
    for (prop, value) in pairs {
        crate::db_run!(&mut *conn, c => diesel::insert_into(uv::table)
            .values((
                uv::portal_id.eq(portal.0),
                uv::object_type.eq(ot.type_id()),
                uv::property.eq(prop),
                uv::value.eq(value),
                uv::record_id.eq(id),
            ))
            .on_conflict_do_nothing()
            .execute(c))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn copy_binary_is_postgresqls_format() {
        let mut data = super::CopyBinary::with_capacity(0);
        data.row(3);
        data.int8(Some(-2));
        data.text(None);
        let t = chrono::NaiveDate::from_ymd_opt(2000, 1, 2)
            .and_then(|d| d.and_hms_micro_opt(0, 0, 1, 5))
            .unwrap();
        data.timestamp(t);
        let mut want = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0\0\x03".to_vec();
        want.extend_from_slice(&8i32.to_be_bytes());
        want.extend_from_slice(&(-2i64).to_be_bytes());
        want.extend_from_slice(&(-1i32).to_be_bytes());
        want.extend_from_slice(&8i32.to_be_bytes());
        want.extend_from_slice(&(86_400_000_000i64 + 1_000_005).to_be_bytes());
        want.extend_from_slice(&(-1i16).to_be_bytes());
        assert_eq!(data.finish(), want);
    }
}

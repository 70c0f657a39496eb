//! The `imports` table: one row per import with its state, request and counters.

use super::schema::imports;
use super::{now, DbConnection, DbError};
use crate::crm::PortalId;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = imports)]
pub struct ImportRow {
    pub id: i64,
    pub portal_id: i64,
    pub api_key_id: Option<i64>,
    pub name: String,
    pub state: String,
    pub request_json: String,
    pub mapped_object_type_ids: String,
    pub counters: String,
    pub created_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
    pub failure_reason: Option<String>,
    pub row_count: i64,
}

pub struct NewImport<'a> {
    pub portal: PortalId,
    pub api_key_id: Option<i64>,
    pub name: &'a str,
    pub state: &'a str,
    pub request_json: &'a str,
    pub mapped_object_type_ids: &'a str,
    pub row_count: i64,
}

pub fn insert(conn: &mut DbConnection, new: NewImport<'_>) -> Result<ImportRow, DbError> {
    let t = now();
    let row = (
        imports::portal_id.eq(new.portal.0),
        imports::api_key_id.eq(new.api_key_id),
        imports::name.eq(new.name),
        imports::state.eq(new.state),
        imports::request_json.eq(new.request_json),
        imports::mapped_object_type_ids.eq(new.mapped_object_type_ids),
        imports::counters.eq("{}"),
        imports::row_count.eq(new.row_count),
        imports::created_at.eq(t),
        imports::updated_at.eq(t),
    );
    Ok(
        crate::db_run!(conn, c => diesel::insert_into(imports::table)
        .values(row)
        .returning(ImportRow::as_returning())
        .get_result(c))?,
    )
}

pub fn get(
    conn: &mut DbConnection,
    portal: PortalId,
    id: i64,
) -> Result<Option<ImportRow>, DbError> {
    Ok(imports::table
        .filter(imports::id.eq(id))
        .filter(imports::portal_id.eq(portal.0))
        .select(ImportRow::as_select())
        .first(conn)
        .optional()?)
}

/// Newest first; `before` is the id the previous page ended at.
pub fn page(
    conn: &mut DbConnection,
    portal: PortalId,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<ImportRow>, DbError> {
    let mut q = imports::table
        .filter(imports::portal_id.eq(portal.0))
        .select(ImportRow::as_select())
        .order(imports::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(b) = before {
        q = q.filter(imports::id.lt(b));
    }
    Ok(q.load(conn)?)
}

/// Moves the import to `to` only if it is in one of `from`; returns whether it moved.
/// Guarding on the current state keeps a late worker from overwriting a cancel.
pub fn transition(
    conn: &mut DbConnection,
    portal: PortalId,
    id: i64,
    from: &[&str],
    to: &str,
    reason: Option<&str>,
) -> Result<bool, DbError> {
    let n = diesel::update(
        imports::table
            .filter(imports::id.eq(id))
            .filter(imports::portal_id.eq(portal.0))
            .filter(imports::state.eq_any(from)),
    )
    .set((
        imports::state.eq(to),
        imports::updated_at.eq(now()),
        imports::failure_reason.eq(reason),
    ))
    .execute(conn)?;
    Ok(n > 0)
}

pub fn set_counters(
    conn: &mut DbConnection,
    portal: PortalId,
    id: i64,
    counters_json: &str,
) -> Result<(), DbError> {
    diesel::update(
        imports::table
            .filter(imports::id.eq(id))
            .filter(imports::portal_id.eq(portal.0)),
    )
    .set((
        imports::counters.eq(counters_json),
        imports::updated_at.eq(now()),
    ))
    .execute(conn)?;
    Ok(())
}

/// Imports per state across all portals: an operator's gauge for `/metrics`, not portal data.
pub fn count_by_state(conn: &mut DbConnection) -> Result<Vec<(String, i64)>, DbError> {
    Ok(imports::table
        .group_by(imports::state)
        .select((imports::state, diesel::dsl::count_star()))
        .order(imports::state)
        .load(conn)?)
}

/// Rows of the portal's imports created since `since` (the rolling daily cap).
pub fn rows_since(
    conn: &mut DbConnection,
    portal: PortalId,
    since: chrono::NaiveDateTime,
) -> Result<i64, DbError> {
    #[derive(diesel::QueryableByName)]
    struct Total {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        total: i64,
    }
    // SUM over BIGINT is NUMERIC on PostgreSQL; the cast keeps one type on both backends.
    let q = "SELECT CAST(COALESCE(SUM(row_count), 0) AS BIGINT) AS total FROM imports WHERE portal_id = ? AND created_at > ?";
    let rows: Vec<Total> = super::sql::load(
        conn,
        q,
        vec![super::sql::Val::I64(portal.0), super::sql::Val::Ts(since)],
    )?;
    Ok(rows.first().map_or(0, |t| t.total))
}

//! Stored row errors of imports (`GET /crm/v3/imports/{id}/errors`).

use super::schema::import_errors;
use super::{DbConnection, DbError};
use crate::crm::PortalId;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = import_errors)]
pub struct ImportErrorRow {
    pub id: i64,
    pub import_id: i64,
    pub portal_id: i64,
    pub file_id: i64,
    pub line_number: i64,
    pub error_type: String,
    pub message: String,
    pub object_type_id: Option<String>,
    pub column_number: Option<i32>,
    pub invalid_value: Option<String>,
    pub row_data: String,
    pub created_at: chrono::NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = import_errors)]
#[diesel(treat_none_as_default_value = false)]
pub struct NewImportError {
    pub import_id: i64,
    pub portal_id: i64,
    pub file_id: i64,
    pub line_number: i64,
    pub error_type: String,
    pub message: String,
    pub object_type_id: Option<String>,
    pub column_number: Option<i32>,
    pub invalid_value: Option<String>,
    pub row_data: String,
    pub created_at: chrono::NaiveDateTime,
}

/// Multi-row inserts, sized to stay under SQLite's bind-parameter limit.
pub fn insert(conn: &mut DbConnection, rows: &[NewImportError]) -> Result<(), DbError> {
    for chunk in rows.chunks(1000) {
        crate::db_run!(&mut *conn, c => diesel::insert_into(import_errors::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}

/// Oldest first, after the id the previous page ended at.
pub fn page(
    conn: &mut DbConnection,
    portal: PortalId,
    import_id: i64,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<ImportErrorRow>, DbError> {
    Ok(import_errors::table
        .filter(import_errors::import_id.eq(import_id))
        .filter(import_errors::portal_id.eq(portal.0))
        .filter(import_errors::id.gt(after.unwrap_or(0)))
        .order(import_errors::id)
        .limit(limit)
        .select(ImportErrorRow::as_select())
        .load(conn)?)
}

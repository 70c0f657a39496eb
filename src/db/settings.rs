//! Process-wide settings kept in the database so that every node agrees on them.

use super::schema::settings;
use super::{DbConnection, DbError};
use diesel::prelude::*;

/// Returns the stored value, storing `init()` first if there is none. Two nodes racing here
/// both end up with the value that was committed first.
pub fn get_or_init(
    conn: &mut DbConnection,
    name: &str,
    init: impl FnOnce() -> String,
) -> Result<String, DbError> {
    if let Some(v) = get(conn, name)? {
        return Ok(v);
    }
    let value = init();
    crate::db_run!(conn, c => diesel::insert_into(settings::table)
        .values((settings::name.eq(name), settings::value.eq(&value)))
        .on_conflict_do_nothing()
        .execute(c))?;
    get(conn, name)?.ok_or_else(|| DbError::Corrupt(format!("setting {name} vanished")))
}

pub fn get(conn: &mut DbConnection, name: &str) -> Result<Option<String>, DbError> {
    Ok(settings::table
        .filter(settings::name.eq(name))
        .select(settings::value)
        .first(conn)
        .optional()?)
}

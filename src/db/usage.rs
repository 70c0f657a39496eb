//! Requests per API key per UTC day, summed over every node: the store behind the global daily
//! rate-limit budget. Nodes add their counts in batches (`http::rate_limit`), never per request.

use super::schema::key_usage;
use super::{DbConnection, DbError};
use diesel::prelude::*;
use diesel::upsert::excluded;

/// Adds `requests` to the key's count for `day` (days since 1970-01-01, UTC).
pub fn add(conn: &mut DbConnection, key_id: i64, day: i64, requests: i64) -> Result<(), DbError> {
    let row = (
        key_usage::api_key_id.eq(key_id),
        key_usage::day.eq(day),
        key_usage::requests.eq(requests),
    );
    crate::db_run!(conn, c => diesel::insert_into(key_usage::table)
        .values(row)
        .on_conflict((key_usage::api_key_id, key_usage::day))
        .do_update()
        .set(key_usage::requests.eq(key_usage::requests + excluded(key_usage::requests)))
        .execute(c))?;
    Ok(())
}

/// `(key id, requests)` on `day` for those of `key_ids` that made any.
pub fn totals(
    conn: &mut DbConnection,
    day: i64,
    key_ids: &[i64],
) -> Result<Vec<(i64, i64)>, DbError> {
    let mut out = Vec::with_capacity(key_ids.len());
    for ids in key_ids.chunks(500) {
        out.extend(
            key_usage::table
                .filter(key_usage::day.eq(day))
                .filter(key_usage::api_key_id.eq_any(ids))
                .select((key_usage::api_key_id, key_usage::requests))
                .load::<(i64, i64)>(conn)?,
        );
    }
    Ok(out)
}

/// Forgets the days before `day`; returns how many rows went.
pub fn prune(conn: &mut DbConnection, day: i64) -> Result<usize, DbError> {
    Ok(diesel::delete(key_usage::table.filter(key_usage::day.lt(day))).execute(conn)?)
}

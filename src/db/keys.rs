//! API keys: the database side of Bearer tokens (a token names its key; revoking the key kills it).

use super::schema::api_keys;
use super::{now, DbConnection, DbError};
use crate::crm::PortalId;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_keys)]
pub struct ApiKey {
    pub id: i64,
    pub portal_id: i64,
    pub name: String,
    pub scopes: String,
    pub created_at: chrono::NaiveDateTime,
    pub revoked_at: Option<chrono::NaiveDateTime>,
    pub rate_per_10s: Option<i32>,
    pub rate_per_day: Option<i32>,
}

/// Per-key overrides of the server's default rate limits.
#[derive(Debug, Clone, Copy, Default)]
pub struct RateOverrides {
    pub per_10s: Option<u32>,
    pub per_day: Option<u32>,
}

impl ApiKey {
    pub fn scope_list(&self) -> Vec<String> {
        self.scopes
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }
}

pub fn create(
    conn: &mut DbConnection,
    portal: PortalId,
    name: &str,
    scopes: &[String],
    limits: RateOverrides,
) -> Result<ApiKey, DbError> {
    let as_i32 = |v: Option<u32>| v.map(|n| i32::try_from(n).unwrap_or(i32::MAX));
    let row = (
        api_keys::portal_id.eq(portal.0),
        api_keys::name.eq(name),
        api_keys::scopes.eq(scopes.join(",")),
        api_keys::created_at.eq(now()),
        api_keys::rate_per_10s.eq(as_i32(limits.per_10s)),
        api_keys::rate_per_day.eq(as_i32(limits.per_day)),
    );
    Ok(
        crate::db_run!(conn, c => diesel::insert_into(api_keys::table)
        .values(row)
        .returning(ApiKey::as_returning())
        .get_result(c))?,
    )
}

pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<ApiKey>, DbError> {
    Ok(api_keys::table
        .find(id)
        .select(ApiKey::as_select())
        .first(conn)
        .optional()?)
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<ApiKey>, DbError> {
    Ok(api_keys::table
        .order(api_keys::id)
        .select(ApiKey::as_select())
        .load(conn)?)
}

/// Returns false when no live key has that id.
pub fn revoke(conn: &mut DbConnection, id: i64) -> Result<bool, DbError> {
    let n = diesel::update(
        api_keys::table
            .filter(api_keys::id.eq(id))
            .filter(api_keys::revoked_at.is_null()),
    )
    .set(api_keys::revoked_at.eq(now()))
    .execute(conn)?;
    Ok(n > 0)
}

/// `(id, name)` of the portal's keys among `ids` (revoked ones included: history stays readable).
pub fn names(
    conn: &mut DbConnection,
    portal: PortalId,
    ids: &[i64],
) -> Result<Vec<(i64, String)>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(api_keys::table
        .filter(api_keys::id.eq_any(ids))
        .filter(api_keys::portal_id.eq(portal.0))
        .select((api_keys::id, api_keys::name))
        .load(conn)?)
}

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
) -> Result<ApiKey, DbError> {
    let row = (
        api_keys::portal_id.eq(portal.0),
        api_keys::name.eq(name),
        api_keys::scopes.eq(scopes.join(",")),
        api_keys::created_at.eq(now()),
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

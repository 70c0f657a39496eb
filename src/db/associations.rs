//! Associations between records, stored in both directions.

use super::schema::associations;
use super::{now, DbConnection, DbError};
use crate::crm::{associations as types, ObjectType, PortalId};
use diesel::prelude::*;

/// One direction of an association; `insert` adds its inverse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Association {
    pub from: (ObjectType, i64),
    pub to: (ObjectType, i64),
    pub type_id: i32,
}

#[derive(Insertable)]
#[diesel(table_name = associations)]
#[diesel(treat_none_as_default_value = false)]
struct NewRow<'a> {
    portal_id: i64,
    from_type: &'a str,
    from_id: i64,
    to_type: &'a str,
    to_id: i64,
    type_id: i32,
    created_at: chrono::NaiveDateTime,
}

/// Adds each association and its inverse; existing ones are left as they are.
pub fn insert(
    conn: &mut DbConnection,
    portal: PortalId,
    list: &[Association],
) -> Result<(), DbError> {
    let t = now();
    let mut rows = Vec::with_capacity(list.len() * 2);
    for a in list {
        rows.push(NewRow {
            portal_id: portal.0,
            from_type: a.from.0.type_id(),
            from_id: a.from.1,
            to_type: a.to.0.type_id(),
            to_id: a.to.1,
            type_id: a.type_id,
            created_at: t,
        });
        if let Some(inverse) = types::inverse(a.type_id) {
            rows.push(NewRow {
                portal_id: portal.0,
                from_type: a.to.0.type_id(),
                from_id: a.to.1,
                to_type: a.from.0.type_id(),
                to_id: a.from.1,
                type_id: inverse,
                created_at: t,
            });
        }
    }
    for chunk in rows.chunks(1000) {
        crate::db_run!(&mut *conn, c => diesel::insert_into(associations::table)
            .values(chunk)
            .on_conflict_do_nothing()
            .execute(c))?;
    }
    Ok(())
}

/// `(from id, to id, type id)` of every association from `ids` to objects of type `to`.
pub fn from_records(
    conn: &mut DbConnection,
    portal: PortalId,
    from: ObjectType,
    ids: &[i64],
    to: ObjectType,
) -> Result<Vec<(i64, i64, i32)>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(associations::table
        .filter(associations::portal_id.eq(portal.0))
        .filter(associations::from_type.eq(from.type_id()))
        .filter(associations::from_id.eq_any(ids))
        .filter(associations::to_type.eq(to.type_id()))
        .order((
            associations::from_id,
            associations::to_id,
            associations::type_id,
        ))
        .select((
            associations::from_id,
            associations::to_id,
            associations::type_id,
        ))
        .load(conn)?)
}

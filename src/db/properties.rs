//! Custom property definitions per portal (HubSpot's defaults are in `crm::properties`).

use super::schema::properties;
use super::{now, DbConnection, DbError};
use crate::crm::properties::PropertyDef;
use crate::crm::{ObjectType, PortalId};
use diesel::prelude::*;

fn decode(json: &str) -> Result<PropertyDef, DbError> {
    serde_json::from_str(json).map_err(|e| DbError::Corrupt(format!("property definition: {e}")))
}

/// Custom properties of one object type, oldest first.
pub fn list(
    conn: &mut DbConnection,
    portal: PortalId,
    ot: ObjectType,
) -> Result<Vec<PropertyDef>, DbError> {
    let rows: Vec<String> = properties::table
        .filter(properties::portal_id.eq(portal.0))
        .filter(properties::object_type.eq(ot.type_id()))
        .order(properties::id)
        .select(properties::definition)
        .load(conn)?;
    rows.iter().map(|j| decode(j)).collect()
}

pub fn get(
    conn: &mut DbConnection,
    portal: PortalId,
    ot: ObjectType,
    name: &str,
) -> Result<Option<PropertyDef>, DbError> {
    let row: Option<String> = properties::table
        .filter(properties::portal_id.eq(portal.0))
        .filter(properties::object_type.eq(ot.type_id()))
        .filter(properties::name.eq(name))
        .select(properties::definition)
        .first(conn)
        .optional()?;
    row.as_deref().map(decode).transpose()
}

/// Stores a new definition; false when the name is taken.
pub fn insert(
    conn: &mut DbConnection,
    portal: PortalId,
    ot: ObjectType,
    def: &PropertyDef,
) -> Result<bool, DbError> {
    let t = now();
    let json = serde_json::to_string(def).map_err(|e| DbError::Corrupt(e.to_string()))?;
    let n = crate::db_run!(conn, c => diesel::insert_into(properties::table)
        .values((
            properties::portal_id.eq(portal.0),
            properties::object_type.eq(ot.type_id()),
            properties::name.eq(&def.name),
            properties::definition.eq(&json),
            properties::created_at.eq(t),
            properties::updated_at.eq(t),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(n == 1)
}

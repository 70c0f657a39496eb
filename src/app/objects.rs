//! Reading CRM records back: the objects API's list and read-by-id.

use crate::crm::{ObjectType, PortalId};
use crate::db::records::StoredRecord;
use crate::db::{self, Db};
use crate::error::ApiError;
use crate::import::coerce::normalize_key;
use std::collections::BTreeMap;

/// Ascending ids. Returns the page and the cursor of the next one.
pub fn list(
    db: &Db,
    portal: PortalId,
    ot: ObjectType,
    after: Option<i64>,
    limit: i64,
) -> Result<(Vec<StoredRecord>, Option<i64>), ApiError> {
    let mut conn = db.conn()?;
    let mut rows = db::records::page(&mut conn, portal, ot, after, limit + 1)?;
    let next = (rows.len() as i64 > limit).then(|| {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.id)
    });
    Ok((rows, next.flatten()))
}

/// By record id, or by a unique property (`idProperty=email` / `domain` / `hs_object_id`).
pub fn get(
    db: &Db,
    portal: PortalId,
    ot: ObjectType,
    id: &str,
    id_property: Option<&str>,
) -> Result<StoredRecord, ApiError> {
    let not_found = || ApiError::not_found(id);
    let mut conn = db.conn()?;
    let found = match id_property {
        None | Some("hs_object_id") => match id.trim().parse::<i64>() {
            Ok(n) => db::records::get(&mut conn, portal, ot, n)?,
            Err(_) => None,
        },
        Some(p) if Some(p) == ot.alternate_key() => {
            match normalize_key(ot, id).and_then(Result::ok) {
                Some(k) => db::records::get_by_key(&mut conn, portal, ot, &k)?,
                None => None,
            }
        }
        Some(p) => {
            return Err(ApiError::validation(format!(
                "idProperty '{p}' is not a unique property of {}; use hs_object_id{}",
                ot.plural(),
                ot.alternate_key()
                    .map(|k| format!(" or {k}"))
                    .unwrap_or_default()
            )))
        }
    };
    found.ok_or_else(not_found)
}

/// Per record id: `(to type, to id, association type id)` for each requested target type.
pub type Linked = BTreeMap<i64, Vec<(ObjectType, i64, i32)>>;

pub fn associations(
    db: &Db,
    portal: PortalId,
    ot: ObjectType,
    ids: &[i64],
    to: &[ObjectType],
) -> Result<Linked, ApiError> {
    let mut conn = db.conn()?;
    let mut out = Linked::new();
    for &target in to {
        for (from, to_id, type_id) in
            db::associations::from_records(&mut conn, portal, ot, ids, target)?
        {
            out.entry(from).or_default().push((target, to_id, type_id));
        }
    }
    Ok(out)
}

/// One record's associations to `to` (v4), after checking the record exists in this portal.
pub fn associations_of(
    db: &Db,
    portal: PortalId,
    ot: ObjectType,
    id: i64,
    to: ObjectType,
) -> Result<Vec<(i64, i32)>, ApiError> {
    let mut conn = db.conn()?;
    db::records::get(&mut conn, portal, ot, id)?
        .ok_or_else(|| ApiError::not_found(id.to_string()))?;
    Ok(
        db::associations::from_records(&mut conn, portal, ot, &[id], to)?
            .into_iter()
            .map(|(_, t, ty)| (t, ty))
            .collect(),
    )
}

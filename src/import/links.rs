//! Associations a batch asks for: the records of one row with each other (contact↔company,
//! deal↔contact, deal↔company), and each `Link` (a two-file import's common column, a legacy
//! record-id column) with the stored record it names.

use super::apply::{Existing, PlannedAssociation, RecordRef, RowRecords};
use super::mapping::{LinkTarget, MappedRow};
use super::row_error::{ErrorType, RowError};
use crate::crm::{associations, ObjectType};
use foldhash::{HashMap, HashSet, HashSetExt};
use std::collections::BTreeMap;

/// `row_refs[i]` holds what row i's drafts became; `existing` the stored records the batch
/// loaded, link targets included. Unresolvable links become row errors.
pub fn plan(
    rows: &[MappedRow],
    row_refs: &[RowRecords],
    existing: &BTreeMap<ObjectType, Vec<Existing>>,
    errors: &mut Vec<(usize, RowError)>,
) -> Vec<PlannedAssociation> {
    let mut out = Vec::new();
    // Most batches link nothing: one object per row, no link columns.
    let links = rows
        .iter()
        .any(|r| r.drafts.iter().any(|d| !d.links.is_empty()));
    if !links && row_refs.iter().all(|r| r.iter().nth(1).is_none()) {
        return out;
    }
    let mut seen = HashSet::new();
    let mut push =
        |from: (ObjectType, RecordRef), to: (ObjectType, RecordRef), type_id: Option<i32>| {
            if let Some(type_id) = associations::resolve(from.0, to.0, type_id) {
                if seen.insert((from, to, type_id)) {
                    out.push(PlannedAssociation { from, to, type_id });
                }
            }
        };
    // Stored records by key and id, so resolving a link does not scan the batch's records.
    let by_key: HashMap<(ObjectType, &str), i64> = existing
        .iter()
        .flat_map(|(ot, v)| {
            v.iter()
                .filter_map(|e| Some(((*ot, e.key.as_deref()?), e.id)))
        })
        .collect();
    let ids: HashSet<(ObjectType, i64)> = existing
        .iter()
        .flat_map(|(ot, v)| v.iter().map(|e| (*ot, e.id)))
        .collect();
    for (i, refs) in row_refs.iter().enumerate() {
        for (a, first) in refs.iter().enumerate() {
            for second in refs.iter().skip(a + 1) {
                push(first, second, None);
            }
        }
        for draft in &rows[i].drafts {
            let Some(from) = refs.get(draft.object_type).map(|r| (draft.object_type, r)) else {
                continue; // the draft itself failed; its row already has an error
            };
            for link in &draft.links {
                let found = match &link.target {
                    LinkTarget::Key(k) => by_key.get(&(link.to, k.as_str())).copied(),
                    LinkTarget::Id(id) => ids.contains(&(link.to, *id)).then_some(*id),
                };
                match found {
                    Some(id) => push(from, (link.to, RecordRef::Stored(id)), link.type_id),
                    None => {
                        let (error_type, what) = match &link.target {
                            LinkTarget::Key(k) => (
                                ErrorType::NoObjectIdFromAssociationIdentifier,
                                format!("'{k}'"),
                            ),
                            LinkTarget::Id(id) => (
                                ErrorType::UnknownAssociationRecordId,
                                format!("record id {id}"),
                            ),
                        };
                        let raw = rows[i].cells.get(link.column).unwrap_or_default();
                        errors.push((
                            i,
                            RowError::new(
                                error_type,
                                format!("No {} with {what} to associate with", link.to.singular()),
                            )
                            .object(draft.object_type)
                            .cell(link.column, raw),
                        ));
                    }
                }
            }
        }
    }
    out
}

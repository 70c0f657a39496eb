//! Decides what a batch of mapped rows does to the stored records: which drafts create, which
//! update (merging values in file order), and which become row errors under the import's
//! operation (CREATE / UPDATE / UPSERT). Pure: the worker loads `Existing` and writes the result.

pub use super::identity::aliases_of;
use super::identity::{add_aliases, claim_unique};
use super::mapping::{MappedRow, RecordDraft};
use super::request::Operation;
use super::row_error::{ErrorType, RowError};
use crate::crm::properties::lifecycle_rank;
use crate::crm::ObjectType;
use foldhash::{HashMap, HashSet, HashSetExt};
use std::borrow::Cow;
use std::collections::BTreeMap;

mod json;
pub use json::{add_derived, changes_nothing, from_stored, from_stored_named, to_stored};

pub use super::properties::{Name, Properties};

/// A stored record as the engine needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Existing {
    pub id: i64,
    pub key: Option<String>,
    pub properties: Properties,
    pub created_by_import: Option<i64>,
    /// `properties` as stored, when loaded: written back as it is if no row changes them.
    pub json: Option<String>,
    /// The batch's only draft for this record sets just the values it has
    /// (`changes_nothing`), so planning needs none of them and `properties` was left empty.
    /// Only for a batch of keys alone, of an object type without unique properties, and a record
    /// without secondary emails: planning reads no stored value for those.
    pub unchanged: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Insert {
    pub key: Option<String>,
    pub properties: Properties,
    /// The record's stored JSON when the thread ahead of the writer could already write it (see
    /// `prepare_creation`). None once a later row changed the record.
    pub json: Option<String>,
    /// The draft it comes from: row index in the batch, draft index in the row (`restore`).
    pub source: (usize, usize),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    pub id: i64,
    pub key: Option<String>,
    /// Whether a row changed the key.
    pub rekeyed: bool,
    pub properties: Properties,
    /// `properties` as stored when no row changed them (saves writing the JSON again).
    pub json: Option<String>,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct ObjectWrites {
    pub inserts: Vec<Insert>,
    pub updates: Vec<Update>,
}

/// Running totals of an import, stored as HubSpot's `metadata.counters`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    pub total_rows: i64,
    pub created: i64,
    pub updated: i64,
    pub errors: i64,
    pub property_values: i64,
}

impl Counters {
    pub fn add(&mut self, o: &Counters) {
        self.total_rows += o.total_rows;
        self.created += o.created;
        self.updated += o.updated;
        self.errors += o.errors;
        self.property_values += o.property_values;
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "TOTAL_ROWS": self.total_rows,
            "CREATED_OBJECTS": self.created,
            "UPDATED_OBJECTS": self.updated,
            "ERRORS": self.errors,
            "PROPERTY_VALUES_EMITTED": self.property_values,
        })
    }

    pub fn from_json(v: &serde_json::Value) -> Counters {
        let get = |k: &str| v.get(k).and_then(serde_json::Value::as_i64).unwrap_or(0);
        Counters {
            total_rows: get("TOTAL_ROWS"),
            created: get("CREATED_OBJECTS"),
            updated: get("UPDATED_OBJECTS"),
            errors: get("ERRORS"),
            property_values: get("PROPERTY_VALUES_EMITTED"),
        }
    }
}

/// An association to write once the batch's new records have ids (the inverse goes with it).
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedAssociation {
    pub from: (ObjectType, RecordRef),
    pub to: (ObjectType, RecordRef),
    pub type_id: i32,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct BatchPlan {
    pub writes: BTreeMap<ObjectType, ObjectWrites>,
    pub associations: Vec<PlannedAssociation>,
    /// Row index in the batch, and what went wrong there.
    pub errors: Vec<(usize, RowError)>,
    pub counters: Counters,
}

/// Which record a draft ended up as: a stored one, or the n-th insert of its object type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordRef {
    Stored(i64),
    New(usize),
}

/// What one row's drafts became, by object type (a row drafts each at most once); kept inline,
/// where a vector per row was an allocation for every row of a batch.
#[derive(Debug, Clone, Copy, Default)]
pub struct RowRecords([Option<RecordRef>; ObjectType::ALL.len()]);

impl RowRecords {
    fn set(&mut self, ot: ObjectType, r: RecordRef) {
        self.0[ot as usize] = Some(r);
    }

    pub fn get(&self, ot: ObjectType) -> Option<RecordRef> {
        self.0[ot as usize]
    }

    /// In object type order.
    pub fn iter(&self) -> impl Iterator<Item = (ObjectType, RecordRef)> + '_ {
        ObjectType::ALL
            .into_iter()
            .zip(self.0)
            .filter_map(|(ot, r)| Some((ot, r?)))
    }
}

/// Properties a new record must have, per HubSpot's import rules; the deal pipeline and stage
/// default to the default pipeline's first stage. (Its provenance is not a property but the
/// record's `created_by_import`.)
fn complete_for_create(ot: ObjectType, p: &mut Properties) -> Result<(), String> {
    match ot {
        ObjectType::Contact
            if !["email", "firstname", "lastname"]
                .iter()
                .any(|k| p.contains_key(k)) =>
        {
            Err("A new contact needs an email, a first name or a last name".into())
        }
        ObjectType::Company if !p.contains_key("name") && !p.contains_key("domain") => {
            Err("A new company needs a name or a domain".into())
        }
        ObjectType::Deal if !p.contains_key("dealname") => {
            Err("A new deal needs a dealname".into())
        }
        ObjectType::Deal => {
            p.get_or_insert_with("pipeline", || "default".into());
            p.get_or_insert_with("dealstage", || "appointmentscheduled".into());
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Writes, ahead of the writer, the JSON each contact or company draft would create its record
/// with, so the writing thread (the busier one) need not when the draft does create one
/// unchanged; not for drafts known to match a `stored` record.
pub fn prepare_creation(row: &mut MappedRow, stored: impl Fn(&RecordDraft) -> bool) {
    for d in &mut row.drafts {
        let ot = d.object_type;
        // Deals get defaults for a new record; drafts with secondary emails change on planning.
        if ot == ObjectType::Deal || !d.aliases.is_empty() || stored(d) {
            continue;
        }
        if complete_for_create(ot, &mut d.properties).is_err() {
            continue;
        }
        d.creation_json = Some(json::to_stored(ot, &d.properties, d.key.as_deref()));
    }
}

/// Whether `restore` can give the batch back its drafts after `plan_batch` planned it: when every
/// draft either creates its record unchanged from the JSON written ahead of the writer
/// (`prepare_creation`) or matches a `stored` record (an update only reads its draft), and no key
/// repeats.
pub fn restorable(rows: &[MappedRow], stored: impl Fn(&RecordDraft) -> bool) -> bool {
    let drafts = || rows.iter().flat_map(|r| r.drafts.iter());
    if !drafts().all(|d| {
        (d.creation_json.is_some() || stored(d)) && d.aliases.is_empty() && d.unique.is_empty()
    }) {
        return false;
    }
    let mut keys: Vec<(ObjectType, &str)> = drafts()
        .filter_map(|d| d.key.as_deref().map(|k| (d.object_type, k)))
        .collect();
    let n = keys.len();
    keys.sort_unstable();
    keys.dedup();
    keys.len() == n
}

/// Puts back into a `restorable` batch what planning it took from its drafts, so that it can be
/// planned again from the records it does match: a write that assumed its keys new and was
/// refused by the key index, or that found records read ahead changed, then needs no copy of the
/// batch.
pub fn restore(rows: &mut [MappedRow], plan: &mut BatchPlan) {
    for w in plan.writes.values_mut() {
        for insert in &mut w.inserts {
            let (i, j) = insert.source;
            let draft = &mut rows[i].drafts[j];
            draft.properties = std::mem::take(&mut insert.properties);
            draft.creation_json = insert.json.take();
        }
    }
}

/// Plans one batch. `existing` holds the stored records matching the batch's ids and keys; their
/// properties move into the plan's updates (left empty here), their ids and keys stay. So do the
/// properties of the drafts that create records.
pub fn plan_batch(
    rows: &mut [MappedRow],
    import_id: i64,
    operation: impl Fn(ObjectType) -> Operation,
    existing: &mut BTreeMap<ObjectType, Vec<Existing>>,
) -> BatchPlan {
    let mut plan = BatchPlan::default();
    plan.counters.total_rows = rows.len() as i64;
    for (i, row) in rows.iter().enumerate() {
        for e in &row.errors {
            plan.errors.push((i, e.clone()));
        }
    }
    // What each row's drafts became, for the associations between them.
    let mut row_refs: Vec<RowRecords> = vec![RowRecords::default(); rows.len()];
    let object_types: Vec<ObjectType> = {
        let mut v: Vec<_> = rows
            .iter()
            .flat_map(|r| r.drafts.iter().map(|d| d.object_type))
            .collect();
        v.sort();
        v.dedup();
        v
    };
    for ot in object_types {
        let op = operation(ot);
        let stored = existing.get(&ot).map(Vec::as_slice).unwrap_or(&[]);
        // Secondary emails find their contact too; a primary key wins over a secondary one.
        let mut by_key: HashMap<String, RecordRef> = stored
            .iter()
            .flat_map(|e| {
                aliases_of(&e.properties)
                    .into_iter()
                    .map(move |a| (a, RecordRef::Stored(e.id)))
            })
            .collect();
        by_key.extend(
            stored
                .iter()
                .filter_map(|e| e.key.clone().map(|k| (k, RecordRef::Stored(e.id)))),
        );
        // Values of custom unique properties, and which record holds each.
        let unique_props: HashSet<&String> = rows
            .iter()
            .flat_map(|r| r.drafts.iter().filter(|d| d.object_type == ot))
            .flat_map(|d| d.unique.iter().map(|(p, _)| p))
            .collect();
        let mut by_unique: HashMap<(String, String), RecordRef> = stored
            .iter()
            .flat_map(|e| {
                unique_props.iter().filter_map(|p| {
                    e.properties
                        .get(p)
                        .map(|v| (((*p).clone(), v.clone()), RecordRef::Stored(e.id)))
                })
            })
            .collect();
        let mut records: HashMap<i64, Existing> = existing
            .get_mut(&ot)
            .map(|v| v.as_mut_slice())
            .unwrap_or_default()
            .iter_mut()
            .map(|e| {
                let taken = Existing {
                    id: e.id,
                    key: e.key.clone(),
                    properties: std::mem::take(&mut e.properties),
                    created_by_import: e.created_by_import,
                    json: e.json.take(),
                    unchanged: e.unchanged,
                };
                (e.id, taken)
            })
            .collect();
        let mut touched: Vec<i64> = Vec::new();
        let mut touched_set: HashSet<i64> = HashSet::new();
        let mut rekeyed: HashSet<i64> = HashSet::new();
        // Records whose properties a row changed (the others keep their stored JSON).
        let mut changed: HashSet<i64> = HashSet::new();
        let mut writes = ObjectWrites::default();
        let drafts: Vec<(usize, usize)> = rows
            .iter()
            .enumerate()
            .flat_map(|(i, r)| {
                r.drafts
                    .iter()
                    .enumerate()
                    .filter(move |(_, d)| d.object_type == ot)
                    .map(move |(j, _)| (i, j))
            })
            .collect();
        for (i, j) in drafts {
            let draft = &mut rows[i].drafts[j];
            let fail = |plan: &mut BatchPlan, t: ErrorType, m: String| {
                plan.errors.push((i, RowError::new(t, m).object(ot)))
            };
            let slot = match (draft.id, &draft.key) {
                (Some(id), _) => match records.contains_key(&id) {
                    true => Some(RecordRef::Stored(id)),
                    false => {
                        fail(
                            &mut plan,
                            ErrorType::InvalidObjectId,
                            format!("No {} with record id {id}", ot.singular()),
                        );
                        continue;
                    }
                },
                (None, Some(k)) => by_key.get(k).copied(),
                (None, None) => draft.unique.iter().find_map(|u| by_unique.get(u).copied()),
            };
            match slot {
                None if op == Operation::Update => fail(
                    &mut plan,
                    ErrorType::UpdateOnlyImport,
                    format!(
                        "No existing {} matches this row and the import only updates",
                        ot.singular()
                    ),
                ),
                None => {
                    let new = RecordRef::New(writes.inserts.len());
                    // The draft's own properties, unless a unique value had to go.
                    let claimed =
                        match claim_unique(draft, new, &mut by_unique, &mut plan.errors, i) {
                            Cow::Owned(claimed) => Some(claimed.properties),
                            Cow::Borrowed(_) => None,
                        };
                    let (own, json) = match claimed {
                        Some(own) => (own, None),
                        None => (
                            std::mem::take(&mut draft.properties),
                            draft.creation_json.take(),
                        ),
                    };
                    let own_count = own.len() as i64;
                    let json = json.filter(|_| draft.aliases.is_empty());
                    // Written JSON was checked complete.
                    let mut props = own;
                    if json.is_none() {
                        if let Err(m) = complete_for_create(ot, &mut props) {
                            fail(&mut plan, ErrorType::MissingRequiredProperty, m);
                            continue;
                        }
                    }
                    plan.counters.property_values += own_count;
                    if let Some(k) = &draft.key {
                        by_key.insert(k.clone(), new);
                    }
                    for e in add_aliases(
                        &mut props,
                        draft.key.as_ref(),
                        &draft.aliases,
                        new,
                        &mut by_key,
                    ) {
                        plan.errors.push((i, e.object(ot)));
                    }
                    row_refs[i].set(ot, new);
                    writes.inserts.push(Insert {
                        key: draft.key.clone(),
                        properties: props,
                        json,
                        source: (i, j),
                    });
                    plan.counters.created += 1;
                }
                Some(RecordRef::New(ix)) => {
                    let draft = &claim_unique(
                        draft,
                        RecordRef::New(ix),
                        &mut by_unique,
                        &mut plan.errors,
                        i,
                    );
                    let key = writes.inserts[ix].key.clone();
                    writes.inserts[ix].json = None;
                    let merged = &mut writes.inserts[ix].properties;
                    merge(merged, draft, key.as_ref());
                    for e in add_aliases(
                        merged,
                        key.as_ref(),
                        &draft.aliases,
                        RecordRef::New(ix),
                        &mut by_key,
                    ) {
                        plan.errors.push((i, e.object(ot)));
                    }
                    row_refs[i].set(ot, RecordRef::New(ix));
                    plan.counters.property_values += draft.properties.len() as i64;
                    plan.counters.updated += 1;
                }
                Some(RecordRef::Stored(id)) => {
                    let rec = records
                        .get_mut(&id)
                        .expect("slot points at a loaded record");
                    if op == Operation::Create && rec.created_by_import != Some(import_id) {
                        fail(
                            &mut plan,
                            ErrorType::CreateOnlyImport,
                            format!(
                                "{} {id} already exists and the import only creates",
                                ot.singular()
                            ),
                        );
                        continue;
                    }
                    let draft = &claim_unique(
                        draft,
                        RecordRef::Stored(id),
                        &mut by_unique,
                        &mut plan.errors,
                        i,
                    );
                    // Matched through a secondary email: the contact keeps its primary one.
                    let via_alias = draft.key.as_ref().is_some_and(|k| {
                        rec.key.as_ref() != Some(k) && aliases_of(&rec.properties).contains(k)
                    });
                    if let (Some(k), false) = (&draft.key, via_alias) {
                        if rec.key.as_ref() != Some(k) {
                            if by_key.contains_key(k) {
                                fail(
                                    &mut plan,
                                    ErrorType::DuplicateAlternateId,
                                    format!(
                                        "Another {} already has {} '{k}'",
                                        ot.singular(),
                                        ot.alternate_key().unwrap_or("key")
                                    ),
                                );
                                continue;
                            }
                            if let Some(old) = rec.key.take() {
                                by_key.remove(&old);
                            }
                            by_key.insert(k.clone(), RecordRef::Stored(id));
                            rec.key = Some(k.clone());
                            rekeyed.insert(id);
                        }
                    }
                    debug_assert!(
                        !(rec.unchanged && touched_set.contains(&id)),
                        "an unchanged record has one draft"
                    );
                    if !rec.unchanged
                        && (merge(&mut rec.properties, draft, rec.key.as_ref())
                            || !draft.aliases.is_empty())
                    {
                        changed.insert(id);
                    }
                    for e in add_aliases(
                        &mut rec.properties,
                        rec.key.as_ref(),
                        &draft.aliases,
                        RecordRef::Stored(id),
                        &mut by_key,
                    ) {
                        plan.errors.push((i, e.object(ot)));
                    }
                    if touched_set.insert(id) {
                        touched.push(id);
                    }
                    row_refs[i].set(ot, RecordRef::Stored(id));
                    plan.counters.property_values += draft.properties.len() as i64;
                    plan.counters.updated += 1;
                }
            }
        }
        for id in touched {
            let rec = records.remove(&id).expect("touched records are loaded");
            writes.updates.push(Update {
                id,
                key: rec.key,
                rekeyed: rekeyed.contains(&id),
                properties: rec.properties,
                json: rec.json.filter(|_| !changed.contains(&id)),
            });
        }
        plan.writes.insert(ot, writes);
    }
    plan.associations = super::links::plan(rows, &row_refs, existing, &mut plan.errors);
    // Row errors are reported in file order, whichever step found them.
    plan.errors.sort_by_key(|(i, _)| *i);
    plan.counters.errors = plan.errors.len() as i64;
    plan
}

/// Later non-blank values win; drafts never carry blanks, so nothing is cleared. The lifecycle
/// stage only moves forward (HubSpot's rule for imports). A draft that matched the record through
/// a secondary email does not replace its `primary` one.
fn merge(into: &mut Properties, draft: &RecordDraft, primary: Option<&String>) -> bool {
    let keep_primary = draft.key.is_some() && draft.key.as_ref() != primary;
    let mut changed = false;
    let mut added: Vec<(&Name, &String)> = Vec::new();
    // Both maps are sorted: one walk over the two finds each stored value, where a lookup per
    // property (a tree descent of string comparisons) was a tenth of a re-import's writing thread.
    let mut stored = into.iter_mut().peekable();
    for (k, v) in &draft.properties {
        if keep_primary && k == "email" {
            continue;
        }
        // Names read with the drafts' own (`from_stored_named`) are equal by address.
        while stored
            .next_if(|(s, _)| *s != k && s.as_str() < k.as_str())
            .is_some()
        {}
        let old = match stored.peek_mut() {
            Some((s, old)) if *s == k => Some(old),
            _ => None,
        };
        if k == "lifecyclestage" {
            let rank = old.as_ref().and_then(|s| lifecycle_rank(s));
            if matches!((rank, lifecycle_rank(v)), (Some(o), Some(n)) if n < o) {
                continue;
            }
        }
        match old {
            Some(old) if **old == *v => {}
            Some(old) => {
                old.clone_from(v);
                changed = true;
            }
            None => added.push((k, v)),
        }
    }
    drop(stored);
    changed |= !added.is_empty();
    for (k, v) in added {
        into.insert(k.clone(), v.clone());
    }
    changed
}

#[cfg(test)]
mod tests;

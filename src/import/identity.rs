//! How a draft is recognised beyond its key: a contact's secondary emails (`hs_additional_emails`)
//! and the values of custom unique properties, each owned by exactly one record.

use super::apply::{Properties, RecordRef};
use super::mapping::{RecordDraft, ADDITIONAL_EMAILS};
use super::row_error::{ErrorType, RowError};
use foldhash::HashMap;
use std::borrow::Cow;

/// Claims the draft's unique values for `owner`; a value another record holds is refused with
/// `DUPLICATE_UNIQUE_PROPERTY_VALUE` and left out of the draft.
pub(super) fn claim_unique<'a>(
    draft: &'a RecordDraft,
    owner: RecordRef,
    by_unique: &mut HashMap<(String, String), RecordRef>,
    errors: &mut Vec<(usize, RowError)>,
    row: usize,
) -> Cow<'a, RecordDraft> {
    if draft.unique.is_empty() {
        return Cow::Borrowed(draft);
    }
    let mut d = draft.clone();
    for pair in &draft.unique {
        match by_unique.get(pair) {
            Some(other) if *other != owner => {
                errors.push((
                    row,
                    RowError::new(
                        ErrorType::DuplicateUniquePropertyValue,
                        format!(
                            "Another {} already has {} '{}'",
                            draft.object_type.singular(),
                            pair.0,
                            pair.1
                        ),
                    )
                    .object(draft.object_type),
                ));
                d.properties.remove(&pair.0);
                d.unique.retain(|u| u != pair);
            }
            _ => {
                by_unique.insert(pair.clone(), owner);
            }
        }
    }
    Cow::Owned(d)
}

/// A record's secondary emails, from its `hs_additional_emails`.
pub fn aliases_of(p: &Properties) -> Vec<String> {
    p.get(ADDITIONAL_EMAILS)
        .map(|s| {
            s.split(';')
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Adds secondary emails to a contact (union, `;`-separated); an address that belongs to
/// another contact is refused with `SECONDARY_EMAIL_WRITE_FAILURE`.
pub(super) fn add_aliases(
    props: &mut Properties,
    primary: Option<&String>,
    new: &[String],
    owner: RecordRef,
    by_key: &mut HashMap<String, RecordRef>,
) -> Vec<RowError> {
    let mut errors = Vec::new();
    if new.is_empty() {
        return errors;
    }
    let mut all = aliases_of(props);
    for a in new {
        if Some(a) == primary || all.contains(a) {
            continue;
        }
        match by_key.get(a) {
            Some(other) if *other != owner => errors.push(RowError::new(
                ErrorType::SecondaryEmailWriteFailure,
                format!("'{a}' already belongs to another contact"),
            )),
            _ => {
                by_key.insert(a.clone(), owner);
                all.push(a.clone());
            }
        }
    }
    props.insert(ADDITIONAL_EMAILS, all.join(";"));
    errors
}

//! Where a file row becomes record drafts: columns are matched to the header, each cell is
//! coerced by its property's type, and one `RecordDraft` per object type comes out, keyed by
//! record id or alternate key (email, domain) when the row has one.

use super::coerce::{coerce_value, DateFormat};
use super::request::{ColumnType, FileSpec};
use super::row_error::{ErrorType, RowError};
use super::source::Row;
use crate::crm::properties::{default_property, PropertyDef};
use crate::crm::ObjectType;
use std::collections::BTreeMap;

/// The properties a portal knows: HubSpot's defaults plus the portal's custom properties.
#[derive(Debug, Default, Clone)]
pub struct Catalogue {
    custom: Vec<(ObjectType, PropertyDef)>,
}

impl Catalogue {
    pub fn with_custom(custom: Vec<(ObjectType, PropertyDef)>) -> Catalogue {
        Catalogue { custom }
    }

    pub fn lookup(&self, ot: ObjectType, name: &str) -> Option<PropertyDef> {
        default_property(ot, name).cloned().or_else(|| {
            self.custom
                .iter()
                .find(|(t, d)| *t == ot && d.name == name)
                .map(|(_, d)| d.clone())
        })
    }
}

/// What one object of one row asks to write.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordDraft {
    pub object_type: ObjectType,
    /// `hs_object_id` from a record-id column.
    pub id: Option<i64>,
    /// Normalised alternate key (email for contacts, domain for companies).
    pub key: Option<String>,
    /// Coerced, non-blank values only: a blank cell never clears a stored value.
    pub properties: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MappedRow {
    pub line: u64,
    pub cells: Vec<String>,
    pub drafts: Vec<RecordDraft>,
    pub errors: Vec<RowError>,
}

#[derive(Debug, Clone)]
enum Target {
    Property(PropertyDef),
    ObjectId,
    Unknown(String),
}

#[derive(Debug, Clone)]
struct PlannedColumn {
    index: usize,
    object_type: ObjectType,
    target: Target,
}

/// How to read every row of one file, fixed once its header is known.
#[derive(Debug, Clone)]
pub struct FilePlan {
    columns: Vec<PlannedColumn>,
    width: Option<usize>,
    date_format: DateFormat,
    object_types: Vec<ObjectType>,
}

/// Header text compared without case, spaces, `_` or `-`: "First Name" finds `firstname`.
fn loose(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

impl FilePlan {
    /// Fails (a file-wide error) when a mapping names a column the file does not have.
    pub fn new(
        spec: &FileSpec,
        header: Option<&[String]>,
        catalogue: &Catalogue,
    ) -> Result<FilePlan, RowError> {
        let by_name: Vec<Option<usize>> = spec
            .columns
            .iter()
            .map(|m| {
                let want = loose(&m.column_name);
                header.and_then(|h| h.iter().position(|c| !want.is_empty() && loose(c) == want))
            })
            .collect();
        let claimed: Vec<usize> = by_name.iter().flatten().copied().collect();
        let mut columns = Vec::new();
        for (i, m) in spec.columns.iter().enumerate() {
            if m.ignored || m.column_type == ColumnType::Unsupported {
                continue;
            }
            // Falling back to position keeps HubSpot's own sample ("First Name" over a `firstname` header) working.
            let index = match by_name[i] {
                Some(ix) => ix,
                None if header.is_none_or(|h| i < h.len() && !claimed.contains(&i)) => i,
                None => {
                    return Err(RowError::new(
                        ErrorType::IncorrectNumberOfColumns,
                        format!(
                            "Column '{}' is mapped but the file has no such column",
                            m.column_name
                        ),
                    ))
                }
            };
            let own_id = m.property_name.as_deref() == Some("hs_object_id")
                || (m.column_type == ColumnType::ObjectId
                    && m.property_name.is_none()
                    && m.to_object_type.is_none()
                    && m.association_type_id.is_none());
            let target = if own_id {
                Target::ObjectId
            } else if let Some(name) = &m.property_name {
                match catalogue.lookup(m.object_type, name) {
                    Some(def) => Target::Property(def),
                    None => Target::Unknown(name.clone()),
                }
            } else {
                // Association-only columns (record-id or common-column links) are not imported yet.
                continue;
            };
            columns.push(PlannedColumn {
                index,
                object_type: m.object_type,
                target,
            });
        }
        let mut object_types: Vec<ObjectType> = columns.iter().map(|c| c.object_type).collect();
        object_types.sort();
        object_types.dedup();
        Ok(FilePlan {
            columns,
            width: header.map(<[String]>::len),
            date_format: spec.date_format,
            object_types,
        })
    }

    pub fn map_row(&self, row: Row) -> MappedRow {
        let mut errors = Vec::new();
        let needed = self
            .width
            .unwrap_or_else(|| self.columns.iter().map(|c| c.index + 1).max().unwrap_or(0));
        let wrong_width = match self.width {
            Some(w) => row.cells.len() != w,
            None => row.cells.len() < needed,
        };
        if wrong_width {
            errors.push(RowError::new(
                ErrorType::IncorrectNumberOfColumns,
                format!(
                    "Line {} has {} columns; the file's header has {needed}",
                    row.line,
                    row.cells.len()
                ),
            ));
            return MappedRow {
                line: row.line,
                cells: row.cells,
                drafts: Vec::new(),
                errors,
            };
        }
        let mut drafts = Vec::new();
        for &ot in &self.object_types {
            let mut draft = RecordDraft {
                object_type: ot,
                id: None,
                key: None,
                properties: BTreeMap::new(),
            };
            let mut unusable = false;
            for col in self.columns.iter().filter(|c| c.object_type == ot) {
                let raw = row.cells[col.index].trim();
                if raw.is_empty() {
                    continue;
                }
                match &col.target {
                    Target::ObjectId => match raw.parse::<i64>() {
                        Ok(id) if id > 0 => draft.id = Some(id),
                        _ => {
                            unusable = true;
                            errors.push(
                                RowError::new(
                                    ErrorType::InvalidObjectId,
                                    format!("'{raw}' is not a record id"),
                                )
                                .object(ot)
                                .cell(col.index, raw),
                            );
                        }
                    },
                    Target::Unknown(name) => errors.push(
                        RowError::new(
                            ErrorType::PropertyDefinitionNotFound,
                            format!("Property '{name}' does not exist on {}", ot.plural()),
                        )
                        .object(ot)
                        .cell(col.index, raw),
                    ),
                    Target::Property(def) => match coerce_value(def, raw, self.date_format) {
                        Ok(Some(v)) => {
                            if ot.alternate_key() == Some(def.name.as_str()) {
                                draft.key = Some(v.clone());
                            }
                            draft.properties.insert(def.name.clone(), v);
                        }
                        Ok(None) => {}
                        Err(e) => {
                            // Without a usable key the row would create a duplicate instead of matching.
                            if ot.alternate_key() == Some(def.name.as_str()) {
                                unusable = true;
                            }
                            errors.push(
                                RowError::new(e.error_type, e.message)
                                    .object(ot)
                                    .cell(col.index, raw),
                            );
                        }
                    },
                }
            }
            if !unusable && (draft.id.is_some() || !draft.properties.is_empty()) {
                drafts.push(draft);
            }
        }
        MappedRow {
            line: row.line,
            cells: row.cells,
            drafts,
            errors,
        }
    }
}

#[cfg(test)]
mod tests;

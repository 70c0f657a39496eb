//! Where a file row becomes record drafts: columns are matched to the header, each cell is
//! coerced by its property's type, and one `RecordDraft` per object type comes out, keyed by
//! record id or alternate key (email, domain) when the row has one.

use super::coerce::{coerce_value, normalize_email, normalize_key, DateFormat};
use super::properties::{Name, Properties};
use super::request::{ColumnType, FileSpec, MAX_COLUMNS};
use super::row_error::{ErrorType, RowError};
use super::source::{Cells, Row};
use crate::crm::associations;
use crate::crm::properties::{default_property, PropertyDef};
use crate::crm::ObjectType;

/// The properties a portal knows: HubSpot's defaults plus the portal's custom properties.
#[derive(Debug, Default, Clone)]
pub struct Catalogue {
    custom: Vec<(ObjectType, PropertyDef)>,
}

impl Catalogue {
    pub fn with_custom(custom: Vec<(ObjectType, PropertyDef)>) -> Catalogue {
        Catalogue { custom }
    }

    /// Custom properties of `ot` whose values are unique.
    pub fn unique_properties(&self, ot: ObjectType) -> Vec<String> {
        self.custom
            .iter()
            .filter(|(t, d)| *t == ot && d.has_unique_value)
            .map(|(_, d)| d.name.clone())
            .collect()
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
    pub properties: Properties,
    /// Other records this one is to be associated with (besides the row's other objects).
    pub links: Vec<Link>,
    /// A contact's secondary emails (normalised), added to `hs_additional_emails`.
    pub aliases: Vec<String>,
    /// Values of custom properties with `hasUniqueValue`: they identify a record like a key.
    pub unique: Vec<(String, String)>,
    /// The JSON this draft creates its record with, when known before planning.
    pub creation_json: Option<String>,
}

/// The contact property holding secondary emails, `;`-separated.
pub const ADDITIONAL_EMAILS: &str = "hs_additional_emails";

/// An association asked for by a cell: the other record's alternate key or record id.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub to: ObjectType,
    pub target: LinkTarget,
    /// `foreignKeyType.associationTypeId`, when the request names one.
    pub type_id: Option<i32>,
    pub column: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LinkTarget {
    Key(String),
    Id(i64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct MappedRow {
    pub line: u64,
    pub cells: Cells,
    pub drafts: Vec<RecordDraft>,
    pub errors: Vec<RowError>,
}

#[derive(Debug, Clone)]
enum Target {
    /// The property, and its name as every draft shares it.
    Property(PropertyDef, Name),
    ObjectId,
    Unknown(String),
    /// Cells hold another object's alternate key (two-file imports' common column).
    LinkByKey {
        to: ObjectType,
        type_id: Option<i32>,
    },
    /// Cells hold other records' ids (the legacy `HUBSPOT_OBJECT_ID` + `foreignKeyType` column).
    LinkById {
        to: ObjectType,
        type_id: Option<i32>,
    },
}

impl Target {
    /// The property a column sets; "" for the others.
    fn property(&self) -> &str {
        match self {
            Target::Property(_, name) => name,
            _ => "",
        }
    }
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
    /// Each object type the columns map, with how many of them set one of its properties.
    object_types: Vec<(ObjectType, usize)>,
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
        if let Some(h) = header.filter(|h| h.len() >= MAX_COLUMNS) {
            return Err(RowError::new(
                ErrorType::IncorrectNumberOfColumns,
                format!(
                    "The file has {} columns; an import file may have at most {}",
                    h.len(),
                    MAX_COLUMNS - 1
                ),
            ));
        }
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
            let type_id = m.association_type_id.and_then(|t| i32::try_from(t).ok());
            let link_to = m
                .to_object_type
                .or_else(|| type_id.and_then(|t| associations::target(m.object_type, t)));
            let target = if own_id {
                Target::ObjectId
            } else if let Some(name) = &m.property_name {
                match catalogue.lookup(m.object_type, name) {
                    Some(def) => {
                        let name = Name::from(&def.name);
                        Target::Property(def, name)
                    }
                    None => Target::Unknown(name.clone()),
                }
            } else if let Some(to) = link_to {
                if m.column_type != ColumnType::ObjectId && to.alternate_key().is_some() {
                    Target::LinkByKey { to, type_id }
                } else {
                    Target::LinkById { to, type_id }
                }
            } else {
                // A column with neither a property nor an association target carries nothing.
                continue;
            };
            columns.push(PlannedColumn {
                index,
                object_type: m.object_type,
                target,
            });
        }
        // A draft's properties are set in name order, so that each one is appended to its
        // `Properties`; `map_row` puts row errors back in column order.
        columns.sort_by(|a, b| {
            (a.object_type, a.target.property()).cmp(&(b.object_type, b.target.property()))
        });
        let mut object_types: Vec<(ObjectType, usize)> = Vec::new();
        for c in &columns {
            let sets = usize::from(!c.target.property().is_empty());
            match object_types.last_mut() {
                Some((ot, n)) if *ot == c.object_type => *n += sets,
                _ => object_types.push((c.object_type, sets)),
            }
        }
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
        for &(ot, properties) in &self.object_types {
            let mut draft = RecordDraft {
                object_type: ot,
                id: None,
                key: None,
                properties: Properties::with_capacity(properties),
                links: Vec::new(),
                aliases: Vec::new(),
                unique: Vec::new(),
                creation_json: None,
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
                    Target::LinkByKey { to, type_id } | Target::LinkById { to, type_id } => {
                        let by_id = matches!(col.target, Target::LinkById { .. });
                        // Several linked records may share one cell, separated by `;`.
                        for part in raw.split(';').map(str::trim).filter(|p| !p.is_empty()) {
                            match link_target(*to, by_id, part) {
                                Ok(target) => draft.links.push(Link {
                                    to: *to,
                                    target,
                                    type_id: *type_id,
                                    column: col.index,
                                }),
                                Err(e) => errors.push(e.object(ot).cell(col.index, part)),
                            }
                        }
                    }
                    Target::Unknown(name) => errors.push(
                        RowError::new(
                            ErrorType::PropertyDefinitionNotFound,
                            format!("Property '{name}' does not exist on {}", ot.plural()),
                        )
                        .object(ot)
                        .cell(col.index, raw),
                    ),
                    Target::Property(def, name)
                        if ot == ObjectType::Contact
                            && (def.name == "email" || def.name == ADDITIONAL_EMAILS) =>
                    {
                        // Several addresses in one cell: the first of an `email` cell is the
                        // contact's email, every other one a secondary email.
                        let primary = def.name == "email";
                        for (n, part) in raw
                            .split([';', ','])
                            .map(str::trim)
                            .filter(|p| !p.is_empty())
                            .enumerate()
                        {
                            match normalize_email(part) {
                                Ok(v) if primary && n == 0 => {
                                    draft.key = Some(v.clone());
                                    draft.properties.insert(name, v);
                                }
                                Ok(v) => {
                                    if !draft.aliases.contains(&v) {
                                        draft.aliases.push(v);
                                    }
                                }
                                Err(e) => {
                                    unusable |= primary && n == 0;
                                    errors.push(
                                        RowError::new(e.error_type, e.message)
                                            .object(ot)
                                            .cell(col.index, part),
                                    );
                                }
                            }
                        }
                    }
                    Target::Property(def, name) => match coerce_value(def, raw, self.date_format) {
                        Ok(Some(v)) => {
                            if ot.alternate_key() == Some(def.name.as_str()) {
                                draft.key = Some(v.clone());
                            }
                            if def.has_unique_value && !def.hubspot_defined {
                                draft.unique.push((def.name.clone(), v.clone()));
                            }
                            draft.properties.insert(name, v);
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
            if !unusable
                && (draft.id.is_some() || !draft.properties.is_empty() || !draft.aliases.is_empty())
            {
                drafts.push(draft);
            }
        }
        if errors.len() > 1 {
            errors.sort_by_key(|e| (e.object_type, e.column));
        }
        MappedRow {
            line: row.line,
            cells: row.cells,
            drafts,
            errors,
        }
    }
}

/// Reads one linked record's key (normalised like the record's own) or id.
fn link_target(to: ObjectType, by_id: bool, raw: &str) -> Result<LinkTarget, RowError> {
    if by_id {
        return match raw.parse::<i64>() {
            Ok(id) if id > 0 => Ok(LinkTarget::Id(id)),
            _ => Err(RowError::new(
                ErrorType::InvalidRecordId,
                format!("'{raw}' is not a {} record id", to.singular()),
            )),
        };
    }
    normalize_key(to, raw)
        .expect("deals have no alternate key; links to them are by id")
        .map(LinkTarget::Key)
        .map_err(|e| RowError::new(e.error_type, e.message))
}

#[cfg(test)]
mod tests;

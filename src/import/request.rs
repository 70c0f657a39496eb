//! The `importRequest` JSON: parsed leniently (nulls, unknown keys, legacy field names) and
//! validated into an `ImportRequest`, every problem reported at once.

use super::coerce::DateFormat;
use crate::crm::ObjectType;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
    Upsert,
}

impl Operation {
    pub fn parse(s: &str) -> Option<Operation> {
        match s.trim().to_ascii_uppercase().as_str() {
            "CREATE" => Some(Operation::Create),
            "UPDATE" => Some(Operation::Update),
            "UPSERT" => Some(Operation::Upsert),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "CREATE",
            Operation::Update => "UPDATE",
            Operation::Upsert => "UPSERT",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Csv,
    Spreadsheet,
}

/// What a column identifies, from `columnType` or its legacy twin `idColumnType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Standard,
    /// `HUBSPOT_OBJECT_ID`: record ids.
    ObjectId,
    /// `HUBSPOT_ALTERNATE_ID`: a unique property such as email or domain.
    AlternateId,
    /// Association labels, same-object keys, marketing-event timestamps: accepted, not imported.
    Unsupported,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ColumnMapping {
    pub column_name: String,
    pub object_type: ObjectType,
    /// `None` for columns that only carry association data.
    pub property_name: Option<String>,
    pub column_type: ColumnType,
    pub ignored: bool,
    pub to_object_type: Option<ObjectType>,
    pub association_identifier: bool,
    pub association_type_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FileSpec {
    pub file_name: String,
    pub format: FileFormat,
    pub date_format: DateFormat,
    pub has_header: bool,
    pub columns: Vec<ColumnMapping>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ImportRequest {
    pub name: String,
    pub operations: BTreeMap<ObjectType, Operation>,
    pub date_format: DateFormat,
    pub files: Vec<FileSpec>,
    /// The request as the client sent it, echoed back in `importRequestJson`.
    pub original: Value,
}

/// One problem with the request; `field` is a JSON path such as `files[0].fileName`.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestProblem {
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct RequestError {
    pub message: String,
    pub problems: Vec<RequestProblem>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawRequest {
    name: Option<String>,
    import_operations: Option<BTreeMap<String, Option<String>>>,
    date_format: Option<String>,
    files: Option<Vec<RawFile>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawFile {
    file_name: Option<String>,
    file_format: Option<String>,
    date_format: Option<String>,
    file_import_page: Option<RawPage>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawPage {
    has_header: Option<bool>,
    column_mappings: Option<Vec<RawMapping>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawMapping {
    column_object_type_id: Option<String>,
    column_object_type: Option<String>,
    column_name: Option<String>,
    property_name: Option<String>,
    column_type: Option<String>,
    id_column_type: Option<String>,
    to_column_object_type_id: Option<String>,
    foreign_key_type: Option<RawForeignKey>,
    association_identifier_column: Option<bool>,
    ignored: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawForeignKey {
    association_type_id: Option<i64>,
}

/// HubSpot's limit: fewer than 1,000 columns per file.
pub const MAX_COLUMNS: usize = 1000;

const SUPPORTED: &str = "0-1 (contacts), 0-2 (companies) or 0-3 (deals)";

/// The first of `candidates` named `name`, else the first so named but for ASCII case: how
/// uploaded files and the request's `files` entries find each other.
pub fn by_file_name<'a, T>(
    candidates: &'a [T],
    name: &str,
    name_of: impl Fn(&T) -> &str,
) -> Option<&'a T> {
    let all = || candidates.iter();
    all()
        .find(|c| name_of(c) == name)
        .or_else(|| all().find(|c| name_of(c).eq_ignore_ascii_case(name)))
}

impl ImportRequest {
    /// Parses and validates the `importRequest` text.
    pub fn parse(text: &str) -> Result<ImportRequest, RequestError> {
        let original: Value = serde_json::from_str(text).map_err(|e| RequestError {
            message: format!("Unable to parse importRequest JSON: {e}"),
            problems: vec![],
        })?;
        if !original.is_object() {
            return Err(RequestError {
                message: "importRequest must be a JSON object".into(),
                problems: vec![],
            });
        }
        let raw: RawRequest =
            serde_json::from_value(original.clone()).map_err(|e| RequestError {
                message: format!("importRequest has a field of the wrong type: {e}"),
                problems: vec![],
            })?;
        let mut problems = Vec::new();
        let mut problem =
            |field: String, message: String| problems.push(RequestProblem { field, message });

        let name = raw.name.unwrap_or_default().trim().to_string();
        let date_format = match raw.date_format.as_deref() {
            None => DateFormat::default(),
            Some(s) => DateFormat::parse(s).unwrap_or_else(|| {
                problem("dateFormat".into(), format!("Unknown dateFormat '{s}'; expected MONTH_DAY_YEAR, DAY_MONTH_YEAR or YEAR_MONTH_DAY"));
                DateFormat::default()
            }),
        };

        let mut operations = BTreeMap::new();
        for (type_id, op) in raw.import_operations.unwrap_or_default() {
            let field = format!("importOperations.{type_id}");
            let Some(ot) = ObjectType::parse(&type_id) else {
                problem(
                    field,
                    format!("Object type '{type_id}' is not supported; use {SUPPORTED}"),
                );
                continue;
            };
            match op.as_deref().and_then(Operation::parse) {
                Some(op) => {
                    operations.insert(ot, op);
                }
                None => problem(
                    field,
                    format!("Unknown import operation {op:?}; expected CREATE, UPDATE or UPSERT"),
                ),
            }
        }

        let raw_files = raw.files.unwrap_or_default();
        if raw_files.is_empty() {
            problem(
                "files".into(),
                "importRequest.files must list at least one file".into(),
            );
        }
        let mut files = Vec::new();
        for (i, f) in raw_files.into_iter().enumerate() {
            let at = |s: &str| format!("files[{i}].{s}");
            let file_name = f.file_name.unwrap_or_default().trim().to_string();
            if file_name.is_empty() {
                problem(at("fileName"), "fileName is required".into());
            } else if file_name.contains(['/', '\\']) || file_name.chars().any(char::is_control) {
                problem(at("fileName"), format!("fileName '{file_name}' must be the uploaded file's base name, without a path"));
            }
            let format = match f
                .file_format
                .as_deref()
                .map(|s| s.trim().to_ascii_uppercase())
            {
                None => FileFormat::Csv,
                Some(s) if s == "CSV" => FileFormat::Csv,
                Some(s) if s == "SPREADSHEET" => FileFormat::Spreadsheet,
                Some(s) => {
                    problem(
                        at("fileFormat"),
                        format!("Unknown fileFormat '{s}'; expected CSV or SPREADSHEET"),
                    );
                    FileFormat::Csv
                }
            };
            let file_date_format = match f.date_format.as_deref() {
                None => date_format,
                Some(s) => DateFormat::parse(s).unwrap_or_else(|| {
                    problem(at("dateFormat"), format!("Unknown dateFormat '{s}'"));
                    date_format
                }),
            };
            let page = f.file_import_page.unwrap_or_default();
            let raw_columns = page.column_mappings.unwrap_or_default();
            if raw_columns.len() >= MAX_COLUMNS {
                problem(
                    at("fileImportPage.columnMappings"),
                    format!(
                        "A file may map at most {} columns, not {}",
                        MAX_COLUMNS - 1,
                        raw_columns.len()
                    ),
                );
                continue;
            }
            if raw_columns.is_empty() {
                problem(
                    at("fileImportPage.columnMappings"),
                    "columnMappings must map at least one column".into(),
                );
            }
            let mut columns = Vec::new();
            for (j, m) in raw_columns.into_iter().enumerate() {
                let at = |s: &str| format!("files[{i}].fileImportPage.columnMappings[{j}].{s}");
                let ignored = m.ignored.unwrap_or(false);
                let type_text = m.column_object_type_id.or(m.column_object_type);
                let object_type = match type_text.as_deref().map(ObjectType::parse) {
                    Some(Some(ot)) => ot,
                    Some(None) if ignored => ObjectType::Contact,
                    Some(None) => {
                        problem(
                            at("columnObjectTypeId"),
                            format!(
                                "Object type '{}' is not supported; use {SUPPORTED}",
                                type_text.unwrap_or_default()
                            ),
                        );
                        continue;
                    }
                    None if ignored => ObjectType::Contact,
                    None => {
                        problem(
                            at("columnObjectTypeId"),
                            "columnObjectTypeId (or the legacy columnObjectType) is required"
                                .into(),
                        );
                        continue;
                    }
                };
                let column_type = match m.column_type.or(m.id_column_type).as_deref().map(str::trim)
                {
                    None | Some("") | Some("STANDARD") => ColumnType::Standard,
                    Some("HUBSPOT_OBJECT_ID") => ColumnType::ObjectId,
                    Some("HUBSPOT_ALTERNATE_ID") | Some("EMAIL") | Some("UNIQUE_PROPERTY") => {
                        ColumnType::AlternateId
                    }
                    Some("FLEXIBLE_ASSOCIATION_LABEL")
                    | Some("ASSOCIATION_KEYS")
                    | Some("EVENT_TIMESTAMP") => ColumnType::Unsupported,
                    Some(other) => {
                        problem(at("columnType"), format!("Unknown columnType '{other}'"));
                        ColumnType::Standard
                    }
                };
                let to_object_type = match m.to_column_object_type_id.as_deref() {
                    None => None,
                    Some(s) => {
                        let t = ObjectType::parse(s);
                        if t.is_none() {
                            problem(
                                at("toColumnObjectTypeId"),
                                format!("Object type '{s}' is not supported; use {SUPPORTED}"),
                            );
                        }
                        t
                    }
                };
                let property_name = m
                    .property_name
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty());
                columns.push(ColumnMapping {
                    column_name: m.column_name.unwrap_or_default(),
                    object_type,
                    property_name,
                    column_type,
                    ignored,
                    to_object_type,
                    association_identifier: m.association_identifier_column.unwrap_or(false),
                    association_type_id: m.foreign_key_type.and_then(|f| f.association_type_id),
                });
            }
            files.push(FileSpec {
                file_name,
                format,
                date_format: file_date_format,
                has_header: page.has_header.unwrap_or(true),
                columns,
            });
        }
        let mut seen = std::collections::HashSet::new();
        for (i, f) in files.iter().enumerate() {
            if !f.file_name.is_empty() && !seen.insert(f.file_name.as_str()) {
                problem(
                    format!("files[{i}].fileName"),
                    format!("fileName '{}' is listed twice", f.file_name),
                );
            }
        }

        if !problems.is_empty() {
            let message = if problems.len() == 1 {
                format!("Invalid importRequest: {}", problems[0].message)
            } else {
                format!(
                    "Invalid importRequest: {} problems, the first: {}",
                    problems.len(),
                    problems[0].message
                )
            };
            return Err(RequestError { message, problems });
        }
        Ok(ImportRequest {
            name,
            operations,
            date_format,
            files,
            original,
        })
    }

    /// The operation for an object type (UPSERT when the request names none).
    pub fn operation(&self, ot: ObjectType) -> Operation {
        self.operations
            .get(&ot)
            .copied()
            .unwrap_or(Operation::Upsert)
    }

    /// The entry of `files` an uploaded file of this name goes with (`by_file_name`).
    pub fn file_named(&self, name: &str) -> Option<&FileSpec> {
        by_file_name(&self.files, name, |f| &f.file_name)
    }

    /// Object types that any imported column writes to, sorted by type id.
    pub fn mapped_object_types(&self) -> Vec<ObjectType> {
        let mut v: Vec<ObjectType> = self
            .files
            .iter()
            .flat_map(|f| {
                f.columns
                    .iter()
                    .filter(|c| !c.ignored)
                    .map(|c| c.object_type)
            })
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// `importRequestJson`: the request as sent, plus `importName` and the defaults applied.
    pub fn echo_json(&self) -> Value {
        let mut v = self.original.clone();
        if let Some(o) = v.as_object_mut() {
            o.insert("importName".into(), json!(self.name));
            o.insert("dateFormat".into(), json!(self.date_format.as_str()));
            let ops: serde_json::Map<String, Value> = self
                .mapped_object_types()
                .into_iter()
                .map(|t| (t.type_id().to_string(), json!(self.operation(t).as_str())))
                .collect();
            o.insert("importOperations".into(), Value::Object(ops));
        }
        v
    }
}

#[cfg(test)]
mod tests;

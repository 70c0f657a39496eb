//! HubSpot's wire shapes (field names and required fields as in the published specs).

use crate::db::errors::ImportErrorRow;
use crate::import::ImportRequest;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// ISO-8601 instant with milliseconds, as HubSpot returns them.
pub fn iso(t: chrono::NaiveDateTime) -> String {
    t.and_utc().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublicImportResponse {
    #[schema(example = "1471")]
    pub id: String,
    #[schema(example = "DONE")]
    pub state: String,
    pub created_at: String,
    pub updated_at: String,
    pub opt_out_import: bool,
    pub import_name: String,
    #[schema(example = "API")]
    pub import_source: &'static str,
    #[schema(example = json!(["0-1"]))]
    pub mapped_object_type_ids: Vec<String>,
    /// The request as sent, plus `importName` and the defaults applied.
    #[schema(value_type = Object)]
    pub import_request_json: Value,
    pub metadata: PublicImportMetadata,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// hubport's addition: the API key that started the import.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_by: Option<StartedBy>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StartedBy {
    pub key_id: String,
    pub key_name: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublicImportMetadata {
    #[schema(value_type = BTreeMap<String, i32>, example = json!({"TOTAL_ROWS": 5, "CREATED_OBJECTS": 4, "UPDATED_OBJECTS": 0, "ERRORS": 1}))]
    pub counters: Value,
    pub file_ids: Vec<String>,
    #[schema(value_type = Vec<Object>)]
    pub object_lists: Vec<Value>,
}

impl PublicImportResponse {
    pub fn new(view: &crate::app::imports::ImportView) -> Self {
        let (row, file_ids) = (&view.row, &view.file_ids);
        let echo = ImportRequest::parse(&row.request_json)
            .map(|r| r.echo_json())
            .unwrap_or_else(|_| serde_json::from_str(&row.request_json).unwrap_or(Value::Null));
        PublicImportResponse {
            id: row.id.to_string(),
            state: row.state.clone(),
            created_at: iso(row.created_at),
            updated_at: iso(row.updated_at),
            opt_out_import: false,
            import_name: row.name.clone(),
            import_source: "API",
            mapped_object_type_ids: row
                .mapped_object_type_ids
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            import_request_json: echo,
            metadata: PublicImportMetadata {
                counters: serde_json::from_str(&row.counters)
                    .unwrap_or_else(|_| Value::Object(Default::default())),
                file_ids: file_ids.iter().map(i64::to_string).collect(),
                object_lists: Vec::new(),
            },
            error_message: row.failure_reason.clone(),
            started_by: view.started_by.as_ref().map(|(id, name)| StartedBy {
                key_id: id.to_string(),
                key_name: name.clone(),
            }),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct NextPage {
    pub after: String,
    pub link: String,
}

#[derive(Serialize, ToSchema)]
#[schema(as = ForwardPaging)]
pub struct Paging {
    pub next: NextPage,
}

/// HubSpot's `{ results, paging? }` collections, one named type each as in its specs; paging
/// only when there is a next page.
macro_rules! collection {
    ($name:ident, $item:ty) => {
        #[derive(Serialize, ToSchema)]
        pub struct $name {
            pub results: Vec<$item>,
            #[serde(skip_serializing_if = "Option::is_none")]
            pub paging: Option<Paging>,
        }
    };
}

collection!(
    CollectionResponsePublicImportResponseForwardPaging,
    PublicImportResponse
);
collection!(
    CollectionResponsePublicImportErrorForwardPaging,
    PublicImportError
);
collection!(
    CollectionResponseSimplePublicObjectWithAssociationsForwardPaging,
    SimplePublicObjectWithAssociations
);

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActionResponse {
    pub status: &'static str,
    pub requested_at: String,
    pub started_at: String,
    pub completed_at: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportRowCore {
    pub file_id: i64,
    pub line_number: i64,
    pub row_data: Vec<String>,
    pub additional_row_data: Vec<String>,
    pub contains_encrypted_properties: bool,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublicImportError {
    pub id: String,
    pub created_at: i64,
    pub error_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_type_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invalid_value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invalid_value_to_display: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub known_column_number: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    pub source_data: ImportRowCore,
}

impl PublicImportError {
    pub fn new(e: &ImportErrorRow, with_message: bool, with_row: bool) -> Self {
        let object_type = e
            .object_type_id
            .as_deref()
            .and_then(crate::crm::ObjectType::parse)
            .map(crate::crm::ObjectType::legacy_name);
        PublicImportError {
            id: e.id.to_string(),
            created_at: e.created_at.and_utc().timestamp_millis(),
            error_type: e.error_type.clone(),
            object_type,
            object_type_id: e.object_type_id.clone(),
            invalid_value: e.invalid_value.clone(),
            invalid_value_to_display: e.invalid_value.clone(),
            known_column_number: e.column_number,
            error_message: with_message.then(|| e.message.clone()),
            source_data: ImportRowCore {
                file_id: e.file_id,
                line_number: e.line_number,
                row_data: if with_row {
                    serde_json::from_str(&e.row_data).unwrap_or_default()
                } else {
                    Vec::new()
                },
                additional_row_data: Vec::new(),
                contains_encrypted_properties: false,
            },
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SimplePublicObjectWithAssociations {
    pub id: String,
    pub properties: BTreeMap<String, Option<String>>,
    pub created_at: String,
    pub updated_at: String,
    pub archived: bool,
    /// Only for the object types named in `associations=`, and only those with any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub associations: Option<BTreeMap<String, CollectionResponseAssociatedId>>,
}

#[derive(Serialize, ToSchema)]
pub struct AssociatedId {
    pub id: String,
    /// e.g. `contact_to_company`.
    #[serde(rename = "type")]
    pub association_type: String,
}

#[derive(Serialize, ToSchema)]
pub struct CollectionResponseAssociatedId {
    pub results: Vec<AssociatedId>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssociationSpecWithLabel {
    pub category: &'static str,
    pub type_id: i32,
    pub label: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MultiAssociatedObjectWithLabel {
    pub to_object_id: i64,
    pub association_types: Vec<AssociationSpecWithLabel>,
}

#[derive(Serialize, ToSchema)]
pub struct CollectionResponseMultiAssociatedObjectWithLabel {
    pub results: Vec<MultiAssociatedObjectWithLabel>,
}

//! The properties API: read the catalogue, create custom properties.

use super::auth::require;
use super::query::Params;
use super::{blocking, AppState};
use crate::app::properties::{self, NewProperty};
use crate::auth::Principal;
use crate::crm::properties::{PropertyDef, PropertyOption};
use crate::crm::ObjectType;
use crate::error::{ApiError, ErrorBody};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OptionView {
    pub label: String,
    pub value: String,
    pub display_order: i32,
    pub hidden: bool,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ModificationMetadata {
    pub archivable: bool,
    pub read_only_definition: bool,
    pub read_only_value: bool,
}

/// HubSpot's `Property`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Property {
    #[schema(example = "favorite_food")]
    pub name: String,
    pub label: String,
    #[serde(rename = "type")]
    #[schema(example = "string")]
    pub property_type: String,
    #[schema(example = "text")]
    pub field_type: String,
    pub group_name: String,
    pub description: String,
    pub options: Vec<OptionView>,
    pub display_order: i32,
    pub has_unique_value: bool,
    pub hidden: bool,
    pub form_field: bool,
    pub calculated: bool,
    pub external_options: bool,
    pub hubspot_defined: bool,
    pub archived: bool,
    pub modification_metadata: ModificationMetadata,
}

impl From<PropertyDef> for Property {
    fn from(d: PropertyDef) -> Property {
        Property {
            options: d
                .options
                .into_iter()
                .map(|o| OptionView {
                    label: o.label,
                    value: o.value,
                    display_order: o.display_order,
                    hidden: o.hidden,
                })
                .collect(),
            property_type: d.property_type.as_str().to_string(),
            form_field: !d.read_only_value,
            modification_metadata: ModificationMetadata {
                archivable: !d.hubspot_defined,
                read_only_definition: d.hubspot_defined,
                read_only_value: d.read_only_value,
            },
            name: d.name,
            label: d.label,
            field_type: d.field_type,
            group_name: d.group_name,
            description: d.description,
            display_order: d.display_order,
            has_unique_value: d.has_unique_value,
            hidden: false,
            calculated: false,
            external_options: false,
            hubspot_defined: d.hubspot_defined,
            archived: false,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CollectionResponsePropertyNoPaging {
    pub results: Vec<Property>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OptionInput {
    pub label: String,
    pub value: String,
    #[serde(default)]
    pub display_order: Option<i32>,
    #[serde(default)]
    pub hidden: Option<bool>,
}

/// HubSpot's `PropertyCreate`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PropertyCreate {
    pub name: String,
    pub label: String,
    #[serde(rename = "type")]
    pub property_type: String,
    pub field_type: String,
    pub group_name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub options: Option<Vec<OptionInput>>,
    #[serde(default)]
    pub has_unique_value: Option<bool>,
    #[serde(default)]
    pub display_order: Option<i32>,
}

fn object_type(raw: &str) -> Result<ObjectType, ApiError> {
    ObjectType::parse(raw)
        .ok_or_else(|| ApiError::validation(format!("Unable to infer object type from: {raw}")))
}

/// Read all properties of an object type.
#[utoipa::path(get, path = "/crm/v3/properties/{objectType}", tag = "Properties", operation_id = "get-/crm/v3/properties/{objectType}_getAll",
    params(
        ("objectType" = String, Path, description = "contacts, companies, deals or 0-1, 0-2, 0-3"),
        ("archived" = Option<bool>, Query, description = "Only archived properties (hubport archives none)"),
    ),
    responses(
        (status = 200, description = "Every property", body = CollectionResponsePropertyNoPaging),
        (status = 400, description = "Unknown object type", body = ErrorBody),
    ),
    security(("oauth2" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let ot = object_type(&path)?;
    require(&who, &format!("crm.schemas.{}.read", ot.plural()))?;
    let archived = Params::parse(req.query_string())?
        .bool("archived")?
        .unwrap_or(false);
    let portal = who.portal;
    let defs = if archived {
        Vec::new()
    } else {
        blocking(&state, move |db| properties::list(db, portal, ot)).await?
    };
    Ok(HttpResponse::Ok().json(CollectionResponsePropertyNoPaging {
        results: defs.into_iter().map(Property::from).collect(),
    }))
}

/// Read one property.
#[utoipa::path(get, path = "/crm/v3/properties/{objectType}/{propertyName}", tag = "Properties", operation_id = "get-/crm/v3/properties/{objectType}/{propertyName}_getByName",
    params(
        ("objectType" = String, Path, description = "contacts, companies, deals or 0-1, 0-2, 0-3"),
        ("propertyName" = String, Path, description = "The property's internal name"),
    ),
    responses(
        (status = 200, description = "The property", body = Property),
        (status = 400, description = "Unknown object type", body = ErrorBody),
        (status = 404, description = "No such property", body = ErrorBody),
    ),
    security(("oauth2" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (type_name, name) = path.into_inner();
    let ot = object_type(&type_name)?;
    require(&who, &format!("crm.schemas.{}.read", ot.plural()))?;
    let portal = who.portal;
    let def = blocking(&state, move |db| properties::get(db, portal, ot, &name)).await?;
    Ok(HttpResponse::Ok().json(Property::from(def)))
}

/// Create a custom property; imports can then write it.
#[utoipa::path(post, path = "/crm/v3/properties/{objectType}", tag = "Properties", operation_id = "post-/crm/v3/properties/{objectType}_create",
    params(("objectType" = String, Path, description = "contacts, companies, deals or 0-1, 0-2, 0-3")),
    request_body = PropertyCreate,
    responses(
        (status = 201, description = "The new property", body = Property),
        (status = 400, description = "Invalid definition", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
    ),
    security(("oauth2" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    body: web::Json<PropertyCreate>,
) -> Result<HttpResponse, ApiError> {
    let ot = object_type(&path)?;
    require(&who, &format!("crm.schemas.{}.write", ot.plural()))?;
    let b = body.into_inner();
    let new = NewProperty {
        name: b.name,
        label: b.label,
        property_type: b.property_type,
        field_type: b.field_type,
        group_name: b.group_name,
        description: b.description,
        options: b
            .options
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, o)| PropertyOption {
                label: o.label,
                value: o.value,
                display_order: o.display_order.unwrap_or(i as i32),
                hidden: o.hidden.unwrap_or(false),
            })
            .collect(),
        has_unique_value: b.has_unique_value.unwrap_or(false),
        display_order: b.display_order,
    };
    let portal = who.portal;
    let def = blocking(&state, move |db| properties::create(db, portal, ot, new)).await?;
    let location = format!("/crm/v3/properties/{}/{}", ot.plural(), def.name);
    Ok(HttpResponse::Created()
        .insert_header(("Location", location))
        .json(Property::from(def)))
}

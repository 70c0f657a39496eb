//! The properties catalogue per portal and object: HubSpot's defaults plus custom properties.

use crate::crm::properties::{
    default_properties, default_property, PropertyDef, PropertyOption, PropertyType,
};
use crate::crm::{ObjectType, PortalId};
use crate::db::{self, Db};
use crate::error::{ApiError, ErrorDetail};

/// What a client asks to create (`PropertyCreate`).
#[derive(Debug, Clone)]
pub struct NewProperty {
    pub name: String,
    pub label: String,
    pub property_type: String,
    pub field_type: String,
    pub group_name: String,
    pub description: Option<String>,
    pub options: Vec<PropertyOption>,
    pub has_unique_value: bool,
    pub display_order: Option<i32>,
}

pub fn list(db: &Db, portal: PortalId, ot: ObjectType) -> Result<Vec<PropertyDef>, ApiError> {
    let mut all = default_properties(ot).to_vec();
    all.extend(db::properties::list(&mut *db.conn()?, portal, ot)?);
    Ok(all)
}

pub fn get(db: &Db, portal: PortalId, ot: ObjectType, name: &str) -> Result<PropertyDef, ApiError> {
    if let Some(d) = default_property(ot, name) {
        return Ok(d.clone());
    }
    db::properties::get(&mut *db.conn()?, portal, ot, name)?.ok_or_else(|| ApiError::NotFound {
        message: format!("Unable to find property {name} on {}", ot.plural()),
        id: Some(name.to_string()),
    })
}

/// `fieldType`s HubSpot allows for each `type`.
fn field_types(t: PropertyType) -> &'static [&'static str] {
    match t {
        PropertyType::Bool => &["booleancheckbox", "calculation_equation"],
        PropertyType::Enumeration => &[
            "booleancheckbox",
            "checkbox",
            "radio",
            "select",
            "calculation_equation",
        ],
        PropertyType::Date | PropertyType::DateTime => &["date"],
        PropertyType::String => &[
            "file",
            "text",
            "textarea",
            "calculation_equation",
            "html",
            "phonenumber",
        ],
        PropertyType::Number => &["number", "calculation_equation"],
        PropertyType::PhoneNumber => &["phonenumber"],
    }
}

fn valid_name(n: &str) -> bool {
    let mut chars = n.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && n.len() <= 100
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

pub fn create(
    db: &Db,
    portal: PortalId,
    ot: ObjectType,
    new: NewProperty,
) -> Result<PropertyDef, ApiError> {
    let mut problems = Vec::new();
    if !valid_name(&new.name) {
        problems.push(ErrorDetail::new(format!(
            "'{}' is not a valid property name: use lower-case letters, digits and _, starting with a letter",
            new.name
        ))
        .in_("name"));
    }
    if new.label.trim().is_empty() {
        problems.push(ErrorDetail::new("label is required").in_("label"));
    }
    if new.group_name.trim().is_empty() {
        problems.push(ErrorDetail::new("groupName is required").in_("groupName"));
    }
    let property_type = PropertyType::parse(&new.property_type);
    match property_type {
        None => problems.push(
            ErrorDetail::new(format!(
                "'{}' is not a property type; use bool, date, datetime, enumeration, number, phone_number or string",
                new.property_type
            ))
            .in_("type"),
        ),
        Some(t) if !field_types(t).contains(&new.field_type.as_str()) => problems.push(
            ErrorDetail::new(format!("fieldType '{}' does not go with type {}; use one of {}", new.field_type, t.as_str(), field_types(t).join(", ")))
                .in_("fieldType"),
        ),
        Some(PropertyType::Enumeration) if new.options.is_empty() => {
            problems.push(ErrorDetail::new("An enumeration property needs options").in_("options"))
        }
        Some(_) => {}
    }
    if let Some(p) = problems.first() {
        return Err(ApiError::Validation {
            message: format!("Invalid property: {}", p.message),
            errors: problems,
        });
    }
    let mut options = new.options;
    if property_type == Some(PropertyType::Bool) && options.is_empty() {
        options = vec![
            PropertyOption {
                label: "True".into(),
                value: "true".into(),
                display_order: 0,
                hidden: false,
            },
            PropertyOption {
                label: "False".into(),
                value: "false".into(),
                display_order: 1,
                hidden: false,
            },
        ];
    }
    let def = PropertyDef {
        name: new.name,
        label: new.label,
        property_type: property_type.expect("validated above"),
        field_type: new.field_type,
        group_name: new.group_name,
        description: new.description.unwrap_or_default(),
        options,
        has_unique_value: new.has_unique_value,
        read_only_value: false,
        hubspot_defined: false,
        display_order: new.display_order.unwrap_or(-1),
    };
    let taken = || {
        ApiError::Conflict(format!(
            "A property named '{}' already exists on {}",
            def.name,
            ot.plural()
        ))
    };
    if default_property(ot, &def.name).is_some() {
        return Err(taken());
    }
    if !db.write(|c| db::properties::insert(c, portal, ot, &def))? {
        return Err(taken());
    }
    Ok(def)
}

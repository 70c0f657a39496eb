//! The objects API, enough to read back what imports wrote: list and read by id or unique
//! property, with their associations (`?associations=` and the v4 associations list).

use super::auth::require;
use super::model::{
    iso, AssociatedId, AssociationSpecWithLabel, CollectionResponseAssociatedId,
    CollectionResponseMultiAssociatedObjectWithLabel,
    CollectionResponseSimplePublicObjectWithAssociationsForwardPaging,
    MultiAssociatedObjectWithLabel, SimplePublicObjectWithAssociations,
};
use super::query::Params;
use super::{blocking, next_page, AppState};
use crate::app::objects;
use crate::crm::properties::default_property;
use crate::crm::{associations, ObjectType};
use crate::db::records::StoredRecord;
use crate::error::{ApiError, ErrorBody};
use crate::import::apply::{add_derived, from_stored};
use actix_web::{web, HttpRequest, HttpResponse};
use std::collections::BTreeMap;

fn object_type(raw: &str) -> Result<ObjectType, ApiError> {
    ObjectType::parse(raw).ok_or_else(|| {
        ApiError::validation(format!(
            "Unable to infer object type from: {raw}; hubport serves contacts (0-1), companies (0-2) and deals (0-3)"
        ))
    })
}

fn read_scope(ot: ObjectType) -> String {
    format!("crm.objects.{}.read", ot.plural())
}

/// List records of one object type.
#[utoipa::path(get, path = "/crm/v3/objects/{objectType}", tag = "Objects", operation_id = "get-/crm/v3/objects/{objectType}_getPage",
    params(
        ("objectType" = String, Path, description = "contacts, companies, deals or 0-1, 0-2, 0-3"),
        ("limit" = Option<i32>, Query, description = "Page size, 1 to 100 (default 10)"),
        ("after" = Option<String>, Query, description = "Paging cursor from `paging.next.after`"),
        ("properties" = Option<Vec<String>>, Query, description = "Properties to return (repeated or comma-separated)"),
        ("archived" = Option<bool>, Query, description = "Only archived records (hubport archives none)"),
        ("associations" = Option<Vec<String>>, Query, description = "Object types whose associated ids to return"),
    ),
    responses(
        (status = 200, description = "A page of records", body = CollectionResponseSimplePublicObjectWithAssociationsForwardPaging),
        (status = 400, description = "Unknown object type or invalid parameters", body = ErrorBody),
        (status = 403, description = "The token lacks crm.objects.{type}.read", body = ErrorBody),
    ),
    security(("oauth2" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    who: crate::auth::Principal,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let ot = object_type(&path)?;
    require(&who, &read_scope(ot))?;
    let q = Params::parse(req.query_string())?;
    let limit = q.limit(10, 100)?;
    let after = q.cursor("after")?;
    let requested = q.list("properties");
    let portal = who.portal;
    let assoc = association_types(&q);
    let wants_assoc = !assoc.is_empty();
    let (rows, next, linked) = if q.bool("archived")?.unwrap_or(false) {
        (Vec::new(), None, objects::Linked::new())
    } else {
        blocking(&state, move |db| {
            let (rows, next) = objects::list(db, portal, ot, after, limit)?;
            let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
            let linked = objects::associations(db, portal, ot, &ids, &assoc)?;
            Ok((rows, next, linked))
        })
        .await?
    };
    let results = rows
        .iter()
        .map(|r| render(ot, r, &requested, linked.get(&r.id), wants_assoc))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(
        CollectionResponseSimplePublicObjectWithAssociationsForwardPaging {
            results,
            paging: next_page(&req, next),
        },
    ))
}

/// Read one record by id or by a unique property.
#[utoipa::path(get, path = "/crm/v3/objects/{objectType}/{objectId}", tag = "Objects", operation_id = "get-/crm/v3/objects/{objectType}/{objectId}_getById",
    params(
        ("objectType" = String, Path, description = "contacts, companies, deals or 0-1, 0-2, 0-3"),
        ("objectId" = String, Path, description = "Record id, or the idProperty's value"),
        ("properties" = Option<Vec<String>>, Query, description = "Properties to return (repeated or comma-separated)"),
        ("idProperty" = Option<String>, Query, description = "email (contacts), domain (companies) or hs_object_id"),
        ("archived" = Option<bool>, Query, description = "Read an archived record (hubport archives none)"),
        ("associations" = Option<Vec<String>>, Query, description = "Object types whose associated ids to return"),
    ),
    responses(
        (status = 200, description = "The record", body = SimplePublicObjectWithAssociations),
        (status = 400, description = "Unknown object type or idProperty", body = ErrorBody),
        (status = 404, description = "No such record in this portal", body = ErrorBody),
    ),
    security(("oauth2" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    who: crate::auth::Principal,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (type_name, id) = path.into_inner();
    let ot = object_type(&type_name)?;
    require(&who, &read_scope(ot))?;
    let q = Params::parse(req.query_string())?;
    let requested = q.list("properties");
    let id_property = q.get("idProperty").map(str::to_string);
    if q.bool("archived")?.unwrap_or(false) {
        return Err(ApiError::not_found(id));
    }
    let portal = who.portal;
    let assoc = association_types(&q);
    let wants_assoc = !assoc.is_empty();
    let (rec, linked) = blocking(&state, move |db| {
        let rec = objects::get(db, portal, ot, &id, id_property.as_deref())?;
        let linked = objects::associations(db, portal, ot, &[rec.id], &assoc)?;
        Ok((rec, linked))
    })
    .await?;
    Ok(HttpResponse::Ok().json(render(
        ot,
        &rec,
        &requested,
        linked.get(&rec.id),
        wants_assoc,
    )?))
}

/// A record as the API shows it: stored properties plus the read-only ones derived from columns.
/// `requested` empty means HubSpot's default set; names that are not properties are left out.
pub fn render(
    ot: ObjectType,
    rec: &StoredRecord,
    requested: &[String],
    linked: Option<&Vec<(ObjectType, i64, i32)>>,
    wants_assoc: bool,
) -> Result<SimplePublicObjectWithAssociations, ApiError> {
    let mut all = from_stored(ot, &rec.properties, rec.key.as_deref())
        .map_err(|e| ApiError::Internal(format!("{} {}: {e}", ot.singular(), rec.id)))?;
    add_derived(ot, &mut all, rec.created_by_import);
    all.insert("hs_object_id", rec.id.to_string());
    all.insert("createdate", iso(rec.created_at));
    all.insert(ot.modified_property(), iso(rec.updated_at));
    // hubport's addition: the import that last wrote the record (HubSpot has no such property).
    if let Some(id) = rec.updated_by_import {
        all.insert("hs_updated_by_import_id", id.to_string());
    }
    let names: Vec<&str> = if requested.is_empty() {
        ot.default_read_properties().to_vec()
    } else {
        requested
            .iter()
            .map(String::as_str)
            .filter(|n| all.contains_key(n) || default_property(ot, n).is_some())
            .collect()
    };
    Ok(SimplePublicObjectWithAssociations {
        id: rec.id.to_string(),
        properties: names
            .into_iter()
            .map(|n| (n.to_string(), all.get(n).cloned()))
            .collect(),
        created_at: iso(rec.created_at),
        updated_at: iso(rec.updated_at),
        archived: false,
        associations: wants_assoc.then(|| {
            let mut map: BTreeMap<String, CollectionResponseAssociatedId> = BTreeMap::new();
            for (to, id, type_id) in linked.into_iter().flatten() {
                map.entry(to.plural().to_string())
                    .or_insert_with(|| CollectionResponseAssociatedId {
                        results: Vec::new(),
                    })
                    .results
                    .push(AssociatedId {
                        id: id.to_string(),
                        association_type: associations::name(*type_id)
                            .unwrap_or("unknown")
                            .to_string(),
                    });
            }
            map
        }),
    })
}

/// `associations=companies&associations=deals` (or a comma list); unknown types are ignored, as HubSpot does.
fn association_types(q: &Params) -> Vec<ObjectType> {
    let mut v: Vec<ObjectType> = q
        .list("associations")
        .iter()
        .filter_map(|s| ObjectType::parse(s))
        .collect();
    v.sort();
    v.dedup();
    v
}

/// List one record's associations to another object type (v4).
#[utoipa::path(get, path = "/crm/v4/objects/{objectType}/{objectId}/associations/{toObjectType}", tag = "Objects", operation_id = "get-/crm/v4/objects/{objectType}/{objectId}/associations/{toObjectType}_getPage",
    params(
        ("objectType" = String, Path, description = "contacts, companies, deals or 0-1, 0-2, 0-3"),
        ("objectId" = i64, Path, description = "Record id"),
        ("toObjectType" = String, Path, description = "contacts, companies, deals or 0-1, 0-2, 0-3"),
    ),
    responses(
        (status = 200, description = "The associated records", body = CollectionResponseMultiAssociatedObjectWithLabel),
        (status = 400, description = "Unknown object type", body = ErrorBody),
        (status = 404, description = "No such record in this portal", body = ErrorBody),
    ),
    security(("oauth2" = [])))]
pub async fn associations_v4(
    state: web::Data<AppState>,
    who: crate::auth::Principal,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (type_name, id, to_name) = path.into_inner();
    let (ot, to) = (object_type(&type_name)?, object_type(&to_name)?);
    require(&who, &read_scope(ot))?;
    let id: i64 = id
        .trim()
        .parse()
        .map_err(|_| ApiError::not_found(id.clone()))?;
    let portal = who.portal;
    let links = blocking(&state, move |db| {
        objects::associations_of(db, portal, ot, id, to)
    })
    .await?;
    let mut results: Vec<MultiAssociatedObjectWithLabel> = Vec::new();
    for (to_id, type_id) in links {
        let spec = AssociationSpecWithLabel {
            category: "HUBSPOT_DEFINED",
            type_id,
            label: None,
        };
        match results.last_mut() {
            Some(last) if last.to_object_id == to_id => last.association_types.push(spec),
            _ => results.push(MultiAssociatedObjectWithLabel {
                to_object_id: to_id,
                association_types: vec![spec],
            }),
        }
    }
    Ok(HttpResponse::Ok().json(CollectionResponseMultiAssociatedObjectWithLabel { results }))
}

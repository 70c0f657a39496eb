//! The five imports endpoints (HubSpot's paths; the collection also with a trailing slash).

use super::auth::require;
use super::model::{ActionResponse, Collection, PublicImportError, PublicImportResponse};
use super::query::Params;
use super::{blocking, next_page, upload, AppState};
use crate::app::imports;
use crate::auth::Principal;
use crate::error::{ApiError, ErrorDetail};
use actix_multipart::Multipart;
use actix_web::{web, HttpRequest, HttpResponse};

const SCOPE: &str = "crm.import";

fn import_id(raw: &str) -> Result<i64, ApiError> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            let m = format!("importId must be a positive whole number, not '{raw}'");
            ApiError::Validation {
                message: m.clone(),
                errors: vec![ErrorDetail::new(m).in_("importId")],
            }
        })
}

pub async fn create(
    state: web::Data<AppState>,
    who: Principal,
    body: Multipart,
) -> Result<HttpResponse, ApiError> {
    require(&who, SCOPE)?;
    let portal = who.portal;
    let received = upload::receive(&state, portal, body).await?;
    let ids: Vec<i64> = received.files.iter().map(|f| f.id).collect();
    let created = blocking(&state, move |db| {
        imports::create(db, &who, received.request_text, &received.files)
    })
    .await;
    match created {
        Ok(view) => {
            state.notify_workers();
            Ok(HttpResponse::Ok().json(PublicImportResponse::new(&view.row, &view.file_ids)))
        }
        Err(e) => {
            upload::discard(&state, portal, ids).await;
            Err(e)
        }
    }
}

pub async fn list(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    require(&who, SCOPE)?;
    let q = Params::parse(req.query_string())?;
    let limit = q.limit(10, 100)?;
    let after = q.cursor("after")?;
    q.cursor("before")?;
    let portal = who.portal;
    let (views, next) = blocking(&state, move |db| imports::list(db, portal, after, limit)).await?;
    Ok(HttpResponse::Ok().json(Collection {
        results: views
            .iter()
            .map(|v| PublicImportResponse::new(&v.row, &v.file_ids))
            .collect(),
        paging: next_page(&req, next),
    }))
}

pub async fn get(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    require(&who, SCOPE)?;
    let id = import_id(&path)?;
    let portal = who.portal;
    let view = blocking(&state, move |db| imports::get(db, portal, id)).await?;
    Ok(HttpResponse::Ok().json(PublicImportResponse::new(&view.row, &view.file_ids)))
}

pub async fn cancel(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    require(&who, SCOPE)?;
    let id = import_id(&path)?;
    let portal = who.portal;
    let row = blocking(&state, move |db| imports::cancel(db, portal, id)).await?;
    let at = super::model::iso(row.updated_at);
    Ok(HttpResponse::Ok().json(ActionResponse {
        status: "COMPLETE",
        requested_at: at.clone(),
        started_at: at.clone(),
        completed_at: at,
    }))
}

pub async fn errors(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    require(&who, SCOPE)?;
    let id = import_id(&path)?;
    let q = Params::parse(req.query_string())?;
    let limit = q.limit(100, 500)?;
    let after = q.cursor("after")?;
    let with_message = q.bool("includeErrorMessage")?.unwrap_or(false);
    let with_row = q.bool("includeRowData")?.unwrap_or(false);
    let portal = who.portal;
    let (rows, next) = blocking(&state, move |db| {
        imports::errors(db, portal, id, after, limit)
    })
    .await?;
    Ok(HttpResponse::Ok().json(Collection {
        results: rows
            .iter()
            .map(|e| PublicImportError::new(e, with_message, with_row))
            .collect(),
        paging: next_page(&req, next),
    }))
}

//! The five imports endpoints (HubSpot's paths; the collection also with a trailing slash).

use super::auth::require;
use super::model::{
    iso, ActionResponse, CollectionResponsePublicImportErrorForwardPaging,
    CollectionResponsePublicImportResponseForwardPaging, PublicImportError, PublicImportResponse,
};
use super::query::Params;
use super::{blocking, next_page, upload, AppState};
use crate::app::imports;
use crate::auth::Principal;
use crate::error::{ApiError, ErrorBody, ErrorDetail};
use actix_multipart::Multipart;
use actix_web::{web, HttpRequest, HttpResponse};
use utoipa::ToSchema;

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

/// The multipart form of `POST /crm/v3/imports` (documentation only; parts are streamed).
#[derive(ToSchema)]
#[allow(dead_code)] // describes the wire format for OpenAPI; the handler streams the parts
struct ImportForm {
    /// HubSpot's import JSON: name, importOperations, dateFormat, files[].fileImportPage.columnMappings.
    #[schema(rename = "importRequest")]
    import_request: String,
    /// One part per file named in `importRequest.files[].fileName`.
    #[schema(value_type = Vec<String>, format = Binary)]
    files: Vec<Vec<u8>>,
}

/// Start an import.
///
/// Stores the uploaded files, validates the request against them and queues the import; a
/// background worker processes it. Answers at once with state `STARTED`.
#[utoipa::path(post, path = "/crm/v3/imports", tag = "Imports", operation_id = "post-/crm/v3/imports_create",
    request_body(content = inline(ImportForm), content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "The import was accepted", body = PublicImportResponse),
        (status = 400, description = "The request or its files are invalid", body = ErrorBody),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "The token lacks crm.import", body = ErrorBody),
    ),
    security(("oauth2" = ["crm.import"])))]
pub async fn create(
    state: web::Data<AppState>,
    who: Principal,
    body: Multipart,
) -> Result<HttpResponse, ApiError> {
    require(&who, SCOPE)?;
    let portal = who.portal;
    let caps = imports::Caps {
        max_file_rows: state.config.max_file_rows,
        max_rows_per_day: state.config.max_rows_per_day,
    };
    let received = upload::receive(&state, portal, body).await?;
    let ids: Vec<i64> = received.files.iter().map(|f| f.id).collect();
    let created = blocking(&state, move |db| {
        imports::create(db, &who, caps, received.request_text, &received.files)
    })
    .await;
    match created {
        Ok(view) => {
            state.notify_workers();
            Ok(HttpResponse::Ok().json(PublicImportResponse::new(&view)))
        }
        Err(e) => {
            upload::discard(&state, portal, ids).await;
            Err(e)
        }
    }
}

/// Get active imports, newest first.
#[utoipa::path(get, path = "/crm/v3/imports", tag = "Imports", operation_id = "get-/crm/v3/imports_getPage",
    params(
        ("after" = Option<String>, Query, description = "Paging cursor from `paging.next.after`"),
        ("before" = Option<String>, Query, description = "Accepted for SDK compatibility"),
        ("limit" = Option<i32>, Query, description = "Page size, 1 to 100 (default 10)"),
    ),
    responses(
        (status = 200, description = "A page of imports", body = CollectionResponsePublicImportResponseForwardPaging),
        (status = 400, description = "Invalid paging parameters", body = ErrorBody),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
    ),
    security(("oauth2" = ["crm.import"])))]
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
    Ok(
        HttpResponse::Ok().json(CollectionResponsePublicImportResponseForwardPaging {
            results: views.iter().map(PublicImportResponse::new).collect(),
            paging: next_page(&req, next),
        }),
    )
}

/// Get the information on any import.
#[utoipa::path(get, path = "/crm/v3/imports/{importId}", tag = "Imports", operation_id = "get-/crm/v3/imports/{importId}_getById",
    params(("importId" = i64, Path, description = "The import's id")),
    responses(
        (status = 200, description = "The import", body = PublicImportResponse),
        (status = 400, description = "The id is not a number", body = ErrorBody),
        (status = 404, description = "No such import in this portal", body = ErrorBody),
    ),
    security(("oauth2" = ["crm.import"])))]
pub async fn get(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    require(&who, SCOPE)?;
    let id = import_id(&path)?;
    let portal = who.portal;
    let view = blocking(&state, move |db| imports::get(db, portal, id)).await?;
    Ok(HttpResponse::Ok().json(PublicImportResponse::new(&view)))
}

/// Cancel an active import.
#[utoipa::path(post, path = "/crm/v3/imports/{importId}/cancel", tag = "Imports", operation_id = "post-/crm/v3/imports/{importId}/cancel_cancel",
    params(("importId" = i64, Path, description = "The import's id")),
    responses(
        (status = 200, description = "The import is canceled", body = ActionResponse),
        (status = 400, description = "The import already finished", body = ErrorBody),
        (status = 404, description = "No such import in this portal", body = ErrorBody),
    ),
    security(("oauth2" = ["crm.import"])))]
pub async fn cancel(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    require(&who, SCOPE)?;
    let id = import_id(&path)?;
    let portal = who.portal;
    let row = blocking(&state, move |db| imports::cancel(db, portal, id)).await?;
    let at = iso(row.updated_at);
    Ok(HttpResponse::Ok().json(ActionResponse {
        status: "COMPLETE",
        requested_at: at.clone(),
        started_at: at.clone(),
        completed_at: at,
    }))
}

/// Get the row errors of an import, oldest first.
#[utoipa::path(get, path = "/crm/v3/imports/{importId}/errors", tag = "Imports", operation_id = "get-/crm/v3/imports/{importId}/errors_getErrors",
    params(
        ("importId" = i64, Path, description = "The import's id"),
        ("after" = Option<String>, Query, description = "Paging cursor from `paging.next.after`"),
        ("limit" = Option<i32>, Query, description = "Page size, 1 to 500 (default 100)"),
        ("includeErrorMessage" = Option<bool>, Query, description = "Include `errorMessage`"),
        ("includeRowData" = Option<bool>, Query, description = "Include the row's cells in `sourceData.rowData`"),
    ),
    responses(
        (status = 200, description = "A page of row errors", body = CollectionResponsePublicImportErrorForwardPaging),
        (status = 400, description = "Invalid parameters", body = ErrorBody),
        (status = 404, description = "No such import in this portal", body = ErrorBody),
    ),
    security(("oauth2" = ["crm.import"])))]
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
    Ok(
        HttpResponse::Ok().json(CollectionResponsePublicImportErrorForwardPaging {
            results: rows
                .iter()
                .map(|e| PublicImportError::new(e, with_message, with_row))
                .collect(),
            paging: next_page(&req, next),
        }),
    )
}

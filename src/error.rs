//! HTTP-facing errors. `ApiError` is the only type a handler returns; its one `ResponseError`
//! impl writes HubSpot's error JSON with the request's correlation id (body,
//! `x-hubspot-correlation-id` header and log line). Per-row import problems are not errors here:
//! they are `import::RowError` data stored with the import. Storage failures arrive as `DbError`.

use crate::http::rate_limit::Limit;
use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use std::collections::BTreeMap;

pub type Context = BTreeMap<String, Vec<String>>;

/// One entry of HubSpot's `errors[]`.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct ErrorDetail {
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(rename = "in", skip_serializing_if = "Option::is_none")]
    pub in_: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<BTreeMap<String, Vec<String>>>)]
    pub context: Option<Context>,
}

impl ErrorDetail {
    pub fn new(message: impl Into<String>) -> Self {
        ErrorDetail {
            message: message.into(),
            code: None,
            in_: None,
            context: None,
        }
    }
    pub fn code(mut self, code: &str) -> Self {
        self.code = Some(code.into());
        self
    }
    pub fn in_(mut self, field: &str) -> Self {
        self.in_ = Some(field.into());
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    Validation {
        message: String,
        errors: Vec<ErrorDetail>,
    },
    #[error("{0}")]
    InvalidAuthentication(String),
    #[error("missing scopes {0:?}")]
    MissingScopes(Vec<String>),
    /// `id` is echoed in `context.id`, as HubSpot does.
    #[error("{message}")]
    NotFound { message: String, id: Option<String> },
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    Conflict(String),
    /// An import over a cap (file size, rows per file, rows per day): 429 before anything is
    /// written, `errors[0].code` naming the cap and `context` the allowed and detected values.
    #[error("{message}")]
    LimitExceeded {
        message: String,
        code: &'static str,
        context: Context,
    },
    /// Over a per-key rate limit; the message and `policyName` are HubSpot's.
    #[error("rate limit {limit:?}")]
    RateLimited {
        limit: crate::http::rate_limit::Limit,
        retry_after: std::time::Duration,
    },
    /// The database cannot be reached: the client should retry.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// The database has no room left (a full disk): nothing of the request was kept.
    #[error("insufficient storage: {0}")]
    StorageFull(String),
    /// A bug or an unexpected storage failure; the detail is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn validation(message: impl Into<String>) -> Self {
        ApiError::Validation {
            message: message.into(),
            errors: Vec::new(),
        }
    }

    pub fn not_found(id: impl Into<String>) -> Self {
        // HubSpot's wording, two spaces included.
        ApiError::NotFound {
            message: "Object not found.  objectId are usually numeric.".into(),
            id: Some(id.into()),
        }
    }

    fn category(&self) -> &'static str {
        match self {
            ApiError::Validation { .. } | ApiError::MethodNotAllowed(_) => "VALIDATION_ERROR",
            ApiError::InvalidAuthentication(_) => "INVALID_AUTHENTICATION",
            ApiError::MissingScopes(_) => "MISSING_SCOPES",
            ApiError::NotFound { .. } => "OBJECT_NOT_FOUND",
            ApiError::Conflict(_) => "CONFLICT",
            ApiError::RateLimited { .. } | ApiError::LimitExceeded { .. } => "RATE_LIMITS",
            ApiError::Unavailable(_) => "SERVICE_UNAVAILABLE",
            ApiError::StorageFull(_) => "INSUFFICIENT_STORAGE",
            ApiError::Internal(_) => "INTERNAL_ERROR",
        }
    }
}

/// HubSpot's `Error` body, fields in the order HubSpot sends them.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Error)]
pub struct ErrorBody<'a> {
    #[schema(example = "error")]
    status: &'static str,
    message: String,
    /// `RATE_LIMIT` on 429s.
    #[serde(skip_serializing_if = "Option::is_none")]
    error_type: Option<&'static str>,
    #[schema(example = "aeb5f871-7f07-4993-9211-075dc63e7cbf")]
    correlation_id: String,
    /// `TEN_SECONDLY_ROLLING` or `DAILY` on 429s; HubSpot's SDK retries on the first.
    #[serde(skip_serializing_if = "Option::is_none")]
    policy_name: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<BTreeMap<String, Vec<String>>>)]
    context: Option<Context>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [ErrorDetail],
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    links: Option<BTreeMap<&'static str, &'static str>>,
    #[schema(example = "VALIDATION_ERROR")]
    category: &'static str,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Validation { .. } => StatusCode::BAD_REQUEST,
            ApiError::InvalidAuthentication(_) => StatusCode::UNAUTHORIZED,
            ApiError::MissingScopes(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::RateLimited { .. } | ApiError::LimitExceeded { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::StorageFull(_) => StatusCode::INSUFFICIENT_STORAGE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let correlation_id =
            crate::http::correlation_id().unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let status = self.status_code();
        let scope_detail;
        let (message, context, errors, links): (String, _, &[ErrorDetail], _) = match self {
            ApiError::Validation { message, errors } => (message.clone(), None, errors, None),
            ApiError::LimitExceeded {
                message,
                code,
                context,
            } => {
                scope_detail = [ErrorDetail {
                    code: Some(code.to_string()),
                    context: Some(context.clone()),
                    ..ErrorDetail::new(message.clone())
                }];
                (message.clone(), None, &scope_detail[..], None)
            }
            ApiError::MissingScopes(scopes) => {
                scope_detail = [ErrorDetail {
                    context: Some(Context::from([(
                        "requiredGranularScopes".to_string(),
                        scopes.clone(),
                    )])),
                    ..ErrorDetail::new("One or more of the following scopes are required.")
                }];
                (
                    "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.".to_string(),
                    None,
                    &scope_detail[..],
                    Some(BTreeMap::from([("scopes", "https://developers.hubspot.com/scopes")])),
                )
            }
            ApiError::NotFound { message, id } => (
                message.clone(),
                id.as_ref()
                    .map(|id| Context::from([("id".to_string(), vec![id.clone()])])),
                &[],
                None,
            ),
            ApiError::Unavailable(_) => (
                "The service is temporarily unavailable. Please retry.".into(),
                None,
                &[],
                None,
            ),
            ApiError::StorageFull(_) => (
                "The server has no storage space left; nothing of this request was kept. Please retry later.".into(),
                None,
                &[],
                None,
            ),
            ApiError::Internal(_) => (
                format!("An internal error occurred. Reference: {correlation_id}"),
                None,
                &[],
                None,
            ),
            ApiError::RateLimited {
                limit: Limit::TenSecondly,
                ..
            } => (
                "You have reached your ten_secondly_rolling limit.".into(),
                None,
                &[],
                None,
            ),
            ApiError::RateLimited {
                limit: Limit::Daily,
                ..
            } => ("You have reached your daily limit.".into(), None, &[], None),
            ApiError::RateLimited { limit: Limit::BadCredentials, .. } => (
                "Too many requests with invalid credentials from your address; wait before retrying.".into(),
                None,
                &[],
                None,
            ),
            other => (other.to_string(), None, &[], None),
        };
        let (error_type, policy_name) = match self {
            ApiError::RateLimited {
                limit: Limit::TenSecondly,
                ..
            } => (Some("RATE_LIMIT"), Some("TEN_SECONDLY_ROLLING")),
            ApiError::RateLimited {
                limit: Limit::Daily,
                ..
            } => (Some("RATE_LIMIT"), Some("DAILY")),
            ApiError::RateLimited {
                limit: Limit::BadCredentials,
                ..
            } => (Some("RATE_LIMIT"), Some("TEN_SECONDLY_ROLLING")),
            _ => (None, None),
        };
        if status.is_server_error() {
            tracing::error!(correlation_id, status = status.as_u16(), error = %self, "request failed");
        } else {
            tracing::info!(correlation_id, status = status.as_u16(), category = self.category(), %message, "request refused");
        }
        let body = ErrorBody {
            status: "error",
            message,
            error_type,
            correlation_id: correlation_id.clone(),
            policy_name,
            context,
            errors,
            links,
            category: self.category(),
        };
        let mut res = HttpResponse::build(status);
        if let ApiError::RateLimited { retry_after, .. } = self {
            // Seconds, as urllib3's Retry (HubSpot's Python SDK) reads it; never 0.
            let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            res.insert_header((header::RETRY_AFTER, secs.max(1)));
        }
        res.insert_header(("x-hubspot-correlation-id", correlation_id))
            .insert_header((header::CONTENT_TYPE, "application/json"))
            .body(serde_json::to_string(&body).unwrap_or_default())
    }
}

impl From<crate::db::DbError> for ApiError {
    fn from(e: crate::db::DbError) -> Self {
        match e {
            crate::db::DbError::Unavailable(m) => ApiError::Unavailable(m),
            crate::db::DbError::Full(m) => ApiError::StorageFull(m),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        crate::db::DbError::from(e).into()
    }
}

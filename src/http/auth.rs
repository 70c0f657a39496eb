//! The `Principal` extractor: a handler that takes one is authenticated; scope checks follow.

use super::rate_limit::Limit;
use super::AppState;
use crate::auth::{AuthError, Principal};
use crate::error::ApiError;
use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;

const NO_CREDENTIALS: &str = "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview";

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Principal, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
        let req = req.clone();
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::Internal("app state missing".into()))?;
            let ip = req.peer_addr().map(|a| a.ip());
            if let Some(wait) = ip.and_then(|ip| state.auth_failures.blocked(ip)) {
                state.metrics.rate_limited(Limit::BadCredentials);
                return Err(ApiError::RateLimited {
                    limit: Limit::BadCredentials,
                    retry_after: wait,
                });
            }
            let refused = |e: ApiError| {
                if let Some(ip) = ip {
                    state.auth_failures.failed(ip);
                }
                e
            };
            let token = token
                .ok_or_else(|| refused(ApiError::InvalidAuthentication(NO_CREDENTIALS.into())))?;
            let s = state.clone();
            let result = web::block(move || {
                let p = s.tokens.authenticate(&s.db, &token)?;
                s.rate_limits.prime(&s.db, p.key_id, p.limits)?;
                Ok(p)
            })
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
            if let Ok(p) = &result {
                tracing::Span::current().record("portal", p.portal.0);
            }
            match result {
                Ok(p) => match state.rate_limits.check(p.key_id, p.limits) {
                    Ok(usage) => {
                        req.extensions_mut().insert(usage);
                        Ok(p)
                    }
                    Err(e) => {
                        state.metrics.rate_limited(e.limit);
                        req.extensions_mut().insert(e.usage);
                        Err(ApiError::RateLimited {
                            limit: e.limit,
                            retry_after: e.retry_after,
                        })
                    }
                },
                Err(AuthError::Db(e)) => Err(e.into()),
                Err(e) => {
                    tracing::info!(reason = %e, "token refused");
                    Err(refused(ApiError::InvalidAuthentication(
                        "The OAuth token used to make this call is expired, revoked or invalid."
                            .into(),
                    )))
                }
            }
        })
    }
}

/// 403 `MISSING_SCOPES` unless the caller holds `scope`.
pub fn require(p: &Principal, scope: &str) -> Result<(), ApiError> {
    if p.has_scope(scope) {
        Ok(())
    } else {
        Err(ApiError::MissingScopes(vec![scope.to_string()]))
    }
}

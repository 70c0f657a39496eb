//! The HTTP surface: routes, shared state, the correlation-id middleware and small helpers.
//! Handlers parse, call one `app` function off the async executor, and serialise.

pub mod auth;
pub mod imports;
pub mod model;
pub mod objects;
pub mod openapi;
pub mod properties;
pub mod query;
pub mod rate_limit;
pub mod upload;

use crate::auth::Tokens;
use crate::config::Config;
use crate::db::Db;
use crate::error::ApiError;
use crate::jobs::Wake;
use crate::metrics::Gauge;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use model::{NextPage, Paging};
use std::sync::Arc;

pub struct AppState {
    pub db: Db,
    pub tokens: Tokens,
    pub config: Config,
    pub rate_limits: Arc<rate_limit::RateLimits>,
    pub auth_failures: rate_limit::AuthFailures,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Present when this process runs a worker.
    pub wake: Option<Arc<Wake>>,
}

impl AppState {
    pub fn notify_workers(&self) {
        if let Some(w) = &self.wake {
            w.notify();
        }
    }
}

/// Runs blocking storage work on actix's blocking pool.
pub async fn blocking<T: Send + 'static>(
    state: &web::Data<AppState>,
    f: impl FnOnce(&Db) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    start_blocking(state, f).await
}

/// `blocking`, started at once rather than when first awaited: the caller goes on (e.g. an
/// upload receives its next chunk) while it runs.
pub fn start_blocking<T: Send + 'static>(
    state: &web::Data<AppState>,
    f: impl FnOnce(&Db) -> Result<T, ApiError> + Send + 'static,
) -> impl std::future::Future<Output = Result<T, ApiError>> {
    let db = state.db.clone();
    let running = web::block(move || f(&db));
    async move {
        running
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
    }
}

/// `paging.next` for a cursor, its link being this request's URL with `after` replaced.
pub fn next_page(req: &HttpRequest, next: Option<i64>) -> Option<Paging> {
    let after = next?.to_string();
    let info = req.connection_info();
    let mut pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    pairs.retain(|(k, _)| k != "after");
    pairs.push(("after".into(), after.clone()));
    let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    let link = format!("{}://{}{}?{query}", info.scheme(), info.host(), req.path());
    Some(Paging {
        next: NextPage { after, link },
    })
}

/// Liveness: answers without a token and names the database backend.
#[utoipa::path(get, path = "/health", tag = "Operations", operation_id = "get-/health",
    responses((status = 200, description = "The server is up", body = Object, example = json!({"status": "ok", "backend": "sqlite"}))),
    security(()))]
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .json(serde_json::json!({ "status": "ok", "backend": state.db.backend().name() }))
}

fn metrics_gauges(db: &Db) -> Result<Vec<Gauge>, ApiError> {
    let gauge = |name, help, labels, value| Gauge {
        name,
        help,
        labels,
        value,
    };
    let mut conn = db.conn()?;
    let mut by_state: Vec<(String, i64)> = crate::import::ImportState::ALL
        .into_iter()
        .map(|s| (s.as_str().to_string(), 0))
        .collect();
    for (state, n) in crate::db::imports::count_by_state(&mut conn)? {
        match by_state.iter_mut().find(|(s, _)| *s == state) {
            Some(slot) => slot.1 = n,
            None => by_state.push((state, n)),
        }
    }
    let mut gauges: Vec<Gauge> = by_state
        .into_iter()
        .map(|(state, n)| {
            gauge(
                "hubport_imports",
                "Imports by state, all portals.",
                vec![("state", state)],
                n as f64,
            )
        })
        .collect();
    let depth = crate::jobs::queue::depth(&mut conn)?;
    drop(conn);
    gauges.push(gauge(
        "hubport_job_queue_depth",
        "Import jobs waiting or running.",
        vec![],
        depth as f64,
    ));
    let (open, idle) = db.pool_state();
    let pool = "Database connections of this process.";
    gauges.push(gauge(
        "hubport_db_pool_connections",
        pool,
        vec![("state", "idle".into())],
        f64::from(idle),
    ));
    gauges.push(gauge(
        "hubport_db_pool_connections",
        pool,
        vec![("state", "in_use".into())],
        f64::from(open - idle),
    ));
    Ok(gauges)
}

/// Prometheus metrics; unauthenticated like /health (keep it behind your proxy).
async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let gauges = blocking(&state, metrics_gauges).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render(&gauges)))
}

/// Readiness: the database answers and its schema is current (503 otherwise).
#[utoipa::path(get, path = "/ready", tag = "Operations", operation_id = "get-/ready",
    responses(
        (status = 200, description = "Ready to serve", body = Object, example = json!({"status": "ready", "backend": "sqlite"})),
        (status = 503, description = "The database is unreachable or not migrated", body = crate::error::ErrorBody),
    ),
    security(()))]
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    blocking(&state, |db| Ok(db.check_ready()?)).await?;
    Ok(HttpResponse::Ok()
        .json(serde_json::json!({ "status": "ready", "backend": state.db.backend().name() })))
}

async fn no_route(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound {
        message: format!("No endpoint {} {}", req.method(), req.path()),
        id: None,
    })
}

async fn wrong_method(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed(format!(
        "{} is not allowed on {}",
        req.method(),
        req.path()
    )))
}

tokio::task_local! {
    static CORRELATION_ID: String;
}

/// The correlation id of the request being handled, if any: error bodies, their header and
/// every log line of the request carry the same one.
pub fn correlation_id() -> Option<String> {
    CORRELATION_ID.try_with(Clone::clone).ok()
}

/// Gives every request a correlation id and a log span (method, path, portal once known), logs
/// and counts its outcome, and puts the id and the key's rate-limit usage on the response.
async fn correlation(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = uuid::Uuid::new_v4().to_string();
    let span = tracing::info_span!(
        "request",
        correlation_id = %id,
        method = %req.method(),
        path = %req.path(),
        portal = tracing::field::Empty,
    );
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.metrics.clone());
    let started = std::time::Instant::now();
    let call = tracing::Instrument::instrument(next.call(req), span.clone());
    let mut res = CORRELATION_ID.scope(id.clone(), call).await?;
    let status = res.status().as_u16();
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".into());
    let method = res.request().method().to_string();
    if let Some(m) = metrics {
        m.observe_request(&route, &method, status, started.elapsed());
    }
    span.in_scope(|| tracing::info!(status, ms = started.elapsed().as_millis() as u64, "handled"));
    let usage = res
        .request()
        .extensions()
        .get::<rate_limit::Usage>()
        .copied();
    if let Some(usage) = usage {
        usage.write(res.headers_mut());
    }
    let name = HeaderName::from_static("x-hubspot-correlation-id");
    if !res.headers().contains_key(&name) {
        if let Ok(v) = HeaderValue::from_str(&id) {
            res.headers_mut().insert(name, v);
        }
    }
    Ok(res)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    let method = || web::to(wrong_method);
    cfg.service(
        web::resource("/health")
            .route(web::get().to(health))
            .default_service(method()),
    )
    .service(
        web::resource(["/crm/v3/imports", "/crm/v3/imports/"])
            .route(web::post().to(imports::create))
            .route(web::get().to(imports::list))
            .default_service(method()),
    )
    .service(
        web::resource("/crm/v3/imports/{importId}")
            .route(web::get().to(imports::get))
            .default_service(method()),
    )
    .service(
        web::resource("/crm/v3/imports/{importId}/cancel")
            .route(web::post().to(imports::cancel))
            .default_service(method()),
    )
    .service(
        web::resource("/crm/v3/imports/{importId}/errors")
            .route(web::get().to(imports::errors))
            .default_service(method()),
    )
    .service(
        web::resource([
            "/crm/v3/objects/{objectType}",
            "/crm/v3/objects/{objectType}/",
        ])
        .route(web::get().to(objects::list))
        .default_service(method()),
    )
    .service(
        web::resource("/crm/v3/objects/{objectType}/{objectId}")
            .route(web::get().to(objects::get))
            .default_service(method()),
    )
    .service(
        web::resource([
            "/crm/v3/properties/{objectType}",
            "/crm/v3/properties/{objectType}/",
        ])
        .route(web::get().to(properties::list))
        .route(web::post().to(properties::create))
        .default_service(method()),
    )
    .service(
        web::resource("/crm/v3/properties/{objectType}/{propertyName}")
            .route(web::get().to(properties::get))
            .default_service(method()),
    )
    .service(
        web::resource("/crm/v4/objects/{objectType}/{objectId}/associations/{toObjectType}")
            .route(web::get().to(objects::associations_v4))
            .default_service(method()),
    )
    .service(
        web::resource("/ready")
            .route(web::get().to(ready))
            .default_service(method()),
    )
    .service(
        web::resource("/metrics")
            .route(web::get().to(metrics))
            .default_service(method()),
    )
    .service(web::redirect("/docs", "/docs/"))
    .service(
        utoipa_swagger_ui::SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", openapi::document()),
    )
    .default_service(web::to(no_route));
}

/// The whole application as actix wants it, for `HttpServer::new` and for tests.
pub fn app(
    state: web::Data<AppState>,
) -> actix_web::App<
    impl actix_web::dev::ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    actix_web::App::new()
        .app_data(state)
        .app_data(
            web::PathConfig::default()
                .error_handler(|e, _| ApiError::validation(e.to_string()).into()),
        )
        .app_data(
            web::JsonConfig::default()
                .limit(1 << 20)
                .error_handler(|e, _| {
                    ApiError::validation(format!("Invalid JSON body: {e}")).into()
                }),
        )
        .wrap(actix_web::middleware::from_fn(correlation))
        .configure(configure)
}

//! Liveness and readiness.

use actix_web::HttpResponse;
use serde::Serialize;

use super::paths;
use crate::error::{ApiError, ApiResult};
use crate::storage::UserStore;

/// Liveness: the process answers. Never touches the database.
#[utoipa::path(
    get,
    path = paths::HEALTH,
    tag = "operations",
    summary = "Liveness",
    responses((status = 200, description = "The process answers", body = String, content_type = "text/plain", example = "OK"))
)]
pub(super) fn health() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("OK")
}

#[derive(Serialize)]
struct ReadyResponse {
    status: &'static str,
    database: &'static str,
    latency_ms: f64,
}

/// Readiness: the database answers a read and the writer takes a
/// transaction. Any failure is a 503, so a load balancer takes this instance
/// out of rotation instead of seeing a 500.
#[utoipa::path(
    get,
    path = paths::READY,
    tag = "operations",
    summary = "Readiness: the database answers and accepts writes",
    responses(
        (status = 200, description = "Ready", body = super::schema::ReadySchema),
        (status = 503, description = "The database is unreachable, read-only or full", body = super::schema::ErrorSchema,
            headers(("Retry-After" = String, description = "Seconds to wait")))
    )
)]
pub(super) async fn ready<S: UserStore>(store: &S) -> ApiResult<HttpResponse> {
    let readiness = store
        .ready()
        .await
        .map_err(|e| ApiError::Unavailable(format!("readiness check failed: {e}")))?;
    Ok(HttpResponse::Ok().json(ReadyResponse {
        status: "ready",
        database: "ok",
        latency_ms: readiness.latency.as_secs_f64() * 1000.0,
    }))
}

//! Liveness and readiness.

use actix_web::{web, HttpResponse};
use serde::Serialize;

use crate::error::{ApiError, ApiResult};
use crate::storage::UserStore;

/// Liveness: the process answers. Never touches the database.
pub(super) async fn health() -> HttpResponse {
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
pub(super) async fn ready<S: UserStore>(store: web::Data<S>) -> ApiResult<HttpResponse> {
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

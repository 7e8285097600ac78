//! Liveness and readiness.

use actix_web::{web, HttpResponse};
use serde::Serialize;

use crate::error::ApiResult;
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
/// transaction.
pub(super) async fn ready<S: UserStore>(store: web::Data<S>) -> ApiResult<HttpResponse> {
    let readiness = store.ready().await?;
    Ok(HttpResponse::Ok().json(ReadyResponse {
        status: "ready",
        database: "ok",
        latency_ms: readiness.latency.as_secs_f64() * 1000.0,
    }))
}

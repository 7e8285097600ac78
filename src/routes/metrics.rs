//! `/metrics` and the middleware that counts and times every request for it.

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};

use crate::metrics::{self, Metrics};
use crate::storage::UserStore;

/// Records the request's route template, method, status and latency.
pub async fn record_metrics(
    metrics: Arc<Metrics>,
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let in_flight = metrics.start(req.path(), req.method().as_str());
    let result = next.call(req).await;
    let status = match &result {
        Ok(response) => response.status(),
        Err(error) => error.as_response_error().status_code(),
    };
    in_flight.finish(status.as_u16());
    result
}

/// The Prometheus text exposition of this instance.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    summary = "Prometheus metrics",
    description = "Requests by route template, method and status; latency histograms per \
                   route; requests in flight; database pool, writer queue, batch sizes and \
                   commit latency; database size; build info. Needs the token when one is \
                   configured.",
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "Text exposition format 0.0.4", body = String,
            content_type = "text/plain; version=0.0.4; charset=utf-8"),
        (status = 401, description = "A token is configured and the request lacks it",
            body = super::openapi::ErrorSchema,
            headers(("WWW-Authenticate" = String, description = "`Bearer`")))
    )
)]
pub(super) async fn metrics_text<S: UserStore>(
    store: web::Data<S>,
    metrics: web::Data<Metrics>,
) -> HttpResponse {
    let stats = store.stats().await;
    HttpResponse::Ok()
        .content_type(metrics::CONTENT_TYPE)
        .body(metrics.render(&stats))
}

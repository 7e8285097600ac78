//! `/metrics` and the middleware that counts and times every request for it.

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse};

use super::http_metrics::{self as metrics, Metrics};
use super::paths;
use super::table;
use crate::storage::UserStore;

/// The request log's target, which `RUST_LOG` filters (actix's Logger used
/// it before, so existing filters keep working).
pub const REQUEST_LOG_TARGET: &str = "actix_web::middleware::logger";

/// Records the request's route template, method, status and latency, and
/// with `log_requests` writes the request log line from the same figures:
/// method, path (no query string: it can hold an email address or a
/// cursor), route template, status, milliseconds, request id.
pub async fn record_metrics(
    metrics: Arc<Metrics>,
    log_requests: bool,
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    // The one match of the path against the route table; the dispatch and
    // the rate limit read it from the request's extensions.
    let matched = table::find(req.path());
    let in_flight = metrics.start(matched.index, req.method().as_str());
    req.extensions_mut().insert(matched);
    // The method and URI share the request's buffers: no copy per request.
    let logged = log_requests.then(|| (req.method().clone(), req.uri().clone()));
    let result = next.call(req).await;
    let status = match &result {
        Ok(response) => response.status(),
        Err(error) => error.as_response_error().status_code(),
    };
    let route = in_flight.route();
    let elapsed = in_flight.finish(status.as_u16());
    if let Some((method, uri)) = logged {
        let path = uri.path();
        let request_id = result
            .as_ref()
            .ok()
            .and_then(|response| response.headers().get(super::request_id::X_REQUEST_ID))
            .and_then(|value| value.to_str().ok())
            .unwrap_or("-");
        log::info!(
            target: REQUEST_LOG_TARGET,
            "{method} {path} route={route} {} {:.6}ms request_id={request_id}",
            status.as_u16(),
            elapsed.as_secs_f64() * 1000.0
        );
    }
    result
}

/// The Prometheus text exposition of this instance.
#[utoipa::path(
    get,
    path = paths::METRICS,
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
            body = super::schema::ErrorSchema,
            headers(("WWW-Authenticate" = String, description = "`Bearer`")))
    )
)]
pub(super) async fn metrics_text<S: UserStore>(store: &S, metrics: &Metrics) -> HttpResponse {
    let stats = store.stats().await;
    HttpResponse::Ok()
        .content_type(metrics::CONTENT_TYPE)
        .body(metrics.render(&stats))
}

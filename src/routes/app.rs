//! The whole application of one HTTP worker: the dispatch over the route
//! table, and the middleware around it, outermost last.

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::{from_fn, Condition, DefaultHeaders};
use actix_web::App;

use super::auth::ApiTokens;
use super::cors::Cors;
use super::http_metrics::Metrics;
use super::rate_limit::RateLimiter;
use super::{compression, dispatch, metrics, rate_limit, request_id};
use crate::storage::UserStore;

/// HTTP settings the app factory needs in every worker.
#[derive(Clone)]
pub struct HttpSettings {
    pub api_tokens: ApiTokens,
    pub cors_origins: Vec<String>,
    /// The service's metrics; every worker records into the same registry.
    pub metrics: Arc<Metrics>,
    /// Shared by every worker, so a client's rate counts across them.
    pub rate_limiter: Option<Arc<RateLimiter>>,
    /// Served over TLS: every response tells browsers to keep to HTTPS.
    pub hsts: bool,
}

/// The whole application for one worker: routes, error shapes, middleware.
/// Tests and benches build the app through this same function.
pub fn app<S: UserStore>(
    store: S,
    http: &HttpSettings,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let tokens = http.api_tokens.clone();
    let metrics = Arc::clone(&http.metrics);
    let limiter = http.rate_limiter.clone();
    // Middlewares that would do nothing are left out rather than run per
    // request.
    let rate_limited = limiter.is_some();
    let log_requests = log::log_enabled!(target: metrics::REQUEST_LOG_TARGET, log::Level::Info);
    App::new()
        .default_service(dispatch::service(store, tokens, Arc::clone(&http.metrics)))
        .wrap(Condition::new(
            !http.cors_origins.is_empty(),
            Cors::new(&http.cors_origins),
        ))
        .wrap(Condition::new(
            rate_limited,
            from_fn(move |req, next| rate_limit::limit_rate(limiter.clone(), req, next)),
        ))
        .wrap(from_fn(compression::compress))
        .wrap(from_fn(request_id::request_id))
        .wrap(from_fn(move |req, next| {
            metrics::record_metrics(Arc::clone(&metrics), log_requests, req, next)
        }))
        // Outermost, so every answer carries it, refusals included.
        .wrap(Condition::new(http.hsts, hsts()))
}

/// `Strict-Transport-Security` for a year. Not `includeSubDomains`: the
/// service cannot know what else runs under its domain.
pub const HSTS: &str = "max-age=31536000";

fn hsts() -> DefaultHeaders {
    DefaultHeaders::new().add((header::STRICT_TRANSPORT_SECURITY, HSTS))
}

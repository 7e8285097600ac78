//! The HTTP surface: routes, handlers, request/response shapes, and the
//! turning of actix's own rejections into API errors. The only module that
//! knows actix.

mod auth;
mod compression;
mod dto;
mod health;
mod http_metrics;
mod json_object;
mod metrics;
mod openapi;
mod page;
mod paths;
mod rate_limit;
mod rejection;
mod request_id;
mod schema;
mod users;

use std::sync::Arc;

use actix_web::web;

pub use auth::ApiTokens;
pub use compression::{compress, MIN_COMPRESSED_BYTES};
pub use http_metrics::Metrics;
pub use metrics::{record_metrics, REQUEST_LOG_TARGET};
pub use openapi::document as openapi_document;
pub use paths::PATHS;
pub use rate_limit::{limit_rate, parse_rate, Rate, RateLimitSetting, RateLimiter};
pub use rejection::{json_config, query_config, route_not_found};
pub use request_id::request_id;

use crate::storage::UserStore;

pub use rejection::DEFAULT_BODY_LIMIT;

/// Registers every route of the API on `cfg`.
pub fn configure<S: UserStore>(
    cfg: &mut web::ServiceConfig,
    tokens: ApiTokens,
    metrics: Arc<Metrics>,
) {
    cfg.service(
        web::resource("/")
            .route(web::get().to(page::index))
            .route(web::head().to(page::index))
            .default_service(web::to(rejection::allow_get_head)),
    )
    .service(
        web::resource("/static/{file}")
            .route(web::get().to(page::static_asset))
            .route(web::head().to(page::static_asset))
            .default_service(web::to(rejection::allow_get_head)),
    )
    .service(
        web::resource("/openapi.json")
            .route(web::get().to(openapi::openapi_json))
            .route(web::head().to(openapi::openapi_json))
            .default_service(web::to(rejection::allow_get_head)),
    )
    .service(
        web::resource("/metrics")
            .wrap(auth::RequireToken::new(
                tokens.clone(),
                Arc::clone(&metrics),
            ))
            .route(web::get().to(metrics::metrics_text::<S>))
            .route(web::head().to(metrics::metrics_text::<S>))
            .default_service(web::to(rejection::allow_get_head)),
    )
    .service(
        web::resource("/health")
            .route(web::get().to(health::health))
            .route(web::head().to(health::health))
            .default_service(web::to(rejection::allow_get_head)),
    )
    .service(
        web::resource("/ready")
            .route(web::get().to(health::ready::<S>))
            .route(web::head().to(health::ready::<S>))
            .default_service(web::to(rejection::allow_get_head)),
    )
    .service(
        web::scope("/users")
            .wrap(auth::RequireToken::new(tokens, metrics))
            .service(
                web::resource("")
                    .route(web::get().to(users::list_users::<S>))
                    .route(web::head().to(users::list_users::<S>))
                    .route(web::post().to(users::create_user::<S>))
                    .default_service(web::to(rejection::allow_get_head_post)),
            )
            // `/users/{id}` for every method, and 404 for deeper paths.
            .default_service(web::to(users::user_by_id::<S>)),
    );
}

//! actix's own rejections (bad JSON, bad path or query, unknown route or
//! method) rewritten into API errors, so every error has one shape.

use actix_web::error::{JsonPayloadError, PayloadError, QueryPayloadError};
use actix_web::{web, HttpResponse};

use crate::error::{ApiError, ApiResult};

/// The largest request body accepted, in bytes.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(DEFAULT_BODY_LIMIT)
        .error_handler(|error, _req| json_rejection(error).into())
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|error: QueryPayloadError, _req| {
        ApiError::bad_request(format!("Invalid query string: {error}")).into()
    })
}

fn json_rejection(error: JsonPayloadError) -> ApiError {
    match error {
        JsonPayloadError::OverflowKnownLength { limit, .. }
        | JsonPayloadError::Overflow { limit } => ApiError::PayloadTooLarge { limit },
        JsonPayloadError::Payload(PayloadError::Overflow) => ApiError::PayloadTooLarge {
            limit: DEFAULT_BODY_LIMIT,
        },
        JsonPayloadError::ContentType => ApiError::UnsupportedMediaType,
        JsonPayloadError::Deserialize(e) => {
            ApiError::bad_request(format!("Invalid JSON body: {e}"))
        }
        other => ApiError::bad_request(format!("Invalid request body: {other}")),
    }
}

pub async fn route_not_found() -> ApiResult<HttpResponse> {
    Err(ApiError::RouteNotFound)
}

pub(super) async fn allow_get_head() -> ApiResult<HttpResponse> {
    Err(ApiError::MethodNotAllowed { allow: "GET, HEAD" })
}

pub(super) async fn allow_get_head_post() -> ApiResult<HttpResponse> {
    Err(ApiError::MethodNotAllowed {
        allow: "GET, HEAD, POST",
    })
}

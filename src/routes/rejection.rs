//! actix's own rejections of a body or a query string rewritten into API
//! errors, so every error has one shape.

use actix_web::error::{JsonPayloadError, PayloadError, QueryPayloadError};

use crate::error::ApiError;

/// The largest request body accepted, in bytes.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

pub(super) fn json_rejection(error: JsonPayloadError) -> ApiError {
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

pub(super) fn query_rejection(error: QueryPayloadError) -> ApiError {
    ApiError::bad_request(format!("Invalid query string: {error}"))
}

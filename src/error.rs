//! `ApiError`: the one type that becomes an HTTP error response.
//!
//! Every failure a client can see ends here, in API.md's shape
//! `{"error": "...", "code": "..."}`. Internal details are logged once, when
//! the response is built, and never sent.

use actix_web::http::header::{self, ContentType, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::domain::ValidationError;
use crate::storage::StoreError;

/// Seconds a client should wait before retrying after a 503.
const RETRY_AFTER_SECONDS: &str = "1";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 `validation`: a field is invalid.
    #[error("{0}")]
    Validation(#[from] ValidationError),
    /// 400 `bad_request`: malformed JSON, wrong types, bad parameters.
    #[error("{0}")]
    BadRequest(String),
    /// 401 `unauthorized`: a token is configured and the request lacks it.
    #[error("Missing or invalid API token")]
    Unauthorized,
    /// 404 `not_found`: no such user.
    #[error("User not found")]
    UserNotFound,
    /// 404 `not_found`: no such route.
    #[error("No such route")]
    RouteNotFound,
    /// 405 `method_not_allowed`; carries the `Allow` header value.
    #[error("Method not allowed")]
    MethodNotAllowed { allow: &'static str },
    /// 409 `conflict`.
    #[error("Email already exists")]
    EmailTaken,
    /// 412 `precondition_failed`: `If-Match` names another state of the user.
    #[error("The user has changed since the ETag in If-Match; read it again")]
    PreconditionFailed,
    /// 422 `idempotency_key_reused`.
    #[error("This Idempotency-Key was already used for a different request")]
    IdempotencyKeyReused,
    /// 413 `payload_too_large`.
    #[error("Request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// 415 `unsupported_media_type`.
    #[error("Request body must be application/json")]
    UnsupportedMediaType,
    /// 429 `rate_limited`: this client sent more than `--rate-limit` allows.
    #[error("Too many requests; retry after {retry_after} s")]
    RateLimited { retry_after: u64 },
    /// 503 `unavailable`; the reason goes to the log only.
    #[error("Service unavailable, retry later")]
    Unavailable(String),
    /// 507 `insufficient_storage`.
    #[error("The database is full; reads keep working")]
    InsufficientStorage,
    /// 500 `internal`; the source goes to the log only.
    #[error("Internal server error")]
    Internal(String),
}

/// `type Result<T> = Result<T, ApiError>` for handlers.
pub type ApiResult<T, E = ApiError> = Result<T, E>;

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    code: &'static str,
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation(_) => "validation",
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized => "unauthorized",
            Self::UserNotFound | Self::RouteNotFound => "not_found",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::EmailTaken => "conflict",
            Self::PreconditionFailed => "precondition_failed",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::RateLimited { .. } => "rate_limited",
            Self::Unavailable(_) => "unavailable",
            Self::InsufficientStorage => "insufficient_storage",
            Self::Internal(_) => "internal",
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest(message.into())
    }

    /// The response body, `{"error": "...", "code": "..."}`: also written
    /// outside actix, to a plain-HTTP client of the TLS port.
    pub fn body(&self) -> String {
        let message = self.to_string();
        let body = ErrorBody {
            error: &message,
            code: self.code(),
        };
        // Two strings serialise without error.
        serde_json::to_string(&body).unwrap_or_default()
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::UserNotFound,
            StoreError::Conflict { .. } => Self::EmailTaken,
            StoreError::PreconditionFailed => Self::PreconditionFailed,
            StoreError::KeyReused => Self::IdempotencyKeyReused,
            StoreError::Unavailable(reason) => Self::Unavailable(reason),
            StoreError::StorageFull => Self::InsufficientStorage,
            StoreError::Internal(source) => Self::Internal(source.to_string()),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Validation(_) | Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::UserNotFound | Self::RouteNotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::EmailTaken => StatusCode::CONFLICT,
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Self::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::InsufficientStorage => StatusCode::INSUFFICIENT_STORAGE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Internal(detail) => log::error!("internal error: {detail}"),
            Self::Unavailable(detail) => log::warn!("unavailable: {detail}"),
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code());
        match self {
            Self::Unauthorized => {
                response
                    .insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
            }
            Self::MethodNotAllowed { allow } => {
                response.insert_header((header::ALLOW, HeaderValue::from_static(allow)));
            }
            Self::Unavailable(_) => {
                response.insert_header((
                    header::RETRY_AFTER,
                    HeaderValue::from_static(RETRY_AFTER_SECONDS),
                ));
            }
            Self::RateLimited { retry_after } => {
                response.insert_header((header::RETRY_AFTER, *retry_after));
            }
            _ => {}
        }
        response.content_type(ContentType::json()).body(self.body())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;

    async fn body_of(error: ApiError) -> serde_json::Value {
        let bytes = to_bytes(error.error_response().into_body()).await.unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[actix_web::test]
    async fn an_internal_error_never_shows_its_detail() {
        let body = body_of(ApiError::Internal("SELECT * FROM users; /var/db".into())).await;
        assert_eq!(
            body,
            serde_json::json!({"error": "Internal server error", "code": "internal"})
        );
    }

    #[actix_web::test]
    async fn the_original_services_messages_are_kept() {
        assert_eq!(
            body_of(ApiError::UserNotFound).await["error"],
            "User not found"
        );
        assert_eq!(
            body_of(ApiError::EmailTaken).await["error"],
            "Email already exists"
        );
        assert_eq!(
            body_of(ValidationError::InvalidEmail.into()).await["error"],
            "Invalid email address"
        );
    }

    #[test]
    fn a_failed_precondition_is_a_412_and_a_reused_key_a_422() {
        let stale = ApiError::from(StoreError::PreconditionFailed);
        assert_eq!(stale.status_code(), StatusCode::PRECONDITION_FAILED);
        assert_eq!(stale.code(), "precondition_failed");
        let reused = ApiError::from(StoreError::KeyReused);
        assert_eq!(reused.status_code(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(reused.code(), "idempotency_key_reused");
    }

    #[test]
    fn a_conflict_in_storage_is_a_409() {
        let error = ApiError::from(StoreError::Conflict { field: "email" });
        assert_eq!(error.status_code(), StatusCode::CONFLICT);
        assert_eq!(error.code(), "conflict");
    }
}

//! `x-request-id` on every response: the client's own id when it sent a
//! sane one (so a request can be followed across services), otherwise a new
//! one. The request log line carries it.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::Error;

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest client-supplied id kept; longer ones are replaced.
const MAX_LEN: usize = 64;

/// Middleware (use with `actix_web::middleware::from_fn`).
pub async fn request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = req
        .headers()
        .get(&X_REQUEST_ID)
        .filter(|value| is_sane(value.as_bytes()))
        .cloned()
        .unwrap_or_else(new_id);
    let mut response = next.call(req).await?;
    response.headers_mut().insert(X_REQUEST_ID, id);
    Ok(response)
}

/// Letters, digits and `-_.:`, 1 to 64 of them: safe to log and echo.
fn is_sane(id: &[u8]) -> bool {
    (1..=MAX_LEN).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

fn new_id() -> HeaderValue {
    let mut buffer = uuid::Uuid::encode_buffer();
    let text = uuid::Uuid::now_v7().hyphenated().encode_lower(&mut buffer);
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ids_are_kept_and_odd_ones_are_not() {
        assert!(is_sane(b"abc-123_x.y:z"));
        assert!(is_sane(&[b'a'; 64]));
        assert!(!is_sane(&[b'a'; 65]));
        assert!(!is_sane(b""));
        assert!(!is_sane(b"has space"));
        assert!(!is_sane(b"line\nbreak"));
    }

    #[test]
    fn a_new_id_is_a_uuid() {
        let id = new_id();
        assert!(uuid::Uuid::parse_str(id.to_str().unwrap()).is_ok());
    }
}

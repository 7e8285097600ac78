//! Small responses are sent uncompressed, even when the client accepts
//! gzip or brotli; actix-web's `Compress` does the rest.
//!
//! Why: `Compress` compresses every body, and a user (~190 bytes of JSON)
//! gains almost nothing from it while setting up a compressor costs far
//! more than the request itself: measured on GET by id with
//! `Accept-Encoding: gzip` (sent by default by browsers, Python's requests,
//! Go's HTTP client and the load tools built on it), 26k req/s against 95k
//! without the header (BENCHMARKS.md). API.md allows it: "bodies too small
//! to gain may be sent as they are".
//!
//! How: `Compress` leaves alone a response that already has a
//! `Content-Encoding`. So [`mark_small_bodies`], inside `Compress`, gives a
//! small body of known size `Content-Encoding: identity`, and
//! [`unmark_small_bodies`], outside it, takes that header off again
//! (`identity` is not a coding to send).

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderValue, CONTENT_ENCODING};
use actix_web::middleware::Next;
use actix_web::Error;

/// Bodies shorter than this are not compressed: below about a kilobyte
/// the bytes saved do not pay for the compressor (a common threshold: CDNs
/// use 860-1024 bytes).
pub const MIN_COMPRESSED_BYTES: u64 = 1024;

const IDENTITY: HeaderValue = HeaderValue::from_static("identity");

/// Middleware inside `Compress`: marks a small body so it is left as it is.
pub async fn mark_small_bodies(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let mut response = next.call(req).await?;
    let small = match response.response().body().size() {
        BodySize::Sized(bytes) => bytes < MIN_COMPRESSED_BYTES,
        BodySize::None | BodySize::Stream => false,
    };
    let headers = response.headers_mut();
    if small && !headers.contains_key(CONTENT_ENCODING) {
        headers.insert(CONTENT_ENCODING, IDENTITY);
    }
    Ok(response)
}

/// Middleware outside `Compress`: removes the mark again.
pub async fn unmark_small_bodies(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let mut response = next.call(req).await?;
    let headers = response.headers_mut();
    if headers.get(CONTENT_ENCODING) == Some(&IDENTITY) {
        headers.remove(CONTENT_ENCODING);
    }
    Ok(response)
}

//! Response compression: gzip, or brotli for a client that takes only
//! that, for bodies of [`MIN_COMPRESSED_BYTES`] or more, done on the worker
//! with a compressor kept per thread. Smaller bodies (one user, an error)
//! go out as they are; API.md allows it ("bodies too small to gain may be
//! sent as they are").
//!
//! Why not actix-web's `Compress` (measured, BENCHMARKS.md): it compressed
//! every body, so GET by id with `Accept-Encoding: gzip` — which browsers,
//! Python's requests and Go's HTTP client send unasked — ran at 0.3x the
//! rate without the header; it picked brotli whenever offered (every
//! browser) and built a brotli encoder with a 4 MiB window per response, so
//! a list page of 100 users went from 7,400 req/s uncompressed to 400; and
//! gzip, with a fresh encoder per response and a hop to the blocking pool,
//! to 2,600.
//!
//! A request that accepts nothing this service can send (`identity;q=0`
//! without gzip or br) gets the body as it is rather than a 406, which
//! RFC 9110 (section 12.5.3) allows.

use std::cell::RefCell;
use std::io::Write as _;

use actix_web::body::{BodySize, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, AcceptEncoding, Encoding, HeaderMap, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{Error, HttpResponse};
use flate2::{Compress, Compression, Crc, FlushCompress, Status};

/// Bodies shorter than this are not compressed: below about a kilobyte
/// the bytes saved do not pay for the work (CDNs use 860-1024 bytes).
pub const MIN_COMPRESSED_BYTES: u64 = 1024;

/// Larger bodies (a list page of several hundred users) are compressed on
/// the blocking pool: gzip of a page of 100 users (19 KB) costs ~35 µs
/// (measured as the list rate with and without it), one of 1,000 users
/// ten times that, too long to hold the worker's other connections.
const INLINE_MAX_BYTES: usize = 64 * 1024;

/// Brotli's quality and window (log2 bytes): quick, and a window as large
/// as the largest list page (1,000 users, ~190 KB).
const BROTLI_QUALITY: u32 = 3;
const BROTLI_WINDOW_BITS: u32 = 18;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coding {
    Gzip,
    Brotli,
}

/// Middleware: compresses large responses the client accepts compressed.
pub async fn compress<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B, Bytes>>, Error> {
    let mut response = next.call(req).await?;
    if !is_compressible(response.response()) {
        return Ok(response.map_into_left_body());
    }
    // The response keeps its request: its `Accept-Encoding` is parsed only
    // for a body large enough to compress.
    let choice = choose(response.request().headers());
    response
        .headers_mut()
        .append(header::VARY, HeaderValue::from_static("accept-encoding"));
    let Some(coding) = choice else {
        return Ok(response.map_into_left_body());
    };
    let (request, response) = response.into_parts();
    let (head, body) = response.into_parts();
    let plain = match body.try_into_bytes() {
        Ok(plain) => plain,
        Err(body) => {
            return Ok(ServiceResponse::new(request, head.set_body(body)).map_into_left_body())
        }
    };
    let compressed = if plain.len() <= INLINE_MAX_BYTES {
        coding.apply(&plain)
    } else {
        let plain = plain.clone();
        actix_web::rt::task::spawn_blocking(move || coding.apply(&plain))
            .await
            .ok()
            .flatten()
    };
    let Some(compressed) = compressed else {
        return Ok(ServiceResponse::new(request, head.set_body(plain)).map_into_right_body());
    };
    let mut response = head.set_body(Bytes::from(compressed));
    response.headers_mut().insert(
        header::CONTENT_ENCODING,
        HeaderValue::from_static(coding.name()),
    );
    Ok(ServiceResponse::new(request, response).map_into_right_body())
}

impl Coding {
    fn apply(self, plain: &[u8]) -> Option<Vec<u8>> {
        match self {
            Self::Gzip => gzip(plain),
            Self::Brotli => brotli(plain),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Gzip => "gzip",
            Self::Brotli => "br",
        }
    }
}

/// A whole body of known, large enough size, of a type that compresses,
/// not already encoded, with a status that has a body.
fn is_compressible<B: MessageBody>(response: &HttpResponse<B>) -> bool {
    let large = matches!(response.body().size(), BodySize::Sized(n) if n >= MIN_COMPRESSED_BYTES);
    let status = response.status();
    let has_body = !matches!(
        status,
        StatusCode::SWITCHING_PROTOCOLS
            | StatusCode::NO_CONTENT
            | StatusCode::PARTIAL_CONTENT
            | StatusCode::NOT_MODIFIED
    );
    let headers = response.headers();
    let text_like = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_none_or(|mime| {
            // Pictures and sound come compressed already; SVG is text.
            let media = ["image/", "video/", "audio/"]
                .iter()
                .any(|kind| mime.starts_with(kind));
            !media || mime.starts_with("image/svg")
        });
    large && has_body && text_like && !headers.contains_key(header::CONTENT_ENCODING)
}

/// gzip if the client takes it (it is cheaper than brotli at any setting
/// that gains), else brotli if it takes that, else none.
fn choose(request: &HeaderMap) -> Option<Coding> {
    let mut accepts = request.get_all(header::ACCEPT_ENCODING).peekable();
    accepts.peek()?;
    let accept = AcceptEncoding(header::from_comma_delimited(accepts).ok()?);
    let takes = |coding: Encoding| {
        accept.negotiate([coding.clone(), Encoding::identity()].iter()) == Some(coding)
    };
    if takes(Encoding::gzip()) {
        Some(Coding::Gzip)
    } else if takes(Encoding::brotli()) {
        Some(Coding::Brotli)
    } else {
        None
    }
}

thread_local! {
    /// This thread's deflate state, reset for each body instead of building
    /// a new one (hundreds of KiB to allocate and clear).
    static DEFLATE: RefCell<Option<Compress>> = const { RefCell::new(None) };
}

/// `input` as a gzip member (RFC 1952); `None` if deflate failed.
fn gzip(input: &[u8]) -> Option<Vec<u8>> {
    const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let mut out = Vec::with_capacity(input.len() / 4 + 64);
    out.extend_from_slice(&HEADER);
    DEFLATE.with(|cell| {
        let mut cell = cell.try_borrow_mut().ok()?;
        let deflate = cell.get_or_insert_with(|| Compress::new(Compression::fast(), false));
        deflate.reset();
        loop {
            out.reserve(input.len() / 4 + 64);
            let consumed = usize::try_from(deflate.total_in()).ok()?;
            let status = deflate
                .compress_vec(input.get(consumed..)?, &mut out, FlushCompress::Finish)
                .ok()?;
            if status == Status::StreamEnd {
                return Some(());
            }
        }
    })?;
    let mut crc = Crc::new();
    crc.update(input);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&crc.amount().to_le_bytes());
    Some(out)
}

/// `input` as a brotli stream; `None` if it failed.
fn brotli(input: &[u8]) -> Option<Vec<u8>> {
    let out = Vec::with_capacity(input.len() / 4 + 64);
    let mut writer = brotli::CompressorWriter::new(out, 4096, BROTLI_QUALITY, BROTLI_WINDOW_BITS);
    writer.write_all(input).ok()?;
    writer.flush().ok()?;
    Some(writer.into_inner())
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    fn sample(len: usize) -> Vec<u8> {
        (0..len)
            .map(|n| b"{\"email\":\"user@example.com\",\"name\":\"A user\"}"[n % 44])
            .collect()
    }

    #[test]
    fn gzip_output_decodes_to_the_input_with_the_state_reused() {
        for len in [0, 1, 1024, 19_000, 200_000, 5] {
            let input = sample(len);
            let compressed = gzip(&input).unwrap();
            let mut decoded = Vec::new();
            flate2::read::GzDecoder::new(&compressed[..])
                .read_to_end(&mut decoded)
                .unwrap();
            assert_eq!(decoded, input, "{len} bytes");
        }
        // Random bytes do not compress: the output grows past the input.
        let noise: Vec<u8> = (0..50_000u32)
            .map(|n| (n.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(&gzip(&noise).unwrap()[..])
            .read_to_end(&mut decoded)
            .unwrap();
        assert_eq!(decoded, noise);
    }

    #[test]
    fn brotli_output_decodes_to_the_input() {
        let input = sample(190_000);
        let compressed = brotli(&input).unwrap();
        assert!(compressed.len() < input.len() / 10);
        let mut decoded = Vec::new();
        brotli::Decompressor::new(&compressed[..], 4096)
            .read_to_end(&mut decoded)
            .unwrap();
        assert_eq!(decoded, input);
    }

    #[test]
    fn gzip_is_preferred_and_the_clients_refusals_are_kept() {
        let headers = |values: &[&'static str]| {
            let mut headers = HeaderMap::new();
            for value in values {
                headers.append(header::ACCEPT_ENCODING, HeaderValue::from_static(value));
            }
            headers
        };
        let choice = |accept: &'static str| choose(&headers(&[accept]));
        assert_eq!(choice("gzip, deflate, br, zstd"), Some(Coding::Gzip));
        assert_eq!(choice("br;q=1.0, gzip;q=0.8"), Some(Coding::Gzip));
        assert_eq!(choice("br"), Some(Coding::Brotli));
        assert_eq!(choice("gzip;q=0, br"), Some(Coding::Brotli));
        assert_eq!(choice("identity, gzip;q=0.5"), None);
        assert_eq!(choice("zstd"), None);
        // "Anything" includes no coding at all, the cheapest to send.
        assert_eq!(choice("*"), None);
        assert_eq!(choose(&headers(&[])), None);
        let two_lines = headers(&["zstd", "br"]);
        assert_eq!(choose(&two_lines), Some(Coding::Brotli));
    }
}

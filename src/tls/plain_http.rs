//! A client that speaks plain HTTP to the TLS listener (`http://` for
//! `https://`, the commonest mistake with a new HTTPS setup) gets a plain
//! HTTP 400 that says so, in the API's error shape, instead of a TLS alert
//! that curl reports as "Received HTTP/0.9" and a browser as a reset.

use std::time::Duration;

use actix_web::ResponseError;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::error::ApiError;

/// The answer, whole, status and body from [`ApiError`]: the connection
/// closes after it.
fn answer() -> String {
    let error = ApiError::bad_request("This port speaks HTTPS: use https:// to reach it");
    let status = error.status_code();
    let body = error.body();
    format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{body}",
        status.as_u16(),
        status.canonical_reason().unwrap_or_default(),
        body.len(),
    )
}

/// What is read of the request before answering. Unread bytes at close
/// would make the kernel reset the connection, and the client could lose
/// the answer; a request head is rarely longer.
const READ_AT_MOST: usize = 16 * 1024;

/// How long the rest of a request head is waited for.
const READ_FOR: Duration = Duration::from_millis(500);

/// Whether the first byte a client sent starts an HTTP/1 request line (a
/// method is upper-case letters) rather than a TLS record (a handshake
/// record starts with 22).
pub(super) fn is_plain_http(first: u8) -> bool {
    first.is_ascii_uppercase()
}

/// Answers a plain HTTP request on the TLS port and closes the connection.
pub(super) async fn refuse(mut stream: TcpStream) {
    let mut head = vec![0; READ_AT_MOST];
    let mut read = 0;
    let _ = tokio::time::timeout(READ_FOR, async {
        while read < head.len() {
            // Only the new bytes, and the three before them, can complete
            // the blank line that ends the head.
            let from = read.saturating_sub(3);
            match stream.read(&mut head[read..]).await {
                Ok(0) | Err(_) => break,
                Ok(n) => read += n,
            }
            if head[from..read].windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
    })
    .await;
    if stream.write_all(answer().as_bytes()).await.is_ok() {
        let _ = stream.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_is_a_whole_http_response_with_a_json_error() {
        let text = answer();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"));
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(length, body.len());
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["code"], "bad_request");
    }

    #[test]
    fn a_request_line_is_told_from_a_tls_record() {
        for method in ["GET", "POST", "PATCH", "DELETE", "HEAD", "OPTIONS", "PRI"] {
            assert!(is_plain_http(method.as_bytes()[0]), "{method}");
        }
        assert!(!is_plain_http(22));
        assert!(!is_plain_http(0x80));
    }
}

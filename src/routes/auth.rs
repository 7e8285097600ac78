//! Bearer-token authentication for the routes the table marks
//! `needs_token`. The dispatch ([`super::dispatch`]) checks the token before
//! anything else about the request, so a stranger learns nothing (no 400,
//! 404 or 415) without it.

use std::sync::Arc;

use actix_web::http::header::{self, HeaderMap};
use actix_web::HttpRequest;
use subtle::ConstantTimeEq;

use super::http_metrics::Metrics;
use crate::domain::KeyOwner;

/// The accepted API tokens; empty means the API is open.
#[derive(Clone, Default)]
pub struct ApiTokens(Arc<Vec<Vec<u8>>>);

impl ApiTokens {
    /// Surrounding whitespace is dropped (a token read from a file or an
    /// environment variable often ends in a newline); empty tokens are
    /// ignored.
    pub fn new(tokens: impl IntoIterator<Item = String>) -> Self {
        Self(Arc::new(
            tokens
                .into_iter()
                .map(|t| t.trim().as_bytes().to_vec())
                .filter(|t| !t.is_empty())
                .collect(),
        ))
    }

    pub fn is_open(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `candidate` equals one of the tokens. Every token is compared
    /// in constant time, and all are compared, so timing reveals nothing but
    /// the candidate's own length.
    fn accepts(&self, candidate: &[u8]) -> bool {
        self.0.iter().fold(0u8, |found, token| {
            found | token.as_slice().ct_eq(candidate).unwrap_u8()
        }) == 1
    }

    /// Whose idempotency keys a request with these headers uses: a digest
    /// of its token, so clients never share keys; anyone's when the API is
    /// open. Call after [`ApiTokens::allows`] passed.
    pub(super) fn key_owner(&self, headers: &HeaderMap) -> KeyOwner {
        if self.is_open() {
            return KeyOwner::ANYONE;
        }
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| bearer_token(value.as_bytes()))
            .unwrap_or_default();
        let digest = ring::digest::digest(&ring::digest::SHA256, token);
        let mut owner = [0; 16];
        owner.copy_from_slice(&digest.as_ref()[..16]);
        KeyOwner::from_digest(owner)
    }

    /// Whether a request with these headers may pass.
    pub(super) fn allows(&self, headers: &HeaderMap) -> bool {
        if self.is_open() {
            return true;
        }
        headers
            .get(header::AUTHORIZATION)
            .and_then(|value| bearer_token(value.as_bytes()))
            .is_some_and(|token| self.accepts(token))
    }
}

/// The token of an `Authorization: Bearer <token>` value; the scheme is
/// case-insensitive (RFC 7235).
fn bearer_token(value: &[u8]) -> Option<&[u8]> {
    let (scheme, rest) = value.split_at_checked(7)?;
    scheme
        .eq_ignore_ascii_case(b"bearer ")
        .then(|| rest.trim_ascii())
        .filter(|token| !token.is_empty())
}

/// Counts a request refused for its token (metrics, and the log at 1, 10,
/// 100, … so a brute-force attempt shows without flooding the log). The
/// token itself is never logged.
pub(super) fn record_rejection(metrics: &Metrics, req: &HttpRequest) {
    let total = metrics.auth_rejected();
    let from = req
        .peer_addr()
        .map_or_else(|| "an unknown address".to_owned(), |a| a.ip().to_string());
    if total
        .checked_ilog10()
        .is_some_and(|p| 10u64.pow(p) == total)
    {
        log::warn!(
            "{total} requests refused for a missing or wrong API token so far; the latest from {from}"
        );
    } else {
        log::debug!("refused a request without a valid API token from {from}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        assert_eq!(bearer_token(b"bearer abc"), Some(&b"abc"[..]));
        assert_eq!(bearer_token(b"Bearer abc"), Some(&b"abc"[..]));
    }

    #[test]
    fn other_schemes_and_empty_tokens_are_refused() {
        assert_eq!(bearer_token(b"Basic abc"), None);
        assert_eq!(bearer_token(b"Bearer "), None);
        assert_eq!(bearer_token(b"Bearer"), None);
    }

    #[test]
    fn a_configured_token_is_trimmed_and_a_blank_one_leaves_the_api_open() {
        assert!(ApiTokens::new(["tok\n".to_string()]).accepts(b"tok"));
        assert!(ApiTokens::new(["  ".to_string()]).is_open());
    }

    #[test]
    fn any_configured_token_is_accepted_and_nothing_else() {
        let tokens = ApiTokens::new(["old".to_string(), "new".to_string()]);
        assert!(tokens.accepts(b"old"));
        assert!(tokens.accepts(b"new"));
        assert!(!tokens.accepts(b"ne"));
        assert!(!tokens.accepts(b"newer"));
        assert!(!tokens.accepts(b""));
    }
}

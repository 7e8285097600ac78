//! The request headers that make a request conditional or retryable:
//! `If-Match`, `If-None-Match` (RFC 9110 §13) and `Idempotency-Key`, read
//! into domain values; a malformed one is a 400 that names it.

use actix_web::http::header::{self, HeaderMap, HeaderName};

use crate::domain::{IdempotencyKey, TagCondition};
use crate::error::{ApiError, ApiResult};

pub(super) const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Sent, as `true`, on a create answered again for its key.
pub(super) const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";

/// `If-Match`; without one, any current user matches.
pub(super) fn if_match(headers: &HeaderMap) -> ApiResult<TagCondition> {
    Ok(tag_condition(headers, &header::IF_MATCH)?.unwrap_or(TagCondition::Any))
}

/// `If-None-Match`, if sent.
pub(super) fn if_none_match(headers: &HeaderMap) -> ApiResult<Option<TagCondition>> {
    tag_condition(headers, &header::IF_NONE_MATCH)
}

fn tag_condition(headers: &HeaderMap, name: &HeaderName) -> ApiResult<Option<TagCondition>> {
    TagCondition::parse(headers.get_all(name).map(|value| value.as_bytes()))
        .map_err(|e| ApiError::bad_request(format!("{} {e}", display_name(name))))
}

/// Whether the request carries an `Idempotency-Key` at all (most do not:
/// the hot path then reads nothing more).
pub(super) fn has_idempotency_key(headers: &HeaderMap) -> bool {
    headers.contains_key(IDEMPOTENCY_KEY)
}

/// `Idempotency-Key`, if sent; sent twice is a 400, since a request has
/// one identity.
pub(super) fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<IdempotencyKey>> {
    let mut values = headers.get_all(IDEMPOTENCY_KEY);
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(ApiError::bad_request(
            "Idempotency-Key must be sent once, not repeated",
        ));
    }
    IdempotencyKey::parse(value.as_bytes())
        .map(Some)
        .map_err(|e| ApiError::bad_request(e.to_string()))
}

fn display_name(name: &HeaderName) -> &'static str {
    match *name {
        header::IF_MATCH => "If-Match",
        _ => "If-None-Match",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static [u8])]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_static(name),
                HeaderValue::from_bytes(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn no_if_match_is_unconditional() {
        assert_eq!(if_match(&HeaderMap::new()).unwrap(), TagCondition::Any);
        assert_eq!(if_none_match(&HeaderMap::new()).unwrap(), None);
    }

    #[test]
    fn a_malformed_condition_is_a_400_naming_its_header() {
        let error = if_match(&headers(&[("if-match", b"abc")])).unwrap_err();
        assert!(matches!(&error, ApiError::BadRequest(m) if m.starts_with("If-Match must be")));
        let error = if_none_match(&headers(&[("if-none-match", b"W/x")])).unwrap_err();
        assert!(matches!(&error, ApiError::BadRequest(m) if m.starts_with("If-None-Match must")));
    }

    #[test]
    fn a_key_is_read_once_and_must_be_valid() {
        let key = idempotency_key(&headers(&[(IDEMPOTENCY_KEY, b"k-1")])).unwrap();
        assert_eq!(key.unwrap().as_str(), "k-1");
        assert!(idempotency_key(&HeaderMap::new()).unwrap().is_none());
        assert!(idempotency_key(&headers(&[(IDEMPOTENCY_KEY, b"two words")])).is_err());
        assert!(idempotency_key(&headers(&[
            (IDEMPOTENCY_KEY, b"a"),
            (IDEMPOTENCY_KEY, b"a")
        ]))
        .is_err());
    }
}

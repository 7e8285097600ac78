//! actix's own rejections of a body or a query string rewritten into API
//! errors, so every error has one shape (a refused CORS preflight:
//! `cors.rs`).

use actix_web::error::{JsonPayloadError, PayloadError, QueryPayloadError};
use actix_web::web;
use percent_encoding::percent_decode_str;
use serde::de::DeserializeOwned;

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

fn query_rejection(error: QueryPayloadError) -> ApiError {
    ApiError::bad_request(format!("Invalid query string: {error}"))
}

/// The parameters of a query string. actix decodes percent-escapes lossily,
/// so `q=%ff` would be a search for U+FFFD; a parameter whose name or value
/// is not UTF-8 once decoded is refused instead, by name.
pub(super) fn query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    /// Characters of an undecodable name quoted back.
    const NAME_SHOWN: usize = 40;
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let utf8 = |text| percent_decode_str(text).decode_utf8().is_ok();
        if !utf8(name) || !utf8(value) {
            let name: String = percent_decode_str(name)
                .decode_utf8_lossy()
                .chars()
                .take(NAME_SHOWN)
                .collect();
            return Err(ApiError::bad_request(format!(
                "query parameter {name} is not UTF-8 once percent-decoded"
            )));
        }
    }
    web::Query::<T>::from_query(query)
        .map(web::Query::into_inner)
        .map_err(query_rejection)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn message(error: ApiError) -> String {
        match error {
            ApiError::BadRequest(message) => message,
            other => panic!("not a bad request: {other:?}"),
        }
    }

    #[test]
    fn a_value_or_name_that_is_not_utf8_is_refused_by_name() {
        let refused = |text| message(query::<HashMap<String, String>>(text).unwrap_err());
        assert_eq!(
            refused("limit=5&q=%ff"),
            "query parameter q is not UTF-8 once percent-decoded"
        );
        assert_eq!(
            refused("q%c3=x"),
            "query parameter q\u{fffd} is not UTF-8 once percent-decoded"
        );
    }

    #[test]
    fn escaped_utf8_and_plus_signs_are_decoded_as_before() {
        let params: HashMap<String, String> =
            query("q=M%C3%BCller+x&sort=name&flag&e=%EF%BF%BD").unwrap();
        assert_eq!(params["q"], "Müller x");
        assert_eq!(params["sort"], "name");
        assert_eq!(params["flag"], "");
        assert_eq!(params["e"], "\u{fffd}");
    }
}

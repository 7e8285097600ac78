//! The `Link: <…>; rel="next"` of a listing page: the same listing (every
//! parameter of the request, normalised) from the last user on.

use std::fmt::Write;

use super::paths;
use crate::storage::{Cursor, ListQuery, Position, Sort};

/// What the next page's URL repeats of this one's; made before the query
/// goes to the store.
pub(super) struct NextLink {
    /// `/users?limit=…&…`: everything but the cursor.
    base: String,
    scope: u64,
}

impl NextLink {
    pub(super) fn of(query: &ListQuery) -> Self {
        let mut base = format!("{}?limit={}", paths::USERS, query.limit);
        if query.sort != Sort::NEWEST_FIRST {
            let _ = write!(base, "&sort={}", query.sort.name());
        }
        if let Some(term) = &query.search {
            base.push_str("&q=");
            encode_component(&mut base, term.as_str());
        }
        if let Some(email) = &query.email {
            base.push_str("&email=");
            encode_component(&mut base, email.as_str());
        }
        for (name, at) in [
            ("created_after", query.created_after),
            ("created_before", query.created_before),
        ] {
            if let Some(at) = at {
                let _ = write!(base, "&{name}={at}");
            }
        }
        Self {
            base,
            scope: query.scope(),
        }
    }

    /// The header's value for a next page that starts after `position`.
    pub(super) fn to(&self, position: Position) -> String {
        let cursor = Cursor {
            scope: self.scope,
            position,
        };
        format!("<{}&cursor={}>; rel=\"next\"", self.base, cursor.encode())
    }
}

/// Percent-encodes all but RFC 3986's unreserved characters.
fn encode_component(out: &mut String, text: &str) {
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{SearchTerm, Timestamp, UserId};

    #[test]
    fn the_link_repeats_the_listing_and_encodes_the_search() {
        let query = ListQuery {
            search: Some(SearchTerm::parse("Zoë & co/\"x\"").unwrap()),
            sort: Sort::parse("-name").unwrap(),
            created_after: Some(Timestamp::from_unix_micros(0)),
            ..ListQuery::first(20)
        };
        let link = NextLink::of(&query).to(Position::Name {
            name: "Zoë".into(),
            id: UserId::from_bytes([7; 16]),
        });
        let prefix = "</users?limit=20&sort=-name&q=zo%C3%AB%20%26%20co%2F%22x%22\
                      &created_after=1970-01-01T00:00:00.000000Z&cursor=";
        assert!(link.starts_with(prefix), "{link}");
        assert!(link.ends_with(">; rel=\"next\""), "{link}");
        let cursor = &link[prefix.len()..link.len() - ">; rel=\"next\"".len()];
        let decoded = Cursor::decode(cursor).unwrap();
        assert_eq!(decoded.scope, query.scope());
    }
}

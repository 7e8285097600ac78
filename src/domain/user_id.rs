//! `UserId`: the server-generated UUID that names a user.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

/// A user's id: a UUID, version 7 when this service generated it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(Uuid);

/// The text given as an id is not a UUID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("id is not a valid UUID")]
pub struct InvalidUserId;

impl UserId {
    /// A new time-ordered (v7) id; ids made by one process increase.
    pub fn generate() -> Self {
        Self(Uuid::now_v7())
    }

    /// Accepts a UUID in any letter case.
    pub fn parse(raw: &str) -> Result<Self, InvalidUserId> {
        Uuid::try_parse(raw).map(Self).map_err(|_| InvalidUserId)
    }

    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(Uuid::from_bytes(bytes))
    }

    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl FromStr for UserId {
    type Err = InvalidUserId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Always the lower-case hyphenated form.
impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upper_case_id_is_accepted_and_written_in_lower_case() {
        let id = UserId::parse("0193A5C4-7D1E-7CC2-9B1E-4F7E0A8B9C10").unwrap();
        assert_eq!(id.to_string(), "0193a5c4-7d1e-7cc2-9b1e-4f7e0a8b9c10");
    }

    #[test]
    fn text_that_is_not_a_uuid_is_rejected() {
        for raw in ["", "abc", "0193a5c4-7d1e-7cc2-9b1e-4f7e0a8b9c1", "1 OR 1=1"] {
            assert_eq!(UserId::parse(raw), Err(InvalidUserId), "{raw:?}");
        }
    }

    #[test]
    fn generated_ids_are_version_7_and_increase() {
        let a = UserId::generate();
        let b = UserId::generate();
        assert_eq!(a.as_uuid().get_version_num(), 7);
        assert!(b > a);
    }
}

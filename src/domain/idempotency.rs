//! `Idempotency-Key` values and whose they are.

use std::fmt;

/// The longest key accepted (API.md).
pub const MAX_KEY_LEN: usize = 255;

/// A client's name for one create request, so that a retry of it is
/// recognised: 1 to 255 visible ASCII characters (no spaces).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

/// A header value that is not a valid key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Idempotency-Key must be 1 to 255 visible ASCII characters")]
pub struct InvalidIdempotencyKey;

impl IdempotencyKey {
    /// Surrounding spaces are not part of a header's value and are dropped.
    pub fn parse(raw: &[u8]) -> Result<Self, InvalidIdempotencyKey> {
        let key = raw.trim_ascii();
        let visible = key.iter().all(|b| b.is_ascii_graphic());
        if key.is_empty() || key.len() > MAX_KEY_LEN || !visible {
            return Err(InvalidIdempotencyKey);
        }
        // All ASCII, so valid UTF-8.
        String::from_utf8(key.to_vec())
            .map(Self)
            .map_err(|_| InvalidIdempotencyKey)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whose keys these are: a digest of the API token the request carried, so
/// one client can never replay (or block) another's key. All requests
/// share [`KeyOwner::ANYONE`] when the API is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyOwner([u8; 16]);

impl KeyOwner {
    pub const ANYONE: Self = Self([0; 16]);

    /// The caller derives the bytes from a secret with a cryptographic
    /// digest; they are stored, the secret never is.
    pub fn from_digest(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

/// A create that a client may retry: the key and whose it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryableCreate {
    pub owner: KeyOwner,
    pub key: IdempotencyKey,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_of_visible_ascii_is_accepted_without_its_surrounding_spaces() {
        let key = IdempotencyKey::parse(b"  8e03978e-40d5-43e8-bc93-6894a57f9324 ").unwrap();
        assert_eq!(key.as_str(), "8e03978e-40d5-43e8-bc93-6894a57f9324");
        assert!(IdempotencyKey::parse(b"\"quoted\"!~").is_ok());
        assert!(IdempotencyKey::parse(&[b'k'; MAX_KEY_LEN]).is_ok());
    }

    #[test]
    fn an_empty_long_or_invisible_key_is_refused() {
        for bad in [
            &b""[..],
            b"   ",
            &[b'k'; MAX_KEY_LEN + 1],
            b"two words",
            b"tab\there",
            b"caf\xc3\xa9",
            b"nul\0",
            b"del\x7f",
        ] {
            assert_eq!(
                IdempotencyKey::parse(bad),
                Err(InvalidIdempotencyKey),
                "{bad:?}"
            );
        }
    }
}

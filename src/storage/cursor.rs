//! `Cursor`: an opaque, tamper-evident position in the newest-first order.
//!
//! The order is `(created_at DESC, id DESC)`, so a cursor is the pair of the
//! last user on a page. It carries no server state, so any instance can
//! continue a walk another began. A checksum rejects corrupt or hand-edited
//! cursors; it is not a secret, because a cursor grants nothing beyond a
//! position in a listing the client may read anyway.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::domain::{Timestamp, UserId};

const VERSION: u8 = 1;
const LEN: usize = 1 + 8 + 16 + 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: Timestamp,
    pub id: UserId,
}

/// The text is not a cursor this service issued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid cursor")]
pub struct InvalidCursor;

impl Cursor {
    pub fn encode(&self) -> String {
        let mut bytes = [0u8; LEN];
        bytes[0] = VERSION;
        bytes[1..9].copy_from_slice(&self.created_at.unix_micros().to_be_bytes());
        bytes[9..25].copy_from_slice(self.id.as_bytes());
        let sum = checksum(&bytes[..25]);
        bytes[25..].copy_from_slice(&sum.to_be_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    pub fn decode(text: &str) -> Result<Self, InvalidCursor> {
        let mut bytes = [0u8; LEN];
        // A valid cursor is exactly 39 characters; anything longer is rejected
        // before decoding so a huge parameter costs nothing.
        if text.len() != 39 {
            return Err(InvalidCursor);
        }
        let written = URL_SAFE_NO_PAD
            .decode_slice(text, &mut bytes)
            .map_err(|_| InvalidCursor)?;
        if written != LEN || bytes[0] != VERSION {
            return Err(InvalidCursor);
        }
        let sum = u32::from_be_bytes([bytes[25], bytes[26], bytes[27], bytes[28]]);
        if sum != checksum(&bytes[..25]) {
            return Err(InvalidCursor);
        }
        let mut micros = [0u8; 8];
        micros.copy_from_slice(&bytes[1..9]);
        let mut id = [0u8; 16];
        id.copy_from_slice(&bytes[9..25]);
        Ok(Self {
            created_at: Timestamp::from_unix_micros(i64::from_be_bytes(micros)),
            id: UserId::from_bytes(id),
        })
    }
}

/// FNV-1a folded to 32 bits, with a service-specific offset so a cursor from
/// another program that uses plain FNV does not pass.
fn checksum(bytes: &[u8]) -> u32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325 ^ 0x7573_6572_7376_6331; // "usersvc1"
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash >> 32) as u32 ^ hash as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Cursor {
        Cursor {
            created_at: Timestamp::from_unix_micros(1_795_519_800_123_456),
            id: UserId::parse("0193a5c4-7d1e-7cc2-9b1e-4f7e0a8b9c10").unwrap(),
        }
    }

    #[test]
    fn a_cursor_round_trips() {
        let text = sample().encode();
        assert_eq!(text.len(), 39);
        assert_eq!(Cursor::decode(&text), Ok(sample()));
    }

    #[test]
    fn a_cursor_is_url_safe() {
        assert!(sample()
            .encode()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }

    #[test]
    fn every_single_character_change_is_rejected() {
        let text = sample().encode();
        for i in 0..text.len() {
            let mut chars: Vec<char> = text.chars().collect();
            chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
            let forged: String = chars.into_iter().collect();
            assert_eq!(Cursor::decode(&forged), Err(InvalidCursor), "position {i}");
        }
    }

    #[test]
    fn garbage_is_rejected() {
        for text in ["", "abc", "!!!!", &"A".repeat(39), &"A".repeat(10_000)] {
            assert_eq!(Cursor::decode(text), Err(InvalidCursor), "{text:?}");
        }
    }
}

//! `Fnv`: a small, stable, non-cryptographic hash for values that must come
//! out the same on every instance and after every restart (cursor scopes,
//! entity tags). Never used where an attacker gains by a collision.

/// FNV-1a, 64 bits, with a service-specific offset; fields are length-
/// prefixed so that no two different field lists hash the same bytes.
pub struct Fnv(u64);

impl Fnv {
    pub fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325 ^ 0x7573_6572_7376_6331) // "usersvc1"
    }

    pub fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    /// An optional field: absent and empty hash differently.
    pub fn write_field(&mut self, field: Option<impl AsRef<[u8]>>) {
        match field {
            None => self.write(&[0]),
            Some(bytes) => {
                let bytes = bytes.as_ref();
                self.write(&[1]);
                self.write(&(bytes.len() as u64).to_be_bytes());
                self.write(bytes);
            }
        }
    }

    pub fn finish(&self) -> u64 {
        self.0
    }
}

impl Default for Fnv {
    fn default() -> Self {
        Self::new()
    }
}

//! `Version`: how many changes a user has seen.

/// 1 when a user is created, one more with every change that moves
/// `updated_at` (a no-op `PATCH` moves neither). Two changes within one
/// clock tick still get two versions, which `updated_at` alone cannot tell
/// apart; the user's entity tag is derived from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(u64);

impl Version {
    pub const FIRST: Self = Self(1);

    pub fn next(self) -> Self {
        Self(self.0.saturating_add(1))
    }

    pub fn get(self) -> u64 {
        self.0
    }

    /// A version read back from a database column; `None` below 1.
    pub fn from_stored(stored: i64) -> Option<Self> {
        u64::try_from(stored).ok().filter(|v| *v >= 1).map(Self)
    }

    /// The value a database column holds (versions stay far below
    /// `i64::MAX`: one per change).
    pub fn to_stored(self) -> i64 {
        i64::try_from(self.0).unwrap_or(i64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_start_at_one_and_count_up() {
        assert_eq!(Version::FIRST.get(), 1);
        assert_eq!(Version::FIRST.next().get(), 2);
    }

    #[test]
    fn a_stored_version_below_one_is_not_a_version() {
        assert_eq!(Version::from_stored(0), None);
        assert_eq!(Version::from_stored(-3), None);
        assert_eq!(Version::from_stored(7), Some(Version(7)));
        assert_eq!(Version(7).to_stored(), 7);
    }
}

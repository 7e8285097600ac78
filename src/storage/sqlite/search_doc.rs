//! A user's number in the search index, ordered like `created_at`, newest
//! first.
//!
//! FTS5 indexes rows by an integer, and `users` has none. The number is
//! minus the millisecond of `created_at` (clamped to about 1831..2109)
//! times 2^20, plus a slot free within that millisecond. So the index
//! yields matches millisecond by millisecond, newest first, in its own
//! ascending order: FTS5 streams a doclist forwards, but to walk one
//! backwards it reads the whole doclist first (profiled at 1M users: a
//! newest-first search spent its time in fts5SegIterReverseInitPage and
//! pread). A search page reads one page of matches, not all of them
//! (`listing.rs` orders users within one millisecond). Migration V3
//! numbers the users that existed before it with the same formula.

/// Slots per millisecond.
const SLOT_BITS: u32 = 20;
const SLOTS: i64 = 1 << SLOT_BITS;
/// Milliseconds either side of 1970 that get a bucket of their own.
const MAX_BUCKET: i64 = (1 << 42) - 1;

/// The millisecond bucket of a `created_at` in microseconds. Truncating
/// division, like SQLite's, keeps the order: a later instant never gets
/// an earlier bucket.
pub(super) fn bucket(created_at_micros: i64) -> i64 {
    (created_at_micros / 1000).clamp(-MAX_BUCKET - 1, MAX_BUCKET)
}

/// The bucket a number is in.
pub(super) fn bucket_of(doc: i64) -> i64 {
    -(doc >> SLOT_BITS)
}

/// The first and last number of the bucket of `created_at_micros`: a later
/// instant has smaller numbers.
pub(super) fn range(created_at_micros: i64) -> (i64, i64) {
    let first = -bucket(created_at_micros) * SLOTS;
    (first, first + SLOTS - 1)
}

/// The number a new user gets, as the value of `search_doc` in an INSERT
/// whose `?6` is the first number of its bucket: the next free slot, or
/// NULL (not searchable) once a millisecond holds 2^20 users. A macro so
/// that the statements that use it are constants.
macro_rules! allocate {
    () => {
        "(SELECT CASE \
            WHEN max(search_doc) IS NULL THEN ?6 \
            WHEN max(search_doc) < ?6 + 1048575 THEN max(search_doc) + 1 END \
         FROM users WHERE search_doc BETWEEN ?6 AND ?6 + 1048575)"
    };
}
pub(super) use allocate;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_the_order_of_created_at_newest_first() {
        let instants = [
            i64::MIN,
            -9_000_000_000_000_000,
            -1_500,
            -999,
            0,
            999,
            1_000,
            1_795_519_800_123_456,
            9_000_000_000_000_000,
            i64::MAX,
        ];
        for pair in instants.windows(2) {
            assert!(bucket(pair[0]) <= bucket(pair[1]), "{pair:?}");
            assert!(range(pair[0]).0 >= range(pair[1]).0, "{pair:?}");
            let (first, last) = range(pair[1]);
            assert_eq!(bucket_of(first), bucket(pair[1]));
            assert_eq!(bucket_of(last), bucket(pair[1]));
        }
        assert_eq!(range(i64::MIN).1, (MAX_BUCKET + 1) * SLOTS + SLOTS - 1);
        assert_eq!(range(i64::MAX).0, -MAX_BUCKET * SLOTS);
    }
}

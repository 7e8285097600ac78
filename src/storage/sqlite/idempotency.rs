//! Idempotency keys on SQLite (migration V5). The writer looks a key up,
//! stores it and sweeps expired ones, always inside its own transactions,
//! so a key and the user it created are committed together or not at all.

use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension};

use super::connection::store_error;
use super::queries;
use crate::domain::{KeyOwner, RetryableCreate, Timestamp, User, Version};
use crate::storage::{Created, StoreError};

/// Creates `user` unless `retry`'s key is already stored and not older
/// than `fresh_after`: then its user is answered again (`Replayed`), or
/// `KeyReused` when this request asked for another email or name. Part of
/// the writer's transaction.
pub(super) fn create_once(
    conn: &Connection,
    user: &User,
    retry: &RetryableCreate,
    fresh_after: Timestamp,
) -> Result<Created, StoreError> {
    // The common case, a new key, costs two inserts and no lookup.
    if let Some(seq) = claim(conn, retry, user)? {
        if let Err(e) = queries::insert(conn, user) {
            // The insert was its own statement: drop the key again, so no
            // key stays without its user (a failure that ended the whole
            // transaction undid it already).
            if !conn.is_autocommit() {
                forget(conn, seq)?;
            }
            return Err(e);
        }
        return Ok(Created::New(user.clone()));
    }
    let (seq, stored) = find(conn, retry)?
        .ok_or_else(|| StoreError::internal("an idempotency key vanished while in use"))?;
    if stored.created_at > fresh_after {
        return match stored.email == user.email && stored.name == user.name {
            true => Ok(Created::Replayed(stored)),
            false => Err(StoreError::KeyReused),
        };
    }
    // Expired but not swept yet: the key is free again.
    forget(conn, seq)?;
    create_once(conn, user, retry, fresh_after)
}

/// Whether `owner` has a stored key `key` not older than `fresh_after`.
pub(super) fn is_stored(
    conn: &Connection,
    owner: &KeyOwner,
    key: &str,
    fresh_after: Timestamp,
) -> Result<bool, StoreError> {
    const SQL: &str = "SELECT created_at FROM idempotency_keys WHERE owner = ?1 AND key = ?2";
    let mut stmt = conn.prepare_cached(SQL).map_err(store_error)?;
    let created_at: Option<i64> = stmt
        .query_row((owner.as_bytes().as_slice(), key), |row| row.get(0))
        .optional()
        .map_err(store_error)?;
    Ok(created_at.is_some_and(|at| at > fresh_after.unix_micros()))
}

/// The stored key's sequence number and the user it created, as created.
fn find(conn: &Connection, retry: &RetryableCreate) -> Result<Option<(i64, User)>, StoreError> {
    const SQL: &str = "SELECT seq, user_id, email, name, created_at FROM idempotency_keys \
                       WHERE owner = ?1 AND key = ?2";
    let mut stmt = conn.prepare_cached(SQL).map_err(store_error)?;
    let found = stmt
        .query_row(
            (retry.owner.as_bytes().as_slice(), retry.key.as_str()),
            |row| {
                let seq: i64 = row.get(0)?;
                let id: [u8; 16] = row.get(1)?;
                let created_at: i64 = row.get(4)?;
                // A new user: updated_at is created_at, version 1.
                let user = queries::build_user(
                    id,
                    row.get(2)?,
                    row.get(3)?,
                    (created_at, created_at),
                    Version::FIRST.to_stored(),
                );
                Ok(user.map(|user| (seq, user)))
            },
        )
        .optional()
        .map_err(store_error)?;
    found.transpose()
}

/// Stores the key for `user` unless the owner has it already; returns the
/// new row's sequence number, or `None` when the key was taken.
fn claim(
    conn: &Connection,
    retry: &RetryableCreate,
    user: &User,
) -> Result<Option<i64>, StoreError> {
    const SQL: &str =
        "INSERT INTO idempotency_keys (owner, key, user_id, email, name, created_at) \
                       VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (owner, key) DO NOTHING";
    let mut stmt = conn.prepare_cached(SQL).map_err(store_error)?;
    let inserted = stmt
        .execute((
            retry.owner.as_bytes().as_slice(),
            retry.key.as_str(),
            user.id.as_bytes().as_slice(),
            user.email.as_str(),
            user.name.as_str(),
            user.created_at.unix_micros(),
        ))
        .map_err(store_error)?;
    Ok((inserted == 1).then(|| conn.last_insert_rowid()))
}

fn forget(conn: &Connection, seq: i64) -> Result<(), StoreError> {
    const SQL: &str = "DELETE FROM idempotency_keys WHERE seq = ?1";
    let mut stmt = conn.prepare_cached(SQL).map_err(store_error)?;
    stmt.execute([seq]).map_err(store_error)?;
    Ok(())
}

/// Deletes up to `limit` keys from the oldest on, while they are older
/// than `expired_before`; returns how many. Keys are stored in the order
/// they expire in, so this reads only what it deletes (plus one row).
fn sweep(conn: &Connection, expired_before: Timestamp, limit: usize) -> Result<usize, StoreError> {
    const OLDEST: &str = "SELECT seq, created_at FROM idempotency_keys ORDER BY seq LIMIT ?1";
    const DELETE: &str = "DELETE FROM idempotency_keys WHERE seq <= ?1";
    conn.execute_batch("BEGIN IMMEDIATE").map_err(store_error)?;
    let swept = (|| {
        let mut stmt = conn.prepare_cached(OLDEST).map_err(store_error)?;
        let mut rows = stmt
            .query([i64::try_from(limit).unwrap_or(i64::MAX)])
            .map_err(store_error)?;
        let mut last = None;
        let mut count = 0;
        while let Some(row) = rows.next().map_err(store_error)? {
            let seq: i64 = row.get(0).map_err(store_error)?;
            let created_at: i64 = row.get(1).map_err(store_error)?;
            if created_at >= expired_before.unix_micros() {
                break;
            }
            last = Some(seq);
            count += 1;
        }
        drop(rows);
        if let Some(last) = last {
            let mut stmt = conn.prepare_cached(DELETE).map_err(store_error)?;
            stmt.execute([last]).map_err(store_error)?;
        }
        Ok(count)
    })();
    let end = match swept {
        Ok(_) => "COMMIT",
        Err(_) => "ROLLBACK",
    };
    conn.execute_batch(end).map_err(store_error)?;
    swept
}

/// The writer's schedule for deleting expired keys: once a minute, and
/// again after every batch while a sweep still finds a full chunk, so the
/// sweep keeps up with any rate of keyed creates. Lookups ignore expired
/// keys, so a key left over for a while is never answered.
pub(super) struct KeySweep {
    ttl: Duration,
    next: Instant,
}

impl KeySweep {
    const EVERY: Duration = Duration::from_secs(60);
    /// Keys deleted per transaction: a few milliseconds of the writer.
    const CHUNK: usize = 1_000;

    pub(super) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            next: Instant::now(),
        }
    }

    /// Sweeps if it is time; returns whether it deleted anything.
    pub(super) fn run_if_due(&mut self, conn: &Connection) -> bool {
        let now = Instant::now();
        if now < self.next {
            return false;
        }
        let expired_before = Timestamp::now().minus(self.ttl);
        match sweep(conn, expired_before, Self::CHUNK) {
            Ok(swept) => {
                if swept > 0 {
                    log::debug!("swept {swept} expired idempotency keys");
                }
                self.next = match swept < Self::CHUNK {
                    true => now + Self::EVERY,
                    false => now,
                };
                swept > 0
            }
            Err(e) => {
                log::warn!("deleting expired idempotency keys failed: {e}");
                self.next = now + Self::EVERY;
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Email, IdempotencyKey, NewUser, UserName};
    use crate::storage::sqlite::connection::{open_writer, Durability};
    use crate::storage::sqlite::migrate;

    fn keyed(n: usize, at: i64) -> (User, RetryableCreate) {
        let user = User::create(
            NewUser {
                email: Email::parse(&format!("k{n}@example.com")).unwrap(),
                name: UserName::parse("K").unwrap(),
            },
            Timestamp::from_unix_micros(at),
        );
        let retry = RetryableCreate {
            owner: KeyOwner::ANYONE,
            key: IdempotencyKey::parse(format!("key-{n}").as_bytes()).unwrap(),
        };
        (user, retry)
    }

    fn keys(conn: &Connection) -> i64 {
        conn.query_row("SELECT count(*) FROM idempotency_keys", [], |row| {
            row.get(0)
        })
        .unwrap()
    }

    #[test]
    fn a_sweep_deletes_expired_keys_from_the_oldest_in_chunks_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = open_writer(&dir.path().join("users.db"), Durability::Normal).unwrap();
        migrate::apply(&mut conn).unwrap();
        // 25 keys stored at 1..=25 s, in that order.
        for n in 1..=25 {
            let (user, retry) = keyed(n, n as i64 * 1_000_000);
            create_once(&conn, &user, &retry, Timestamp::from_unix_micros(0)).unwrap();
        }
        let expired_before = Timestamp::from_unix_micros(20_500_000);
        assert_eq!(sweep(&conn, expired_before, 8).unwrap(), 8);
        assert_eq!(sweep(&conn, expired_before, 8).unwrap(), 8);
        assert_eq!(sweep(&conn, expired_before, 8).unwrap(), 4, "up to key 20");
        assert_eq!(sweep(&conn, expired_before, 8).unwrap(), 0);
        assert_eq!(keys(&conn), 5);
        // The users stay: only the keys expire.
        let users: i64 = conn
            .query_row("SELECT count(*) FROM users", [], |row| row.get(0))
            .unwrap();
        assert_eq!(users, 25);
        assert!(conn.is_autocommit(), "each sweep commits");
    }

    #[test]
    fn an_expired_key_is_taken_over_and_a_failed_create_leaves_no_key() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = open_writer(&dir.path().join("users.db"), Durability::Normal).unwrap();
        migrate::apply(&mut conn).unwrap();
        let (first, retry) = keyed(1, 1_000_000);
        create_once(&conn, &first, &retry, Timestamp::from_unix_micros(0)).unwrap();
        // Same key, another user, after the first expired: created anew.
        let (mut second, _) = keyed(2, 9_000_000);
        second.created_at = Timestamp::from_unix_micros(9_000_000);
        let fresh_after = Timestamp::from_unix_micros(5_000_000);
        let created = create_once(&conn, &second, &retry, fresh_after).unwrap();
        assert_eq!(created, Created::New(second.clone()));
        assert_eq!(keys(&conn), 1);
        // A create that fails (its email is taken) keeps no key; inside a
        // transaction, as the writer runs it.
        let (mut taken, other) = keyed(3, 9_000_001);
        taken.email = second.email.clone();
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        let failed = create_once(&conn, &taken, &other, fresh_after);
        conn.execute_batch("COMMIT").unwrap();
        assert!(
            matches!(failed, Err(StoreError::Conflict { .. })),
            "{failed:?}"
        );
        assert_eq!(keys(&conn), 1);
    }
}

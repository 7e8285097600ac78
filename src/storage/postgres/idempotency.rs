//! Idempotency keys on PostgreSQL (migration V3): a keyed create inserts
//! its key first, in the transaction that then inserts the user. The key's
//! primary key makes a concurrent request with the same key (on this
//! instance or another) wait until the first commits or rolls back.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use deadpool_postgres::GenericClient;
use uuid::Uuid;

use super::error::store_error;
use super::queries::{self, from_datetime, to_datetime};
use crate::domain::{Email, KeyOwner, RetryableCreate, Timestamp, User, UserId, UserName, Version};
use crate::storage::{Created, StoreError};

/// Creates `user` unless `retry`'s key is kept (stored after
/// `fresh_after`): then answers its user again, or `KeyReused` when the
/// email or name differ. Run inside a transaction, which the caller rolls
/// back on an error: a taken email leaves no key.
pub(super) async fn create_once(
    client: &impl GenericClient,
    user: &User,
    retry: &RetryableCreate,
    fresh_after: Timestamp,
) -> Result<Created, StoreError> {
    // An expired key is taken over in place.
    const CLAIM: &str =
        "INSERT INTO idempotency_keys (owner, key, user_id, email, name, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (owner, key) DO UPDATE SET user_id = EXCLUDED.user_id, \
             email = EXCLUDED.email, name = EXCLUDED.name, created_at = EXCLUDED.created_at \
         WHERE idempotency_keys.created_at <= $7 \
         RETURNING true";
    const STORED: &str = "SELECT user_id, email, name, created_at FROM idempotency_keys \
                          WHERE owner = $1 AND key = $2";
    let owner = retry.owner.as_bytes().as_slice();
    let claim = client.prepare_cached(CLAIM).await.map_err(store_error)?;
    let claimed = client
        .query_opt(
            &claim,
            &[
                &owner,
                &retry.key.as_str(),
                &user.id.as_uuid(),
                &user.email.as_str(),
                &user.name.as_str(),
                &to_datetime(user.created_at)?,
                &to_datetime(fresh_after)?,
            ],
        )
        .await
        .map_err(store_error)?;
    if claimed.is_some() {
        queries::insert(client, user).await?;
        return Ok(Created::New(user.clone()));
    }
    let stored = client.prepare_cached(STORED).await.map_err(store_error)?;
    let row = client
        .query_opt(&stored, &[&owner, &retry.key.as_str()])
        .await
        .map_err(store_error)?
        .ok_or_else(|| StoreError::internal("an idempotency key vanished while in use"))?;
    let stored = stored_user(&row)?;
    match stored.email == user.email && stored.name == user.name {
        true => Ok(Created::Replayed(stored)),
        false => Err(StoreError::KeyReused),
    }
}

/// The user a key's row describes, as it was created.
fn stored_user(row: &tokio_postgres::Row) -> Result<User, StoreError> {
    let corrupt = |e: &dyn std::fmt::Display| {
        StoreError::internal(format!("stored idempotency key is invalid: {e}"))
    };
    let id: Uuid = row.try_get(0).map_err(|e| corrupt(&e))?;
    let email: String = row.try_get(1).map_err(|e| corrupt(&e))?;
    let name: String = row.try_get(2).map_err(|e| corrupt(&e))?;
    let created_at = from_datetime(row.try_get(3).map_err(|e| corrupt(&e))?)?;
    Ok(User {
        id: UserId::from_bytes(id.into_bytes()),
        email: Email::from_stored(email).map_err(|e| corrupt(&e))?,
        name: UserName::from_stored(name).map_err(|e| corrupt(&e))?,
        created_at,
        updated_at: created_at,
        version: Version::FIRST,
    })
}

/// Whether `owner` has the key `key`, stored after `fresh_after`.
pub(super) async fn is_kept(
    client: &impl GenericClient,
    owner: &KeyOwner,
    key: &str,
    fresh_after: Timestamp,
) -> Result<bool, StoreError> {
    const SQL: &str = "SELECT EXISTS (SELECT 1 FROM idempotency_keys \
                       WHERE owner = $1 AND key = $2 AND created_at > $3)";
    let stmt = client.prepare_cached(SQL).await.map_err(store_error)?;
    let row = client
        .query_one(
            &stmt,
            &[
                &owner.as_bytes().as_slice(),
                &key,
                &to_datetime(fresh_after)?,
            ],
        )
        .await
        .map_err(store_error)?;
    row.try_get(0).map_err(StoreError::internal)
}

/// Deletes up to [`KeySweep::CHUNK`] keys stored before `expired_before`;
/// returns how many.
async fn sweep(client: &impl GenericClient, expired_before: Timestamp) -> Result<u64, StoreError> {
    const SQL: &str = "DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY( \
                       SELECT ctid FROM idempotency_keys WHERE created_at < $1 \
                       ORDER BY created_at LIMIT 1000))";
    let stmt = client.prepare_cached(SQL).await.map_err(store_error)?;
    client
        .execute(&stmt, &[&to_datetime(expired_before)?])
        .await
        .map_err(store_error)
}

/// When this instance next deletes expired keys: once a minute, after a
/// create, in a task of its own (so no request waits for it), and at once
/// again while a sweep finds a full chunk. Every instance sweeps; lookups
/// ignore expired keys, so one left over for a while is never answered.
pub(super) struct KeySweep {
    ttl: Duration,
    /// Unix milliseconds of the next sweep.
    next: AtomicI64,
}

impl KeySweep {
    const EVERY_MS: i64 = 60_000;
    const CHUNK: u64 = 1_000;

    pub(super) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            next: AtomicI64::new(0),
        }
    }

    pub(super) fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Whether a sweep is due now; if so, the caller runs it ([`Self::run`])
    /// and no other caller does until it is due again.
    pub(super) fn claim(&self) -> bool {
        let now = Timestamp::now().unix_micros() / 1_000;
        let next = self.next.load(Ordering::Relaxed);
        now >= next
            && self
                .next
                .compare_exchange(
                    next,
                    now + Self::EVERY_MS,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
    }

    pub(super) async fn run(&self, client: &impl GenericClient) {
        match sweep(client, Timestamp::now().minus(self.ttl)).await {
            Ok(swept) => {
                if swept > 0 {
                    log::debug!("swept {swept} expired idempotency keys");
                }
                if swept >= Self::CHUNK {
                    self.next.store(0, Ordering::Relaxed);
                }
            }
            Err(e) => log::warn!("deleting expired idempotency keys failed: {e}"),
        }
    }
}

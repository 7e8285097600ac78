//! One batch of writes, applied in one transaction and committed once.
//!
//! Every op changes the database with exactly one statement, and SQLite
//! undoes a statement that fails on a constraint while keeping the rest of
//! the transaction (statement atomicity, the `ABORT` conflict resolution). So
//! a failing op (a duplicate email) undoes only itself, and ops need no
//! savepoint of their own: `SAVEPOINT`/`RELEASE` per op and the pages they
//! copied into the statement journal cost, measured, about 7 % of the
//! durable POST rate. The one op with two statements, a create with an
//! idempotency key (key, then user), deletes its key itself when the user's
//! insert fails (`idempotency::create_once`).

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use rusqlite::Connection;

use super::cache::{Change, UserCache};
use super::connection::store_error;
use super::idempotency;
use super::queries;
use super::reply::{self, Reply, WriteOutcome};
use crate::domain::{RetryableCreate, TagCondition, Timestamp, User, UserId, UserPatch};
use crate::storage::{check_precondition, Created, StorageMetrics, StoreError};

/// The most ops committed together.
pub(super) const MAX_BATCH: usize = 256;

/// One change to apply.
#[derive(Debug)]
pub(super) enum WriteOp {
    Create(User),
    /// A create with an idempotency key; keys stored before `fresh_after`
    /// have expired.
    CreateOnce {
        user: User,
        retry: RetryableCreate,
        fresh_after: Timestamp,
    },
    Update {
        id: UserId,
        patch: UserPatch,
        expected: TagCondition,
    },
    Delete {
        id: UserId,
        expected: TagCondition,
    },
    /// Checks the writer is alive and the database accepts a transaction.
    Probe,
}

/// Like [`commit_batch`], but a panic (a bug) fails only this batch's
/// requests (their replies are dropped: 500) instead of stopping every
/// future write.
pub(super) fn commit_batch_or_recover(
    conn: &Connection,
    batch: &mut Vec<(WriteOp, Reply)>,
    metrics: &StorageMetrics,
    cache: Option<&UserCache>,
) {
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        commit_batch(conn, batch, metrics, cache)
    }));
    if outcome.is_err() {
        // It may have committed without updating the cache.
        if let Some(cache) = cache {
            cache.clear();
        }
        log::error!(
            "the writer panicked applying a batch of {}; it was rolled back",
            batch.len()
        );
        if !conn.is_autocommit() {
            if let Err(e) = conn.execute_batch("ROLLBACK") {
                log::error!("rolling back after a panic failed: {e}");
            }
        }
        batch.clear();
    }
}

/// Applies every op of `batch` in one transaction, updates the cache, and
/// replies to each.
fn commit_batch(
    conn: &Connection,
    batch: &mut Vec<(WriteOp, Reply)>,
    metrics: &StorageMetrics,
    cache: Option<&UserCache>,
) {
    let size = batch.len();
    let started = Instant::now();
    let results = match apply_all(conn, batch) {
        Ok(results) => {
            if let Some(cache) = cache {
                cache.committed(batch.iter().zip(&results).filter_map(change));
            }
            results
        }
        Err(e) => {
            log::error!("write batch of {size} failed to commit: {e}");
            batch.iter().map(|_| Err(same_failure(&e))).collect()
        }
    };
    let elapsed = started.elapsed();
    metrics.batch_size.observe(size as f64);
    metrics.commit_seconds.observe(elapsed.as_secs_f64());
    log::debug!(
        "committed a batch of {size} writes in {} us",
        elapsed.as_micros()
    );
    reply::deliver(batch.drain(..).map(|(_, reply)| reply).zip(results));
}

/// What a committed op did to a user, for the cache.
fn change<'a>(
    ((op, _), result): (&(WriteOp, Reply), &'a Result<WriteOutcome, StoreError>),
) -> Option<Change<'a>> {
    match (op, result) {
        (_, Ok(WriteOutcome::User(user))) => Some(Change::Written(user)),
        (WriteOp::Delete { id, .. }, Ok(WriteOutcome::Done)) => Some(Change::Deleted(*id)),
        _ => None,
    }
}

/// The same failure for each request of a batch (`StoreError` holds a boxed
/// source, so it cannot be cloned).
fn same_failure(error: &StoreError) -> StoreError {
    match error {
        StoreError::StorageFull => StoreError::StorageFull,
        StoreError::PreconditionFailed => StoreError::PreconditionFailed,
        StoreError::KeyReused => StoreError::KeyReused,
        StoreError::Unavailable(reason) => StoreError::Unavailable(reason.clone()),
        other => StoreError::internal(other.to_string()),
    }
}

/// Runs the batch in one transaction. Transaction control goes through
/// cached prepared statements (parsing `BEGIN`/`COMMIT` anew per batch showed
/// in profiles).
///
/// Some failures (a full database, an I/O error) make SQLite roll back the
/// whole transaction, not just the statement. The op that caused it then
/// fails for good, and the batch is run again without it, so its neighbours
/// are neither lost nor judged against writes that were undone.
fn apply_all(
    conn: &Connection,
    batch: &[(WriteOp, Reply)],
) -> Result<Vec<Result<WriteOutcome, StoreError>>, StoreError> {
    let mut fatal: Vec<Option<StoreError>> = batch.iter().map(|_| None).collect();
    loop {
        exec(conn, "BEGIN IMMEDIATE")?;
        match apply_each(conn, batch, &mut fatal) {
            Pass::Applied(results) => {
                if let Err(e) = exec(conn, "COMMIT") {
                    rollback_if_open(conn);
                    return Err(e);
                }
                return Ok(results
                    .into_iter()
                    .zip(fatal)
                    .map(|(result, fatal)| fatal.map_or(result, Err))
                    .collect());
            }
            Pass::RolledBack => continue,
        }
    }
}

/// How one pass over a batch ended.
enum Pass {
    /// Every op ran (some may have failed, undoing only their statement).
    Applied(Vec<Result<WriteOutcome, StoreError>>),
    /// SQLite rolled the transaction back; the culprit is now in `fatal`.
    RolledBack,
}

fn apply_each(
    conn: &Connection,
    batch: &[(WriteOp, Reply)],
    fatal: &mut [Option<StoreError>],
) -> Pass {
    let mut results = Vec::with_capacity(batch.len());
    for ((op, _), fatal) in batch.iter().zip(fatal.iter_mut()) {
        if fatal.is_some() {
            // Skipped this pass; `apply_all` puts its error in this place.
            results.push(Ok(WriteOutcome::Done));
            continue;
        }
        let result = apply(conn, op);
        if result.is_err() && conn.is_autocommit() {
            *fatal = result.err();
            return Pass::RolledBack;
        }
        results.push(result);
    }
    Pass::Applied(results)
}

fn rollback_if_open(conn: &Connection) {
    if !conn.is_autocommit() {
        if let Err(e) = conn.execute_batch("ROLLBACK") {
            log::error!("rolling back a failed batch failed: {e}");
        }
    }
}

/// Executes one cached statement that takes no parameters.
fn exec(conn: &Connection, sql: &str) -> Result<(), StoreError> {
    conn.prepare_cached(sql)
        .and_then(|mut statement| statement.execute([]))
        .map(|_| ())
        .map_err(store_error)
}

fn apply(conn: &Connection, op: &WriteOp) -> Result<WriteOutcome, StoreError> {
    match op {
        WriteOp::Create(user) => {
            queries::insert(conn, user)?;
            Ok(WriteOutcome::User(user.clone()))
        }
        WriteOp::CreateOnce {
            user,
            retry,
            fresh_after,
        } => match idempotency::create_once(conn, user, retry, *fresh_after)? {
            Created::New(user) => Ok(WriteOutcome::User(user)),
            Created::Replayed(user) => Ok(WriteOutcome::Replayed(user)),
        },
        WriteOp::Update {
            id,
            patch,
            expected,
        } => {
            let mut user = queries::get(conn, *id)?.ok_or(StoreError::NotFound)?;
            check_precondition(expected, &user)?;
            if user.apply(patch.clone(), Timestamp::now()) {
                queries::update(conn, &user)?;
            }
            Ok(WriteOutcome::User(user))
        }
        WriteOp::Delete { id, expected } => {
            if *expected != TagCondition::Any {
                let user = queries::get(conn, *id)?.ok_or(StoreError::NotFound)?;
                check_precondition(expected, &user)?;
            }
            match queries::delete(conn, *id)? {
                true => Ok(WriteOutcome::Done),
                false => Err(StoreError::NotFound),
            }
        }
        WriteOp::Probe => match super::connection::is_full(conn)? {
            true => Err(StoreError::Unavailable("the database is full".into())),
            false => Ok(WriteOutcome::Done),
        },
    }
}

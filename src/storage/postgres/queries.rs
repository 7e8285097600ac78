//! The SQL of the users table on PostgreSQL and the mapping between rows and
//! `User`. Bound parameters only; statements are prepared once per
//! connection and cached.

use deadpool_postgres::GenericClient;
use time::OffsetDateTime;
use tokio_postgres::Row;
use uuid::Uuid;

use super::error::store_error;
use crate::domain::{Email, TagCondition, Timestamp, User, UserId, UserName, UserPatch, Version};
use crate::storage::{check_precondition, StoreError};

pub(super) const SELECT: &str =
    "SELECT id, email, name, created_at, updated_at, version FROM users";

pub(super) async fn get(
    client: &impl GenericClient,
    id: UserId,
) -> Result<Option<User>, StoreError> {
    let stmt = client
        .prepare_cached(&format!("{SELECT} WHERE id = $1"))
        .await
        .map_err(store_error)?;
    let row = client
        .query_opt(&stmt, &[&id.as_uuid()])
        .await
        .map_err(store_error)?;
    row.as_ref().map(read_row).transpose()
}

pub(super) async fn insert(client: &impl GenericClient, user: &User) -> Result<(), StoreError> {
    let stmt = client
        .prepare_cached(
            "INSERT INTO users (id, email, name, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .await
        .map_err(store_error)?;
    client
        .execute(
            &stmt,
            &[
                &user.id.as_uuid(),
                &user.email.as_str(),
                &user.name.as_str(),
                &to_datetime(user.created_at)?,
                &to_datetime(user.updated_at)?,
            ],
        )
        .await
        .map_err(store_error)?;
    Ok(())
}

/// The user under a row lock, so that what is checked against it stays
/// true until the transaction ends; run inside one.
pub(super) async fn lock(client: &impl GenericClient, id: UserId) -> Result<User, StoreError> {
    let stmt = client
        .prepare_cached(&format!("{SELECT} WHERE id = $1 FOR UPDATE"))
        .await
        .map_err(store_error)?;
    let row = client
        .query_opt(&stmt, &[&id.as_uuid()])
        .await
        .map_err(store_error)?
        .ok_or(StoreError::NotFound)?;
    read_row(&row)
}

/// Reads the user under a row lock, checks `expected`, applies `patch`
/// with the domain's rules and writes it back only if something changed.
/// Run inside a transaction.
pub(super) async fn update(
    client: &impl GenericClient,
    id: UserId,
    patch: UserPatch,
    expected: &TagCondition,
) -> Result<User, StoreError> {
    let mut user = lock(client, id).await?;
    check_precondition(expected, &user)?;
    if !user.apply(patch, Timestamp::now()) {
        return Ok(user);
    }
    let stmt = client
        .prepare_cached(
            "UPDATE users SET email = $2, name = $3, updated_at = $4, version = $5 WHERE id = $1",
        )
        .await
        .map_err(store_error)?;
    client
        .execute(
            &stmt,
            &[
                &user.id.as_uuid(),
                &user.email.as_str(),
                &user.name.as_str(),
                &to_datetime(user.updated_at)?,
                &user.version.to_stored(),
            ],
        )
        .await
        .map_err(store_error)?;
    Ok(user)
}

/// Returns whether a user was deleted.
pub(super) async fn delete(client: &impl GenericClient, id: UserId) -> Result<bool, StoreError> {
    let stmt = client
        .prepare_cached("DELETE FROM users WHERE id = $1")
        .await
        .map_err(store_error)?;
    let deleted = client
        .execute(&stmt, &[&id.as_uuid()])
        .await
        .map_err(store_error)?;
    Ok(deleted > 0)
}

/// Touches the users table and fails when the server only accepts reads (a
/// standby, or `default_transaction_read_only`), where every write would fail.
pub(super) async fn probe(client: &impl GenericClient) -> Result<(), StoreError> {
    let stmt = client
        .prepare_cached(
            "SELECT pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on', \
                    EXISTS (SELECT 1 FROM users)",
        )
        .await
        .map_err(store_error)?;
    let row = client.query_one(&stmt, &[]).await.map_err(store_error)?;
    let read_only: bool = row.try_get(0).map_err(StoreError::internal)?;
    if read_only {
        return Err(StoreError::Unavailable(
            "the PostgreSQL server only accepts reads".into(),
        ));
    }
    Ok(())
}

/// Bytes of the users table with its indexes and TOAST.
pub(super) async fn table_bytes(client: &impl GenericClient) -> Result<u64, StoreError> {
    let stmt = client
        .prepare_cached("SELECT pg_total_relation_size('users')")
        .await
        .map_err(store_error)?;
    let row = client.query_one(&stmt, &[]).await.map_err(store_error)?;
    let bytes: i64 = row.try_get(0).map_err(StoreError::internal)?;
    Ok(u64::try_from(bytes).unwrap_or(0))
}

pub(super) fn to_datetime(at: Timestamp) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(at.unix_micros()) * 1_000)
        .map_err(StoreError::internal)
}

pub(super) fn from_datetime(at: OffsetDateTime) -> Result<Timestamp, StoreError> {
    i64::try_from(at.unix_timestamp_nanos().div_euclid(1_000))
        .map(Timestamp::from_unix_micros)
        .map_err(StoreError::internal)
}

/// A row of `id, email, name, created_at, updated_at, version`. Stored values are
/// re-validated: a row that breaks the domain rules was written behind the
/// service's back.
pub(super) fn read_row(row: &Row) -> Result<User, StoreError> {
    let corrupt =
        |e: &dyn std::fmt::Display| StoreError::internal(format!("stored user is invalid: {e}"));
    let id: Uuid = row.try_get(0).map_err(|e| corrupt(&e))?;
    let email: String = row.try_get(1).map_err(|e| corrupt(&e))?;
    let name: String = row.try_get(2).map_err(|e| corrupt(&e))?;
    let created_at: OffsetDateTime = row.try_get(3).map_err(|e| corrupt(&e))?;
    let updated_at: OffsetDateTime = row.try_get(4).map_err(|e| corrupt(&e))?;
    let version: i64 = row.try_get(5).map_err(|e| corrupt(&e))?;
    Ok(User {
        id: UserId::from_bytes(id.into_bytes()),
        email: Email::from_stored(email).map_err(|e| corrupt(&e))?,
        name: UserName::from_stored(name).map_err(|e| corrupt(&e))?,
        created_at: from_datetime(created_at)?,
        updated_at: from_datetime(updated_at)?,
        version: Version::from_stored(version)
            .ok_or_else(|| corrupt(&format!("version {version}")))?,
    })
}

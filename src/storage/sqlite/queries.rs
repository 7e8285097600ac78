//! The SQL of the users table and the mapping between rows and `User`.
//! Bound parameters only.

use rusqlite::{Connection, OptionalExtension, Row};

use super::connection::store_error;
use super::search_doc;
use crate::domain::{Email, Timestamp, User, UserId, UserName, Version};
use crate::storage::StoreError;

pub(super) fn get(conn: &Connection, id: UserId) -> Result<Option<User>, StoreError> {
    const SQL: &str =
        "SELECT id, email, name, created_at, updated_at, version FROM users WHERE id = ?1";
    let mut stmt = conn.prepare_cached(SQL).map_err(store_error)?;
    stmt.query_row([id.as_bytes().as_slice()], read_row)
        .optional()
        .map_err(store_error)?
        .transpose()
}

pub(super) fn by_email(conn: &Connection, email: &Email) -> Result<Option<User>, StoreError> {
    const SQL: &str =
        "SELECT id, email, name, created_at, updated_at, version FROM users WHERE email = ?1";
    let mut stmt = conn.prepare_cached(SQL).map_err(store_error)?;
    stmt.query_row([email.as_str()], read_row)
        .optional()
        .map_err(store_error)?
        .transpose()
}

macro_rules! insert_user {
    () => {
        concat!(
            "INSERT INTO users (id, email, name, created_at, updated_at, version, search_doc) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?7, ",
            search_doc::allocate!(),
            ")"
        )
    };
}

/// Adds a user with its search number; takes [`insert_params`]. The
/// user is listed for the search index by [`list_for_search`] next.
const INSERT: &str = insert_user!();
/// [`INSERT`], or nothing when the id or email is taken.
const INSERT_OR_SKIP: &str = concat!(insert_user!(), " ON CONFLICT DO NOTHING");

/// The values of [`INSERT`]'s parameters for `user`; `?6` is the first
/// search number of its bucket (the search number's SQL reads it).
fn insert_params(user: &User) -> impl rusqlite::Params + '_ {
    (
        user.id.as_bytes().as_slice(),
        user.email.as_str(),
        user.name.as_str(),
        user.created_at.unix_micros(),
        user.updated_at.unix_micros(),
        search_doc::range(user.created_at.unix_micros()).0,
        user.version.to_stored(),
    )
}

pub(super) fn insert(conn: &Connection, user: &User) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(INSERT).map_err(store_error)?;
    stmt.execute(insert_params(user)).map_err(store_error)?;
    list_for_search(conn, user)
}

/// [`insert`], unless the id or email is taken; returns whether it was.
pub(super) fn insert_unless_taken(conn: &Connection, user: &User) -> Result<bool, StoreError> {
    let mut stmt = conn.prepare_cached(INSERT_OR_SKIP).map_err(store_error)?;
    let inserted = stmt.execute(insert_params(user)).map_err(store_error)? == 1;
    if inserted {
        list_for_search(conn, user)?;
    }
    Ok(inserted)
}

/// Lists the user just inserted for the search index (`search_index`
/// moves listed users into FTS5 in bulk). A statement of its own rather
/// than a trigger of the insert: see migration V6. Should it fail while
/// the transaction goes on, the user is deleted again, so an insert is
/// still all or nothing.
fn list_for_search(conn: &Connection, user: &User) -> Result<(), StoreError> {
    const SQL: &str = "INSERT OR IGNORE INTO users_search_pending (doc) \
                       SELECT search_doc FROM users WHERE id = ?1 AND search_doc IS NOT NULL";
    let listed = conn
        .prepare_cached(SQL)
        .and_then(|mut stmt| stmt.execute([user.id.as_bytes().as_slice()]))
        .map_err(store_error);
    if let Err(e) = listed {
        if !conn.is_autocommit() {
            delete(conn, user.id)?;
        }
        return Err(e);
    }
    Ok(())
}

pub(super) fn update(conn: &Connection, user: &User) -> Result<(), StoreError> {
    const SQL: &str =
        "UPDATE users SET email = ?2, name = ?3, updated_at = ?4, version = ?5 WHERE id = ?1";
    let mut stmt = conn.prepare_cached(SQL).map_err(store_error)?;
    match stmt
        .execute((
            user.id.as_bytes().as_slice(),
            user.email.as_str(),
            user.name.as_str(),
            user.updated_at.unix_micros(),
            user.version.to_stored(),
        ))
        .map_err(store_error)?
    {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

/// Returns whether a user was deleted.
pub(super) fn delete(conn: &Connection, id: UserId) -> Result<bool, StoreError> {
    const SQL: &str = "DELETE FROM users WHERE id = ?1";
    let mut stmt = conn.prepare_cached(SQL).map_err(store_error)?;
    let deleted = stmt
        .execute([id.as_bytes().as_slice()])
        .map_err(store_error)?;
    Ok(deleted > 0)
}

/// A cheap query that touches the users table.
pub(super) fn probe(conn: &Connection) -> Result<(), StoreError> {
    const SQL: &str = "SELECT 1 FROM users LIMIT 1";
    let mut stmt = conn.prepare_cached(SQL).map_err(store_error)?;
    stmt.query_row([], |_| Ok(()))
        .optional()
        .map_err(store_error)?;
    Ok(())
}

pub(super) fn collect(
    rows: impl Iterator<Item = rusqlite::Result<Result<User, StoreError>>>,
) -> Result<Vec<User>, StoreError> {
    rows.map(|row| row.map_err(store_error)?).collect()
}

/// A row of `id, email, name, created_at, updated_at, version`. Stored
/// values are re-validated: a row that breaks the domain rules means the
/// file was changed behind the service's back.
pub(super) fn read_row(row: &Row<'_>) -> rusqlite::Result<Result<User, StoreError>> {
    let id: [u8; 16] = row.get(0)?;
    let email: String = row.get(1)?;
    let name: String = row.get(2)?;
    let created_at: i64 = row.get(3)?;
    let updated_at: i64 = row.get(4)?;
    let version: i64 = row.get(5)?;
    Ok(build_user(
        id,
        email,
        name,
        (created_at, updated_at),
        version,
    ))
}

/// A user from stored columns; `times` is `(created_at, updated_at)`.
pub(super) fn build_user(
    id: [u8; 16],
    email: String,
    name: String,
    (created_at, updated_at): (i64, i64),
    version: i64,
) -> Result<User, StoreError> {
    let corrupt =
        |e: &dyn std::fmt::Display| StoreError::internal(format!("stored user is invalid: {e}"));
    Ok(User {
        id: UserId::from_bytes(id),
        email: Email::from_stored(email).map_err(|e| corrupt(&e))?,
        name: UserName::from_stored(name).map_err(|e| corrupt(&e))?,
        created_at: Timestamp::from_unix_micros(created_at),
        updated_at: Timestamp::from_unix_micros(updated_at),
        version: Version::from_stored(version)
            .ok_or_else(|| corrupt(&format!("version {version}")))?,
    })
}

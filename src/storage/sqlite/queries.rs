//! The SQL of the users table and the mapping between rows and `User`.
//! Bound parameters only.

use rusqlite::{named_params, Connection, OptionalExtension, Row};

use super::connection::store_error;
use crate::domain::{Email, Timestamp, User, UserId, UserName};
use crate::storage::{Cursor, ListQuery, Page, StoreError};

pub(super) fn get(conn: &Connection, id: UserId) -> Result<Option<User>, StoreError> {
    const SQL: &str = "SELECT id, email, name, created_at, updated_at FROM users WHERE id = ?1";
    let mut stmt = conn.prepare_cached(SQL).map_err(store_error)?;
    stmt.query_row([id.as_bytes().as_slice()], read_row)
        .optional()
        .map_err(store_error)?
        .transpose()
}

// The limit is wrapped in a CAST so the query planner cannot see its value:
// when it can, SQLite marks the statement to be compiled again whenever a
// value is bound there, which made every cached list statement re-parse its
// SQL on each page (6.6 % of the list phase's samples). Same plans either way
// (the created_at index); `a_list_statement_is_compiled_once` checks.
const FIRST: &str = "SELECT id, email, name, created_at, updated_at FROM users \
     ORDER BY created_at DESC, id DESC LIMIT CAST(:limit AS INTEGER)";
const AFTER: &str = "SELECT id, email, name, created_at, updated_at FROM users \
     WHERE (created_at, id) < (:created_at, :id) \
     ORDER BY created_at DESC, id DESC LIMIT CAST(:limit AS INTEGER)";

pub(super) fn list(conn: &Connection, query: &ListQuery) -> Result<Page, StoreError> {
    if let Some(email) = &query.email {
        return list_by_email(conn, email, query.after.as_ref());
    }
    // One extra row tells whether another page follows.
    let fetch = i64::from(query.limit) + 1;
    let mut users = match &query.after {
        None => {
            let mut stmt = conn.prepare_cached(FIRST).map_err(store_error)?;
            let rows = stmt
                .query_map(named_params! {":limit": fetch}, read_row)
                .map_err(store_error)?;
            collect(rows)?
        }
        Some(cursor) => {
            let mut stmt = conn.prepare_cached(AFTER).map_err(store_error)?;
            let rows = stmt
                .query_map(
                    named_params! {
                        ":created_at": cursor.created_at.unix_micros(),
                        ":id": cursor.id.as_bytes().as_slice(),
                        ":limit": fetch,
                    },
                    read_row,
                )
                .map_err(store_error)?;
            collect(rows)?
        }
    };
    let next = if users.len() > query.limit as usize {
        users.truncate(query.limit as usize);
        users.last().map(cursor_of)
    } else {
        None
    };
    Ok(Page { users, next })
}

fn list_by_email(
    conn: &Connection,
    email: &Email,
    after: Option<&Cursor>,
) -> Result<Page, StoreError> {
    let user = by_email(conn, email)?;
    let users = user
        .into_iter()
        .filter(|u| after.is_none_or(|c| (u.created_at, u.id) < (c.created_at, c.id)))
        .collect();
    Ok(Page { users, next: None })
}

pub(super) fn by_email(conn: &Connection, email: &Email) -> Result<Option<User>, StoreError> {
    const SQL: &str = "SELECT id, email, name, created_at, updated_at FROM users WHERE email = ?1";
    let mut stmt = conn.prepare_cached(SQL).map_err(store_error)?;
    stmt.query_row([email.as_str()], read_row)
        .optional()
        .map_err(store_error)?
        .transpose()
}

pub(super) fn insert(conn: &Connection, user: &User) -> Result<(), StoreError> {
    const SQL: &str = "INSERT INTO users (id, email, name, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)";
    let mut stmt = conn.prepare_cached(SQL).map_err(store_error)?;
    stmt.execute((
        user.id.as_bytes().as_slice(),
        user.email.as_str(),
        user.name.as_str(),
        user.created_at.unix_micros(),
        user.updated_at.unix_micros(),
    ))
    .map_err(store_error)?;
    Ok(())
}

pub(super) fn update(conn: &Connection, user: &User) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE users SET email = ?2, name = ?3, updated_at = ?4 WHERE id = ?1";
    let mut stmt = conn.prepare_cached(SQL).map_err(store_error)?;
    match stmt
        .execute((
            user.id.as_bytes().as_slice(),
            user.email.as_str(),
            user.name.as_str(),
            user.updated_at.unix_micros(),
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

fn cursor_of(user: &User) -> Cursor {
    Cursor {
        created_at: user.created_at,
        id: user.id,
    }
}

fn collect(
    rows: impl Iterator<Item = rusqlite::Result<Result<User, StoreError>>>,
) -> Result<Vec<User>, StoreError> {
    rows.map(|row| row.map_err(store_error)?).collect()
}

/// A row of `id, email, name, created_at, updated_at`. Stored values are re-validated: a row that breaks the
/// domain rules means the file was changed behind the service's back.
fn read_row(row: &Row<'_>) -> rusqlite::Result<Result<User, StoreError>> {
    let id: [u8; 16] = row.get(0)?;
    let email: String = row.get(1)?;
    let name: String = row.get(2)?;
    let created_at: i64 = row.get(3)?;
    let updated_at: i64 = row.get(4)?;
    Ok(build_user(id, email, name, created_at, updated_at))
}

fn build_user(
    id: [u8; 16],
    email: String,
    name: String,
    created_at: i64,
    updated_at: i64,
) -> Result<User, StoreError> {
    let corrupt = |e| StoreError::internal(format!("stored user is invalid: {e}"));
    Ok(User {
        id: UserId::from_bytes(id),
        email: Email::from_stored(email).map_err(corrupt)?,
        name: UserName::from_stored(name).map_err(corrupt)?,
        created_at: Timestamp::from_unix_micros(created_at),
        updated_at: Timestamp::from_unix_micros(updated_at),
    })
}

#[cfg(test)]
mod tests {
    use rusqlite::StatementStatus;

    use super::*;
    use crate::domain::NewUser;

    #[test]
    fn a_list_statement_is_compiled_once() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::migrate::apply(&mut conn).unwrap();
        for n in 0..30 {
            let new = NewUser {
                email: Email::parse(&format!("u{n}@example.com")).unwrap(),
                name: UserName::parse("U").unwrap(),
            };
            let now = Timestamp::from_unix_micros(1_700_000_000_000_000 + n);
            insert(&conn, &User::create(new, now)).unwrap();
        }
        let mut query = ListQuery {
            limit: 10,
            email: None,
            after: None,
        };
        let mut seen = 0;
        for page in 0.. {
            let listed = list(&conn, &query).unwrap();
            seen += listed.users.len();
            query.limit = 10 + page; // a different value each time, too
            match listed.next {
                Some(next) => query.after = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, 30);
        for sql in [FIRST, AFTER] {
            let stmt = conn.prepare_cached(sql).unwrap();
            assert_eq!(stmt.get_status(StatementStatus::RePrepare), 0, "{sql}");
            assert!(stmt.get_status(StatementStatus::Run) >= 1, "{sql}");
        }
    }
}

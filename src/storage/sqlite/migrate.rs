//! Schema migrations, embedded in the binary and applied at start-up.

use std::path::{Path, PathBuf};
use std::time::Instant;

use refinery::Target;
use rusqlite::{Connection, OptionalExtension};

use super::connection::{self, Durability, OpenError};
use super::search_index;

mod embedded {
    refinery::embed_migrations!("migrations/sqlite");
}

const HISTORY_TABLE: &str = "refinery_schema_history";

/// Opens the database at `path` and applies pending migrations; returns the
/// versions applied now (empty when it was already current).
pub fn migrate(path: &Path) -> Result<Vec<i64>, OpenError> {
    let mut conn = connection::open_writer(path, Durability::Full)?;
    apply(&mut conn)
}

/// Applies pending migrations on `conn`, refusing a database whose schema is
/// newer than this binary knows (running on it could corrupt its data).
/// An existing database is upgraded one migration at a time, each logged
/// with how long it took: at a million users building an index takes a
/// while, and the log says what the service is doing meanwhile.
pub(super) fn apply(conn: &mut Connection) -> Result<Vec<i64>, OpenError> {
    let path = conn_path(conn);
    let known = known_version();
    let failed = |e: rusqlite::Error| OpenError::from_sqlite(&path, e);
    let found = applied_version(conn).map_err(failed)?;
    if let Some(found) = found.filter(|&found| found > known) {
        return Err(OpenError::SchemaTooNew { path, found, known });
    }
    let mut pending: Vec<i32> = embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| m.version())
        .filter(|&version| found.is_none_or(|found| i64::from(version) > found))
        .collect();
    pending.sort_unstable();
    let upgrade = found.is_some() && !pending.is_empty();
    if let (true, Some(found)) = (upgrade, found) {
        let users: i64 = conn
            .query_row("SELECT count(*) FROM users", [], |row| row.get(0))
            .map_err(failed)?;
        log::info!(
            "upgrading {} from schema version {found} to {known} ({users} users)",
            path.display()
        );
    }
    for &version in &pending {
        let started = Instant::now();
        embedded::migrations::runner()
            .set_target(Target::Version(version))
            .run(conn)
            .map_err(|e| OpenError::Migration {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        if upgrade {
            log::info!(
                "applied schema version {version} in {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    search_index::catch_up(conn).map_err(|e| OpenError::Migration {
        path: path.clone(),
        reason: format!("building the search index: {e}"),
    })?;
    Ok(pending.into_iter().map(i64::from).collect())
}

/// The newest schema version this binary has a migration for.
pub(super) fn known_version() -> i64 {
    embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| i64::from(m.version()))
        .max()
        .unwrap_or(0)
}

/// The highest migration version recorded in the database, if any.
pub(super) fn applied_version(conn: &Connection) -> Result<Option<i64>, rusqlite::Error> {
    let has_history: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1)",
        [HISTORY_TABLE],
        |row| row.get(0),
    )?;
    if !has_history {
        return Ok(None);
    }
    conn.query_row(
        &format!("SELECT MAX(version) FROM {HISTORY_TABLE}"),
        [],
        |row| row.get::<_, Option<i64>>(0),
    )
    .optional()
    .map(Option::flatten)
}

fn conn_path(conn: &Connection) -> PathBuf {
    PathBuf::from(conn.path().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Email, NewUser, SearchTerm, Timestamp, User, UserName};
    use crate::storage::{ListQuery, Sort};

    /// A new database in `dir` with the migrations up to `version` applied,
    /// as an older binary left it.
    fn at_version(dir: &Path, version: i32) -> Connection {
        let mut conn = connection::open_writer(&dir.join("users.db"), Durability::Full).unwrap();
        embedded::migrations::runner()
            .set_target(Target::Version(version))
            .run(&mut conn)
            .unwrap();
        conn
    }

    /// A database of schema version 1 (before search) with users in it
    /// gets numbered, indexed and searchable on the next start.
    #[test]
    fn an_existing_database_is_upgraded_and_its_users_found() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = at_version(dir.path(), 1);
        // Three users in one millisecond, in an order their ids do not
        // follow, and one long before the clamp.
        for (id, email, name, created_at) in [
            (
                3u8,
                "c@example.com",
                "Carol Lovelace",
                1_700_000_000_000_100i64,
            ),
            (1, "a@example.com", "Ada Lovelace", 1_700_000_000_000_100),
            (2, "b@example.com", "Bob Byron", 1_700_000_000_000_200),
            (4, "d@example.com", "Dan Lovelace", -9_000_000_000_000_000),
        ] {
            conn.execute(
                "INSERT INTO users (id, email, name, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
                ([id; 16].as_slice(), email, name, created_at),
            )
            .unwrap();
        }
        assert_eq!(apply(&mut conn).unwrap(), vec![2, 3, 4, 5, 6, 7, 8]);
        let pending: i64 = conn
            .query_row("SELECT count(*) FROM users_search_pending", [], |row| {
                row.get(0)
            })
            .unwrap();
        assert_eq!(pending, 0, "every user is in the index");
        let listed = |sort: &str| {
            let query = ListQuery {
                search: Some(SearchTerm::parse("lovelace").unwrap()),
                sort: Sort::parse(sort).unwrap(),
                ..ListQuery::first(10)
            };
            super::super::listing::list(&conn, &query)
                .unwrap()
                .users
                .iter()
                .map(|u| u.email.as_str().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            listed("-created_at"),
            ["c@example.com", "a@example.com", "d@example.com"]
        );
        assert_eq!(
            listed("created_at"),
            ["d@example.com", "a@example.com", "c@example.com"]
        );
        assert_eq!(
            listed("name"),
            ["a@example.com", "c@example.com", "d@example.com"]
        );
        let ada = super::super::queries::get(&conn, crate::domain::UserId::from_bytes([1; 16]))
            .unwrap()
            .unwrap();
        assert_eq!(
            ada.version,
            crate::domain::Version::FIRST,
            "users start at version 1"
        );
    }

    /// A database of schema version 6, its users in the search index as it
    /// was then (with positions), gets the index rebuilt without them.
    #[test]
    fn a_version_6_search_index_is_rebuilt_without_positions() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = at_version(dir.path(), 6);
        for n in 0..50 {
            let name = if n % 2 == 0 { "Ada Byron" } else { "Bob" };
            let new = NewUser {
                email: Email::parse(&format!("u{n}@example.com")).unwrap(),
                name: UserName::parse(name).unwrap(),
            };
            let at = Timestamp::from_unix_micros(1_700_000_000_000_000 + n);
            super::super::queries::insert(&conn, &User::create(new, at)).unwrap();
        }
        search_index::index_pending(&conn, usize::MAX).unwrap();
        let schema = |conn: &Connection| -> String {
            conn.query_row(
                "SELECT sql FROM sqlite_schema WHERE name = 'users_search'",
                [],
                |row| row.get(0),
            )
            .unwrap()
        };
        assert!(!schema(&conn).contains("detail"));
        assert_eq!(apply(&mut conn).unwrap(), vec![7, 8]);
        assert!(schema(&conn).contains("detail = none"), "{}", schema(&conn));
        let pending: i64 = conn
            .query_row("SELECT count(*) FROM users_search_pending", [], |row| {
                row.get(0)
            })
            .unwrap();
        assert_eq!(pending, 0, "every user is in the new index");
        let indexed: i64 = conn
            .query_row(
                "SELECT count(*) FROM users_search WHERE users_search MATCH '\"byr\"'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(indexed, 25);
    }

    /// Version 8 changes a setting of the index and indexes nobody again.
    #[test]
    fn a_version_7_index_gets_merges_in_steps_and_keeps_its_entries() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = at_version(dir.path(), 7);
        let new = NewUser {
            email: Email::parse("ada@example.com").unwrap(),
            name: UserName::parse("Ada Byron").unwrap(),
        };
        super::super::queries::insert(&conn, &User::create(new, Timestamp::now())).unwrap();
        search_index::index_pending(&conn, usize::MAX).unwrap();
        let setting = |conn: &Connection, name: &str| -> Option<i64> {
            conn.query_row(
                "SELECT v FROM users_search_config WHERE k = ?1",
                [name],
                |row| row.get(0),
            )
            .optional()
            .unwrap()
        };
        assert_eq!(setting(&conn, "crisismerge"), None, "FTS5's default, 16");
        assert_eq!(apply(&mut conn).unwrap(), vec![8]);
        assert_eq!(setting(&conn, "crisismerge"), Some(64));
        assert_eq!(setting(&conn, "automerge"), Some(16));
        let (pending, indexed): (i64, i64) = conn
            .query_row(
                "SELECT (SELECT count(*) FROM users_search_pending), \
                        (SELECT count(*) FROM users_search WHERE users_search MATCH '\"byr\"')",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        assert_eq!((pending, indexed), (0, 1));
    }
}

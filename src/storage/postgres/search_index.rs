//! Which index answers substring search on this database: pg_trgm's, or
//! migration 2's SQL-only one where pg_trgm could not be created
//! (migration 4). The listing builds its condition for the one that exists.

use tokio_postgres::Client;

/// The index of substring search (3 or more characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubstringIndex {
    /// `users_search_trgm_idx`: pg_trgm over the document, searched with
    /// `LIKE`.
    PgTrgm,
    /// `users_search_trigram_idx`: trigram arrays from an SQL function,
    /// searched with `@>` and checked with `strpos`. Inserts cost about
    /// twice as much.
    SqlFunction,
}

/// What an operator runs to move from [`SubstringIndex::SqlFunction`] to
/// pg_trgm once the extension can be had.
const SWITCH: &str = "CREATE EXTENSION IF NOT EXISTS pg_trgm; \
     CREATE INDEX users_search_trgm_idx ON users USING gin \
     ((lower(name) || chr(10) || lower(email)) gin_trgm_ops); \
     ALTER INDEX users_search_trgm_idx ALTER COLUMN 1 SET STATISTICS 1000; \
     DROP INDEX users_search_trigram_idx; ANALYZE users;";

impl SubstringIndex {
    /// Looks the pg_trgm index up in the schema the service works in, and
    /// says in the log when it is missing, with how to add it.
    pub(super) async fn detect(client: &Client) -> Result<Self, tokio_postgres::Error> {
        let row = client
            .query_one(
                "SELECT to_regclass('users_search_trgm_idx') IS NOT NULL",
                &[],
            )
            .await?;
        if row.try_get(0)? {
            return Ok(Self::PgTrgm);
        }
        log::warn!(
            "PostgreSQL: the extension pg_trgm could not be created in this database, so \
             substring search uses the slower index of migration 2 and every insert costs the \
             database about 1.7x as much. To switch, as the database's owner or a superuser, in the \
             service's schema: {SWITCH} Then restart the service."
        );
        Ok(Self::SqlFunction)
    }
}

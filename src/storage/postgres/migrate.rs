//! Schema migrations for PostgreSQL, embedded in the binary, applied at
//! start-up under an advisory lock so instances starting together take
//! turns instead of racing on the same DDL.

use tokio_postgres::Client;

use super::error::OpenError;
use super::search_index::SubstringIndex;
use super::url::{connect, PostgresUrl};

mod embedded {
    refinery::embed_migrations!("migrations/postgres");
}

/// Any fixed number works; this one spells "usersvc" in ASCII.
const MIGRATION_LOCK: i64 = 0x0075_7365_7273_7663;

/// What [`migrate`] did and found.
#[derive(Debug)]
pub struct Migrated {
    /// The versions applied now (empty when the schema was already current).
    pub applied: Vec<i64>,
    /// Which index answers substring search.
    pub substring_index: SubstringIndex,
}

/// Connects to `url` and applies pending migrations.
pub async fn migrate(url: &PostgresUrl) -> Result<Migrated, OpenError> {
    let (mut client, driver) = connect(url).await?;
    let result = apply(&mut client, url).await;
    drop(client);
    // The connection task ends once the client is gone.
    let _ = driver.await;
    result
}

async fn apply(client: &mut Client, url: &PostgresUrl) -> Result<Migrated, OpenError> {
    let failed = |e: tokio_postgres::Error| OpenError::Migration {
        url: url.redacted(),
        reason: e.to_string(),
    };
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(failed)?;
    let result = apply_locked(client, url).await;
    // The lock is also released when the session ends; this only frees it
    // sooner for the next instance.
    let _ = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await;
    result
}

async fn apply_locked(client: &mut Client, url: &PostgresUrl) -> Result<Migrated, OpenError> {
    let failed = |e: tokio_postgres::Error| OpenError::Migration {
        url: url.redacted(),
        reason: e.to_string(),
    };
    let runner = embedded::migrations::runner();
    let known = runner
        .get_migrations()
        .iter()
        .map(|m| i64::from(m.version()))
        .max()
        .unwrap_or(0);
    let found = applied_version(client).await.map_err(failed)?;
    if let Some(found) = found.filter(|&found| found > known) {
        return Err(OpenError::SchemaTooNew {
            url: url.redacted(),
            found,
            known,
        });
    }
    let report = runner
        .run_async(client)
        .await
        .map_err(|e| OpenError::Migration {
            url: url.redacted(),
            reason: e.to_string(),
        })?;
    Ok(Migrated {
        applied: report
            .applied_migrations()
            .iter()
            .map(|m| i64::from(m.version()))
            .collect(),
        substring_index: SubstringIndex::detect(client).await.map_err(failed)?,
    })
}

/// The highest migration version recorded in the current schema, if any.
async fn applied_version(client: &Client) -> Result<Option<i64>, tokio_postgres::Error> {
    let history = client
        .query_one(
            "SELECT to_regclass('refinery_schema_history') IS NOT NULL",
            &[],
        )
        .await?;
    if !history.try_get::<_, bool>(0)? {
        return Ok(None);
    }
    let row = client
        .query_one(
            "SELECT MAX(version)::int8 FROM refinery_schema_history",
            &[],
        )
        .await?;
    row.try_get(0)
}

//! `PgSnapshot`: the `export` command's read of PostgreSQL as of one
//! moment: one `REPEATABLE READ, READ ONLY` transaction on a pooled
//! connection, whose snapshot is fixed by its first query. Writers on
//! other connections are not blocked (MVCC keeps the old row versions
//! until the transaction ends).

use deadpool_postgres::{GenericClient, Object};

use super::error::store_error;
use super::{listing, queries, SubstringIndex};
use crate::domain::{Timestamp, User};
use crate::storage::{PageWalk, Snapshot, StoreError};

pub struct PgSnapshot {
    client: Object,
    taken_at: Timestamp,
    walk: PageWalk,
    substring_index: SubstringIndex,
}

impl PgSnapshot {
    /// Starts the transaction on `client` and takes the snapshot.
    pub(super) async fn begin(
        client: Object,
        substring_index: SubstringIndex,
    ) -> Result<Self, StoreError> {
        client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .await
            .map_err(store_error)?;
        // The first query fixes the snapshot.
        let row = client
            .query_one("SELECT statement_timestamp()", &[])
            .await
            .map_err(store_error)?;
        let taken_at = queries::from_datetime(row.try_get(0).map_err(store_error)?)?;
        Ok(Self {
            client,
            taken_at,
            walk: PageWalk::default(),
            substring_index,
        })
    }
}

impl Snapshot for PgSnapshot {
    fn taken_at(&self) -> Timestamp {
        self.taken_at
    }

    async fn next_page(&mut self, limit: u32) -> Result<Vec<User>, StoreError> {
        let Some(query) = self.walk.next_query(limit) else {
            return Ok(Vec::new());
        };
        let page = listing::list(&self.client, &query, self.substring_index).await?;
        Ok(self.walk.advance(page))
    }

    async fn finish(self) -> Result<(), StoreError> {
        self.client
            .batch_execute("COMMIT")
            .await
            .map_err(store_error)
    }
}

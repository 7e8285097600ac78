//! `PgLoader`: the `import` command's path into PostgreSQL — one connection,
//! one transaction, each batch a single INSERT from arrays.

use std::collections::HashSet;

use time::OffsetDateTime;
use tokio_postgres::{Client, Statement};
use uuid::Uuid;

use super::error::{store_error, OpenError};
use super::migrate;
use super::url::{connect, Driver, PostgresUrl};
use crate::domain::{Email, User, UserId};
use crate::storage::{BulkLoad, StoreError};

/// An open import transaction on PostgreSQL. Other instances keep serving;
/// the imported users appear to them all at once on commit.
pub struct PgLoader {
    client: Client,
    insert: Statement,
    /// `--update-existing`'s statements, prepared on first use.
    lookups: Option<Lookups>,
    driver: Driver,
}

/// Find by id, find by email, update: prepared once per import.
struct Lookups {
    by_id: Statement,
    by_email: Statement,
    update: Statement,
}

impl PgLoader {
    async fn lookups(&mut self) -> Result<&Lookups, StoreError> {
        if self.lookups.is_none() {
            use super::queries::SELECT;
            let prepare = |sql: String| {
                let client = &self.client;
                async move { client.prepare(&sql).await.map_err(store_error) }
            };
            // An email taken by another user is checked in the update: a
            // unique violation would end the whole import's transaction.
            let lookups = Lookups {
                by_id: prepare(format!("{SELECT} WHERE id = $1")).await?,
                by_email: prepare(format!("{SELECT} WHERE lower(email) = lower($1)")).await?,
                update: prepare(
                    "UPDATE users SET email = $2, name = $3, updated_at = $4, version = $5 \
                     WHERE id = $1 AND NOT EXISTS \
                     (SELECT 1 FROM users WHERE lower(email) = lower($2) AND id <> $1)"
                        .into(),
                )
                .await?,
            };
            self.lookups = Some(lookups);
        }
        self.lookups
            .as_ref()
            .ok_or_else(|| StoreError::internal("the import's statements are missing"))
    }
}

impl PgLoader {
    /// Migrates the database, connects and starts the import's transaction.
    pub async fn begin(url: &PostgresUrl) -> Result<Self, OpenError> {
        migrate::migrate(url).await?;
        let failed =
            |e: tokio_postgres::Error| super::error::connect_error(url.redacted(), url.tls(), &e);
        let (client, driver) = connect(url).await?;
        client.batch_execute("BEGIN").await.map_err(failed)?;
        // One statement per batch whatever its size; rows that collide on id
        // or email (with stored rows or each other) are left out and not
        // returned.
        let insert = client
            .prepare(
                "INSERT INTO users (id, email, name, created_at, updated_at) \
                 SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], \
                                      $4::timestamptz[], $5::timestamptz[]) \
                 ON CONFLICT DO NOTHING RETURNING id",
            )
            .await
            .map_err(failed)?;
        Ok(Self {
            client,
            driver,
            insert,
            lookups: None,
        })
    }
}

impl BulkLoad for PgLoader {
    async fn insert(&mut self, users: &[User]) -> Result<Vec<bool>, StoreError> {
        let ids: Vec<Uuid> = users.iter().map(|u| u.id.as_uuid()).collect();
        let emails: Vec<&str> = users.iter().map(|u| u.email.as_str()).collect();
        let names: Vec<&str> = users.iter().map(|u| u.name.as_str()).collect();
        let created: Vec<OffsetDateTime> = users
            .iter()
            .map(|u| super::queries::to_datetime(u.created_at))
            .collect::<Result<_, _>>()?;
        let updated: Vec<OffsetDateTime> = users
            .iter()
            .map(|u| super::queries::to_datetime(u.updated_at))
            .collect::<Result<_, _>>()?;
        let rows = self
            .client
            .query(&self.insert, &[&ids, &emails, &names, &created, &updated])
            .await
            .map_err(store_error)?;
        let inserted: HashSet<Uuid> = rows
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, _>>()
            .map_err(StoreError::internal)?;
        // An id repeated inside the batch is inserted once: the first wins.
        let mut claimed = HashSet::with_capacity(inserted.len());
        Ok(ids
            .iter()
            .map(|id| inserted.contains(id) && claimed.insert(*id))
            .collect())
    }

    async fn find_by_id(&mut self, id: UserId) -> Result<Option<User>, StoreError> {
        let by_id = self.lookups().await?.by_id.clone();
        let row = self
            .client
            .query_opt(&by_id, &[&id.as_uuid()])
            .await
            .map_err(store_error)?;
        row.as_ref().map(super::queries::read_row).transpose()
    }

    async fn find_by_email(&mut self, email: &Email) -> Result<Option<User>, StoreError> {
        let by_email = self.lookups().await?.by_email.clone();
        let row = self
            .client
            .query_opt(&by_email, &[&email.as_str()])
            .await
            .map_err(store_error)?;
        row.as_ref().map(super::queries::read_row).transpose()
    }

    async fn update(&mut self, user: &User) -> Result<bool, StoreError> {
        let update = self.lookups().await?.update.clone();
        let updated = self
            .client
            .execute(
                &update,
                &[
                    &user.id.as_uuid(),
                    &user.email.as_str(),
                    &user.name.as_str(),
                    &super::queries::to_datetime(user.updated_at)?,
                    &user.version.to_stored(),
                ],
            )
            .await
            .map_err(store_error)?;
        Ok(updated == 1)
    }

    async fn commit(self) -> Result<(), StoreError> {
        self.client
            .batch_execute("COMMIT")
            .await
            .map_err(store_error)?;
        drop(self.client);
        let _ = self.driver.await;
        Ok(())
    }
}

//! The PostgreSQL backend: a pool of connections shared by every HTTP
//! worker, migrations under an advisory lock, and nothing that matters kept
//! in process memory, so any number of instances can serve one database.

mod bulk;
mod channel_binding;
mod error;
mod idempotency;
mod listing;
mod migrate;
mod queries;
mod search_index;
mod snapshot;
mod tls;
mod url;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};

pub use bulk::PgLoader;
pub use error::OpenError;
pub use migrate::{migrate, Migrated};
pub use search_index::SubstringIndex;
pub use snapshot::PgSnapshot;
pub use tls::{SslMode, TlsOptions};
pub use url::{connect, Driver, PostgresUrl};

use self::error::pool_error;
use self::idempotency::KeySweep;
use self::url::{connection_config, CONNECT_TIMEOUT};
use super::{
    check_precondition, Created, ListQuery, Page, Readiness, StoreError, StoreStats, UserStore,
};
use crate::domain::{
    IdempotencyKey, KeyOwner, NewUser, RetryableCreate, TagCondition, Timestamp, User, UserId,
    UserPatch,
};
use crate::storage::StorageMetrics;

/// How long a request waits for a free pooled connection before it gets 503.
const POOL_WAIT: Duration = Duration::from_secs(5);
/// Upper bound on one storage operation, so a server that stops answering
/// (but keeps the socket open) turns into 503s instead of hung requests.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(10);

/// How to reach a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PgOptions {
    pub url: PostgresUrl,
    /// Connections this instance keeps open at most.
    pub pool_size: usize,
    /// Where pool waits are recorded.
    pub metrics: StorageMetrics,
    /// How long idempotency keys are kept.
    pub key_ttl: Duration,
}

/// A [`UserStore`] on PostgreSQL. Cheap to clone; clones share the pool.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    metrics: StorageMetrics,
    keys: Arc<KeySweep>,
    substring_index: SubstringIndex,
}

impl PgStore {
    /// Applies pending migrations and creates the pool, so the service
    /// starts only if the database answered here; after that, connections
    /// are opened on demand and replaced when they die.
    pub async fn connect(options: &PgOptions) -> Result<Self, OpenError> {
        let migrated = migrate::migrate(&options.url).await?;
        let manager = Manager::from_config(
            connection_config(&options.url),
            url::connector(&options.url)?,
            ManagerConfig {
                // A connection the server closed is noticed by the driver and
                // dropped at checkout; a query on one that died silently fails
                // once with 503 and the pool replaces it.
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.pool_size)
            .wait_timeout(Some(POOL_WAIT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| OpenError::Connect {
                url: options.url.redacted(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            pool,
            metrics: options.metrics.clone(),
            keys: Arc::new(KeySweep::new(options.key_ttl)),
            substring_index: migrated.substring_index,
        })
    }

    /// Every user as of now, for `export`, on a connection of the pool
    /// (held until the snapshot is finished or dropped).
    pub async fn snapshot(&self) -> Result<PgSnapshot, StoreError> {
        PgSnapshot::begin(self.client().await?, self.substring_index).await
    }

    /// Closes every pooled connection; later requests get 503.
    pub fn close(&self) {
        self.pool.close();
    }

    /// Deletes expired idempotency keys in a task of its own when due.
    fn sweep_keys_if_due(&self) {
        if !self.keys.claim() {
            return;
        }
        let store = self.clone();
        tokio::spawn(async move {
            let _ = bounded(async {
                let client = store.client().await?;
                store.keys.run(&client).await;
                Ok(())
            })
            .await;
        });
    }

    async fn client(&self) -> Result<Object, StoreError> {
        let started = Instant::now();
        let client = self.pool.get().await;
        self.metrics
            .pool_wait_seconds
            .observe(started.elapsed().as_secs_f64());
        client.map_err(pool_error)
    }
}

/// Runs one storage operation within [`OPERATION_TIMEOUT`].
async fn bounded<T>(
    operation: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    tokio::time::timeout(OPERATION_TIMEOUT, operation)
        .await
        .unwrap_or_else(|_| {
            Err(StoreError::Unavailable(format!(
                "the database did not answer within {} s",
                OPERATION_TIMEOUT.as_secs()
            )))
        })
}

impl UserStore for PgStore {
    async fn get(&self, id: UserId) -> Result<User, StoreError> {
        bounded(async {
            let client = self.client().await?;
            queries::get(&client, id).await?.ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn list(&self, query: ListQuery) -> Result<Page, StoreError> {
        bounded(async {
            let client = self.client().await?;
            listing::list(&client, &query, self.substring_index).await
        })
        .await
    }

    async fn create(&self, new: NewUser) -> Result<User, StoreError> {
        let user = User::create(new, Timestamp::now());
        bounded(async {
            let client = self.client().await?;
            queries::insert(&client, &user).await
        })
        .await?;
        Ok(user)
    }

    async fn create_retryable(
        &self,
        new: NewUser,
        retry: RetryableCreate,
    ) -> Result<Created, StoreError> {
        let now = Timestamp::now();
        let user = User::create(new, now);
        let fresh_after = now.minus(self.keys.ttl());
        let created = bounded(async {
            let mut client = self.client().await?;
            let transaction = client.transaction().await.map_err(error::store_error)?;
            // Dropped without a commit on an error: rolled back, key and all.
            let created =
                idempotency::create_once(&transaction, &user, &retry, fresh_after).await?;
            transaction.commit().await.map_err(error::store_error)?;
            Ok(created)
        })
        .await?;
        self.sweep_keys_if_due();
        Ok(created)
    }

    async fn key_is_kept(&self, owner: KeyOwner, key: IdempotencyKey) -> Result<bool, StoreError> {
        let fresh_after = Timestamp::now().minus(self.keys.ttl());
        bounded(async {
            let client = self.client().await?;
            idempotency::is_kept(&client, &owner, key.as_str(), fresh_after).await
        })
        .await
    }

    async fn update(
        &self,
        id: UserId,
        patch: UserPatch,
        expected: TagCondition,
    ) -> Result<User, StoreError> {
        bounded(async {
            let mut client = self.client().await?;
            let transaction = client.transaction().await.map_err(error::store_error)?;
            let user = queries::update(&transaction, id, patch, &expected).await?;
            transaction.commit().await.map_err(error::store_error)?;
            Ok(user)
        })
        .await
    }

    async fn delete(&self, id: UserId, expected: TagCondition) -> Result<(), StoreError> {
        bounded(async {
            let mut client = self.client().await?;
            if expected == TagCondition::Any {
                // One statement: nothing to check first.
                return match queries::delete(&client, id).await? {
                    true => Ok(()),
                    false => Err(StoreError::NotFound),
                };
            }
            let transaction = client.transaction().await.map_err(error::store_error)?;
            let user = queries::lock(&transaction, id).await?;
            check_precondition(&expected, &user)?;
            queries::delete(&transaction, id).await?;
            transaction.commit().await.map_err(error::store_error)?;
            Ok(())
        })
        .await
    }

    async fn ready(&self) -> Result<Readiness, StoreError> {
        let started = Instant::now();
        bounded(async {
            let client = self.client().await?;
            queries::probe(&client).await
        })
        .await?;
        Ok(Readiness {
            latency: started.elapsed(),
        })
    }

    async fn stats(&self) -> StoreStats {
        let status = self.pool.status();
        let database_bytes = bounded(async {
            let client = self.client().await?;
            queries::table_bytes(&client).await
        })
        .await
        .unwrap_or(0);
        StoreStats {
            pool_open: status.size as u64,
            pool_idle: status.available as u64,
            pool_waiting: status.waiting as u64,
            write_queue: 0,
            database_bytes,
        }
    }
}

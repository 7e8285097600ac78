//! [`Settings`]: everything `serve` needs, validated, and the defaults the
//! flags show. Built from the flags (`Settings::try_from(ServeArgs)`, in
//! `cli.rs`), or by [`Settings::new`] with those same defaults (tests and
//! embedders start there).

use crate::tls::TlsFiles;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::num::NonZeroUsize;

use super::DatabaseUrl;
use crate::routes::RateLimitSetting;
use crate::storage::sqlite::{BackupSchedule, Durability};
use crate::storage::DEFAULT_KEY_TTL;
use std::time::Duration;

/// `--bind`'s default: loopback, so a fresh install is not on the network.
pub const DEFAULT_BIND: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 3000));
/// `--max-connections`' default.
pub const DEFAULT_MAX_CONNECTIONS: NonZeroUsize = NonZeroUsize::new(10_000).unwrap();
/// `--db-pool-size`'s default.
pub const DEFAULT_DB_POOL_SIZE: NonZeroUsize = NonZeroUsize::new(16).unwrap();
/// Users the SQLite backend keeps in memory unless told otherwise: about
/// 25 MB when full (measured), within the 64 MB the service aims to stay
/// under with 1M users.
pub const DEFAULT_READ_CACHE: usize = 100_000;
/// Bytes of a SQLite file its readers map into memory unless told
/// otherwise: all of a 1M-user file (about 512 MB) fits. The mapped pages
/// are the kernel's page cache (shown as `RssFile`), not memory of the
/// process's own like the read cache above.
pub const DEFAULT_MMAP_SIZE: u64 = 1 << 30;

/// Everything `serve` needs, already validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub database: DatabaseUrl,
    /// SQLite only; PostgreSQL's durability is the server's setting.
    pub durability: Durability,
    /// SQLite only: the most bytes the database file may take; `None` for no cap.
    pub max_db_size: Option<u64>,
    /// SQLite only: users kept in memory for reads by id (0: none).
    pub read_cache: usize,
    /// SQLite only: bytes of the file read through a memory map (0: none).
    pub mmap_size: u64,
    /// How long idempotency keys are kept.
    pub idempotency_ttl: Duration,
    /// PostgreSQL only: connections this instance keeps at most.
    pub db_pool_size: NonZeroUsize,
    pub bind: SocketAddr,
    pub workers: NonZeroUsize,
    pub api_tokens: Vec<String>,
    pub cors_origins: Vec<String>,
    /// Requests per second and burst per client address; `None`: no limit.
    pub rate_limit: Option<RateLimitSetting>,
    /// Open connections the whole server accepts at once.
    pub max_connections: NonZeroUsize,
    /// HTTPS instead of plain HTTP; `None`: plain HTTP.
    pub tls: Option<TlsFiles>,
    /// SQLite only: backups taken while serving; `None`: none.
    pub backups: Option<BackupSchedule>,
}

impl Settings {
    /// The settings of `user-service serve` with no flag but the database.
    pub fn new(database: DatabaseUrl) -> Self {
        Self {
            database,
            durability: Durability::Full,
            max_db_size: None,
            read_cache: DEFAULT_READ_CACHE,
            mmap_size: DEFAULT_MMAP_SIZE,
            idempotency_ttl: DEFAULT_KEY_TTL,
            db_pool_size: DEFAULT_DB_POOL_SIZE,
            bind: DEFAULT_BIND,
            workers: default_workers(),
            api_tokens: Vec::new(),
            cors_origins: Vec::new(),
            rate_limit: None,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            tls: None,
            backups: None,
        }
    }
}

pub(super) fn default_workers() -> NonZeroUsize {
    std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN)
}

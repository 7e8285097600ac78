//! The flags, with environment fallbacks, as clap reads them; `serve`'s
//! are then validated into [`Settings`].

use std::net::SocketAddr;
use std::num::{NonZeroU32, NonZeroUsize};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use super::settings::{
    default_workers, Settings, DEFAULT_BIND, DEFAULT_DB_POOL_SIZE, DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MMAP_SIZE, DEFAULT_READ_CACHE,
};
use super::values::{
    parse_bytes, parse_database_url, parse_origin, parse_period, parse_size, DatabaseUrl,
    DurabilityArg,
};
use crate::logging::LogFormat;
use crate::probe::ProbeTls;
use crate::routes::RateLimitSetting;
use crate::storage::sqlite::BackupSchedule;
use crate::tls::TlsFiles;
use crate::transfer::{Format, OnError};

/// Where `serve`, `migrate`, `backup`, `export` and `import` look when no
/// `--database-url` (or `DATABASE_URL`) is given: a file in the working
/// directory, created by the first `serve` or `migrate`.
const DEFAULT_DATABASE_URL: &str = "sqlite://users.db";

/// `--version`: the crate version and the commit it was built from.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("USER_SERVICE_COMMIT"),
    ")"
);

/// A user-management REST service in one self-contained binary, storing
/// users in an embedded SQLite file, or in PostgreSQL when asked.
#[derive(Debug, Parser)]
#[command(
    name = "user-service",
    version = VERSION,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Log lines as plain text, or as one JSON object per line for log shippers.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    /// With no sub-command, the flags are those of `serve`.
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
// One value per process: the size of the serve variant costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Serve the HTTP API (the default).
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate(DatabaseArgs),
    /// Write a consistent copy of a live database while a server keeps serving.
    Backup(BackupArgs),
    /// Replace a SQLite database with a backup: checked (integrity, schema
    /// not newer than this binary), refused while a server holds the file,
    /// atomic.
    Restore(RestoreArgs),
    /// Write every user as of one moment, newest first, as NDJSON or CSV (to
    /// stdout by default).
    Export(ExportArgs),
    /// Load users from NDJSON or CSV (stdin by default), keeping the ids and
    /// timestamps a file has and making those it lacks: in one transaction,
    /// or batch by batch into a SQLite file a server is serving.
    Import(ImportArgs),
    /// Print the OpenAPI 3.1 document of the HTTP API (as served at
    /// /openapi.json) and exit, without starting a server.
    Openapi,
    /// Wait until a running service answers 200 on /ready (for systemd's
    /// ExecStartPost and scripts without curl); exit 1 on timeout.
    WaitReady(WaitReadyArgs),
}

#[derive(Debug, Clone, Args)]
pub struct WaitReadyArgs {
    /// The service's address, as given to `--bind`.
    #[arg(long, env = "BIND", default_value_t = DEFAULT_BIND.to_string())]
    pub address: String,

    /// Give up after this many seconds.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,

    /// Speak HTTPS, trusting exactly the certificate in this file: the
    /// service's own `--tls-cert` (so the same `TLS_CERT` serves both).
    /// A relative path is looked up in `$CREDENTIALS_DIRECTORY` when set.
    #[arg(long, env = "TLS_CERT", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,

    /// With `--tls-cert`: present this client certificate (PEM chain, leaf
    /// first), for a service started with `--tls-client-ca`. Needs
    /// `--tls-client-key`; relative paths as `--tls-cert`.
    #[arg(
        long,
        env = "PROBE_TLS_CLIENT_CERT",
        value_name = "FILE",
        requires_all = ["tls_cert", "tls_client_key"]
    )]
    pub tls_client_cert: Option<PathBuf>,

    /// The private key of `--tls-client-cert` (PEM).
    #[arg(
        long,
        env = "PROBE_TLS_CLIENT_KEY",
        value_name = "FILE",
        requires = "tls_client_cert"
    )]
    pub tls_client_key: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Database to use: `sqlite://PATH` or a bare file path (created if
    /// missing), or `postgres://user:password@host:port/database`, with
    /// `?sslmode=verify-full&sslrootcert=FILE` for verified TLS (libpq's
    /// modes; default `prefer`).
    #[arg(
        long,
        env = "DATABASE_URL",
        // A PostgreSQL URL may carry a password; --help must not print it.
        hide_env_values = true,
        default_value = DEFAULT_DATABASE_URL,
        value_parser = parse_database_url
    )]
    pub database_url: DatabaseUrl,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// Address to listen on. Loopback by default; a non-loopback address
    /// without an API token logs a warning.
    #[arg(long, env = "BIND", default_value_t = DEFAULT_BIND)]
    pub bind: SocketAddr,

    /// HTTP worker threads [default: number of CPU cores].
    #[arg(long, env = "WORKERS")]
    pub workers: Option<NonZeroUsize>,

    /// Require `Authorization: Bearer <token>` on every /users request.
    #[arg(long, env = "USER_SERVICE_API_TOKEN", hide_env_values = true)]
    pub api_token: Option<String>,

    /// Read accepted tokens from this file, one per line (blank lines and
    /// `#` comments ignored), so they stay out of the process list. With
    /// `--api-token` too, both are accepted (for rotation).
    #[arg(long, env = "USER_SERVICE_API_TOKEN_FILE")]
    pub api_token_file: Option<PathBuf>,

    /// Allow browser requests from this origin (repeatable), e.g.
    /// `https://admin.example.com`; `*` allows any. None: no cross-origin access.
    #[arg(
        long = "cors-origin",
        env = "CORS_ORIGINS",
        value_delimiter = ',',
        value_parser = parse_origin
    )]
    pub cors_origins: Vec<String>,

    /// SQLite: `full` fsyncs every acknowledged write (survives power loss);
    /// `normal` survives a process crash, a power cut may lose the last
    /// moments. PostgreSQL: the server's own `synchronous_commit` decides.
    #[arg(long, env = "DURABILITY", value_enum, default_value_t = DurabilityArg::Full)]
    pub durability: DurabilityArg,

    /// Cap the database file at this size, e.g. `512MiB`, `2GB` or bytes.
    /// Writes beyond it get 507 `insufficient_storage`; reads keep working.
    /// SQLite only. [default: no cap]
    #[arg(long, env = "MAX_DB_SIZE", value_parser = parse_size)]
    pub max_db_size: Option<u64>,

    /// Users kept in memory for `GET /users/{id}` (about 250 bytes each; 0
    /// turns it off). Exact: the writer updates it on every commit, and while
    /// it is on no other server may open the same file. SQLite only.
    /// [default: 100000]
    #[arg(long, env = "READ_CACHE", value_name = "USERS")]
    pub read_cache: Option<usize>,

    /// Read the SQLite file through a memory map of up to this size, e.g.
    /// `1GiB`, `256MiB` (SQLite maps at most 2GB), or 0 to read with `pread`
    /// instead. Halves the CPU of a search in a large file; the mapped pages
    /// are the kernel's page cache and count in the process's RSS. A disk
    /// read error then ends the process (SIGBUS) instead of failing one
    /// request. SQLite only. [default: 1GiB]
    #[arg(long, env = "MMAP_SIZE", value_name = "BYTES", value_parser = parse_bytes)]
    pub mmap_size: Option<u64>,

    /// How long an `Idempotency-Key` of `POST /users` is kept: a retry
    /// within it gets the first answer again. `30s`, `15m`, `24h`, `7d`.
    /// An expired key is never answered again; expired keys are deleted in
    /// the background after writes, a thousand at a time.
    #[arg(long, env = "IDEMPOTENCY_TTL", value_name = "PERIOD", value_parser = parse_period, default_value = "24h")]
    pub idempotency_ttl: Duration,

    /// Limit each client IP address to this many requests, e.g. `100/s` or
    /// `600/min`; over it: 429 `rate_limited` with `Retry-After`. `/health`
    /// and `/ready` are never limited. [default: no limit]
    #[arg(long, env = "RATE_LIMIT", value_parser = crate::routes::parse_rate)]
    pub rate_limit: Option<crate::routes::Rate>,

    /// Requests a client may send at once before `--rate-limit` applies.
    /// [default: one second's worth, at least 1]
    #[arg(long, env = "RATE_LIMIT_BURST", requires = "rate_limit")]
    pub rate_limit_burst: Option<NonZeroU32>,

    /// Take a verified backup of the SQLite file into this directory (which
    /// must exist) every `--backup-every`, named `users-<UTC time>.db`,
    /// keeping the newest `--backup-keep`. SQLite only (on PostgreSQL use
    /// pg_dump or the provider's backups). [default: no backups]
    #[arg(
        long,
        env = "BACKUP_DIR",
        value_name = "DIR",
        requires = "backup_every"
    )]
    pub backup_dir: Option<PathBuf>,

    /// How often to back up: `30s`, `15m`, `6h`, `1d`. The first backup is
    /// due one period after the newest one in the directory (at once if
    /// there is none), so restarts do not put it off.
    #[arg(long, env = "BACKUP_EVERY", value_name = "PERIOD", value_parser = parse_period, requires = "backup_dir")]
    pub backup_every: Option<Duration>,

    /// Backups kept; older ones are removed after each new one is verified.
    #[arg(long, env = "BACKUP_KEEP", value_name = "N", default_value = "7")]
    pub backup_keep: NonZeroUsize,

    /// Open client connections accepted at once; past it, new connections
    /// wait in the listen backlog. Requests must send their head within 5 s
    /// and idle keep-alive connections close after 5 s.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: NonZeroUsize,

    /// PostgreSQL only: connections this instance keeps to the database
    /// (keep instances x pool size below the server's `max_connections`).
    #[arg(long, env = "DB_POOL_SIZE", default_value_t = DEFAULT_DB_POOL_SIZE)]
    pub db_pool_size: NonZeroUsize,

    /// Serve HTTPS (TLS 1.2 and 1.3; HTTP/2 or HTTP/1.1, as the client
    /// chooses by ALPN) with the certificate chain in this PEM file, leaf
    /// first. Needs `--tls-key`.
    /// Re-read on SIGHUP and when the file changes. A relative path is
    /// looked up in `$CREDENTIALS_DIRECTORY` when systemd sets it.
    /// [default: plain HTTP]
    #[arg(long, env = "TLS_CERT", requires = "tls_key", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,

    /// The private key of `--tls-cert`, a PEM file (PKCS#8, PKCS#1 or
    /// SEC1).
    #[arg(long, env = "TLS_KEY", requires = "tls_cert", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,

    /// Accept only clients with a certificate signed by a CA in this PEM
    /// file (mutual TLS). Needs `--tls-cert`.
    #[arg(
        long,
        env = "TLS_CLIENT_CA",
        requires = "tls_cert",
        value_name = "FILE"
    )]
    pub tls_client_ca: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct RestoreArgs {
    /// The backup to restore (a file `backup` or `serve --backup-dir` wrote).
    #[arg(long)]
    pub from: PathBuf,

    /// The database to replace: `sqlite://PATH` (created if missing).
    #[arg(
        long,
        env = "DATABASE_URL",
        hide_env_values = true,
        default_value = DEFAULT_DATABASE_URL,
        value_parser = parse_database_url
    )]
    pub to: DatabaseUrl,
}

#[derive(Debug, Clone, Args)]
pub struct BackupArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// File to write the copy to; must not exist yet.
    #[arg(long)]
    pub to: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// Database to read: `sqlite://PATH` (must exist) or `postgres://…`.
    #[arg(
        long,
        env = "DATABASE_URL",
        hide_env_values = true,
        default_value = DEFAULT_DATABASE_URL,
        value_parser = parse_database_url
    )]
    pub from: DatabaseUrl,

    /// File to write; `-` or absent for stdout.
    #[arg(long)]
    pub output: Option<PathBuf>,

    /// [default: from the file's extension (.csv), else ndjson]
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// Database to load into: `sqlite://PATH` (created if missing) or `postgres://…`.
    #[arg(
        long,
        env = "DATABASE_URL",
        hide_env_values = true,
        default_value = DEFAULT_DATABASE_URL,
        value_parser = parse_database_url
    )]
    pub to: DatabaseUrl,

    /// File to read; `-` or absent for stdin.
    #[arg(long)]
    pub input: Option<PathBuf>,

    /// [default: from the file's extension (.csv; .ndjson, .jsonl, .json),
    /// else `{` at the start means ndjson, anything else csv]
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// A row that is invalid, or whose id or email is taken: `abort` imports
    /// nothing (into a file a server is serving, every row is checked before
    /// any is written), `skip` reports it (with its line number) and goes on.
    #[arg(long, value_enum, default_value_t = OnError::Abort)]
    pub on_error: OnError,

    /// A row whose id (when it has one), else email, is already stored
    /// updates that user's name (and, matched by id, email) instead of
    /// being a conflict; a row that changes nothing changes nothing.
    #[arg(long)]
    pub update_existing: bool,

    /// Users per database batch.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=50_000))]
    pub batch_size: u32,
}

impl TryFrom<ServeArgs> for Settings {
    type Error = String;

    /// Fails when the API token file cannot be used, or a SQLite-only
    /// setting is given for PostgreSQL.
    fn try_from(args: ServeArgs) -> Result<Self, Self::Error> {
        let api_tokens = api_tokens(&args)?;
        let database = args.database.database_url;
        if matches!(database, DatabaseUrl::Postgres(_)) && args.max_db_size.is_some() {
            return Err(
                "--max-db-size caps a SQLite file; on PostgreSQL use the server's own \
                 disk quotas"
                    .into(),
            );
        }
        if matches!(database, DatabaseUrl::Postgres(_)) && args.mmap_size.is_some() {
            return Err("--mmap-size is SQLite only: it maps the database file".into());
        }
        if matches!(database, DatabaseUrl::Postgres(_)) && args.read_cache.is_some() {
            return Err(
                "--read-cache is SQLite only: on PostgreSQL other instances change users \
                 behind this one's back"
                    .into(),
            );
        }
        let backups = backup_schedule(
            &database,
            args.backup_dir,
            args.backup_every,
            args.backup_keep,
        )?;
        Ok(Self {
            database,
            durability: args.durability.into(),
            max_db_size: args.max_db_size,
            read_cache: args.read_cache.unwrap_or(DEFAULT_READ_CACHE),
            mmap_size: args.mmap_size.unwrap_or(DEFAULT_MMAP_SIZE),
            idempotency_ttl: args.idempotency_ttl,
            db_pool_size: args.db_pool_size,
            bind: args.bind,
            workers: args.workers.unwrap_or_else(default_workers),
            api_tokens,
            cors_origins: args.cors_origins,
            rate_limit: args.rate_limit.map(|rate| RateLimitSetting {
                rate,
                burst: args.rate_limit_burst.unwrap_or(rate.one_second()),
            }),
            max_connections: args.max_connections,
            tls: tls_files(args.tls_cert, args.tls_key, args.tls_client_ca),
            backups,
        })
    }
}

/// The backup schedule, when a directory and a period are given (clap
/// checks that one comes with the other): SQLite only, into a directory
/// that exists and can be written to.
fn backup_schedule(
    database: &DatabaseUrl,
    dir: Option<PathBuf>,
    every: Option<Duration>,
    keep: NonZeroUsize,
) -> Result<Option<BackupSchedule>, String> {
    let (Some(dir), Some(every)) = (dir, every) else {
        return Ok(None);
    };
    if matches!(database, DatabaseUrl::Postgres(_)) {
        return Err(
            "--backup-dir backs up a SQLite file; on PostgreSQL use pg_dump \
             (or pg_basebackup, or your provider's backups)"
                .into(),
        );
    }
    if !dir.is_dir() {
        return Err(format!(
            "backup directory {} does not exist or is not a directory",
            dir.display()
        ));
    }
    let probe = dir.join(".user-service-write-check");
    std::fs::write(&probe, b"")
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|e| format!("cannot write to backup directory {}: {e}", dir.display()))?;
    Ok(Some(BackupSchedule { dir, every, keep }))
}

/// The TLS files, when both the certificate and key are named (clap checks
/// that one comes with the other).
fn tls_files(
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    client_ca: Option<PathBuf>,
) -> Option<TlsFiles> {
    Some(TlsFiles {
        cert: credential_path(cert?),
        key: credential_path(key?),
        client_ca: client_ca.map(credential_path),
    })
}

impl WaitReadyArgs {
    /// How to speak TLS, with the files found where the service finds its
    /// own.
    pub fn tls(&self) -> Option<ProbeTls> {
        Some(ProbeTls {
            server_cert: credential_path(self.tls_cert.clone()?),
            client: self
                .tls_client_cert
                .clone()
                .zip(self.tls_client_key.clone())
                .map(|(cert, key)| (credential_path(cert), credential_path(key))),
        })
    }
}

/// systemd's `LoadCredential=` puts files in `$CREDENTIALS_DIRECTORY`,
/// readable by the service alone while it runs: a relative path names one
/// of them there. Elsewhere a path is used as given.
fn credential_path(path: PathBuf) -> PathBuf {
    match std::env::var_os("CREDENTIALS_DIRECTORY") {
        Some(dir) if path.is_relative() => PathBuf::from(dir).join(path),
        _ => path,
    }
}

/// Every token the API accepts: `--api-token` and the lines of
/// `--api-token-file`. A token file that cannot be read or holds no token
/// is an error: starting open when a file was asked for would be worse.
fn api_tokens(args: &ServeArgs) -> Result<Vec<String>, String> {
    let mut tokens: Vec<String> = args.api_token.iter().cloned().collect();
    if let Some(path) = &args.api_token_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the API token file {}: {e}", path.display()))?;
        let before = tokens.len();
        tokens.extend(
            text.lines()
                .map(str::trim)
                .filter(|line| !line.is_empty() && !line.starts_with('#'))
                .map(str::to_owned),
        );
        if tokens.len() == before {
            return Err(format!(
                "the API token file {} holds no token",
                path.display()
            ));
        }
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_no_sub_command_the_flags_are_those_of_serve() {
        let cli = Cli::try_parse_from(["user-service", "--durability", "normal"]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.serve.durability, DurabilityArg::Normal);
    }

    #[test]
    fn the_log_format_is_accepted_before_or_after_the_sub_command() {
        let cli = Cli::try_parse_from(["user-service", "--log-format", "json"]).unwrap();
        assert_eq!(cli.log_format, LogFormat::Json);
        let cli = Cli::try_parse_from(["user-service", "migrate", "--log-format", "json"]).unwrap();
        assert_eq!(cli.log_format, LogFormat::Json);
    }

    #[test]
    fn an_invalid_durability_is_an_error() {
        assert!(Cli::try_parse_from(["user-service", "--durability", "sometimes"]).is_err());
    }

    #[test]
    fn flags_go_after_the_sub_command() {
        let cli = Cli::try_parse_from([
            "user-service",
            "backup",
            "--database-url",
            "sqlite://a.db",
            "--to",
            "b.db",
        ])
        .unwrap();
        let Some(Command::Backup(args)) = cli.command else {
            panic!("expected backup");
        };
        assert_eq!(
            args.database.database_url,
            DatabaseUrl::Sqlite("a.db".into())
        );
        assert_eq!(args.to, PathBuf::from("b.db"));
    }

    fn settings_of(args: &[&str]) -> Result<Settings, String> {
        let cli = Cli::try_parse_from(args).map_err(|e| e.to_string())?;
        Settings::try_from(cli.serve)
    }

    #[test]
    fn the_defaults_of_new_are_those_of_the_flags() {
        let parsed = settings_of(&["user-service"]).unwrap();
        assert_eq!(
            parsed,
            Settings::new(DatabaseUrl::Sqlite("users.db".into()))
        );
    }

    #[test]
    fn sqlite_only_settings_are_refused_for_postgres() {
        let pg = "postgres://u@127.0.0.1/db";
        for flag in [
            ["--max-db-size", "1GiB"],
            ["--read-cache", "10"],
            ["--mmap-size", "0"],
        ] {
            let args = ["user-service", "--database-url", pg, flag[0], flag[1]];
            let error = settings_of(&args).unwrap_err();
            assert!(error.contains(flag[0]), "{error}");
        }
        assert!(settings_of(&["user-service", "--database-url", pg]).is_ok());
    }

    #[test]
    fn the_memory_map_size_is_a_size_and_zero_turns_it_off() {
        let default = settings_of(&["user-service"]).unwrap();
        assert_eq!(default.mmap_size, 1 << 30);
        let small = settings_of(&["user-service", "--mmap-size", "256MiB"]).unwrap();
        assert_eq!(small.mmap_size, 256 << 20);
        let off = settings_of(&["user-service", "--mmap-size", "0"]).unwrap();
        assert_eq!(off.mmap_size, 0);
        assert!(settings_of(&["user-service", "--mmap-size", "lots"]).is_err());
    }

    #[test]
    fn the_burst_defaults_to_one_second_of_the_rate() {
        let settings = settings_of(&["user-service", "--rate-limit", "600/min"]).unwrap();
        let limit = settings.rate_limit.unwrap();
        assert_eq!(limit.burst.get(), 10);
    }

    #[test]
    fn tokens_come_from_the_flag_and_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tokens");
        std::fs::write(&file, "# rotated 2026-11\nnew-token\n\n  old-token  \n").unwrap();
        let cli = Cli::try_parse_from([
            "user-service",
            "--api-token",
            "flag-token",
            "--api-token-file",
            file.to_str().unwrap(),
        ])
        .unwrap();
        assert_eq!(
            api_tokens(&cli.serve).unwrap(),
            vec!["flag-token", "new-token", "old-token"]
        );
    }

    #[test]
    fn a_token_file_that_is_missing_or_empty_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "# nothing here\n\n").unwrap();
        for path in [empty, dir.path().join("missing")] {
            let cli =
                Cli::try_parse_from(["user-service", "--api-token-file", path.to_str().unwrap()])
                    .unwrap();
            assert!(api_tokens(&cli.serve).is_err(), "{}", path.display());
        }
    }
}

//! Command-line flags with environment fallbacks, validated into typed
//! settings. A bad value is a clap error: one clear line, exit status 2.

use std::net::SocketAddr;
use std::num::{NonZeroU32, NonZeroUsize};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::logging::LogFormat;
use crate::storage::postgres::PostgresUrl;
use crate::storage::sqlite::Durability;
use crate::transfer::{Format, OnError};

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
pub enum Command {
    /// Serve the HTTP API (the default).
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate(DatabaseArgs),
    /// Write a consistent copy of a live database while a server keeps serving.
    Backup(BackupArgs),
    /// Write every user, newest first, as NDJSON or CSV (to stdout by default).
    Export(ExportArgs),
    /// Load users from NDJSON or CSV (stdin by default), keeping ids and
    /// timestamps, in one transaction.
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
    #[arg(long, env = "BIND", default_value = "127.0.0.1:3000")]
    pub address: String,

    /// Give up after this many seconds.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Database to use: `sqlite://PATH` or a bare file path (created if
    /// missing), or `postgres://user:password@host:port/database`.
    #[arg(
        long,
        env = "DATABASE_URL",
        // A PostgreSQL URL may carry a password; --help must not print it.
        hide_env_values = true,
        default_value = "sqlite://users.db",
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
    #[arg(long, env = "BIND", default_value = "127.0.0.1:3000")]
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

    /// Limit each client IP address to this many requests, e.g. `100/s` or
    /// `600/min`; over it: 429 `rate_limited` with `Retry-After`. `/health`
    /// and `/ready` are never limited. [default: no limit]
    #[arg(long, env = "RATE_LIMIT", value_parser = crate::routes::parse_rate)]
    pub rate_limit: Option<crate::routes::Rate>,

    /// Requests a client may send at once before `--rate-limit` applies.
    /// [default: one second's worth, at least 1]
    #[arg(long, env = "RATE_LIMIT_BURST", requires = "rate_limit")]
    pub rate_limit_burst: Option<NonZeroU32>,

    /// Open client connections accepted at once; past it, new connections
    /// wait in the listen backlog. Requests must send their head within 5 s
    /// and idle keep-alive connections close after 5 s.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = NonZeroUsize::new(10_000).unwrap_or(NonZeroUsize::MIN))]
    pub max_connections: NonZeroUsize,

    /// PostgreSQL only: connections this instance keeps to the database
    /// (keep instances x pool size below the server's `max_connections`).
    #[arg(long, env = "DB_POOL_SIZE", default_value_t = NonZeroUsize::new(16).unwrap_or(NonZeroUsize::MIN))]
    pub db_pool_size: NonZeroUsize,
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
        default_value = "sqlite://users.db",
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
        default_value = "sqlite://users.db",
        value_parser = parse_database_url
    )]
    pub to: DatabaseUrl,

    /// File to read; `-` or absent for stdin.
    #[arg(long)]
    pub input: Option<PathBuf>,

    /// [default: from the file's extension (.csv), else ndjson]
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// A row that is invalid, or whose id or email is taken: `abort` imports
    /// nothing, `skip` reports it (with its line number) and goes on.
    #[arg(long, value_enum, default_value_t = OnError::Abort)]
    pub on_error: OnError,

    /// Users per database batch.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=50_000))]
    pub batch_size: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DurabilityArg {
    Full,
    Normal,
}

impl From<DurabilityArg> for Durability {
    fn from(arg: DurabilityArg) -> Self {
        match arg {
            DurabilityArg::Full => Durability::Full,
            DurabilityArg::Normal => Durability::Normal,
        }
    }
}

/// Where the data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(PostgresUrl),
}

/// Accepts `postgres://…` or `postgresql://…` (libpq URL syntax), and for
/// SQLite `sqlite://PATH`, `sqlite:PATH` (an optional `?query` is ignored)
/// or a bare path. `sqlite:///abs/path` is absolute.
pub fn parse_database_url(raw: &str) -> Result<DatabaseUrl, String> {
    let raw = raw.trim();
    if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
        return PostgresUrl::parse(raw).map(DatabaseUrl::Postgres);
    }
    let path = match raw.strip_prefix("sqlite:") {
        Some(rest) => {
            let rest = rest.strip_prefix("//").unwrap_or(rest);
            rest.split_once('?').map_or(rest, |(path, _)| path)
        }
        None if raw.contains("://") => {
            let scheme = raw.split("://").next().unwrap_or_default();
            return Err(format!(
                "unsupported database URL scheme {scheme:?}; use sqlite://PATH or postgres://…"
            ));
        }
        None => raw,
    };
    if path.is_empty() {
        return Err("the database path is empty".into());
    }
    if path == ":memory:" || path.starts_with("file::memory:") {
        return Err(
            "in-memory databases are not supported: the service needs a file that its \
             read and write connections share"
                .into(),
        );
    }
    Ok(DatabaseUrl::Sqlite(PathBuf::from(path)))
}

impl ServeArgs {
    /// Every token the API accepts: `--api-token` and the lines of
    /// `--api-token-file`. A token file that cannot be read or holds no token
    /// is an error: starting open when a file was asked for would be worse.
    pub fn api_tokens(&self) -> Result<Vec<String>, String> {
        let mut tokens: Vec<String> = self.api_token.iter().cloned().collect();
        if let Some(path) = &self.api_token_file {
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
}

/// A size in bytes: a whole number with an optional unit, `KB`/`MB`/`GB`
/// (powers of 1000) or `KiB`/`MiB`/`GiB` (powers of 1024).
pub fn parse_size(raw: &str) -> Result<u64, String> {
    let raw = raw.trim();
    let split = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (number, unit) = raw.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{raw:?} is not a size; expected e.g. 512MiB, 2GB or 1048576"))?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        other => {
            return Err(format!(
                "unknown size unit {other:?}; use KB, MB, GB, KiB, MiB or GiB"
            ))
        }
    };
    let bytes = number
        .checked_mul(factor)
        .ok_or_else(|| format!("{raw:?} is too large"))?;
    if bytes < 64 * 1024 {
        return Err("the database size cap must be at least 64KiB".into());
    }
    Ok(bytes)
}

/// An origin is `scheme://host[:port]` with no path, or `*`.
fn parse_origin(raw: &str) -> Result<String, String> {
    let origin = raw.trim().trim_end_matches('/');
    if origin == "*" {
        return Ok(origin.to_owned());
    }
    let valid = origin.split_once("://").is_some_and(|(scheme, rest)| {
        matches!(scheme, "http" | "https")
            && !rest.is_empty()
            && !rest.contains(['/', '?', '#', ' '])
    });
    if valid {
        Ok(origin.to_owned())
    } else {
        Err(format!(
            "{raw:?} is not an origin; expected scheme://host[:port], e.g. https://example.com"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(path: &str) -> Result<DatabaseUrl, String> {
        Ok(DatabaseUrl::Sqlite(PathBuf::from(path)))
    }

    #[test]
    fn sqlite_urls_and_bare_paths_name_a_file() {
        assert_eq!(parse_database_url("sqlite://users.db"), sqlite("users.db"));
        assert_eq!(
            parse_database_url("sqlite:///var/lib/u.db"),
            sqlite("/var/lib/u.db")
        );
        assert_eq!(parse_database_url("sqlite:data/u.db"), sqlite("data/u.db"));
        assert_eq!(parse_database_url("sqlite://u.db?mode=rwc"), sqlite("u.db"));
        assert_eq!(parse_database_url("/tmp/u.db"), sqlite("/tmp/u.db"));
    }

    #[test]
    fn postgres_urls_are_checked_and_never_show_the_password() {
        for raw in [
            "postgres://app:s3cret@db.internal:5433/users",
            "postgresql://app:s3cret@db.internal:5433/users?connect_timeout=3",
        ] {
            let Ok(DatabaseUrl::Postgres(url)) = parse_database_url(raw) else {
                panic!("{raw} should parse");
            };
            assert_eq!(url.redacted(), "postgres://app@db.internal:5433/users");
            assert!(!format!("{url:?}").contains("s3cret"));
        }
        assert!(parse_database_url("postgres://app@host/db?sslmode=sometimes").is_err());
    }

    #[test]
    fn memory_databases_and_unknown_schemes_are_refused() {
        assert!(parse_database_url("sqlite::memory:").is_err());
        assert!(parse_database_url("mysql://host/db").is_err());
        assert!(parse_database_url("sqlite://").is_err());
    }

    #[test]
    fn origins_must_be_scheme_and_host() {
        assert_eq!(
            parse_origin("https://a.example.com/").unwrap(),
            "https://a.example.com"
        );
        assert!(parse_origin("http://localhost:8080").is_ok());
        assert!(parse_origin("*").is_ok());
        assert!(parse_origin("a.example.com").is_err());
        assert!(parse_origin("https://a.example.com/path").is_err());
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
            cli.serve.api_tokens().unwrap(),
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
            assert!(cli.serve.api_tokens().is_err(), "{}", path.display());
        }
    }

    #[test]
    fn sizes_take_decimal_and_binary_units() {
        assert_eq!(parse_size("1048576"), Ok(1_048_576));
        assert_eq!(parse_size("64KiB"), Ok(65_536));
        assert_eq!(parse_size("10MB"), Ok(10_000_000));
        assert_eq!(parse_size("2 GiB"), Ok(2 << 30));
        assert!(parse_size("1KB").is_err(), "below the minimum");
        assert!(parse_size("ten MB").is_err());
        assert!(parse_size("10 parsecs").is_err());
        assert!(parse_size("99999999999999999999GB").is_err());
    }

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
}

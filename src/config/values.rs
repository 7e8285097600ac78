//! The values flags take, each parsed once into a type: database URLs,
//! sizes, origins, durability.

use std::path::PathBuf;
use std::time::Duration;

use clap::ValueEnum;

use crate::storage::postgres::PostgresUrl;
use crate::storage::sqlite::Durability;

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

/// A database size cap: a size of at least 64 KiB (see [`parse_bytes`]).
pub fn parse_size(raw: &str) -> Result<u64, String> {
    let bytes = parse_bytes(raw)?;
    if bytes < 64 * 1024 {
        return Err("the database size cap must be at least 64KiB".into());
    }
    Ok(bytes)
}

/// A size in bytes: a whole number with an optional unit, `KB`/`MB`/`GB`
/// (powers of 1000) or `KiB`/`MiB`/`GiB` (powers of 1024).
pub fn parse_bytes(raw: &str) -> Result<u64, String> {
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
    number
        .checked_mul(factor)
        .ok_or_else(|| format!("{raw:?} is too large"))
}

/// A period: a whole number and a unit, `s`, `m`, `h` or `d` (`30s`,
/// `15m`, `6h`, `1d`); at least one second.
pub fn parse_period(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let split = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (number, unit) = raw.split_at(split);
    let bad = || format!("{raw:?} is not a period; expected e.g. 30s, 15m, 6h or 1d");
    let number: u64 = number.parse().map_err(|_| bad())?;
    let seconds: u64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    match number.checked_mul(seconds) {
        Some(0) => Err("the period must be at least 1s".into()),
        Some(total) => Ok(Duration::from_secs(total)),
        None => Err(format!("{raw:?} is too long")),
    }
}

/// An origin is `scheme://host[:port]` with no path, or `*`.
pub(super) fn parse_origin(raw: &str) -> Result<String, String> {
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
    fn periods_take_a_unit_and_are_never_zero() {
        assert_eq!(parse_period("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_period("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_period("6h"), Ok(Duration::from_secs(21_600)));
        assert_eq!(parse_period(" 1d "), Ok(Duration::from_secs(86_400)));
        for bad in ["", "30", "s", "1w", "1.5h", "-1s", "0s", "1 h"] {
            assert!(parse_period(bad).is_err(), "{bad:?}");
        }
        assert!(parse_period("99999999999999999d").is_err());
    }
}

//! The PostgreSQL backend's URL: checked when parsed, never shown with its
//! password, and turned into the driver's connection settings.

use std::path::PathBuf;
use std::time::Duration;

use tokio_postgres::Client;

use super::tls::{SslMode, TlsOptions};

/// How long a new connection may take before the attempt counts as failed
/// (unless the URL sets `connect_timeout`).
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A PostgreSQL connection URL, checked when parsed. It may hold a password,
/// so `Debug` and [`PostgresUrl::redacted`] never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresUrl {
    /// As given.
    raw: String,
    /// Without `sslmode` and `sslrootcert`, which the driver does not take
    /// (it knows three of libpq's five modes, and no root file).
    driver: String,
    tls: TlsOptions,
}

impl PostgresUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let (driver, tls) = split_tls_options(raw)?;
        driver.parse::<tokio_postgres::Config>().map_err(|e| {
            format!(
                "invalid PostgreSQL URL: {e}; expected postgres://user:password@host:port/database"
            )
        })?;
        Ok(Self {
            raw: raw.to_owned(),
            driver,
            tls,
        })
    }

    /// The URL as given, password included: for handing to another process,
    /// never for logs.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// `sslmode` and `sslrootcert`.
    pub fn tls(&self) -> &TlsOptions {
        &self.tls
    }

    /// The driver's settings; the URL was checked by [`PostgresUrl::parse`].
    pub fn config(&self) -> tokio_postgres::Config {
        let mut config: tokio_postgres::Config = self.driver.parse().unwrap_or_default();
        config.ssl_mode(self.tls.mode.driver_mode());
        config
    }

    /// `postgres://user@host:port/database`, for logs: no password, no options.
    pub fn redacted(&self) -> String {
        let config = self.config();
        let user = config.get_user().unwrap_or("");
        let hosts: Vec<String> = config
            .get_hosts()
            .iter()
            .zip(config.get_ports().iter().chain(std::iter::repeat(&5432)))
            .map(|(host, port)| match host {
                tokio_postgres::config::Host::Tcp(name) => format!("{name}:{port}"),
                tokio_postgres::config::Host::Unix(dir) => format!("{}:{port}", dir.display()),
            })
            .collect();
        let database = config.get_dbname().unwrap_or(user);
        format!("postgres://{user}@{}/{database}", hosts.join(","))
    }
}

impl std::fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("PostgresUrl")
            .field(&self.redacted())
            .finish()
    }
}

/// The TLS connector for `url`'s `sslmode` and `sslrootcert`: every
/// connection (the pool, migrations, `import`) is made with it.
pub(super) fn connector(url: &PostgresUrl) -> Result<super::tls::PgTls, super::OpenError> {
    super::tls::PgTls::new(url.tls()).map_err(|reason| super::OpenError::Connect {
        url: url.redacted(),
        reason,
    })
}

/// One connection outside the pool, made as the pool makes them (the same
/// settings and TLS), its driver spawned on the runtime: for migrations,
/// `import`'s bulk load, and tools. The driver ends when the client is
/// dropped.
pub async fn connect(url: &PostgresUrl) -> Result<(Client, Driver), super::OpenError> {
    let (client, connection) = connection_config(url)
        .connect(connector(url)?)
        .await
        .map_err(|e| super::error::connect_error(url.redacted(), url.tls(), &e))?;
    Ok((client, tokio::spawn(connection)))
}

/// The task that drives one connection's socket.
pub type Driver = tokio::task::JoinHandle<Result<(), tokio_postgres::Error>>;

/// The URL's settings plus the service's defaults for what it leaves out.
pub(super) fn connection_config(url: &PostgresUrl) -> tokio_postgres::Config {
    let mut config = url.config();
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    if config.get_application_name().is_none() {
        config.application_name("user-service");
    }
    config
}

/// Takes `sslmode` and `sslrootcert` out of a URL (`?sslmode=…&…`) or a
/// `key=value` string; returns the rest and what they said.
fn split_tls_options(raw: &str) -> Result<(String, TlsOptions), String> {
    let mut tls = TlsOptions::default();
    let mut take = |key: &str, value: &str| -> Result<bool, String> {
        match key {
            "sslmode" => tls.mode = SslMode::parse(value)?,
            "sslrootcert" => tls.root_cert = Some(PathBuf::from(value)),
            _ => return Ok(false),
        }
        Ok(true)
    };
    let driver = if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
        match raw.split_once('?') {
            None => raw.to_owned(),
            Some((base, query)) => {
                let mut kept = Vec::new();
                for pair in query.split('&') {
                    let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                    if !take(key, &percent_decode(value)?)? {
                        kept.push(pair);
                    }
                }
                match kept.is_empty() {
                    true => base.to_owned(),
                    false => format!("{base}?{}", kept.join("&")),
                }
            }
        }
    } else {
        let mut kept = Vec::new();
        for word in raw.split_whitespace() {
            let (key, value) = word.split_once('=').unwrap_or((word, ""));
            if !take(key, value.trim_matches('\''))? {
                kept.push(word);
            }
        }
        kept.join(" ")
    };
    Ok((driver, tls))
}

/// `%2F` and friends in a URL's query value.
fn percent_decode(value: &str) -> Result<String, String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = value
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("invalid percent-encoding in {value:?}"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("{value:?} is not UTF-8 once decoded"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmode_and_sslrootcert_are_taken_out_of_urls_and_key_value_strings() {
        let url = PostgresUrl::parse(
            "postgres://app:pw@db.example.com/users?application_name=x&sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem",
        )
        .unwrap();
        assert_eq!(url.tls().mode, SslMode::VerifyFull);
        assert_eq!(url.tls().root_cert, Some(PathBuf::from("/etc/ca.pem")));
        assert_eq!(url.config().get_application_name(), Some("x"));
        assert_eq!(
            url.config().get_ssl_mode(),
            tokio_postgres::config::SslMode::Require
        );
        assert!(url.as_str().contains("sslmode=verify-full"), "as given");

        let kv =
            PostgresUrl::parse("host=db user=app sslmode=verify-ca sslrootcert=/ca.pem").unwrap();
        assert_eq!(kv.tls().mode, SslMode::VerifyCa);
        assert_eq!(kv.tls().root_cert, Some(PathBuf::from("/ca.pem")));
        assert_eq!(kv.config().get_user(), Some("app"));

        let plain = PostgresUrl::parse("postgres://app@db/users?sslmode=disable").unwrap();
        assert_eq!(plain.tls().mode, SslMode::Disable);
        assert_eq!(
            plain.config().get_ssl_mode(),
            tokio_postgres::config::SslMode::Disable
        );
        let default = PostgresUrl::parse("postgres://app@db/users").unwrap();
        assert_eq!(default.tls(), &TlsOptions::default());
        assert_eq!(default.tls().mode, SslMode::Prefer);
    }

    #[test]
    fn an_unknown_sslmode_is_an_error_that_lists_the_known_ones() {
        let error = PostgresUrl::parse("postgres://app@db/users?sslmode=allow").unwrap_err();
        assert!(error.contains("verify-full"), "{error}");
        assert!(PostgresUrl::parse("postgres://app@db/users?sslrootcert=%zz").is_err());
    }
}

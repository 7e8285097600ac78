//! The PostgreSQL backend's URL: checked when parsed, never shown with its
//! password, and turned into the driver's connection settings.

use std::time::Duration;

/// How long a new connection may take before the attempt counts as failed
/// (unless the URL sets `connect_timeout`).
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A PostgreSQL connection URL, checked when parsed. It may hold a password,
/// so `Debug` and [`PostgresUrl::redacted`] never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresUrl(String);

impl PostgresUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        raw.parse::<tokio_postgres::Config>().map_err(|e| {
            format!(
                "invalid PostgreSQL URL: {e}; expected postgres://user:password@host:port/database"
            )
        })?;
        Ok(Self(raw.to_owned()))
    }

    /// The URL as given, password included: for handing to another process,
    /// never for logs.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The driver's settings; the URL was checked by [`PostgresUrl::parse`].
    pub fn config(&self) -> tokio_postgres::Config {
        self.0.parse().unwrap_or_default()
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

//! PostgreSQL connection pool for the production relational-store adapters.
//!
//! Every wait is bounded (connect, pool checkout, statements) so a stopped or overloaded
//! server turns into a prompt error naming the server instead of a request that hangs.
//!
//! TLS follows libpq: `sslmode=disable|prefer|require|verify-ca|verify-full` in the URL, the
//! CA in `ca_file` (or `sslrootcert` in the URL), over rustls (see [`crate::tls`]).

mod tls;

use std::path::PathBuf;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use tokio_postgres::config::Host;
use tokio_postgres_rustls::MakeRustlsConnect;

pub use tls::{SslMode, SslOptionError};

/// How a service reaches PostgreSQL (`[postgres]` in settings, `TUNEMESH_POSTGRES__*`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PostgresSettings {
    /// Connection URL; may carry a password, hence secret (never logged or put in errors).
    pub url: SecretString,
    /// Most connections the pool keeps open.
    pub max_connections: usize,
    /// Bound on opening a connection and on waiting for a free one in the pool.
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Server-side bound on every statement (`statement_timeout`); a runaway query is
    /// cancelled by PostgreSQL rather than holding a connection forever.
    #[serde(with = "humantime_serde")]
    pub statement_timeout: Duration,
    /// PEM file of the CA(s) that signed the server's certificate, for `sslmode=verify-ca`,
    /// `verify-full` (and `require`, which then checks the chain as libpq does). Unset: the
    /// system's CA store. Same as `sslrootcert` in the URL; give one of the two.
    pub ca_file: Option<PathBuf>,
    /// `sslmode` for every URL (`disable`, `prefer`, `require`, `verify-ca`, `verify-full`),
    /// so a deployment can insist on TLS whatever URL a secret holds; a URL naming another
    /// mode is refused. Unset: the URL's, else `prefer`.
    pub sslmode: Option<SslMode>,
    /// Server-side bound on a transaction that sends nothing
    /// (`idle_in_transaction_session_timeout`): a process that hangs inside one (a long pause,
    /// a frozen host) would hold its row locks, and every replica's writes of those rows
    /// would wait on it; PostgreSQL ends it instead. Every write here is a few statements in
    /// a row with nothing else awaited in between. Short, so that a retried write waiting on
    /// such a lock still fits in the mesh's 3 s timeout.
    #[serde(with = "humantime_serde")]
    pub idle_in_transaction_timeout: Duration,
}

impl Default for PostgresSettings {
    fn default() -> Self {
        Self {
            url: SecretString::from("postgres://postgres@127.0.0.1:5432/tunemesh"),
            max_connections: 16,
            connect_timeout: Duration::from_secs(2),
            statement_timeout: Duration::from_secs(10),
            ca_file: None,
            sslmode: None,
            idle_in_transaction_timeout: Duration::from_secs(1),
        }
    }
}

/// Why a PostgreSQL pool could not be set up. Messages name the server, never the password.
#[derive(Debug, thiserror::Error)]
pub enum PostgresError {
    /// The URL does not parse; the URL itself is not shown since it may hold a password.
    #[error("invalid postgresql url")]
    InvalidUrl(#[source] tokio_postgres::Error),
    /// The URL's `sslmode` is not one tunemesh can honour.
    #[error("invalid postgresql tls options")]
    SslOption(#[from] SslOptionError),
    /// `ca_file` and the URL's `sslrootcert` are both set.
    #[error("postgres.ca_file and sslrootcert in the url are both set: give one")]
    AmbiguousCa,
    /// The TLS configuration could not be built (e.g. an unreadable CA file).
    #[error("invalid postgresql tls settings")]
    Tls(#[source] crate::tls::TlsError),
    /// The pool settings were rejected (e.g. `max_connections` of 0).
    #[error("invalid postgresql pool settings for {address}")]
    InvalidPool {
        /// `host:port/database` of the server.
        address: String,
        /// What the pool builder rejected.
        #[source]
        source: deadpool_postgres::BuildError,
    },
    /// No connection could be opened or checked out in time.
    #[error("postgresql at {address} is unreachable")]
    Unreachable {
        /// `host:port/database` of the server.
        address: String,
        /// The connection or timeout error.
        #[source]
        source: deadpool_postgres::PoolError,
    },
    /// A connection opened but the `SELECT 1` check failed.
    #[error("postgresql at {address} failed the connection check")]
    Check {
        /// `host:port/database` of the server.
        address: String,
        /// The statement error.
        #[source]
        source: tokio_postgres::Error,
    },
}

/// Builds a pool for `settings` and proves it works by running `SELECT 1` on one connection.
pub async fn connect(settings: &PostgresSettings) -> Result<Pool, PostgresError> {
    let (config, tls) = pg_config(settings)?;
    let address = address(&config);
    let pool = build_pool(config, tls, settings).map_err(|source| PostgresError::InvalidPool {
        address: address.clone(),
        source,
    })?;
    let client = pool
        .get()
        .await
        .map_err(|source| PostgresError::Unreachable {
            address: address.clone(),
            source,
        })?;
    client
        .batch_execute("SELECT 1")
        .await
        .map_err(|source| PostgresError::Check {
            address: address.clone(),
            source,
        })?;
    tracing::debug!(%address, max_connections = settings.max_connections, "postgresql pool ready");
    Ok(pool)
}

/// The driver config (URL plus the connect and statement timeouts) and the TLS connector that
/// checks the server as `sslmode` asks.
fn pg_config(
    settings: &PostgresSettings,
) -> Result<(tokio_postgres::Config, MakeRustlsConnect), PostgresError> {
    let split = tls::split(settings.url.expose_secret(), settings.sslmode)?;
    let ca_file = match (&settings.ca_file, &split.root_cert) {
        (Some(_), Some(_)) => return Err(PostgresError::AmbiguousCa),
        (one, other) => one.as_ref().or(other.as_ref()),
    };
    let verify = split
        .mode
        .unwrap_or(SslMode::Prefer)
        .verify(ca_file.is_some());
    let client = crate::tls::client_config(ca_file.map(PathBuf::as_path), verify)
        .map_err(PostgresError::Tls)?;
    let mut config: tokio_postgres::Config =
        split.rest.parse().map_err(PostgresError::InvalidUrl)?;
    config.connect_timeout(settings.connect_timeout);
    // Sent as a startup option, so every pooled connection has it without an extra round trip.
    let statement_timeout = format!(
        "-c statement_timeout={} -c idle_in_transaction_session_timeout={}",
        settings.statement_timeout.as_millis(),
        settings.idle_in_transaction_timeout.as_millis()
    );
    let options = match config.get_options() {
        Some(existing) => format!("{existing} {statement_timeout}"),
        None => statement_timeout,
    };
    config.options(options);
    Ok((config, MakeRustlsConnect::new(client)))
}

fn build_pool(
    config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    settings: &PostgresSettings,
) -> Result<Pool, deadpool_postgres::BuildError> {
    let manager = Manager::from_config(
        config,
        tls,
        ManagerConfig {
            // Fast: the driver notices closed connections itself; no query per checkout.
            recycling_method: RecyclingMethod::Fast,
        },
    );
    // Waiting longer than a connect for a free connection means overload: fail fast.
    let bound = Some(settings.connect_timeout);
    Pool::builder(manager)
        .max_size(settings.max_connections)
        .runtime(Runtime::Tokio1)
        .wait_timeout(bound)
        .create_timeout(bound)
        .recycle_timeout(bound)
        .build()
}

/// `host:port/database` for messages, from the parsed config (never includes the password).
fn address(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(host)) => host.clone(),
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let database = config
        .get_dbname()
        .or(config.get_user())
        .unwrap_or_default();
    format!("{host}:{port}/{database}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_names_the_server_but_not_the_password() -> Result<(), PostgresError> {
        let settings = PostgresSettings {
            url: SecretString::from("postgres://app:hunter2@db.internal:6543/music"),
            ..PostgresSettings::default()
        };
        let (config, _) = pg_config(&settings)?;
        assert_eq!(address(&config), "db.internal:6543/music");
        assert_eq!(
            config.get_options(),
            Some("-c statement_timeout=10000 -c idle_in_transaction_session_timeout=1000")
        );
        Ok(())
    }

    #[test]
    fn invalid_url_error_does_not_echo_the_url() {
        let settings = PostgresSettings {
            url: SecretString::from("postgres://app:hunter2@db:notaport/music"),
            ..PostgresSettings::default()
        };
        let error = pg_config(&settings).err().map(|e| e.to_string());
        assert_eq!(error.as_deref(), Some("invalid postgresql url"));
    }
}

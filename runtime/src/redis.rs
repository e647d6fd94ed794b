//! Redis connection pool (fred) for the production cache adapters, and key prefixing.
//!
//! A cache must never make a request slower than going without it: commands carry a short
//! timeout, the first connection fails fast, and a pool that loses Redis later keeps
//! reconnecting in the background while commands fail promptly instead of queueing.
//!
//! `rediss://` URLs connect over TLS (rustls on `ring`), verifying the server's certificate and
//! name against `ca_file` or the system's CA store.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use fred::prelude::{Builder, ClientLike as _, Config, Pool, ReconnectPolicy};
use fred::types::config::TlsConfig;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;

/// How a service reaches Redis (`[redis]` in settings, `TUNEMESH_REDIS__*`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedisSettings {
    /// Connection URL; may carry a password, hence secret (never logged or put in errors).
    pub url: SecretString,
    /// Prepended to every key (see [`KeyPrefix`]), so services and tests can share a server.
    pub key_prefix: String,
    /// Connections in the pool; commands are spread round-robin over them.
    pub pool_size: usize,
    /// Bound on each command, including time spent waiting for a reconnect.
    #[serde(with = "humantime_serde")]
    pub command_timeout: Duration,
    /// Bound on opening a connection (TCP, handshake, `AUTH`/`SELECT`).
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// PEM file of the CA(s) that signed the server's certificate, for `rediss://` URLs.
    /// Unset: the system's CA store.
    pub ca_file: Option<PathBuf>,
    /// Refuse a plain `redis://` URL at startup, so a deployment can insist on TLS whatever
    /// URL a secret holds.
    pub require_tls: bool,
}

impl Default for RedisSettings {
    fn default() -> Self {
        Self {
            url: SecretString::from("redis://127.0.0.1:6379"),
            key_prefix: "tunemesh:".to_owned(),
            pool_size: 4,
            command_timeout: Duration::from_millis(500),
            connect_timeout: Duration::from_secs(2),
            ca_file: None,
            require_tls: false,
        }
    }
}

/// Why a Redis pool could not be set up. Messages name the server, never the password.
#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    /// The URL does not parse; the URL itself is not shown since it may hold a password.
    #[error("invalid redis url")]
    InvalidUrl(#[source] fred::error::Error),
    /// `ca_file` is set but the URL is plain `redis://`: the CA would be silently unused.
    #[error("redis.ca_file is set but the redis url is not rediss://")]
    CaWithoutTls,
    /// `require_tls` is set but the URL is plain `redis://`.
    #[error("redis.require_tls is set but the redis url is not rediss://")]
    TlsRequired,
    /// The TLS configuration could not be built (e.g. an unreadable CA file).
    #[error("invalid redis tls settings")]
    Tls(#[source] crate::tls::TlsError),
    /// The pool settings were rejected (e.g. `pool_size` of 0).
    #[error("invalid redis pool settings for {address}")]
    InvalidPool {
        /// `host:port` of the server.
        address: String,
        /// What the pool builder rejected.
        #[source]
        source: fred::error::Error,
    },
    /// The first connection failed.
    #[error("redis at {address} is unreachable")]
    Unreachable {
        /// `host:port` of the server.
        address: String,
        /// The connection error.
        #[source]
        source: fred::error::Error,
    },
    /// The first connection neither succeeded nor failed within `connect_timeout`.
    #[error("redis at {address} did not answer within {timeout:?}")]
    Timeout {
        /// `host:port` of the server.
        address: String,
        /// The bound that expired.
        timeout: Duration,
    },
}

/// Reconnect delays: 100 ms doubling to 2 s, forever; a cache server coming back is normal.
const RECONNECT: (u32, u32, u32) = (100, 2_000, 2);

/// Builds a pool for `settings` and waits until every connection is up.
pub async fn connect(settings: &RedisSettings) -> Result<Pool, RedisError> {
    let config = redis_config(settings)?;
    let address = address(&config);
    let pool = build_pool(config, settings).map_err(|source| RedisError::InvalidPool {
        address: address.clone(),
        source,
    })?;
    match tokio::time::timeout(settings.connect_timeout, pool.init()).await {
        Ok(Ok(_connection_task)) => {
            tracing::debug!(%address, pool_size = settings.pool_size, "redis pool ready");
            Ok(pool)
        }
        Ok(Err(source)) => Err(RedisError::Unreachable { address, source }),
        Err(_) => {
            // Stop the half-started connection tasks instead of leaving them retrying.
            let _ = tokio::time::timeout(settings.connect_timeout, pool.quit()).await;
            Err(RedisError::Timeout {
                address,
                timeout: settings.connect_timeout,
            })
        }
    }
}

/// The client config of the URL, with TLS on the `ring` provider for `rediss://`. fred's own
/// TLS setup for such URLs is bypassed: it trusts only the system store and lets rustls pick
/// a provider, which fails in a build that links two.
fn redis_config(settings: &RedisSettings) -> Result<Config, RedisError> {
    let url = settings.url.expose_secret();
    let (url, tls) = match ["rediss", "valkeys"]
        .iter()
        .find_map(|scheme| url.strip_prefix(scheme).map(|rest| (scheme, rest)))
    {
        Some((scheme, rest)) => (format!("{}{rest}", &scheme[..scheme.len() - 1]), true),
        None => (url.to_owned(), false),
    };
    let mut config = Config::from_url(&url).map_err(RedisError::InvalidUrl)?;
    if tls {
        let client =
            crate::tls::client_config(settings.ca_file.as_deref(), crate::tls::Verify::Full)
                .map_err(RedisError::Tls)?;
        config.tls = Some(TlsConfig::from(client));
    } else if settings.require_tls {
        return Err(RedisError::TlsRequired);
    } else if settings.ca_file.is_some() {
        return Err(RedisError::CaWithoutTls);
    }
    Ok(config)
}

fn build_pool(config: Config, settings: &RedisSettings) -> Result<Pool, fred::error::Error> {
    let (min_delay, max_delay, base) = RECONNECT;
    Builder::from_config(config)
        .with_connection_config(|connection| {
            connection.connection_timeout = settings.connect_timeout;
            connection.internal_command_timeout = settings.connect_timeout;
        })
        .with_performance_config(|performance| {
            performance.default_command_timeout = settings.command_timeout;
        })
        .set_policy(ReconnectPolicy::new_exponential(
            0, min_delay, max_delay, base,
        ))
        .build_pool(settings.pool_size)
}

/// `host:port` of the (first) server, for messages.
fn address(config: &Config) -> String {
    config
        .server
        .hosts()
        .first()
        .map_or_else(|| "unknown".to_owned(), ToString::to_string)
}

/// A namespace for Redis keys, e.g. `tunemesh:` or `tunemesh:playlist:`.
///
/// Every key a service writes goes through one, so two services (or two tests) sharing a
/// server never touch each other's keys and a prefix can be cleaned up as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyPrefix(String);

impl KeyPrefix {
    /// A prefix used as given; include the separator (`"tunemesh:"`).
    pub fn new(prefix: impl Into<String>) -> Self {
        Self(prefix.into())
    }

    /// The full key for `key`: `tunemesh:` + `playlist:42` = `tunemesh:playlist:42`.
    pub fn key(&self, key: impl fmt::Display) -> String {
        format!("{}{key}", self.0)
    }

    /// A nested namespace: `tunemesh:` scoped to `playlist` is `tunemesh:playlist:`.
    pub fn scoped(&self, name: &str) -> Self {
        Self(format!("{}{name}:", self.0))
    }

    /// The prefix itself.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&RedisSettings> for KeyPrefix {
    fn from(settings: &RedisSettings) -> Self {
        Self::new(settings.key_prefix.clone())
    }
}

impl fmt::Display for KeyPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_scopes_compose() {
        let root = KeyPrefix::from(&RedisSettings::default());
        assert_eq!(root.key("playlist:42"), "tunemesh:playlist:42");
        assert_eq!(root.scoped("playlist").key(42), "tunemesh:playlist:42");
        assert_eq!(root.scoped("playlist").as_str(), "tunemesh:playlist:");
    }

    #[test]
    fn rediss_urls_get_tls_and_a_ca_needs_them() -> Result<(), RedisError> {
        let settings = |url: &str, ca: Option<&str>| RedisSettings {
            url: SecretString::from(url.to_owned()),
            ca_file: ca.map(PathBuf::from),
            ..RedisSettings::default()
        };
        let tls = redis_config(&settings("rediss://:pw@cache.internal:6380/1", None))?;
        assert!(tls.tls.is_some());
        assert_eq!(address(&tls), "cache.internal:6380");
        let plain = redis_config(&settings("redis://cache.internal", None))?;
        assert!(plain.tls.is_none());
        assert!(matches!(
            redis_config(&settings("redis://cache.internal", Some("/ca.pem"))),
            Err(RedisError::CaWithoutTls)
        ));
        let required = RedisSettings {
            require_tls: true,
            ..settings("redis://cache.internal", None)
        };
        assert!(matches!(
            redis_config(&required),
            Err(RedisError::TlsRequired)
        ));
        Ok(())
    }

    #[test]
    fn address_names_the_server_but_not_the_password() -> Result<(), RedisError> {
        let config = Config::from_url("redis://app:hunter2@cache.internal:6380/2")
            .map_err(RedisError::InvalidUrl)?;
        assert_eq!(address(&config), "cache.internal:6380");
        Ok(())
    }
}

//! NATS JetStream connection for the production event-bus adapter.
//!
//! Connecting proves more than a TCP session: it asks JetStream for the account's info, so a
//! server started without `-js` is reported at startup, not on the first publish.
//!
//! A service authenticates as its own NATS user (`user` with `password` or `password_file`,
//! or a `.creds` file for nats-server's operator mode); its reply inbox is then
//! `_INBOX.<user>`, the only subjects [`crate::access`] lets it subscribe to.

use std::path::PathBuf;
use std::time::Duration;

use async_nats::jetstream::context::{RequestError, RequestErrorKind};
use async_nats::jetstream::response::Response;
use async_nats::jetstream::{self, ErrorCode};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;

/// How a service reaches NATS (`[nats]` in settings, `TUNEMESH_NATS__*`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NatsSettings {
    /// Server URL(s), comma-separated; credentials in it never appear in errors.
    pub url: String,
    /// Prepended to every stream this process creates (see [`NatsSettings::stream_name`]),
    /// so deployments and tests sharing a server keep their streams apart.
    pub stream_prefix: String,
    /// Bound on opening the connection.
    #[serde(with = "duration_text")]
    pub connect_timeout: Duration,
    /// Bound on each request, including JetStream API calls and publish acknowledgements.
    #[serde(with = "duration_text")]
    pub request_timeout: Duration,
    /// The NATS user of this service (one per service: see [`crate::access`]).
    pub user: Option<String>,
    /// The user's password; secret, never logged. Or `password_file`.
    pub password: Option<SecretString>,
    /// A file holding the password (a mounted Kubernetes secret); a trailing newline is dropped.
    pub password_file: Option<PathBuf>,
    /// A `.creds` file (user JWT and nkey seed) for nats-server's operator mode, instead of
    /// a user and password.
    pub credentials_file: Option<PathBuf>,
    /// Prefix of the connection's reply subjects. Unset: `_INBOX.<user>` with a user (what
    /// the per-service permissions allow), `_INBOX` without.
    pub inbox_prefix: Option<String>,
}

impl Default for NatsSettings {
    fn default() -> Self {
        Self {
            url: "nats://127.0.0.1:4222".to_owned(),
            stream_prefix: "tunemesh".to_owned(),
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(5),
            user: None,
            password: None,
            password_file: None,
            credentials_file: None,
            inbox_prefix: None,
        }
    }
}

impl NatsSettings {
    /// The full stream name for `name`: prefix `tunemesh` and `plays` give `tunemesh_plays`.
    /// (Stream names may not contain `.`, so the separator is `_`.)
    pub fn stream_name(&self, name: &str) -> String {
        format!("{}_{name}", self.stream_prefix)
    }
}

/// Why the event bus could not be reached. Messages name the server, never credentials.
#[derive(Debug, thiserror::Error)]
pub enum NatsError {
    /// The connection could not be opened (refused, timed out, bad URL, auth).
    #[error("nats at {address} is unreachable")]
    Unreachable {
        /// `host:port` of the server(s).
        address: String,
        /// The connection error.
        #[source]
        source: async_nats::ConnectError,
    },
    /// The credential settings are incomplete, contradictory or unreadable.
    #[error("invalid nats credentials: {0}")]
    Credentials(String),
    /// The server answers but has JetStream turned off (no `-js` / `jetstream {}` block).
    #[error("jetstream is not enabled on nats at {address}")]
    JetStreamDisabled {
        /// `host:port` of the server(s).
        address: String,
    },
    /// JetStream did not answer the account query (timeout, permissions, limits).
    #[error("jetstream at {address} did not answer the account query")]
    JetStream {
        /// `host:port` of the server(s).
        address: String,
        /// The request or JetStream API error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Connects to NATS and checks that JetStream is enabled for this account.
pub async fn connect(
    settings: &NatsSettings,
) -> Result<(async_nats::Client, jetstream::Context), NatsError> {
    let address = address(&settings.url);
    let client = options(settings)
        .await?
        .connection_timeout(settings.connect_timeout)
        .request_timeout(Some(settings.request_timeout))
        .connect(servers(&settings.url))
        .await
        .map_err(|source| NatsError::Unreachable {
            address: address.clone(),
            source,
        })?;
    let mut context = jetstream::new(client.clone());
    context.set_timeout(settings.request_timeout);
    let account = check_jetstream(&context, &address).await?;
    tracing::debug!(%address, streams = account.streams, "jetstream ready");
    Ok((client, context))
}

/// Connect options with the service's credentials and inbox prefix.
async fn options(settings: &NatsSettings) -> Result<async_nats::ConnectOptions, NatsError> {
    let invalid = |why: String| NatsError::Credentials(why);
    let password = match (&settings.password, &settings.password_file) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "nats.password and nats.password_file are both set".into(),
            ));
        }
        (Some(password), None) => Some(password.expose_secret().to_owned()),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                invalid(format!(
                    "cannot read nats.password_file {}: {e}",
                    path.display()
                ))
            })?;
            Some(text.trim_end_matches(['\r', '\n']).to_owned())
        }
        (None, None) => None,
    };
    let mut options = match (&settings.user, password, &settings.credentials_file) {
        (Some(_), _, Some(_)) => {
            return Err(invalid(
                "nats.user and nats.credentials_file are both set".into(),
            ));
        }
        (Some(user), Some(password), None) => {
            async_nats::ConnectOptions::new().user_and_password(user.clone(), password)
        }
        (Some(_), None, None) => return Err(invalid("nats.user is set without a password".into())),
        (None, Some(_), _) => {
            return Err(invalid("a nats password is set without nats.user".into()));
        }
        (None, None, Some(path)) => async_nats::ConnectOptions::with_credentials_file(path)
            .await
            .map_err(|e| {
                invalid(format!(
                    "cannot read nats.credentials_file {}: {e}",
                    path.display()
                ))
            })?,
        (None, None, None) => async_nats::ConnectOptions::new(),
    };
    let inbox = match (&settings.inbox_prefix, &settings.user) {
        (Some(prefix), _) => Some(prefix.clone()),
        (None, Some(user)) => Some(crate::access::inbox_prefix(user)),
        (None, None) => None,
    };
    if let Some(inbox) = inbox {
        options = options.custom_inbox_prefix(inbox);
    }
    Ok(options)
}

/// The part of JetStream's account info the check reads. async-nats' own `query_account`
/// cannot be used: its `Account` requires fields NATS 2.9 does not send (`reserved_memory`).
#[derive(Debug, Deserialize)]
struct AccountInfo {
    streams: usize,
}

/// Asks JetStream for the account info (`$JS.API.INFO`), telling "off" apart from "broken".
async fn check_jetstream(
    context: &jetstream::Context,
    address: &str,
) -> Result<AccountInfo, NatsError> {
    let disabled = || NatsError::JetStreamDisabled {
        address: address.to_owned(),
    };
    let failed = |source: Box<dyn std::error::Error + Send + Sync>| NatsError::JetStream {
        address: address.to_owned(),
        source,
    };
    let response: Result<Response<AccountInfo>, RequestError> = context.request("INFO", b"").await;
    match response {
        Ok(Response::Ok(account)) => Ok(account),
        Ok(Response::Err { error })
            if error.error_code() == ErrorCode::JETSTREAM_NOT_ENABLED_FOR_ACCOUNT
                || error.error_code() == ErrorCode::JETSTREAM_NOT_ENABLED =>
        {
            Err(disabled())
        }
        Ok(Response::Err { error }) => Err(failed(Box::new(error))),
        // Without JetStream nothing subscribes to `$JS.API.>`: the request has no responders.
        Err(error) if matches!(error.kind(), RequestErrorKind::NoResponders) => Err(disabled()),
        Err(error) => Err(failed(Box::new(error))),
    }
}

/// The servers of a comma-separated URL list, each tried in turn by the client (a cluster's
/// seed list: `nats://nats-0:4222,nats://nats-1:4222`).
fn servers(url: &str) -> Vec<&str> {
    url.split(',')
        .map(str::trim)
        .filter(|one| !one.is_empty())
        .collect()
}

/// `host:port` of each server in a (comma-separated) URL, without scheme or credentials.
fn address(url: &str) -> String {
    url.split(',')
        .map(|one| {
            let one = one.trim();
            let rest = one.split_once("://").map_or(one, |(_, rest)| rest);
            let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
            rest.split('/').next().unwrap_or(rest)
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Durations as text (`500ms`, `2s`, `1m`, `1h`), like the rest of tunemesh's settings.
///
/// Kept local because this crate does not depend on `humantime-serde`; once it does, the
/// fields above switch to `#[serde(with = "humantime_serde")]` and this module goes away.
pub(crate) mod duration_text {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, de::Error as _};

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(de)?;
        parse(&text).ok_or_else(|| {
            D::Error::custom(format!(
                "invalid duration {text:?}: expected e.g. 500ms, 2s, 1m, 30d"
            ))
        })
    }

    pub(super) fn parse(text: &str) -> Option<Duration> {
        let text = text.trim();
        let split = text.find(|c: char| !c.is_ascii_digit())?;
        let value: u64 = text[..split].parse().ok()?;
        match text[split..].trim() {
            "ms" => Some(Duration::from_millis(value)),
            "s" => Some(Duration::from_secs(value)),
            "m" => Some(Duration::from_secs(value.checked_mul(60)?)),
            "h" => Some(Duration::from_secs(value.checked_mul(3600)?)),
            "d" => Some(Duration::from_secs(value.checked_mul(86_400)?)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_drops_scheme_and_credentials() {
        assert_eq!(
            address("nats://app:hunter2@bus.internal:4222"),
            "bus.internal:4222"
        );
        assert_eq!(
            address("nats://a:4222, tls://token@b:4223"),
            "a:4222,b:4223"
        );
        assert_eq!(address("127.0.0.1:4222"), "127.0.0.1:4222");
    }

    #[test]
    fn durations_parse_from_text() {
        assert_eq!(
            duration_text::parse("500ms"),
            Some(Duration::from_millis(500))
        );
        assert_eq!(duration_text::parse("2s"), Some(Duration::from_secs(2)));
        assert_eq!(duration_text::parse("1m"), Some(Duration::from_secs(60)));
        assert_eq!(
            duration_text::parse("30d"),
            Some(Duration::from_secs(30 * 86_400))
        );
        assert_eq!(duration_text::parse("2"), None);
        assert_eq!(duration_text::parse("fast"), None);
    }

    #[test]
    fn a_url_list_is_every_server_of_the_cluster() {
        assert_eq!(
            servers("nats://a:4222, nats://b:4222,,nats://c:4222"),
            vec!["nats://a:4222", "nats://b:4222", "nats://c:4222"]
        );
        assert_eq!(
            servers("nats://127.0.0.1:4222"),
            vec!["nats://127.0.0.1:4222"]
        );
    }

    #[test]
    fn stream_names_carry_the_prefix() {
        assert_eq!(
            NatsSettings::default().stream_name("plays"),
            "tunemesh_plays"
        );
    }
}

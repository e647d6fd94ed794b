//! The Consul adapter: registration through the local agent, discovery through blocking
//! health queries, one rate-limited watch loop per watched service.

mod acl;
mod api;
mod connect;
mod watch;

pub use acl::service_policy_rules;
pub use connect::ConsulConnect;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;
use serde::Deserialize;
use tokio::sync::watch as tokio_watch;

use crate::registry::InstanceSet;
use crate::{Registration, Registry, RegistryError};
use api::AgentApi;

/// Where the Consul agent is and how to watch it.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsulSettings {
    /// Base URL of the local agent's HTTP API.
    pub addr: String,
    /// ACL token, sent as `X-Consul-Token` on every call; secret, never logged. With ACLs on
    /// (default deny), each service has its own token (k8s/overlays/prod, docs/operations.md).
    pub token: Option<SecretString>,
    /// A file holding the token (a mounted Kubernetes secret), instead of `token`; a
    /// trailing newline is dropped.
    pub token_file: Option<PathBuf>,
    /// How long a blocking health query may wait for a change.
    #[serde(with = "humantime_serde")]
    pub wait: Duration,
    /// Least time between two queries of one watch, so a flapping index cannot spin the loop.
    #[serde(with = "humantime_serde")]
    pub min_interval: Duration,
    /// Bound on non-blocking calls (register, deregister) and on connecting.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// First backoff after a failed query; doubles up to `max_backoff`, with jitter.
    #[serde(with = "humantime_serde")]
    pub min_backoff: Duration,
    /// Longest backoff after failed queries.
    #[serde(with = "humantime_serde")]
    pub max_backoff: Duration,
}

impl Default for ConsulSettings {
    fn default() -> Self {
        Self {
            addr: "http://127.0.0.1:8500".into(),
            token: None,
            token_file: None,
            wait: Duration::from_secs(30),
            min_interval: Duration::from_millis(100),
            request_timeout: Duration::from_secs(5),
            min_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        }
    }
}

impl ConsulSettings {
    /// How long to wait after `failures` failed queries in a row: doubling from
    /// `min_backoff` up to `max_backoff`, half of it random so agents restarting together are
    /// not hit in step.
    pub(crate) fn backoff(&self, failures: u32) -> Duration {
        let exp = self.min_backoff.saturating_mul(1 << failures.min(16));
        let capped = exp.min(self.max_backoff);
        capped / 2 + capped.mul_f64(rand::random::<f64>() / 2.0)
    }

    /// The ACL token from `token` or `token_file` (not both), if any.
    pub fn acl_token(&self) -> Result<Option<SecretString>, RegistryError> {
        match (&self.token, &self.token_file) {
            (Some(_), Some(_)) => Err(RegistryError::Invalid(
                "consul.token and consul.token_file are both set".to_owned(),
            )),
            (Some(token), None) => Ok(Some(token.clone())),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    RegistryError::Invalid(format!(
                        "cannot read consul.token_file {}: {e}",
                        path.display()
                    ))
                })?;
                Ok(Some(SecretString::from(
                    text.trim_end_matches(['\r', '\n']).to_owned(),
                )))
            }
            (None, None) => Ok(None),
        }
    }
}

/// The registry backed by a Consul agent.
#[derive(Debug, Clone)]
pub struct ConsulRegistry {
    api: Arc<AgentApi>,
    settings: Arc<ConsulSettings>,
    watches: watch::Watches,
}

impl ConsulRegistry {
    /// A registry talking to the agent at `settings.addr`; fails on an unusable address.
    pub fn new(settings: ConsulSettings) -> Result<Self, RegistryError> {
        let api = AgentApi::from_settings(&settings)?;
        Ok(Self {
            api: Arc::new(api),
            settings: Arc::new(settings),
            watches: Arc::new(Mutex::new(HashMap::new())),
        })
    }
}

#[async_trait]
impl Registry for ConsulRegistry {
    async fn register(&self, registration: &Registration) -> Result<(), RegistryError> {
        self.api.register(registration).await?;
        let instance = &registration.instance;
        tracing::info!(service = %instance.service, id = %instance.id, addr = %instance.addr, "registered in consul");
        Ok(())
    }

    async fn deregister(&self, instance_id: &str) -> Result<(), RegistryError> {
        self.api.deregister(instance_id).await?;
        tracing::info!(id = %instance_id, "deregistered from consul");
        Ok(())
    }

    fn watch(&self, service: &str) -> tokio_watch::Receiver<InstanceSet> {
        watch::subscribe(&self.watches, &self.api, &self.settings, service)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_read_but_never_printed() {
        let json = r#"{"addr": "http://10.0.0.1:8500", "token": "s3cr3t", "wait": "10s"}"#;
        let settings: ConsulSettings = serde_json::from_str(json).expect("valid settings");
        assert_eq!(settings.wait, Duration::from_secs(10));
        assert!(settings.token.is_some());
        assert!(!format!("{settings:?}").contains("s3cr3t"));
    }

    #[test]
    fn an_unusable_address_is_refused_up_front() {
        let settings = ConsulSettings {
            addr: "not a url".into(),
            ..ConsulSettings::default()
        };
        assert!(matches!(
            ConsulRegistry::new(settings),
            Err(RegistryError::Invalid(_))
        ));
    }
}

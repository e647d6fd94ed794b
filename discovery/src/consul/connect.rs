//! Consul Connect through the local agent: a service's leaf and the CA roots (blocking
//! queries, so a renewed leaf or a rotated root arrives as soon as the agent has it), the
//! intention check per caller, and writing intentions.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::ConsulSettings;
use super::api::{AgentApi, escape, index_of};
use crate::RegistryError;
use crate::connect::{
    Authorizer, ConnectError, Decision, Material, MeshTls, Policy, SpiffeId, TlsConfigs,
};

/// Connect through the agent at `settings.addr`. Clones share the HTTP client.
#[derive(Debug, Clone)]
pub struct ConsulConnect {
    api: Arc<AgentApi>,
    settings: Arc<ConsulSettings>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Leaf {
    #[serde(rename = "CertPEM")]
    cert_pem: String,
    #[serde(rename = "PrivateKeyPEM")]
    private_key_pem: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Roots {
    #[serde(default)]
    roots: Vec<Root>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Root {
    root_cert: String,
    #[serde(default)]
    intermediate_certs: Option<Vec<String>>,
    #[serde(default)]
    active: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct AuthorizeRequest<'a> {
    target: &'a str,
    #[serde(rename = "ClientCertURI")]
    client_cert_uri: String,
    client_cert_serial: &'a str,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AuthorizeResponse {
    authorized: bool,
    #[serde(default)]
    reason: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Intention<'a> {
    source_name: &'a str,
    destination_name: &'a str,
    action: &'a str,
    description: &'a str,
}

impl ConsulConnect {
    /// Connect through the agent `settings` name; fails on an unusable address.
    pub fn new(settings: ConsulSettings) -> Result<Self, RegistryError> {
        let api = AgentApi::from_settings(&settings)?;
        Ok(Self {
            api: Arc::new(api),
            settings: Arc::new(settings),
        })
    }

    /// `service`'s identity from the agent, once it has a leaf and roots; a task follows
    /// renewals and rotations until the last clone is dropped. Callers are decided by the
    /// agent's intentions.
    pub async fn tls(&self, service: &str) -> Result<MeshTls, ConnectError> {
        let (leaf, leaf_index) = self.leaf(service, 0).await?;
        let (roots, roots_index) = self.roots(0).await?;
        let first = Arc::new(material(&leaf, &roots)?.configs()?);
        let (tx, rx) = watch::channel(first);
        let follow = Follow {
            connect: self.clone(),
            service: service.to_owned(),
            leaf,
            roots,
            indexes: (leaf_index, roots_index),
        };
        tokio::spawn(follow.run(tx));
        Ok(MeshTls::new(service, rx, Arc::new(self.clone())))
    }

    /// Writes `policy` as intentions: for every destination it names, deny from `*` (so the
    /// default is deny whatever the ACL default says) and allow each caller it lists.
    /// Idempotent: an intention that exists already is left as it is.
    pub async fn apply(&self, policy: &Policy) -> Result<(), ConnectError> {
        let destinations: std::collections::BTreeSet<&str> =
            policy.pairs().map(|(_, to)| to).collect();
        for to in destinations {
            self.intention("*", to, "deny").await?;
        }
        for (from, to) in policy.pairs() {
            self.intention(from, to, "allow").await?;
        }
        Ok(())
    }

    /// Creates one intention (`action` allow or deny); an existing one for the pair is kept.
    pub async fn intention(&self, from: &str, to: &str, action: &str) -> Result<(), ConnectError> {
        let body = Intention {
            source_name: from,
            destination_name: to,
            action,
            description: "tunemesh: the calls the architecture has",
        };
        let url = format!("{}/v1/connect/intentions", self.api.base);
        let request = self
            .api
            .http
            .post(url)
            .json(&body)
            .timeout(self.api.request_timeout);
        match self.api.send(request).await {
            Ok(_) => Ok(()),
            Err(RegistryError::Rejected { body, .. }) if body.contains("duplicate") => Ok(()),
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn leaf(&self, service: &str, index: u64) -> Result<(Leaf, u64), ConnectError> {
        let path = format!("/v1/agent/connect/ca/leaf/{}", escape(service));
        self.blocking(&path, index).await
    }

    async fn roots(&self, index: u64) -> Result<(Roots, u64), ConnectError> {
        self.blocking("/v1/agent/connect/ca/roots", index).await
    }

    async fn blocking<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        index: u64,
    ) -> Result<(T, u64), ConnectError> {
        let wait = self.settings.wait;
        let url = format!(
            "{}{path}?index={index}&wait={}ms",
            self.api.base,
            wait.as_millis()
        );
        let timeout = wait + wait / 16 + self.api.request_timeout;
        let request = self.api.http.get(url).timeout(timeout);
        let response = self.api.send(request).await.map_err(unavailable)?;
        let index = index_of(&response);
        let body = response
            .json()
            .await
            .map_err(|e| unavailable(RegistryError::Unreachable(e.into())))?;
        Ok((body, index))
    }
}

#[async_trait]
impl Authorizer for ConsulConnect {
    async fn authorize(&self, target: &str, client: &SpiffeId, serial: &str) -> Decision {
        let body = AuthorizeRequest {
            target,
            client_cert_uri: client.to_string(),
            client_cert_serial: serial,
        };
        let url = format!("{}/v1/agent/connect/authorize", self.api.base);
        let request = self
            .api
            .http
            .post(url)
            .json(&body)
            .timeout(self.api.request_timeout);
        let answer = match self.api.send(request).await {
            Ok(response) => response
                .json::<AuthorizeResponse>()
                .await
                .map_err(|e| e.to_string()),
            Err(error) => Err(error.to_string()),
        };
        match answer {
            Ok(answer) => Decision {
                allowed: answer.authorized,
                reason: format!("consul: {}", answer.reason),
            },
            // Fail closed: no answer is no permission.
            Err(error) => Decision {
                allowed: false,
                reason: format!("the consul agent could not be asked: {error}"),
            },
        }
    }
}

fn unavailable(error: RegistryError) -> ConnectError {
    ConnectError::Unavailable(error.to_string())
}

fn material(leaf: &Leaf, roots: &Roots) -> Result<Material, ConnectError> {
    // After a rotation the agent's leaf carries the cross-signed root already; add what the
    // active root lists only where it is missing.
    let mut chain = leaf.cert_pem.trim().to_owned();
    for root in roots.roots.iter().filter(|r| r.active) {
        for intermediate in root.intermediate_certs.iter().flatten() {
            if !chain.contains(intermediate.trim()) {
                chain.push('\n');
                chain.push_str(intermediate.trim());
            }
        }
    }
    let pems = roots.roots.iter().map(|r| r.root_cert.as_str());
    Material::from_pem(&chain, &leaf.private_key_pem, pems)
}

/// Follows the leaf and the roots, sending new configurations as either changes.
struct Follow {
    connect: ConsulConnect,
    service: String,
    leaf: Leaf,
    roots: Roots,
    indexes: (u64, u64),
}

impl Follow {
    async fn run(mut self, tx: watch::Sender<Arc<TlsConfigs>>) {
        let mut failures = 0u32;
        loop {
            let started = Instant::now();
            let (leaf_index, roots_index) = self.indexes;
            let changed = tokio::select! {
                () = tx.closed() => return,
                leaf = self.connect.leaf(&self.service, leaf_index) => leaf.map(|(leaf, index)| {
                    let changed = index != leaf_index;
                    self.indexes.0 = if index < leaf_index { 0 } else { index };
                    if changed { self.leaf = leaf; }
                    changed
                }),
                roots = self.connect.roots(roots_index) => roots.map(|(roots, index)| {
                    let changed = index != roots_index;
                    self.indexes.1 = if index < roots_index { 0 } else { index };
                    if changed { self.roots = roots; }
                    changed
                }),
            };
            match changed {
                Ok(false) => failures = 0,
                Ok(true) => {
                    failures = 0;
                    match material(&self.leaf, &self.roots).and_then(|m| m.configs()) {
                        Ok(configs) => {
                            tx.send_replace(Arc::new(configs));
                            tracing::info!(service = %self.service, "new leaf or roots from consul");
                        }
                        Err(error) => {
                            tracing::error!(service = %self.service, %error, "unusable leaf or roots from consul");
                        }
                    }
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(service = %self.service, %error, "cannot follow the leaf certificate");
                    self.indexes = (0, 0);
                    tokio::time::sleep(self.connect.settings.backoff(failures)).await;
                }
            }
            // A flapping index must not spin the loop.
            let rest = self
                .connect
                .settings
                .min_interval
                .saturating_sub(started.elapsed());
            tokio::time::sleep(rest).await;
        }
    }
}

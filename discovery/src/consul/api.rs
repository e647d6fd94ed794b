//! A thin typed client of the Consul agent API: register, deregister, blocking health queries.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use reqwest::{Client, RequestBuilder, Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::{Registration, RegistryError, ServiceInstance};

/// The agent endpoints the registry uses.
#[derive(Debug)]
pub(crate) struct AgentApi {
    pub(super) http: Client,
    pub(super) base: String,
    token: Option<SecretString>,
    pub(super) request_timeout: Duration,
}

/// One answer of a blocking query: the passing instances and the index to block on next.
#[derive(Debug)]
pub(crate) struct Healthy {
    pub(crate) instances: Vec<ServiceInstance>,
    pub(crate) index: u64,
}

impl AgentApi {
    /// The agent `settings` names, with its ACL token.
    pub(crate) fn from_settings(settings: &super::ConsulSettings) -> Result<Self, RegistryError> {
        Self::new(
            &settings.addr,
            settings.acl_token()?,
            settings.request_timeout,
        )
    }

    pub(crate) fn new(
        addr: &str,
        token: Option<SecretString>,
        request_timeout: Duration,
    ) -> Result<Self, RegistryError> {
        let base = addr.trim_end_matches('/').to_owned();
        reqwest::Url::parse(&base)
            .map_err(|e| RegistryError::Invalid(format!("consul address {base:?}: {e}")))?;
        let http = Client::builder()
            .connect_timeout(request_timeout)
            .build()
            .map_err(|e| RegistryError::Unreachable(e.into()))?;
        Ok(Self {
            http,
            base,
            token,
            request_timeout,
        })
    }

    pub(crate) async fn register(&self, registration: &Registration) -> Result<(), RegistryError> {
        let body = ServiceDefinition::try_from(registration)?;
        let url = format!(
            "{}/v1/agent/service/register?replace-existing-checks=true",
            self.base
        );
        let request = self.http.put(url).json(&body).timeout(self.request_timeout);
        self.send(request).await.map(drop)
    }

    pub(crate) async fn deregister(&self, instance_id: &str) -> Result<(), RegistryError> {
        let url = format!(
            "{}/v1/agent/service/deregister/{}",
            self.base,
            escape(instance_id)
        );
        let request = self.http.put(url).timeout(self.request_timeout);
        match self.send(request).await {
            // Consul answers 404 for an unknown id: already gone is what the caller wanted.
            Err(RegistryError::Rejected { status: 404, .. }) => Ok(()),
            other => other.map(drop),
        }
    }

    /// Blocks until the passing set changes after `index`, or `wait` passes.
    pub(crate) async fn healthy(
        &self,
        service: &str,
        index: u64,
        wait: Duration,
    ) -> Result<Healthy, RegistryError> {
        let url = format!(
            "{}/v1/health/service/{}?passing&index={index}&wait={}ms",
            self.base,
            escape(service),
            wait.as_millis()
        );
        // Consul adds up to wait/16 of jitter to a blocking query's wait.
        let timeout = wait + wait / 16 + self.request_timeout;
        let response = self.send(self.http.get(url).timeout(timeout)).await?;
        let index = index_of(&response);
        let entries: Vec<HealthEntry> = response
            .json()
            .await
            .map_err(|e| RegistryError::Unreachable(e.into()))?;
        let instances = entries
            .into_iter()
            .filter_map(HealthEntry::into_instance)
            .collect();
        Ok(Healthy { instances, index })
    }

    pub(super) async fn send(&self, request: RequestBuilder) -> Result<Response, RegistryError> {
        let request = match &self.token {
            Some(token) => request.header("x-consul-token", token.expose_secret()),
            None => request,
        };
        let response = request
            .send()
            .await
            .map_err(|e| RegistryError::Unreachable(e.into()))?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        Err(rejected(status, body))
    }
}

/// The index a blocking query answered at (`X-Consul-Index`), 0 when missing.
pub(super) fn index_of(response: &Response) -> u64 {
    response
        .headers()
        .get("x-consul-index")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn rejected(status: StatusCode, body: String) -> RegistryError {
    RegistryError::Rejected {
        status: status.as_u16(),
        body: body.trim().to_owned(),
    }
}

/// Percent-encodes a path segment (ids and names are usually plain, but input may not be).
pub(super) fn escape(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Consul takes Go durations; milliseconds are exact enough and always valid.
fn go_duration(d: Duration) -> String {
    format!("{}ms", d.as_millis().max(1))
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ServiceDefinition<'a> {
    #[serde(rename = "ID")]
    id: &'a str,
    name: &'a str,
    address: String,
    port: u16,
    tags: &'a [String],
    meta: &'a BTreeMap<String, String>,
    check: CheckDefinition,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct CheckDefinition {
    name: String,
    #[serde(rename = "GRPC")]
    grpc: String,
    #[serde(rename = "GRPCUseTLS")]
    grpc_use_tls: bool,
    interval: String,
    timeout: String,
    deregister_critical_service_after: String,
    /// The check's state until it first runs. Consul's default, critical, hid a new replica
    /// from every caller until then, and Consul runs a check first at a random moment within
    /// its interval: a restarted replica was invisible for up to 5 s (with one replica, an
    /// outage per restart). Instances register once they serve (`runtime::grpc::server`), so
    /// passing is true when said; a replica that fails its check is critical at the next one.
    status: &'static str,
}

impl<'a> TryFrom<&'a Registration> for ServiceDefinition<'a> {
    type Error = RegistryError;

    fn try_from(registration: &'a Registration) -> Result<Self, RegistryError> {
        let (instance, check) = (&registration.instance, &registration.check);
        if instance.id.is_empty() || instance.service.is_empty() {
            return Err(RegistryError::Invalid(
                "empty instance id or service name".into(),
            ));
        }
        if instance.addr.ip().is_unspecified() {
            return Err(RegistryError::Invalid(format!(
                "{} is not reachable by others: register the address peers should dial",
                instance.addr
            )));
        }
        // With mutual TLS the check dials the plaintext health listener: the agent has no
        // leaf to present.
        let check_addr = check.addr.unwrap_or(instance.addr);
        let target = match check.grpc_service.as_str() {
            "" => check_addr.to_string(),
            service => format!("{check_addr}/{service}"),
        };
        Ok(Self {
            id: &instance.id,
            name: &instance.service,
            address: instance.addr.ip().to_string(),
            port: instance.addr.port(),
            tags: &instance.tags,
            meta: &instance.meta,
            check: CheckDefinition {
                name: format!("grpc health of {}", instance.id),
                grpc: target,
                grpc_use_tls: false,
                interval: go_duration(check.interval),
                timeout: go_duration(check.timeout),
                deregister_critical_service_after: go_duration(check.deregister_critical_after),
                status: "passing",
            },
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct HealthEntry {
    node: NodeEntry,
    service: ServiceEntry,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct NodeEntry {
    address: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ServiceEntry {
    #[serde(rename = "ID")]
    id: String,
    service: String,
    #[serde(default)]
    tags: Option<Vec<String>>,
    #[serde(default)]
    address: String,
    port: u16,
    #[serde(default)]
    meta: Option<BTreeMap<String, String>>,
}

impl HealthEntry {
    fn into_instance(self) -> Option<ServiceInstance> {
        let service = self.service;
        // An empty service address means "the node's address" in Consul.
        let host = if service.address.is_empty() {
            &self.node.address
        } else {
            &service.address
        };
        let Ok(ip) = host.parse::<IpAddr>() else {
            tracing::warn!(id = %service.id, %host, "ignoring instance without an ip address");
            return None;
        };
        Some(ServiceInstance {
            id: service.id,
            service: service.service,
            addr: SocketAddr::new(ip, service.port),
            tags: service.tags.unwrap_or_default(),
            meta: service.meta.unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HealthCheck;

    #[test]
    fn registration_carries_a_grpc_check_with_go_durations() {
        let addr = SocketAddr::from(([10, 0, 0, 7], 5000));
        let instance = ServiceInstance::new("player-1", "player", addr).with_meta("zone", "z1");
        let check = HealthCheck {
            grpc_service: "tunemesh.player.v1.Player".into(),
            ..HealthCheck::default()
        };
        let registration = Registration { instance, check };
        let body = serde_json::to_value(ServiceDefinition::try_from(&registration).expect("valid"))
            .expect("serialisable");
        assert_eq!(body["ID"], "player-1");
        assert_eq!(body["Address"], "10.0.0.7");
        assert_eq!(body["Port"], 5000);
        assert_eq!(body["Meta"]["zone"], "z1");
        assert_eq!(
            body["Check"]["GRPC"],
            "10.0.0.7:5000/tunemesh.player.v1.Player"
        );
        assert_eq!(body["Check"]["Interval"], "5000ms");
        assert_eq!(body["Check"]["DeregisterCriticalServiceAfter"], "60000ms");
    }

    #[test]
    fn an_unspecified_address_cannot_be_registered() {
        let instance = ServiceInstance::new("a", "player", SocketAddr::from(([0, 0, 0, 0], 1)));
        let registration = Registration {
            instance,
            check: HealthCheck::default(),
        };
        let refused = ServiceDefinition::try_from(&registration);
        assert!(matches!(refused, Err(RegistryError::Invalid(_))));
    }

    #[test]
    fn an_empty_service_address_means_the_node_address() {
        let json = r#"[{"Node": {"Address": "10.1.2.3"},
            "Service": {"ID": "a", "Service": "player", "Address": "", "Port": 7, "Tags": null, "Meta": null}}]"#;
        let entries: Vec<HealthEntry> = serde_json::from_str(json).expect("consul answer");
        let instances: Vec<_> = entries
            .into_iter()
            .filter_map(HealthEntry::into_instance)
            .collect();
        assert_eq!(
            instances,
            [ServiceInstance::new(
                "a",
                "player",
                SocketAddr::from(([10, 1, 2, 3], 7))
            )]
        );
    }

    #[test]
    fn path_segments_are_escaped() {
        assert_eq!(escape("player-1.a_b~"), "player-1.a_b~");
        assert_eq!(escape("a/b c"), "a%2Fb%20c");
    }
}

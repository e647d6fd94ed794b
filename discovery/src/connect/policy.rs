//! Who may call whom. In production Consul's intentions decide, asked through the local
//! agent (which caches them); embedded, the same table the shipped intentions are made from
//! decides in process. Either way the answer is per connection, default deny.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;

use super::spiffe::SpiffeId;

/// The calls the architecture has, as (caller, callee) service names: the gateway calls
/// every service; playlist-svc reads player-svc's catalogue; reco-svc writes generated
/// playlists to playlist-svc; the ingest job calls player-svc's IngestService (which refuses
/// every other method to it). Nothing else.
pub const ARCHITECTURE: &[(&str, &str)] = &[
    ("gateway", "player"),
    ("gateway", "playlist"),
    ("gateway", "search"),
    ("gateway", "reco"),
    ("playlist", "player"),
    ("reco", "playlist"),
    ("ingest", "player"),
];

/// What the policy said about one caller and one callee.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Whether the call may go on.
    pub allowed: bool,
    /// Why, in words: for the refused caller and the logs.
    pub reason: String,
}

/// Decides whether `client` may call `target` (a service name).
#[async_trait]
pub trait Authorizer: Send + Sync + std::fmt::Debug {
    /// Asked once per connection, after the handshake proved `client` (whose leaf has
    /// `serial`). Errors (the agent unreachable) refuse: the answer must never be "allow by
    /// default".
    async fn authorize(&self, target: &str, client: &SpiffeId, serial: &str) -> Decision;
}

/// The in-process policy: an allow list of (caller, callee) pairs, default deny.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    allowed: BTreeSet<(String, String)>,
}

impl Policy {
    /// The architecture's calls ([`ARCHITECTURE`]).
    pub fn architecture() -> Self {
        ARCHITECTURE
            .iter()
            .fold(Self::default(), |policy, (from, to)| policy.allow(from, to))
    }

    /// This policy, also allowing `from` to call `to`.
    pub fn allow(mut self, from: &str, to: &str) -> Self {
        self.allowed.insert((from.to_owned(), to.to_owned()));
        self
    }

    /// Whether `from` may call `to`.
    pub fn allows(&self, from: &str, to: &str) -> bool {
        self.allowed.contains(&(from.to_owned(), to.to_owned()))
    }

    /// Every allowed pair, for writing them out as Consul intentions.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.allowed.iter().map(|(a, b)| (a.as_str(), b.as_str()))
    }

    /// As a shared authorizer.
    pub fn shared(self) -> Arc<dyn Authorizer> {
        Arc::new(self)
    }
}

#[async_trait]
impl Authorizer for Policy {
    async fn authorize(&self, target: &str, client: &SpiffeId, _serial: &str) -> Decision {
        let allowed = self.allows(&client.service, target);
        let reason = if allowed {
            format!("the policy allows {} to call {target}", client.service)
        } else {
            format!(
                "the policy has no rule allowing {} to call {target}",
                client.service
            )
        };
        Decision { allowed, reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_architecture_allows_its_calls_and_nothing_else() {
        let policy = Policy::architecture();
        let id = |svc: &str| SpiffeId::service("t.tunemesh", "local", svc);
        assert!(policy.authorize("player", &id("gateway"), "").await.allowed);
        assert!(
            policy
                .authorize("player", &id("playlist"), "")
                .await
                .allowed
        );
        assert!(policy.authorize("playlist", &id("reco"), "").await.allowed);
        let refused = policy.authorize("player", &id("search"), "").await;
        assert!(!refused.allowed);
        assert!(refused.reason.contains("search") && refused.reason.contains("player"));
        assert!(!policy.authorize("gateway", &id("player"), "").await.allowed);
        assert!(!policy.authorize("search", &id("ingest"), "").await.allowed);
    }
}

//! Mutual TLS between services, with identities from Consul Connect's CA (production) or an
//! in-process CA (`tunemesh up`), and the policy of who may call whom.
//!
//! A server learns who is calling from the peer's certificate: its SPIFFE URI names the
//! calling service. That name travels to handlers as [`PeerService`] in the request's
//! extensions, set only for peers that presented a valid certificate of the mesh's CA.

use std::sync::Arc;

/// The service identity of the peer on a mutual-TLS connection: the service name in the
/// SPIFFE URI of the certificate it presented (`spiffe://<trust domain>/ns/default/dc/<dc>/svc/<name>`).
/// Servers put it in every request's extensions; absent on connections without a verified
/// client certificate.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PeerService(pub Arc<str>);

impl PeerService {
    /// The calling service's name.
    pub fn name(&self) -> &str {
        &self.0
    }

    /// The peer service of an incoming request, if it came over mutual TLS.
    pub fn of<T>(request: &tonic::Request<T>) -> Option<&Self> {
        request.extensions().get::<Self>()
    }
}

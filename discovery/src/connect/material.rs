//! What a service holds to speak mutual TLS: its leaf certificate (with any intermediates),
//! the leaf's private key, and the CA roots it trusts, turned into rustls configurations.
//!
//! A new [`Material`] (a renewed leaf, a rotated root) becomes new configurations; each new
//! connection takes the current ones, and connections already open keep theirs: TLS checks
//! certificates at the handshake only, so a rotation never breaks a call in flight.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use super::ConnectError;
use super::spiffe::{SpiffeId, serial_of};
use super::verify::ServiceVerifier;

/// A leaf, its key and the roots to trust, as issued by the CA.
#[derive(Debug)]
pub struct Material {
    /// The leaf first, then any intermediates.
    pub chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    /// Every root currently trusted (during a rotation, old and new).
    pub roots: Vec<CertificateDer<'static>>,
    /// Whom the leaf names.
    pub id: SpiffeId,
}

impl Material {
    /// Reads a leaf chain and key in PEM and the roots (each PEM may hold several certificates).
    pub fn from_pem<'a>(
        chain_pem: &str,
        key_pem: &str,
        roots_pem: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, ConnectError> {
        let bad = |what: &str, e: rustls::pki_types::pem::Error| {
            ConnectError::Certificate(format!("unreadable {what}: {e}"))
        };
        let chain = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad("leaf certificate", e))?;
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| bad("key", e))?;
        let mut roots = Vec::new();
        for pem in roots_pem {
            for root in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                roots.push(root.map_err(|e| bad("root certificate", e))?);
            }
        }
        let leaf = chain
            .first()
            .ok_or_else(|| ConnectError::Certificate("no leaf certificate".into()))?;
        if roots.is_empty() {
            return Err(ConnectError::Certificate("no root certificate".into()));
        }
        let id = SpiffeId::of_certificate(leaf)?;
        Ok(Self {
            chain,
            key,
            roots,
            id,
        })
    }

    /// The leaf's serial number, as Consul writes it.
    pub fn serial(&self) -> Result<String, ConnectError> {
        serial_of(&self.chain[0])
    }

    /// The server and client configurations this material makes.
    pub fn configs(&self) -> Result<TlsConfigs, ConnectError> {
        let provider = provider();
        let mut store = RootCertStore::empty();
        for root in &self.roots {
            store
                .add(root.clone())
                .map_err(|e| ConnectError::Certificate(format!("unusable root: {e}")))?;
        }
        let store = Arc::new(store);
        let tls = |e: rustls::Error| ConnectError::Certificate(e.to_string());

        // Servers require a client certificate chaining to a trusted root; who it names is
        // read after the handshake and decided by policy.
        let clients = WebPkiClientVerifier::builder_with_provider(store.clone(), provider.clone())
            .build()
            .map_err(|e| ConnectError::Certificate(e.to_string()))?;
        let mut server = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(tls)?
            .with_client_cert_verifier(clients)
            .with_single_cert(self.chain.clone(), self.key.clone_key())
            .map_err(tls)?;
        server.alpn_protocols = vec![b"h2".to_vec()];

        // Clients check the server's chain and that its SPIFFE id names the service called.
        let servers = ServiceVerifier::new(store, &self.id.trust_domain, provider.clone());
        let mut client = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(tls)?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(servers))
            .with_client_auth_cert(self.chain.clone(), self.key.clone_key())
            .map_err(tls)?;
        client.alpn_protocols = vec![b"h2".to_vec()];
        // Service names are not host names; nothing on the path needs SNI.
        client.enable_sni = false;
        Ok(TlsConfigs {
            server: Arc::new(server),
            client: Arc::new(client),
            id: self.id.clone(),
        })
    }
}

/// The rustls configurations of one service at one moment.
#[derive(Debug, Clone)]
pub struct TlsConfigs {
    /// For accepting calls: a client certificate is required.
    pub server: Arc<ServerConfig>,
    /// For calling: presents the leaf, checks the callee's identity.
    pub client: Arc<ClientConfig>,
    /// Whom this service's leaf names.
    pub id: SpiffeId,
}

/// ring, the crypto the rest of the tree already uses.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

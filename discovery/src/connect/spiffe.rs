//! Service identities as Consul Connect writes them in certificates: a SPIFFE URI,
//! `spiffe://<trust domain>/ns/<namespace>/dc/<datacenter>/svc/<service>`, as the one URI
//! subject alternative name of a leaf. The embedded CA issues the same shape.

use std::fmt;

use x509_cert::Certificate;
use x509_cert::der::Decode;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;

use super::ConnectError;

/// The OID of the subject alternative name extension (RFC 5280 4.2.1.6).
const SUBJECT_ALT_NAME: &str = "2.5.29.17";

/// A service's identity: who a certificate says its holder is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SpiffeId {
    /// The CA's trust domain (Consul: `<cluster id>.consul`).
    pub trust_domain: String,
    /// The namespace (`default` outside Consul Enterprise).
    pub namespace: String,
    /// The datacenter that issued it.
    pub datacenter: String,
    /// The service name, as registered in discovery.
    pub service: String,
}

impl SpiffeId {
    /// The identity of `service` in `trust_domain` and `datacenter`, default namespace.
    pub fn service(trust_domain: &str, datacenter: &str, service: &str) -> Self {
        Self {
            trust_domain: trust_domain.to_owned(),
            namespace: "default".to_owned(),
            datacenter: datacenter.to_owned(),
            service: service.to_owned(),
        }
    }

    /// Reads a service SPIFFE URI; anything else (another shape, empty parts) is refused.
    pub fn parse(uri: &str) -> Result<Self, ConnectError> {
        let invalid = || ConnectError::Identity(format!("not a service SPIFFE id: {uri:?}"));
        let rest = uri.strip_prefix("spiffe://").ok_or_else(invalid)?;
        let parts: Vec<&str> = rest.split('/').collect();
        match parts.as_slice() {
            [domain, "ns", ns, "dc", dc, "svc", service]
                if [domain, ns, dc, service].iter().all(|p| valid_part(p)) =>
            {
                Ok(Self {
                    trust_domain: (*domain).to_owned(),
                    namespace: (*ns).to_owned(),
                    datacenter: (*dc).to_owned(),
                    service: (*service).to_owned(),
                })
            }
            _ => Err(invalid()),
        }
    }

    /// The identity in a DER certificate: its URI subject alternative name.
    pub fn of_certificate(der: &[u8]) -> Result<Self, ConnectError> {
        let cert = Certificate::from_der(der)
            .map_err(|e| ConnectError::Identity(format!("unreadable certificate: {e}")))?;
        let extensions = cert.tbs_certificate.extensions.unwrap_or_default();
        let names = extensions
            .iter()
            .filter(|ext| ext.extn_id.to_string() == SUBJECT_ALT_NAME)
            .filter_map(|ext| SubjectAltName::from_der(ext.extn_value.as_bytes()).ok())
            .flat_map(|san| san.0);
        for name in names {
            if let GeneralName::UniformResourceIdentifier(uri) = name {
                return Self::parse(uri.as_str());
            }
        }
        Err(ConnectError::Identity(
            "the certificate names no SPIFFE id".into(),
        ))
    }
}

/// The serial number of a DER certificate as Consul writes it (`0a:1b:...`), for
/// `/v1/agent/connect/authorize`.
pub fn serial_of(der: &[u8]) -> Result<String, ConnectError> {
    let cert = Certificate::from_der(der)
        .map_err(|e| ConnectError::Identity(format!("unreadable certificate: {e}")))?;
    let bytes = cert.tbs_certificate.serial_number.as_bytes();
    // DER keeps a leading zero when the high bit is set; Consul's form has none.
    let bytes = match bytes {
        [0, rest @ ..] if !rest.is_empty() => rest,
        all => all,
    };
    Ok(bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":"))
}

fn valid_part(part: &str) -> bool {
    !part.is_empty()
        && part
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl fmt::Display for SpiffeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "spiffe://{}/ns/{}/dc/{}/svc/{}",
            self.trust_domain, self.namespace, self.datacenter, self.service
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_consul_uri_reads_back_to_itself() {
        let uri =
            "spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/player";
        let id = SpiffeId::parse(uri).expect("valid");
        assert_eq!(id.service, "player");
        assert_eq!(id.datacenter, "dc1");
        assert_eq!(id.to_string(), uri);
    }

    #[test]
    fn other_shapes_are_refused() {
        for uri in [
            "https://x.consul/ns/default/dc/dc1/svc/player",
            "spiffe://x.consul/ns/default/dc/dc1/svc/",
            "spiffe://x.consul/ns/default/dc/dc1/svc/player/extra",
            "spiffe://x.consul/agent/client/dc/dc1/id/abc",
            "spiffe://x.consul/ns/default/dc/dc1/svc/pla yer",
            "spiffe://x.consul/ns/default/dc/dc1/svc/../gateway",
        ] {
            assert!(SpiffeId::parse(uri).is_err(), "{uri}");
        }
    }
}

//! TLS for the links to infrastructure (PostgreSQL, Redis): one rustls client configuration,
//! always on the `ring` provider, verifying the server the way the URL asks.
//!
//! The provider is named explicitly instead of taken from the process default: a build with
//! the S3 feature links rustls with both `ring` and `aws-lc-rs`, and rustls then has no default
//! to pick.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

/// How much of the server's certificate is checked (libpq's `sslmode` levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    /// Encrypted, but any certificate is accepted (`sslmode=prefer|require` without a CA).
    Nothing,
    /// The chain must lead to a trusted CA; the name is not checked (`verify-ca`).
    Chain,
    /// The chain and the host name (or IP address) the client dialled (`verify-full`).
    Full,
}

/// Why a TLS client configuration could not be built. Names the file, never its contents.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The CA file could not be read or holds something that is not a PEM certificate.
    #[error("cannot read ca file {}", path.display())]
    CaFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    /// The CA file holds no certificate at all.
    #[error("ca file {} holds no certificate", path.display())]
    EmptyCaFile {
        /// The file.
        path: PathBuf,
    },
    /// A certificate (from the CA file or the system store) was refused as a trust anchor.
    #[error("invalid ca certificate")]
    InvalidCa(#[source] rustls::Error),
    /// The system's CA store could not be read and no CA file was given.
    #[error("no ca file given and the system ca store is unreadable")]
    SystemRoots,
    /// rustls refused the configuration (e.g. no usable protocol version).
    #[error("invalid tls configuration")]
    Config(#[source] rustls::Error),
}

/// The crypto provider of every infrastructure link.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client configuration that verifies as `verify` says, trusting the CAs in `ca_file` (PEM,
/// one or more certificates) or, without one, the system's CA store.
pub fn client_config(ca_file: Option<&Path>, verify: Verify) -> Result<ClientConfig, TlsError> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Config)?;
    let verifier: Arc<dyn ServerCertVerifier> = match verify {
        Verify::Nothing => Arc::new(AnyCertificate {
            algorithms: provider.signature_verification_algorithms,
        }),
        Verify::Chain | Verify::Full => {
            let roots = Arc::new(roots(ca_file)?);
            let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider)
                .build()
                .map_err(|e| TlsError::Config(rustls::Error::General(e.to_string())))?;
            if verify == Verify::Full {
                webpki
            } else {
                Arc::new(ChainOnly(webpki))
            }
        }
    };
    Ok(builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// The trust anchors: the CA file's certificates, else the system store.
fn roots(ca_file: Option<&Path>) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let read = |source| TlsError::CaFile {
                path: path.to_owned(),
                source,
            };
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(read)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(read)?;
            if certs.is_empty() {
                return Err(TlsError::EmptyCaFile {
                    path: path.to_owned(),
                });
            }
            for cert in certs {
                roots.add(cert).map_err(TlsError::InvalidCa)?;
            }
        }
        None => {
            let system = rustls_native_certs::load_native_certs();
            if system.certs.is_empty() {
                return Err(TlsError::SystemRoots);
            }
            // Unparsable system certificates are skipped, as every TLS client does.
            roots.add_parsable_certificates(system.certs);
        }
    }
    Ok(roots)
}

/// `verify-ca`: the full web-PKI check, except that a name mismatch is accepted. webpki checks
/// the chain before the name, so a name error means the chain was good.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `require` without a CA: encryption against passive listeners only, as libpq does. The
/// handshake signature is still checked, so the peer holds the key of the certificate it sent.
#[derive(Debug)]
struct AnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_empty_ca_file_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("absent.pem");
        let error = client_config(Some(&missing), Verify::Full).expect_err("missing");
        assert!(error.to_string().contains("absent.pem"), "{error}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").expect("write");
        let error = client_config(Some(&empty), Verify::Chain).expect_err("empty");
        assert!(matches!(error, TlsError::EmptyCaFile { .. }), "{error}");
    }

    #[test]
    fn encryption_without_verification_needs_no_ca() {
        assert!(client_config(None, Verify::Nothing).is_ok());
    }
}

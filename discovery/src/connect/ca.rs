//! The embedded CA of `tunemesh up` and the tests: the same leaves Consul Connect issues
//! (P-256 keys, the SPIFFE URI as the only name, server and client auth), from an in-process
//! root, so the TLS and policy code that runs in production runs here too.
//!
//! A rotation goes in two steps, so no handshake in between can fail: first every service
//! is told to trust the new root beside the old ones, then every service gets a leaf of the
//! new root. Both steps reach all of the CA's services before [`EmbeddedCa::rotate`]
//! returns; old roots stay trusted, so leaves issued before keep working until replaced.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType, SerialNumber,
};
use time::OffsetDateTime;
use tokio::sync::watch;

use super::ConnectError;
use super::material::{Material, TlsConfigs};
use super::spiffe::SpiffeId;

/// The datacenter embedded leaves name.
const DATACENTER: &str = "local";
/// Roots kept trusted after rotations (the active one included).
const TRUSTED_ROOTS: usize = 3;
/// How long a root is valid.
const ROOT_TTL: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// An in-process certificate authority. Clones share it.
#[derive(Clone)]
pub struct EmbeddedCa {
    inner: Arc<Inner>,
}

struct Inner {
    trust_domain: String,
    leaf_ttl: Duration,
    state: Mutex<State>,
    /// The services holding leaves of this CA, told of every rotation.
    holders: Mutex<Vec<(String, watch::Sender<Arc<TlsConfigs>>)>>,
    /// Whether the task renewing leaves at half their life runs.
    renewing: std::sync::Once,
}

struct State {
    active: Issuer<'static, KeyPair>,
    /// PEM of every trusted root, newest last.
    roots: Vec<String>,
    /// PEM of the certificates sent between a leaf and the roots: after a rotation, the
    /// active root cross-signed by the one before it.
    intermediates: Vec<String>,
}

impl std::fmt::Debug for EmbeddedCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedCa")
            .field("trust_domain", &self.inner.trust_domain)
            .finish_non_exhaustive()
    }
}

impl EmbeddedCa {
    /// A new CA with a fresh root and a random trust domain; leaves live `leaf_ttl`.
    pub fn generate(leaf_ttl: Duration) -> Result<Self, ConnectError> {
        let trust_domain = format!("{}.tunemesh", random_hex(8));
        let (active, pem) = new_root(&trust_domain)?;
        Ok(Self::from_parts(trust_domain, active, pem, leaf_ttl))
    }

    /// The CA kept in `dir` (`ca.pem`, `ca-key.pem`, `ca-domain`, the key mode 0600),
    /// created on first use: a restarted `tunemesh up`, and `tunemesh ingest` next to it,
    /// keep one root.
    pub fn load_or_create(dir: &Path, leaf_ttl: Duration) -> Result<Self, ConnectError> {
        let (cert, key, domain) = (
            dir.join("ca.pem"),
            dir.join("ca-key.pem"),
            dir.join("ca-domain"),
        );
        let io = |path: &Path, e: std::io::Error| {
            ConnectError::Certificate(format!("{}: {e}", path.display()))
        };
        if key.exists() {
            let pem = std::fs::read_to_string(&cert).map_err(|e| io(&cert, e))?;
            let key_pem = std::fs::read_to_string(&key).map_err(|e| io(&key, e))?;
            let trust_domain = std::fs::read_to_string(&domain).map_err(|e| io(&domain, e))?;
            let trust_domain = trust_domain.trim().to_owned();
            let key_pair = KeyPair::from_pem(&key_pem)
                .map_err(|e| ConnectError::Certificate(format!("{}: {e}", key.display())))?;
            let active = Issuer::new(root_params(&trust_domain, &key_pair), key_pair);
            return Ok(Self::from_parts(trust_domain, active, pem, leaf_ttl));
        }
        let ca = Self::generate(leaf_ttl)?;
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let (pem, key_pem) = {
            let state = ca.state();
            (state.roots[0].clone(), state.active.key().serialize_pem())
        };
        write_private(&key, &key_pem).map_err(|e| io(&key, e))?;
        std::fs::write(&cert, pem).map_err(|e| io(&cert, e))?;
        std::fs::write(&domain, &ca.inner.trust_domain).map_err(|e| io(&domain, e))?;
        Ok(ca)
    }

    fn from_parts(
        trust_domain: String,
        active: Issuer<'static, KeyPair>,
        root_pem: String,
        leaf_ttl: Duration,
    ) -> Self {
        let state = State {
            active,
            roots: vec![root_pem],
            intermediates: Vec::new(),
        };
        Self {
            inner: Arc::new(Inner {
                trust_domain,
                leaf_ttl,
                state: Mutex::new(state),
                holders: Mutex::new(Vec::new()),
                renewing: std::sync::Once::new(),
            }),
        }
    }

    /// The trust domain every leaf of this CA names.
    pub fn trust_domain(&self) -> &str {
        &self.inner.trust_domain
    }

    /// How long a leaf lives.
    pub fn leaf_ttl(&self) -> Duration {
        self.inner.leaf_ttl
    }

    /// The PEM of every trusted root.
    pub fn roots_pem(&self) -> Vec<String> {
        self.state().roots.clone()
    }

    /// A new leaf for `service`, with the roots to trust.
    pub fn issue(&self, service: &str) -> Result<Material, ConnectError> {
        let id = SpiffeId::service(&self.inner.trust_domain, DATACENTER, service);
        let uri = rcgen::string::Ia5String::try_from(id.to_string())
            .map_err(|e| ConnectError::Identity(format!("{service}: {e}")))?;
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, service);
        params.subject_alt_names = vec![SanType::URI(uri)];
        params.serial_number = Some(serial());
        let now = OffsetDateTime::now_utc();
        // A minute of slack for clocks a little apart.
        params.not_before = now - Duration::from_secs(60);
        params.not_after = now + self.inner.leaf_ttl;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
            KeyUsagePurpose::KeyAgreement,
        ];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate().map_err(rcgen_error)?;
        let (leaf, roots) = {
            let state = self.state();
            let leaf = params.signed_by(&key, &state.active).map_err(rcgen_error)?;
            let mut chain = leaf.pem();
            for intermediate in &state.intermediates {
                chain.push_str(intermediate);
            }
            (chain, state.roots.clone())
        };
        Material::from_pem(
            &leaf,
            &key.serialize_pem(),
            roots.iter().map(String::as_str),
        )
    }

    /// Replaces the active root with a new one; the old stays trusted. Every service holding
    /// a leaf first trusts the new root, then gets a leaf of it.
    pub fn rotate(&self) -> Result<(), ConnectError> {
        let (active, pem) = new_root(&self.inner.trust_domain)?;
        {
            let mut state = self.state();
            state.roots.push(pem);
            let excess = state.roots.len().saturating_sub(TRUSTED_ROOTS);
            state.roots.drain(..excess);
        }
        self.reissue_all()?;
        {
            let mut state = self.state();
            // The new root's key certified by the old root: a peer that has not heard of the
            // new root yet (a handshake begun before the rotation) still verifies new leaves
            // through it, as with Consul's cross-signed intermediates.
            let cross = cross_signed(&self.inner.trust_domain, active.key(), &state.active)?;
            state.active = active;
            state.intermediates = vec![cross];
        }
        self.reissue_all()
    }

    /// `service`'s configurations from now on, renewed at half their life and by rotations
    /// until the receiver is dropped. Must be called inside a tokio runtime.
    pub fn hold(&self, service: &str) -> Result<watch::Receiver<Arc<TlsConfigs>>, ConnectError> {
        let first = Arc::new(self.issue(service)?.configs()?);
        let (tx, rx) = watch::channel(first);
        self.holders().push((service.to_owned(), tx));
        self.inner.renewing.call_once(|| {
            tokio::spawn(renew(Arc::downgrade(&self.inner)));
        });
        Ok(rx)
    }

    /// A new leaf for every holder; holders that are gone are forgotten.
    pub fn renew(&self) -> Result<(), ConnectError> {
        self.reissue_all()
    }

    fn reissue_all(&self) -> Result<(), ConnectError> {
        let mut holders = self.holders();
        holders.retain(|(_, tx)| !tx.is_closed());
        for (service, tx) in holders.iter() {
            tx.send_replace(Arc::new(self.issue(service)?.configs()?));
        }
        Ok(())
    }

    fn holders(&self) -> std::sync::MutexGuard<'_, Vec<(String, watch::Sender<Arc<TlsConfigs>>)>> {
        self.inner.holders.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Renews every leaf at half its life, until the CA is gone.
async fn renew(inner: std::sync::Weak<Inner>) {
    loop {
        let Some(ttl) = inner.upgrade().map(|inner| inner.leaf_ttl) else {
            return;
        };
        tokio::time::sleep(ttl / 2).await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        if let Err(error) = (EmbeddedCa { inner }).renew() {
            tracing::error!(%error, "cannot renew leaf certificates");
        }
    }
}

/// A root's parameters. Its name is unique per key (as Consul names each root), so a path
/// through a cross-signed root is never mistaken for one ending at another root.
fn root_params(trust_domain: &str, key: &KeyPair) -> CertificateParams {
    use sha2::Digest as _;
    let key_id = sha2::Sha256::digest(key.public_key_raw());
    let key_id: String = key_id[..6].iter().map(|b| format!("{b:02x}")).collect();
    let mut params = CertificateParams::default();
    params.distinguished_name.push(
        DnType::CommonName,
        format!("tunemesh embedded CA {trust_domain} {key_id}"),
    );
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::from_secs(60);
    params.not_after = now + ROOT_TTL;
    params
}

fn new_root(trust_domain: &str) -> Result<(Issuer<'static, KeyPair>, String), ConnectError> {
    let key = KeyPair::generate().map_err(rcgen_error)?;
    let mut params = root_params(trust_domain, &key);
    params.serial_number = Some(serial());
    let pem = params.self_signed(&key).map_err(rcgen_error)?.pem();
    Ok((Issuer::new(params, key), pem))
}

/// The root of `key` certified by `by`.
fn cross_signed(
    trust_domain: &str,
    key: &KeyPair,
    by: &Issuer<'static, KeyPair>,
) -> Result<String, ConnectError> {
    let mut params = root_params(trust_domain, key);
    params.serial_number = Some(serial());
    Ok(params.signed_by(key, by).map_err(rcgen_error)?.pem())
}

/// 16 random bytes, positive as DER wants it.
fn serial() -> SerialNumber {
    let mut bytes: [u8; 16] = rand::random();
    bytes[0] &= 0x7f;
    SerialNumber::from_slice(&bytes)
}

fn random_hex(bytes: usize) -> String {
    (0..bytes)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

fn rcgen_error(error: rcgen::Error) -> ConnectError {
    ConnectError::Certificate(format!("cannot issue a certificate: {error}"))
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents.as_bytes())
}

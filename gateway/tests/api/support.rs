//! One gateway per test on port 0: its own PostgreSQL database for accounts, its own registry
//! with the fake upstream, cheap password hashing, and a client that speaks to it.

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::{Method, RequestBuilder, Response};
use secrecy::SecretString;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tunemesh_discovery::connect::{EmbeddedCa, MeshTls, Policy};
use tunemesh_discovery::{EmbeddedRegistry, Mesh, MeshSettings};
use tunemesh_gateway::settings::Quota;
use tunemesh_gateway::{Gateway, GatewayContext, GatewaySettings};
use tunemesh_runtime::Storage;
use tunemesh_runtime::identity::{
    AssertionSettings, AssertionSigner, IdentitySettings, MeshIdentity,
};
use tunemesh_runtime::postgres::PostgresSettings;
use tunemesh_testkit::TestDatabase;

use crate::services::{self, Services};
use crate::upstream::{self, Upstream};

/// The access-token key every test gateway uses, so tests can forge tokens against it.
pub const JWT_SECRET: &str = "test-access-token-secret-0123456789abcdef";
/// The Subsonic lookup pepper of every test gateway.
pub const SUBSONIC_PEPPER: &str = "test-subsonic-pepper-0123456789abcdef";
/// The Subsonic seal keys of every test gateway: version 1, 32 bytes of 0x01 (legacy token
/// auth on).
pub const SUBSONIC_SEAL_KEYS: &str = "1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

/// A running gateway and what stands behind it.
#[derive(Debug)]
pub struct TestGateway {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The fake player-svc.
    pub upstream: Upstream,
    /// playlist-svc and the search and reco stand-ins.
    pub services: Services,
    client: reqwest::Client,
    shutdown: CancellationToken,
    _db: Option<TestDatabase>,
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Settings for tests: port 0, cheap argon2, generous limits unless a test lowers them.
pub fn settings() -> GatewaySettings {
    let mut settings = GatewaySettings {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..GatewaySettings::default()
    };
    settings.auth.jwt_secret = Some(SecretString::from(JWT_SECRET));
    settings.assertion = AssertionSettings::for_tests();
    settings.subsonic.lookup_pepper = Some(SecretString::from(SUBSONIC_PEPPER));
    settings.subsonic.seal_keys = Some(SecretString::from(SUBSONIC_SEAL_KEYS));
    settings.auth.argon2_memory_kib = 1024;
    settings.auth.argon2_iterations = 1;
    settings.rate_limits.auth_per_ip = Quota {
        per_minute: 600,
        burst: 100,
    };
    settings.rate_limits.login_per_account_ip = settings.rate_limits.auth_per_ip;
    settings.rate_limits.login_failures_per_account = settings.rate_limits.auth_per_ip;
    settings
}

/// The gateway public keys the services behind the test gateway verify with.
pub fn mesh_identity() -> MeshIdentity {
    MeshIdentity::new(&IdentitySettings::for_tests()).expect("the test key")
}

/// The test gateway's assertion signer (what a test forging a genuine assertion uses).
pub fn gateway_signer() -> AssertionSigner {
    AssertionSigner::for_tests()
}

/// A gateway with [`settings`].
pub async fn spawn() -> anyhow::Result<TestGateway> {
    spawn_with(settings()).await
}

/// A gateway with `settings` (its address is replaced by port 0).
pub async fn spawn_with(settings: GatewaySettings) -> anyhow::Result<TestGateway> {
    let db = tunemesh_testkit::test_database().await?;
    spawn_on(settings, db).await
}

/// Two gateway replicas with `settings` on one account database, as a deployment runs them.
pub async fn spawn_pair(settings: GatewaySettings) -> anyhow::Result<(TestGateway, TestGateway)> {
    spawn_two(settings.clone(), settings).await
}

/// Two gateway replicas on one account database, each with its own settings (a rolling
/// change of configuration).
pub async fn spawn_two(
    first: GatewaySettings,
    second: GatewaySettings,
) -> anyhow::Result<(TestGateway, TestGateway)> {
    let db = tunemesh_testkit::test_database().await?;
    let second_url = db.url().to_owned();
    let first = spawn_on(first, db).await?;
    let second = spawn_at(second, &second_url, None).await?;
    Ok((first, second))
}

async fn spawn_on(settings: GatewaySettings, db: TestDatabase) -> anyhow::Result<TestGateway> {
    let url = db.url().to_owned();
    spawn_at(settings, &url, Some(db)).await
}

/// A gateway on the database at `url`; `db` (if any) is dropped with it.
async fn spawn_at(
    mut settings: GatewaySettings,
    url: &str,
    db: Option<TestDatabase>,
) -> anyhow::Result<TestGateway> {
    tunemesh_testkit::init_tracing();
    settings.addr = SocketAddr::from(([127, 0, 0, 1], 0));
    let registry = EmbeddedRegistry::new();
    // Every hop over mutual TLS, as in production: the services know who calls them (the
    // gateway, or playlist-svc forwarding a listener's call) by certificate.
    let ca = EmbeddedCa::generate(tunemesh_discovery::connect::LEAF_TTL)?;
    let upstream = upstream::start(&registry, "player", mesh_identity(), &ca).await?;
    let gateway_tls = MeshTls::embedded(&ca, "gateway", Policy::architecture())?;
    let mesh = Mesh::with_tls(
        Arc::new(registry.clone()),
        MeshSettings::default(),
        gateway_tls,
    );
    let services = services::start(&registry, &mesh, mesh_identity(), &ca).await?;
    let ctx = GatewayContext {
        storage: Storage::Production {
            postgres: PostgresSettings {
                url: SecretString::from(url.to_owned()),
                max_connections: 4,
                ..PostgresSettings::default()
            },
            redis: Default::default(),
        },
        mesh,
    };
    let gateway = Gateway::build(&settings, ctx).await?;
    let addr = gateway.local_addr();
    let shutdown = CancellationToken::new();
    tokio::spawn(gateway.run_until(shutdown.clone()));
    Ok(TestGateway {
        addr,
        upstream,
        services,
        client: reqwest::Client::new(),
        shutdown,
        _db: db,
    })
}

impl TestGateway {
    /// A request to `path` on the gateway.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("http://{}{path}", self.addr))
    }

    /// `GET path` with `token`.
    pub async fn get(&self, path: &str, token: &str) -> anyhow::Result<Response> {
        Ok(self
            .request(Method::GET, path)
            .bearer_auth(token)
            .send()
            .await?)
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Response> {
        Ok(self.request(Method::POST, path).json(body).send().await?)
    }

    /// Signs up `name` (email `name@example.com`, password `correct horse`) and logs in, as
    /// a client does (sign-up starts no session); the session.
    pub async fn signup(&self, name: &str) -> anyhow::Result<Value> {
        let base = format!("http://{}", self.addr);
        tunemesh_testkit::accounts::sign_up(&self.client, &base, name, "correct horse").await
    }
}

/// The status and JSON body of a response.
pub async fn status_and_json(response: Response) -> anyhow::Result<(u16, Value)> {
    let status = response.status().as_u16();
    Ok((status, response.json().await?))
}

/// A response header as text, or "".
pub fn header(response: &Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// A string field of a JSON value, or "".
pub fn text<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Asserts the JSON error body carries `code`; returns its message.
pub fn error_code(body: &Value, code: &str) -> String {
    assert_eq!(text(body, "/error/code"), code, "{body}");
    let message = text(body, "/error/message").to_owned();
    assert!(!message.is_empty(), "{body}");
    assert_eq!(
        message,
        message.to_lowercase(),
        "messages are lowercase: {body}"
    );
    message
}

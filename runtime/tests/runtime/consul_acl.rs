//! The Consul client with ACLs on (default deny), against a private agent of the test: no
//! token is refused, a service's token (its policy from `service_policy_rules`) registers that
//! service and reads health, and registers no other service.

use std::net::SocketAddr;

use secrecy::SecretString;
use serde::Deserialize;
use tunemesh_discovery::{
    ConsulRegistry, ConsulSettings, Registration, Registry, RegistryError, service_policy_rules,
};
use tunemesh_testkit::init_tracing;
use tunemesh_testkit::private::PrivateConsul;

#[derive(Deserialize)]
struct Token {
    #[serde(rename = "SecretID")]
    secret_id: String,
}

/// Creates `service`'s policy and a token holding it, through the management token.
async fn service_token(
    consul: &PrivateConsul,
    master: &str,
    service: &str,
) -> anyhow::Result<String> {
    let http = reqwest::Client::new();
    let policy = format!(
        "{{\"Name\": \"{service}\", \"Rules\": {:?}}}",
        service_policy_rules(service)
    );
    http.put(format!("{}/v1/acl/policy", consul.addr()))
        .header("X-Consul-Token", master)
        .body(policy)
        .send()
        .await?
        .error_for_status()?;
    let token = format!("{{\"Policies\": [{{\"Name\": \"{service}\"}}]}}");
    let token: Token = http
        .put(format!("{}/v1/acl/token", consul.addr()))
        .header("X-Consul-Token", master)
        .body(token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(token.secret_id)
}

fn registry(consul: &PrivateConsul, token: Option<&str>) -> anyhow::Result<ConsulRegistry> {
    Ok(ConsulRegistry::new(ConsulSettings {
        addr: consul.addr(),
        token: token.map(|t| SecretString::from(t.to_owned())),
        ..ConsulSettings::default()
    })?)
}

fn denied(result: Result<(), RegistryError>) -> bool {
    matches!(result, Err(RegistryError::Rejected { status: 403, .. }))
}

#[tokio::test]
async fn consul_registration_needs_the_services_own_token() -> anyhow::Result<()> {
    init_tracing();
    let master = uuid::Uuid::new_v4().to_string();
    let consul = PrivateConsul::start_with_acls(&master).await?;
    let addr: SocketAddr = "127.0.0.1:9".parse()?;
    let player = Registration::for_service("player", addr, "test");

    assert!(denied(registry(&consul, None)?.register(&player).await));

    let token = service_token(&consul, &master, "player").await?;
    let dir = tempfile::tempdir()?;
    let token_file = dir.path().join("consul-token");
    std::fs::write(&token_file, format!("{token}\n"))?;
    let with_token = ConsulRegistry::new(ConsulSettings {
        addr: consul.addr(),
        token_file: Some(token_file),
        ..ConsulSettings::default()
    })?;
    with_token.register(&player).await?;
    let reco = Registration::for_service("reco", addr, "test");
    assert!(
        denied(with_token.register(&reco).await),
        "another service's name"
    );
    with_token.deregister(&player.instance.id).await?;
    Ok(())
}

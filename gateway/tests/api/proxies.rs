//! `X-Forwarded-For` names the client for per-address limits only behind a trusted proxy.

use reqwest::Method;

use crate::support::{self, TestGateway};
use tunemesh_gateway::settings::Quota;

async fn status_from(gateway: &TestGateway, forwarded_for: &str) -> anyhow::Result<u16> {
    let response = gateway
        .request(Method::GET, "/openapi.json")
        .header("x-forwarded-for", forwarded_for)
        .send()
        .await?;
    Ok(response.status().as_u16())
}

fn settings(trusted: &[&str]) -> tunemesh_gateway::GatewaySettings {
    let mut settings = support::settings();
    settings.rate_limits.per_ip = Quota {
        per_minute: 1,
        burst: 2,
    };
    settings.rate_limits.trusted_proxies = trusted.iter().map(|s| (*s).to_owned()).collect();
    settings
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_quota() -> anyhow::Result<()> {
    // The test client connects from loopback, which plays the load balancer here.
    let gateway = support::spawn_with(settings(&["127.0.0.0/8"])).await?;
    assert_eq!(status_from(&gateway, "203.0.113.1").await?, 200);
    assert_eq!(status_from(&gateway, "203.0.113.1").await?, 200);
    assert_eq!(status_from(&gateway, "203.0.113.1").await?, 429);
    assert_eq!(status_from(&gateway, "203.0.113.2").await?, 200);
    // Prepending a fake address does not make a new client.
    assert_eq!(status_from(&gateway, "9.9.9.9, 203.0.113.1").await?, 429);
    Ok(())
}

#[tokio::test]
async fn from_an_untrusted_peer_the_header_is_ignored() -> anyhow::Result<()> {
    let gateway = support::spawn_with(settings(&["10.0.0.0/8"])).await?;
    assert_eq!(status_from(&gateway, "203.0.113.1").await?, 200);
    assert_eq!(status_from(&gateway, "203.0.113.2").await?, 200);
    assert_eq!(status_from(&gateway, "203.0.113.3").await?, 429);
    Ok(())
}

#[tokio::test]
async fn a_malformed_trusted_proxy_is_refused_at_start() -> anyhow::Result<()> {
    let result = support::spawn_with(settings(&["10.0.0.0/40"])).await;
    let error = result.expect_err("bad cidr");
    assert!(format!("{error:#}").contains("10.0.0.0/40"), "{error:#}");
    Ok(())
}

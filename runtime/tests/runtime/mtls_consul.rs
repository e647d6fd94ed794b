//! Mutual TLS with Consul Connect's own CA on a real agent: leaves and roots from the agent,
//! intentions as the policy, and a CA rotation under load (on a private agent: every service
//! on an agent sees its CA rotate).

use std::sync::atomic::Ordering;
use std::time::Duration;

use tonic::Code;
use tunemesh_discovery::connect::{EmbeddedCa, MeshTls, Policy};
use tunemesh_discovery::{ConsulConnect, ConsulSettings};
use tunemesh_testkit::{PrivateConsul, servers, unique_prefix};

use super::mtls::{Load, channel, recommend, serve};

fn connect(addr: &str) -> ConsulConnect {
    ConsulConnect::new(ConsulSettings {
        addr: addr.to_owned(),
        wait: Duration::from_secs(5),
        ..ConsulSettings::default()
    })
    .expect("consul settings")
}

#[tokio::test]
async fn intentions_on_a_real_agent_decide_who_calls_and_other_cas_are_refused() {
    let consul = connect(&servers().consul_addr);
    let prefix = unique_prefix("mtls");
    let (api, caller, intruder) = (
        format!("{prefix}-api"),
        format!("{prefix}-caller"),
        format!("{prefix}-intruder"),
    );
    consul
        .apply(&Policy::default().allow(&caller, &api))
        .await
        .expect("intentions written");
    let server = serve(consul.tls(&api).await.expect("api's leaf")).await;

    let allowed = consul.tls(&caller).await.expect("caller's leaf");
    assert!(
        allowed.id().trust_domain.ends_with(".consul"),
        "{:?}",
        allowed.id()
    );
    recommend(channel(&allowed, &api, server.addr))
        .await
        .expect("an intention allows it");
    let seen = server.who.seen.lock().expect("not poisoned").clone();
    assert_eq!(seen, vec![Some(caller.clone())]);

    // A valid leaf of the same CA, but no intention allows it: default deny.
    let refused = consul.tls(&intruder).await.expect("intruder's leaf");
    let error = recommend(channel(&refused, &api, server.addr))
        .await
        .expect_err("no intention allows the intruder");
    assert_eq!(error.code(), Code::PermissionDenied, "{error:?}");
    assert!(
        error.message().contains(&refused.id().to_string()),
        "{error:?}"
    );
    assert!(
        error.message().contains(&format!("call {api}")),
        "{error:?}"
    );

    // The caller's name, but a certificate of another CA.
    let ca = EmbeddedCa::generate(Duration::from_secs(3600)).expect("a CA");
    let stranger = MeshTls::embedded(&ca, &caller, Policy::default()).expect("leaf");
    let error = recommend(channel(&stranger, &api, server.addr))
        .await
        .expect_err("another CA");
    assert!(
        matches!(error.code(), Code::Unavailable | Code::Unknown),
        "{error:?}"
    );
    assert_eq!(server.who.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_consul_ca_rotation_under_load_loses_no_call() {
    let agent = PrivateConsul::start().await.expect("a private agent");
    let consul = connect(&agent.addr());
    consul
        .apply(&Policy::default().allow("caller", "api"))
        .await
        .expect("intentions written");
    let server = serve(consul.tls("api").await.expect("api's leaf")).await;
    let caller = consul.tls("caller").await.expect("caller's leaf");
    let mut caller_leaf = caller.changes();
    caller_leaf.mark_unchanged();
    let identity = caller.id();

    let load = Load::start(&caller, "api", server.addr, 2);
    load.after(15).await;
    rotate(&agent.addr()).await;
    // Both sides get a leaf of the new root from the agent, under load.
    let renewed = tokio::time::timeout(Duration::from_secs(60), async {
        caller_leaf
            .changed()
            .await
            .expect("caller follows its leaf");
    })
    .await;
    assert!(renewed.is_ok(), "the caller never got a new leaf");
    // Calls on the new leaf too, however loaded the machine is.
    load.after(15).await;
    let (calls, failures) = load.stop().await;
    assert_eq!(failures, 0, "of {calls} calls");
    assert_eq!(caller.id(), identity, "same identity, new leaf");
    // New connections after the rotation work too.
    recommend(channel(&caller, "api", server.addr))
        .await
        .expect("after the rotation");
}

/// Rotates the agent's CA by giving it a new root key, as an operator would.
async fn rotate(addr: &str) {
    let key = rcgen::KeyPair::generate().expect("a key").serialize_pem();
    let body = serde_json::json!({
        "Provider": "consul",
        "Config": {
            "LeafCertTTL": "72h",
            "RotationPeriod": "2160h",
            "IntermediateCertTTL": "8760h",
            "PrivateKey": key,
        },
    });
    let response = reqwest::Client::new()
        .put(format!("{addr}/v1/connect/ca/configuration"))
        .json(&body)
        .send()
        .await
        .expect("the agent answers");
    assert!(response.status().is_success(), "{response:?}");
}

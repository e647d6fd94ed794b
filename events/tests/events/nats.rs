//! The NATS adapter against the real JetStream server, isolated by a unique stream prefix;
//! plus a private server without JetStream, to see it rejected clearly.

use std::process::Stdio;
use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream::{self, consumer, context::PublishAckFuture, message::PublishMessage};
use futures::StreamExt as _;
use tokio::process::{Child, Command};
use tunemesh_events::nats::{NatsSettings, connect};
use tunemesh_testkit::{
    assert_eventually, delete_nats_streams, eventually, init_tracing, servers, unique_prefix,
};

fn settings(url: String) -> NatsSettings {
    NatsSettings {
        url,
        stream_prefix: unique_prefix("events"),
        ..NatsSettings::default()
    }
}

async fn publish(
    js: &jetstream::Context,
    subject: &str,
    id: &str,
) -> anyhow::Result<jetstream::publish::PublishAck> {
    let message = PublishMessage::build()
        .payload(format!("play {id}").into())
        .message_id(id);
    let ack: PublishAckFuture = js.send_publish(subject.to_owned(), message).await?;
    Ok(ack.await?)
}

#[tokio::test]
async fn duplicate_ids_are_flagged_and_a_durable_consumer_reads_each_event_once()
-> anyhow::Result<()> {
    init_tracing();
    let settings = settings(servers().nats_url.clone());
    let (_client, js) = connect(&settings).await?;
    let subject = format!("{}.plays.reported", settings.stream_prefix);
    let stream = js
        .create_stream(jetstream::stream::Config {
            name: settings.stream_name("plays"),
            subjects: vec![format!("{}.plays.>", settings.stream_prefix)],
            ..Default::default()
        })
        .await?;

    assert!(!publish(&js, &subject, "evt-1").await?.duplicate);
    assert!(
        publish(&js, &subject, "evt-1").await?.duplicate,
        "same Nats-Msg-Id"
    );
    assert!(!publish(&js, &subject, "evt-2").await?.duplicate);

    let durable = consumer::pull::Config {
        durable_name: Some("reco".to_owned()),
        ack_policy: consumer::AckPolicy::Explicit,
        ..Default::default()
    };
    let reader = stream.create_consumer(durable).await?;
    let mut ids = Vec::new();
    let mut batch = reader.fetch().max_messages(10).messages().await?;
    while let Some(message) = batch.next().await {
        let message = message.map_err(|e| anyhow::anyhow!(e))?;
        let id = message.headers.as_ref().and_then(|h| h.get("Nats-Msg-Id"));
        ids.push(id.map(|v| v.as_str().to_owned()).unwrap_or_default());
        message.ack().await.map_err(|e| anyhow::anyhow!(e))?;
    }
    assert_eq!(ids, ["evt-1", "evt-2"], "the duplicate was not stored");

    // The consumer is durable: looked up again by name, it has nothing left to deliver.
    let mut again: consumer::PullConsumer = stream
        .get_consumer("reco")
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    assert_eventually!(
        async {
            again
                .info()
                .await
                .is_ok_and(|info| info.num_pending == 0 && info.num_ack_pending == 0)
        },
        timeout = Duration::from_secs(5),
        "acknowledged events still pending on the durable consumer",
    );

    assert_eq!(delete_nats_streams(&js, &settings.stream_prefix).await?, 1);
    Ok(())
}

#[tokio::test]
async fn closed_port_fails_fast_with_an_error_naming_the_server() -> anyhow::Result<()> {
    init_tracing();
    let port = free_port()?;
    let settings = settings(format!("nats://app:hunter2@127.0.0.1:{port}"));

    // The bound only detects a hang; a refused connection fails at once.
    let result = tokio::time::timeout(Duration::from_secs(3), connect(&settings))
        .await
        .context("connect to a closed port hung instead of failing")?;
    let message = result
        .err()
        .context("connect to a closed port succeeded")?
        .to_string();
    assert_eq!(message, format!("nats at 127.0.0.1:{port} is unreachable"));
    Ok(())
}

#[tokio::test]
async fn a_server_without_jetstream_is_rejected_with_a_clear_error() -> anyhow::Result<()> {
    init_tracing();
    let port = free_port()?;
    let _server = start_nats_without_jetstream(port).await?;

    let result = connect(&settings(format!("nats://127.0.0.1:{port}"))).await;
    let message = result
        .err()
        .context("connected although jetstream is off")?
        .to_string();
    assert_eq!(
        message,
        format!("jetstream is not enabled on nats at 127.0.0.1:{port}")
    );
    Ok(())
}

/// Starts `nats-server` (the binary `scripts/servers.sh` found) without `-js`, killed on drop.
async fn start_nats_without_jetstream(port: u16) -> anyhow::Result<Child> {
    let bin = servers()
        .nats_bin
        .clone()
        .context("no nats-server binary known: run scripts/servers.sh")?;
    let child = Command::new(bin)
        .args(["-a", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("start nats-server")?;
    eventually(Duration::from_secs(10), || async {
        tokio::net::TcpStream::connect(("127.0.0.1", port)).await
    })
    .await
    .context("private nats-server never listened")?;
    Ok(child)
}

/// A loopback port with nothing listening: bound by us, then released.
fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

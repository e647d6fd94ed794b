//! NATS helpers: a client for the shared JetStream server and cleanup of one test's streams.

use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream;
use futures::TryStreamExt as _;

use crate::servers::servers;

/// A client connected to `servers().nats_url`; fails within seconds if NATS is down.
pub async fn nats_client() -> anyhow::Result<async_nats::Client> {
    let url = &servers().nats_url;
    async_nats::ConnectOptions::new()
        .name("tunemesh-testkit")
        .connection_timeout(Duration::from_secs(2))
        .request_timeout(Some(Duration::from_secs(5)))
        .connect(url.as_str())
        .await
        .with_context(|| format!("connect to test nats at {url}"))
}

/// Deletes every JetStream stream whose name starts with `prefix` (with its consumers);
/// returns how many were deleted. Use a prefix from [`unique_prefix`](crate::unique_prefix).
pub async fn delete_nats_streams(js: &jetstream::Context, prefix: &str) -> anyhow::Result<usize> {
    // Collect first: deleting while paging would shift the server's offsets under us.
    let names: Vec<String> = js
        .stream_names()
        .try_filter(|name| std::future::ready(name.starts_with(prefix)))
        .try_collect()
        .await
        .context("list nats streams")?;
    for name in &names {
        js.delete_stream(name)
            .await
            .with_context(|| format!("delete nats stream {name}"))?;
    }
    Ok(names.len())
}

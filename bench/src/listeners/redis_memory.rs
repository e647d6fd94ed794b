//! Redis memory under one key prefix, by key kind: every key is counted (SCAN), up to
//! `sample` keys of each kind are measured exactly (`MEMORY USAGE key SAMPLES 0`) and the
//! kind's total is their mean times its count. `INFO memory`'s `used_memory` is read too;
//! on a shared server it moves with other clients' keys, so the per-kind sum is the figure to
//! trust and the delta a cross-check.

use std::collections::BTreeMap;

use anyhow::Context as _;
use fred::prelude::{Client, ClientLike as _};
use fred::types::scan::Scanner as _;
use fred::types::{ClusterHash, CustomCommand, Value};
use futures::StreamExt as _;

/// One kind of key: the name after the prefix up to the first `:` (`taste`, `seen`, `pop`).
#[derive(Debug, Clone, Default)]
pub struct Kind {
    /// Keys of this kind.
    pub keys: u64,
    /// Keys measured.
    pub sampled: u64,
    /// Their bytes.
    pub sampled_bytes: u64,
}

impl Kind {
    /// The kind's estimated bytes: the sample's mean times the count.
    pub fn bytes(&self) -> f64 {
        if self.sampled == 0 {
            return 0.0;
        }
        self.sampled_bytes as f64 / self.sampled as f64 * self.keys as f64
    }
}

/// Redis's `used_memory` (bytes).
pub async fn used_memory(client: &Client) -> anyhow::Result<u64> {
    let info = CustomCommand::new_static("INFO", ClusterHash::Random, false);
    let text: String = client.custom(info, vec!["memory"]).await?;
    text.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .context("INFO memory has no used_memory")
}

/// Exact bytes of `key` (0 when it is missing).
pub async fn key_bytes(client: &Client, key: &str) -> anyhow::Result<u64> {
    let memory = CustomCommand::new_static("MEMORY", ClusterHash::Random, false);
    let value: Value = client
        .custom(memory, vec!["USAGE", key, "SAMPLES", "0"])
        .await?;
    Ok(value.as_u64().unwrap_or(0))
}

/// Every kind of key under `prefix`, measured as the module says.
pub async fn by_kind(
    client: &Client,
    prefix: &str,
    sample: u64,
) -> anyhow::Result<BTreeMap<String, Kind>> {
    let mut kinds: BTreeMap<String, Kind> = BTreeMap::new();
    let mut to_measure: Vec<(String, String)> = Vec::new();
    let mut pages = client.scan(format!("{prefix}*"), Some(1000), None);
    while let Some(page) = pages.next().await {
        let mut page = page.context("scan")?;
        for key in page.take_results().unwrap_or_default() {
            let Some(name) = key.as_str().map(|k| k.to_owned()) else {
                continue;
            };
            let rest = name.strip_prefix(prefix).unwrap_or(&name);
            let kind_name = rest.split(':').next().unwrap_or(rest).to_owned();
            let kind = kinds.entry(kind_name.clone()).or_default();
            kind.keys += 1;
            if kind.keys <= sample {
                to_measure.push((kind_name, name));
            }
        }
        page.next();
    }
    for (kind, key) in to_measure {
        let bytes = key_bytes(client, &key).await?;
        let kind = kinds.entry(kind).or_default();
        kind.sampled += 1;
        kind.sampled_bytes += bytes;
    }
    Ok(kinds)
}

//! Redis helpers: a client for the shared test server and cleanup of one test's keys.

use std::time::Duration;

use anyhow::Context as _;
use fred::prelude::{Builder, Client, ClientLike as _, Config, KeysInterface as _};
use fred::types::scan::Scanner as _;
use futures::StreamExt as _;

use crate::servers::servers;

/// Keys fetched per SCAN round trip.
const SCAN_PAGE: u32 = 500;

/// A client connected to `servers().redis_url`; fails within seconds if Redis is down.
pub async fn redis_client() -> anyhow::Result<Client> {
    let url = &servers().redis_url;
    let config = Config::from_url(url).with_context(|| format!("parse redis url {url}"))?;
    let client = Builder::from_config(config)
        .with_connection_config(|c| c.connection_timeout = Duration::from_secs(2))
        .with_performance_config(|p| p.default_command_timeout = Duration::from_secs(5))
        .build()
        .context("build redis client")?;
    tokio::time::timeout(Duration::from_secs(5), client.init())
        .await
        .map_err(|_| anyhow::anyhow!("timed out"))
        .and_then(|result| result.map_err(anyhow::Error::from))
        .with_context(|| format!("connect to test redis at {url}"))?;
    Ok(client)
}

/// Deletes every key starting with `prefix` (SCAN + UNLINK, so Redis never blocks on a large
/// key); returns how many were deleted. Use it with a prefix from
/// [`unique_prefix`](crate::unique_prefix) to clean up after a test.
pub async fn delete_redis_keys(client: &Client, prefix: &str) -> anyhow::Result<u64> {
    let pattern = format!("{}*", escape_glob(prefix));
    let mut pages = client.scan(pattern, Some(SCAN_PAGE), None);
    let mut deleted = 0;
    while let Some(page) = pages.next().await {
        let mut page = page.context("scan redis keys")?;
        let keys = page.take_results().unwrap_or_default();
        if !keys.is_empty() {
            deleted += client
                .unlink::<u64, _>(keys)
                .await
                .context("unlink redis keys")?;
        }
        page.next();
    }
    Ok(deleted)
}

/// Escapes the characters SCAN's MATCH treats as glob syntax.
fn escape_glob(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len());
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_characters_are_escaped() {
        assert_eq!(escape_glob("t1_a*b?[c]\\"), "t1_a\\*b\\?\\[c\\]\\\\");
        assert_eq!(escape_glob("t1_plain-x"), "t1_plain-x");
    }
}

//! The slice of a test harness these tests need: where Consul is, unique names, and polling
//! instead of sleeping. Same names and behaviour as `tunemesh-testkit`'s, kept here because
//! testkit depends on the runtime, which depends on this crate: using it would compile this
//! crate twice and tie these tests to the runtime building.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use tokio::time::Instant;

/// How often a condition is re-evaluated.
pub const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Where the shared test servers listen (only what these tests use).
#[derive(Debug, Clone)]
pub struct TestServers {
    /// Consul agent HTTP address, e.g. `http://127.0.0.1:8500`.
    pub consul_addr: String,
    /// The `consul` binary, for tests that run a private agent.
    pub consul_bin: Option<PathBuf>,
}

/// `TUNEMESH_TEST_*` env vars first, then `.servers/env` (written by `scripts/servers.sh`),
/// then the standard address.
pub fn servers() -> &'static TestServers {
    static SERVERS: OnceLock<TestServers> = OnceLock::new();
    SERVERS.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.servers/env");
        let file = parse_env_file(&std::fs::read_to_string(path).unwrap_or_default());
        let get = |key: &str| {
            std::env::var(key)
                .ok()
                .filter(|v| !v.is_empty())
                .or_else(|| file.get(key).cloned())
        };
        TestServers {
            consul_addr: get("TUNEMESH_TEST_CONSUL_ADDR")
                .unwrap_or_else(|| "http://127.0.0.1:8500".to_owned()),
            consul_bin: get("TUNEMESH_TEST_CONSUL_BIN").map(PathBuf::from),
        }
    })
}

fn parse_env_file(text: &str) -> HashMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| {
            let line = line.strip_prefix("export ").unwrap_or(line);
            let (key, value) = line.split_once('=')?;
            let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
            Some((key.trim().to_owned(), value.to_owned()))
        })
        .collect()
}

/// A name no other test run uses, e.g. `t1a2b3c4d5e_label`.
pub fn unique_prefix(label: &str) -> String {
    let random = rand::random::<u64>() & 0xff_ffff_ffff;
    let label: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("t{random:010x}_{label}")
}

/// Calls `attempt` every [`POLL_INTERVAL`] until it returns `Ok`; after `timeout`, the last
/// error with the elapsed time.
pub async fn eventually<T, F, Fut>(timeout: Duration, mut attempt: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let started = Instant::now();
    loop {
        let remaining = timeout.saturating_sub(started.elapsed());
        let error = match tokio::time::timeout(remaining, attempt()).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(error)) => error,
            Err(_) => anyhow::anyhow!("attempt still pending at the deadline"),
        };
        if started.elapsed() >= timeout {
            let elapsed = started.elapsed();
            return Err(error.context(format!("not reached after {elapsed:?}")));
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Asserts that `cond` becomes true within `timeout`, polling every [`POLL_INTERVAL`].
#[allow(unused_macros)] // not every test binary polls this way
macro_rules! assert_eventually {
    ($cond:expr, timeout = $timeout:expr $(,)?) => {{
        let timeout: ::std::time::Duration = $timeout;
        let started = ::tokio::time::Instant::now();
        while !$cond {
            if started.elapsed() >= timeout {
                panic!(
                    "not true after {:?}: {}",
                    started.elapsed(),
                    stringify!($cond)
                );
            }
            ::tokio::time::sleep($crate::support::harness::POLL_INTERVAL).await;
        }
    }};
}

#[allow(unused_imports)]
pub(crate) use assert_eventually;

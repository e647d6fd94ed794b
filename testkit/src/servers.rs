//! Where the real test servers listen: env vars, else `.servers/env`, else standard ports.
//!
//! `scripts/servers.sh` starts (or reuses) the servers and writes `.servers/env`; reading the
//! file here means `cargo test` works without sourcing it first. An explicit `TUNEMESH_TEST_*`
//! variable always wins, so CI or a developer can point tests elsewhere without editing files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Addresses of the shared test servers and, when known, the binaries that run them (for tests
/// that start a private server they can kill).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestServers {
    /// Admin URL of PostgreSQL, e.g. `postgres://postgres@127.0.0.1:5432/postgres`.
    pub postgres_url: String,
    /// Redis URL, e.g. `redis://127.0.0.1:6379`.
    pub redis_url: String,
    /// NATS URL of a JetStream-enabled server, e.g. `nats://127.0.0.1:4222`.
    pub nats_url: String,
    /// Consul agent HTTP address, e.g. `http://127.0.0.1:8500`.
    pub consul_addr: String,
    /// Directory holding `initdb`, `pg_ctl` and `postgres`.
    pub postgres_bin_dir: Option<PathBuf>,
    /// The `redis-server` binary.
    pub redis_bin: Option<PathBuf>,
    /// The `nats-server` binary.
    pub nats_bin: Option<PathBuf>,
    /// The `consul` binary.
    pub consul_bin: Option<PathBuf>,
}

const POSTGRES_URL: &str = "TUNEMESH_TEST_POSTGRES_URL";
const REDIS_URL: &str = "TUNEMESH_TEST_REDIS_URL";
const NATS_URL: &str = "TUNEMESH_TEST_NATS_URL";
const CONSUL_ADDR: &str = "TUNEMESH_TEST_CONSUL_ADDR";
const POSTGRES_BIN_DIR: &str = "TUNEMESH_TEST_POSTGRES_BIN_DIR";
const REDIS_BIN: &str = "TUNEMESH_TEST_REDIS_BIN";
const NATS_BIN: &str = "TUNEMESH_TEST_NATS_BIN";
const CONSUL_BIN: &str = "TUNEMESH_TEST_CONSUL_BIN";

/// The test servers, resolved once per test process.
pub fn servers() -> &'static TestServers {
    static SERVERS: OnceLock<TestServers> = OnceLock::new();
    SERVERS.get_or_init(|| {
        let file = std::fs::read_to_string(env_file_path()).unwrap_or_default();
        TestServers::resolve(|key| std::env::var(key).ok(), &parse_env_file(&file))
    })
}

impl TestServers {
    /// Resolves every value from `env` first, then from `file`, then the standard default.
    fn resolve(env: impl Fn(&str) -> Option<String>, file: &HashMap<String, String>) -> Self {
        let get = |key: &str| {
            env(key)
                .filter(|v| !v.is_empty())
                .or_else(|| file.get(key).cloned())
        };
        let url = |key: &str, default: &str| get(key).unwrap_or_else(|| default.to_owned());
        let path = |key: &str| get(key).map(PathBuf::from);
        TestServers {
            postgres_url: url(POSTGRES_URL, "postgres://postgres@127.0.0.1:5432/postgres"),
            redis_url: url(REDIS_URL, "redis://127.0.0.1:6379"),
            nats_url: url(NATS_URL, "nats://127.0.0.1:4222"),
            consul_addr: url(CONSUL_ADDR, "http://127.0.0.1:8500"),
            postgres_bin_dir: path(POSTGRES_BIN_DIR),
            redis_bin: path(REDIS_BIN),
            nats_bin: path(NATS_BIN),
            consul_bin: path(CONSUL_BIN),
        }
    }
}

/// `$TUNEMESH_SERVERS_DIR/env` when the script ran with a custom state dir, else the
/// workspace's `.servers/env` (found from this crate's manifest dir, so any cwd works).
fn env_file_path() -> PathBuf {
    match std::env::var_os("TUNEMESH_SERVERS_DIR") {
        Some(dir) => Path::new(&dir).join("env"),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../.servers/env"),
    }
}

/// Parses `export KEY=VALUE` (or `KEY=VALUE`) lines; `#` comments and blank lines are skipped.
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

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# written by scripts/servers.sh\n\
        export TUNEMESH_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:25432/postgres\n\
        export TUNEMESH_TEST_REDIS_URL='redis://127.0.0.1:26379'\n\
        export TUNEMESH_TEST_CONSUL_BIN=/repo/.servers/bin/consul\n";

    #[test]
    fn env_var_wins_over_file_and_file_over_default() {
        let env = |key: &str| (key == REDIS_URL).then(|| "redis://10.0.0.1:1".to_owned());
        let servers = TestServers::resolve(env, &parse_env_file(FILE));
        assert_eq!(servers.redis_url, "redis://10.0.0.1:1");
        assert_eq!(
            servers.postgres_url,
            "postgres://postgres@127.0.0.1:25432/postgres"
        );
        assert_eq!(servers.nats_url, "nats://127.0.0.1:4222");
        assert_eq!(
            servers.consul_bin,
            Some(PathBuf::from("/repo/.servers/bin/consul"))
        );
        assert_eq!(servers.nats_bin, None);
    }

    #[test]
    fn empty_env_var_falls_through_to_file() {
        let env = |_: &str| Some(String::new());
        let servers = TestServers::resolve(env, &parse_env_file(FILE));
        assert_eq!(servers.redis_url, "redis://127.0.0.1:26379");
    }
}

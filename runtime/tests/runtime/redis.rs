//! The Redis adapter against the real server: shared server isolated by a unique key prefix,
//! and a private server this test can kill to see failures stay fast and recovery happen.

use std::process::Stdio;
use std::time::Duration;

use anyhow::Context as _;
use fred::prelude::KeysInterface as _;
use secrecy::SecretString;
use tokio::process::{Child, Command};
use tunemesh_runtime::redis::{KeyPrefix, RedisSettings, connect};
use tunemesh_testkit::{
    assert_eventually, delete_redis_keys, eventually, init_tracing, servers, unique_prefix,
};

fn settings_for(url: String, label: &str) -> RedisSettings {
    RedisSettings {
        url: SecretString::from(url),
        key_prefix: format!("{}:", unique_prefix(label)),
        pool_size: 2,
        ..RedisSettings::default()
    }
}

#[tokio::test]
async fn set_and_get_round_trip_under_the_key_prefix() -> anyhow::Result<()> {
    init_tracing();
    let settings = settings_for(servers().redis_url.clone(), "roundtrip");
    let pool = connect(&settings).await?;
    let keys = KeyPrefix::from(&settings).scoped("playlist");

    pool.set::<(), _, _>(keys.key(42), "liked songs", None, None, false)
        .await?;
    let title: Option<String> = pool.get(keys.key(42)).await?;
    assert_eq!(title.as_deref(), Some("liked songs"));
    let stored: Option<String> = pool
        .get(format!("{}playlist:42", settings.key_prefix))
        .await?;
    assert_eq!(stored, title, "the prefix is applied verbatim");

    assert_eq!(
        delete_redis_keys(pool.next(), &settings.key_prefix).await?,
        1
    );
    Ok(())
}

#[tokio::test]
async fn closed_port_fails_fast_with_an_error_naming_the_server() -> anyhow::Result<()> {
    init_tracing();
    let port = free_port()?;
    let settings = settings_for(format!("redis://:hunter2@127.0.0.1:{port}"), "closed");

    // The bound only detects a hang; a refused connection fails at once.
    let result = tokio::time::timeout(Duration::from_secs(3), connect(&settings))
        .await
        .context("connect to a closed port hung instead of failing")?;
    let message = result
        .err()
        .context("connect to a closed port succeeded")?
        .to_string();
    assert_eq!(message, format!("redis at 127.0.0.1:{port} is unreachable"));
    Ok(())
}

#[tokio::test]
async fn commands_fail_while_redis_is_down_and_work_again_after_it_returns() -> anyhow::Result<()> {
    init_tracing();
    let port = free_port()?;
    let mut server = start_private_redis(port).await?;
    let settings = settings_for(format!("redis://127.0.0.1:{port}"), "outage");
    let pool = connect(&settings).await?;
    let key = KeyPrefix::from(&settings).key("state");
    pool.set::<(), _, _>(&key, "before", None, None, false)
        .await?;

    server.kill().await?;
    // Once the connection is gone, a command errors (after at most command_timeout) instead
    // of waiting for Redis to come back.
    assert_eventually!(
        pool.get::<Option<String>, _>(&key).await.is_err(),
        timeout = Duration::from_secs(10),
        "commands kept succeeding after redis was killed",
    );

    let _server = start_private_redis(port).await?;
    assert_eventually!(
        pool.set::<(), _, _>(&key, "after", None, None, false)
            .await
            .is_ok(),
        timeout = Duration::from_secs(15),
        "the pool never reconnected to redis at 127.0.0.1:{port}",
    );
    Ok(())
}

/// Starts `redis-server` (the binary `scripts/servers.sh` found) on `port`, killed on drop.
async fn start_private_redis(port: u16) -> anyhow::Result<Child> {
    let bin = servers()
        .redis_bin
        .clone()
        .context("no redis-server binary known: run scripts/servers.sh")?;
    let child = Command::new(bin)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("start redis-server")?;
    eventually(Duration::from_secs(10), || async {
        tokio::net::TcpStream::connect(("127.0.0.1", port)).await
    })
    .await
    .context("private redis-server never listened")?;
    Ok(child)
}

/// A loopback port with nothing listening: bound by us, then released.
fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

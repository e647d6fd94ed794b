//! Servers of one test only, started from the binaries `scripts/servers.sh` found, on free
//! loopback ports, configured as the test needs (TLS, users, ACLs) and stopped when dropped.
//! The shared servers cannot be reconfigured that way without disturbing every other test.

mod consul;
mod nats;
mod postgres;
mod redis;

pub use consul::PrivateConsul;
pub use nats::PrivateNats;
pub use postgres::PrivatePostgres;
pub use redis::PrivateRedis;

use std::time::Duration;

/// A loopback port nothing listens on now (the OS picks it; the listener is closed at once).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Waits until something accepts TCP connections on `port`, or fails after `timeout`.
async fn wait_listening(port: u16, what: &str, timeout: Duration) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + timeout;
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "{what} never listened on {port}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

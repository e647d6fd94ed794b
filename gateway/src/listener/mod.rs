//! The gateway's accept loop: HTTP/1.1 and HTTP/2 cleartext on one port, as `axum::serve`
//! did, plus what a public listener needs against hostile clients: caps on open connections
//! (overall and per client address, `caps`), a timeout on request heads against slowloris,
//! and an idle timeout (`connection`). Written out because `axum::serve` offers none of
//! these and hyper-util's connection builder does the protocol work.
//!
//! # Layout
//! - [`caps`]: the caps, checked at accept.
//! - [`connection`]: one connection, its timeouts and watchdog.

pub(crate) mod caps;
pub(crate) mod connection;

use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub(crate) use caps::Caps;
pub(crate) use connection::Bounds;

use crate::router::App;

/// Pause after an accept error other than a failed connection (out of file descriptors):
/// retrying at once would spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves `app` on `listener` until `shutdown` is cancelled, then lets every connection
/// finish its requests and returns once all are closed (the caller bounds that wait).
pub(crate) async fn serve(
    listener: TcpListener,
    app: App,
    caps: Caps,
    bounds: Bounds,
    shutdown: CancellationToken,
) {
    let connections = TaskTracker::new();
    loop {
        // Unconstrained by tokio's cooperative budget: accepting is cheap next to serving, and
        // an accept loop that yields after every 128 accepts waits behind thousands of busy
        // connections while the kernel's queue overflows (the caps bound what it lets in).
        let accepted = tokio::select! {
            accepted = tokio::task::unconstrained(listener.accept()) => accepted,
            () = shutdown.cancelled() => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) if is_connection_error(&error) => continue,
            Err(error) => {
                tracing::warn!(%error, "cannot accept connections");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        // Over a cap the socket is closed at once: it costs nothing more.
        let Ok(admission) = caps.admit(peer.ip()) else {
            continue;
        };
        // Without it, Nagle's algorithm holds each small write after the first until the
        // client acknowledges the previous one, which Linux delays by 40 ms: a gRPC answer
        // (headers, data, trailers written apart) took a constant 48 ms through the gateway.
        // Failing leaves a slower socket, not a broken one.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%peer, %error, "cannot set TCP_NODELAY");
        }
        connections.spawn(connection::serve(
            stream,
            peer,
            app.clone(),
            bounds,
            shutdown.clone(),
            admission,
        ));
    }
    drop(listener);
    connections.close();
    connections.wait().await;
}

/// Errors that concern one connection only (the peer gave up before it was accepted).
fn is_connection_error(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

//! One client connection: HTTP/1.1 or HTTP/2 (prior knowledge) on the same port, a timeout on
//! request heads, and a watchdog that closes the connection when it sent no whole request in
//! time or when nothing moves on it (idle keep-alive, or a client that stopped reading). A
//! connection waiting for the gateway's own answer (an upload being transcoded) is not idle.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

use super::caps::Admission;
use crate::router::App;

/// What a connection is bounded by.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bounds {
    /// Longest wait for a whole request head.
    pub header_read_timeout: Duration,
    /// Longest time without a byte read or written.
    pub idle_timeout: Duration,
}

/// Counts what happens on a connection, for its watchdog: I/O calls that moved bytes,
/// requests started, and requests whose response head the app has not produced yet. Relaxed
/// atomic adds, no lock, no allocation.
#[derive(Debug, Default)]
struct Activity {
    io: AtomicU64,
    requests: AtomicU64,
    awaiting: AtomicU64,
}

/// One request waiting for its response head, counted while it lives.
struct Awaiting(Arc<Activity>);

impl Awaiting {
    fn new(activity: Arc<Activity>) -> Self {
        activity.awaiting.fetch_add(1, Ordering::Relaxed);
        Self(activity)
    }
}

impl Drop for Awaiting {
    fn drop(&mut self) {
        self.0.awaiting.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The client socket, counting the reads and writes that moved bytes.
#[derive(Debug)]
struct Counted {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl Counted {
    fn moved<T>(&self, result: &Poll<io::Result<T>>, bytes: impl FnOnce(&T) -> bool) {
        if let Poll::Ready(Ok(n)) = result
            && bytes(n)
        {
            self.activity.io.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        let after = buf.filled().len();
        self.moved(&result, |()| after > before);
        result
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.moved(&result, |n| *n > 0);
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.moved(&result, |n| *n > 0);
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Serves `stream` from `peer` with `app` until it closes, the watchdog closes it, or
/// `shutdown` asks it to finish its requests and close. `admission` is its place under the
/// caps, given back when this returns.
pub(crate) async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    app: App,
    bounds: Bounds,
    shutdown: CancellationToken,
    admission: Admission,
) {
    let _admission = admission;
    let activity = Arc::new(Activity::default());
    let io = TokioIo::new(Counted {
        inner: stream,
        activity: activity.clone(),
    });
    let service = {
        let activity = activity.clone();
        hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            activity.requests.fetch_add(1, Ordering::Relaxed);
            let mut request = request.map(axum::body::Body::new);
            // What per-address limits key on, as `into_make_service_with_connect_info` did.
            request.extensions_mut().insert(ConnectInfo(peer));
            let awaiting = Awaiting::new(activity.clone());
            let response = app.clone().oneshot(request);
            async move {
                let _awaiting = awaiting;
                response.await
            }
        })
    };
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(bounds.header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    let conn = builder.serve_connection_with_upgrades(io, service);
    tokio::pin!(conn);

    // First check: a whole request by the header timeout (this also covers the protocol
    // detection, which hyper does without a timeout); then: something moved each period.
    let watchdog = tokio::time::sleep(bounds.header_read_timeout);
    tokio::pin!(watchdog);
    let mut first = true;
    let mut seen = 0;
    let mut draining = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%peer, %error, "connection ended with an error");
                }
                return;
            }
            () = shutdown.cancelled(), if !draining => {
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
            () = &mut watchdog => {
                if first && activity.requests.load(Ordering::Relaxed) == 0 {
                    tracing::debug!(%peer, "no request head in time, closing");
                    return;
                }
                let moved = activity.io.load(Ordering::Relaxed);
                // The app's own slowness is bounded by its timeouts, not taken for idleness.
                let waiting_on_us = activity.awaiting.load(Ordering::Relaxed) > 0;
                if !first && moved == seen && !waiting_on_us {
                    tracing::debug!(%peer, "connection idle, closing");
                    return;
                }
                first = false;
                seen = moved;
                let next = tokio::time::Instant::now() + bounds.idle_timeout;
                watchdog.as_mut().reset(next);
            }
        }
    }
}

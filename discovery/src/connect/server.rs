//! The accepting side: TCP connections become mutual-TLS connections whose caller is known
//! and judged before the first request is read.
//!
//! Handshakes run off the accept loop, bounded in number and time, so a peer that opens
//! connections and never speaks cannot stall the listener or hold more than one slot each.
//! A caller the policy refuses still gets its connection: every request on it is answered
//! PERMISSION_DENIED with both identities named (by the runtime's authorization layer), which
//! tells its operator what to fix, where a dropped connection would only say "reset".

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::Connected;

use super::spiffe::{SpiffeId, serial_of};
use super::{MeshTls, PeerService};

/// Handshakes in progress at once; more connections wait in the kernel's backlog.
const HANDSHAKES: usize = 256;
/// Connections handshaken but not yet taken by the server.
const READY: usize = 64;

/// Who is on the other end of a connection and whether the policy lets it call.
#[derive(Debug, Clone)]
pub struct MeshConnInfo {
    /// The peer's address.
    pub remote: Option<SocketAddr>,
    /// The caller's identity.
    pub peer: SpiffeId,
    /// The service it may call as, or why it may not.
    pub verdict: Result<PeerService, Arc<str>>,
}

/// One accepted, authenticated connection.
#[derive(Debug)]
pub struct MeshConn {
    stream: TlsStream<TcpStream>,
    info: MeshConnInfo,
}

/// The listener's connections after TLS and authorization, for tonic's
/// `serve_with_incoming`. Accepting stops when the stream is dropped.
/// Dead idle peers are found by the server's HTTP/2 keep-alive pings.
pub fn incoming(
    listener: TcpListener,
    tls: MeshTls,
) -> impl Stream<Item = io::Result<MeshConn>> + Send + 'static {
    let (tx, rx) = mpsc::channel(READY);
    tokio::spawn(accept_loop(listener, tls, tx));
    ReceiverStream::new(rx)
}

async fn accept_loop(listener: TcpListener, tls: MeshTls, tx: mpsc::Sender<io::Result<MeshConn>>) {
    let slots = Arc::new(Semaphore::new(HANDSHAKES));
    loop {
        let permit = tokio::select! {
            () = tx.closed() => return,
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
        };
        let accepted = tokio::select! {
            () = tx.closed() => return,
            accepted = listener.accept() => accepted,
        };
        let (tcp, remote) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors and the like: wait instead of spinning.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let (tls, tx) = (tls.clone(), tx.clone());
        tokio::spawn(async move {
            let _permit = permit;
            match tokio::time::timeout(tls.handshake_timeout(), handshake(tcp, remote, &tls)).await
            {
                Ok(Ok(conn)) => {
                    let _ = tx.send(Ok(conn)).await;
                }
                Ok(Err(reason)) => {
                    metrics::counter!("tunemesh_mesh_tls_refused_total", "reason" => reason)
                        .increment(1);
                    tracing::debug!(%remote, reason, "mutual TLS handshake refused");
                }
                Err(_) => {
                    metrics::counter!("tunemesh_mesh_tls_refused_total", "reason" => "timeout")
                        .increment(1);
                }
            }
        });
    }
}

/// The handshake and the policy's verdict; the error is a metric label (a fixed set).
async fn handshake(
    tcp: TcpStream,
    remote: SocketAddr,
    tls: &MeshTls,
) -> Result<MeshConn, &'static str> {
    let acceptor = TlsAcceptor::from(tls.current().server.clone());
    let stream = acceptor.accept(tcp).await.map_err(|_| "handshake")?;
    let leaf = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .ok_or("no_certificate")?;
    let peer = SpiffeId::of_certificate(leaf).map_err(|_| "no_identity")?;
    let serial = serial_of(leaf).map_err(|_| "no_identity")?;
    let ours = tls.id();
    let verdict = if peer.trust_domain != ours.trust_domain {
        Err(format!(
            "{peer} is from another trust domain than {ours} and may not call {}",
            tls.service()
        ))
    } else {
        let decision = tls
            .authorizer()
            .authorize(tls.service(), &peer, &serial)
            .await;
        if decision.allowed {
            Ok(PeerService(Arc::from(peer.service.as_str())))
        } else {
            Err(format!(
                "{peer} may not call {} ({ours}): {}",
                tls.service(),
                decision.reason
            ))
        }
    };
    if let Err(reason) = &verdict {
        tracing::warn!(%remote, reason, "caller refused by policy");
    }
    Ok(MeshConn {
        stream,
        info: MeshConnInfo {
            remote: Some(remote),
            peer,
            verdict: verdict.map_err(Arc::from),
        },
    })
}

impl Connected for MeshConn {
    type ConnectInfo = MeshConnInfo;

    fn connect_info(&self) -> MeshConnInfo {
        self.info.clone()
    }
}

impl AsyncRead for MeshConn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for MeshConn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

//! The calling side: each connection to an endpoint presents this service's current leaf and
//! goes on only if the endpoint proves to be the service called (see `verify.rs`).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::Uri;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::{ConnectError, MeshTls};

/// Opens mutual-TLS connections to instances of one service, for tonic's
/// `Endpoint::connect_with_connector`.
#[derive(Clone, Debug)]
pub struct MeshConnector {
    tls: MeshTls,
    service: ServerName<'static>,
}

/// A connector to instances of `service`, presenting `tls`'s leaf.
pub fn connector(tls: &MeshTls, service: &str) -> Result<MeshConnector, ConnectError> {
    let name = ServerName::try_from(service.to_owned())
        .map_err(|_| ConnectError::Identity(format!("{service:?} is not a service name")))?;
    Ok(MeshConnector {
        tls: tls.clone(),
        service: name,
    })
}

impl MeshConnector {
    /// Opens a mutual-TLS connection to the instance at `addr`.
    pub(crate) async fn connect(&self, addr: SocketAddr) -> io::Result<TlsStream<TcpStream>> {
        let tcp = TcpStream::connect(addr).await?;
        tls(self.tls.current().client.clone(), self.service.clone(), tcp).await
    }
}

/// The TLS handshake over `tcp`, expecting the peer to prove it is `service`.
async fn tls(
    config: Arc<rustls::ClientConfig>,
    service: ServerName<'static>,
    tcp: TcpStream,
) -> io::Result<TlsStream<TcpStream>> {
    tcp.set_nodelay(true)?;
    TlsConnector::from(config).connect(service, tcp).await
}

type Connecting = Pin<Box<dyn Future<Output = io::Result<TokioIo<TlsStream<TcpStream>>>> + Send>>;

impl tower::Service<Uri> for MeshConnector {
    type Response = TokioIo<TlsStream<TcpStream>>;
    type Error = io::Error;
    type Future = Connecting;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let config = self.tls.current().client.clone();
        let service = self.service.clone();
        Box::pin(async move {
            let host = uri
                .host()
                .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no host"))?;
            // `[::1]` in a URI is `::1` to the resolver.
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let port = uri.port_u16().unwrap_or(80);
            let tcp = TcpStream::connect((host, port)).await?;
            Ok(TokioIo::new(tls(config, service, tcp).await?))
        })
    }
}

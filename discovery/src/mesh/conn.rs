//! One endpoint's HTTP/2 connection, driven by the mesh itself.
//!
//! tonic's `Channel` puts a queue and a worker task in front of its connection: every call is
//! handed to that task and its answer handed back, two wake-ups across threads. The mesh has
//! no use for them: its balancer already dispatches one call at a time and its breaker counts
//! failed connects. So an endpoint sends on hyper's `SendRequest` from the caller's own task
//! (about 1.5 µs of CPU less a call, BENCHMARKS.md "Mesh channel").
//!
//! What the channel did and this keeps: the connection is opened lazily, by the first call
//! (a connect failure fails that call, where the breaker sees it); a connection that died is
//! replaced by the next call; calls that arrive while it connects wait for the one attempt,
//! bounded by the connect timeout; HTTP/2 keep-alive and window sizes are the mesh's settings.
//! And one thing it did not: a request the connection closed before sending (a replica
//! going away gracefully) goes once more on a new connection instead of failing.
//!
//! What it does not: enforce the call's deadline with a timer of its own, as tonic's channel
//! did for `grpc-timeout`. The fail-fast layer's timer bounds the whole call already; the
//! endpoint layers classify a call it drops at a deadline (`metered.rs`, `breaker.rs`).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::FutureExt as _;
use futures::future::{BoxFuture, Either, Shared};
use http::uri::{Authority, Scheme};
use http::{HeaderValue, Uri};
use hyper::body::Incoming;
use hyper::client::conn::TrySendError;
use hyper::client::conn::http2::{Builder, SendRequest};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tonic::body::Body;
use tower::Service;

use super::error::BoxError;
use crate::MeshSettings;
use crate::connect::MeshConnector;

/// Sent as `user-agent`, as tonic's channel sent its own.
static USER_AGENT: HeaderValue =
    HeaderValue::from_static(concat!("tunemesh-mesh/", env!("CARGO_PKG_VERSION")));

/// How an endpoint's connections are opened.
#[derive(Debug, Clone)]
pub(crate) enum Transport {
    /// Plain TCP (a mesh without mutual TLS).
    Plain,
    /// Mutual TLS, presenting this service's leaf to an endpoint that must prove its name.
    Tls(MeshConnector),
}

/// A lazily opened HTTP/2 connection to one endpoint. Clones share the connection.
#[derive(Clone)]
pub(crate) struct Connection {
    /// This clone's handle on the live connection: a call on it takes no lock.
    sender: Option<SendRequest<Body>>,
    inner: Arc<Inner>,
}

struct Inner {
    target: Arc<Target>,
    state: Mutex<State>,
}

/// What opening a connection needs. Apart from [`Inner`] so that an attempt nobody awaits
/// any more (the endpoint gone) does not keep the endpoint alive.
struct Target {
    addr: SocketAddr,
    authority: Authority,
    transport: Transport,
    settings: Builder<TokioExecutor>,
    connect_timeout: Duration,
}

/// A connect attempt that calls may join; its error is shared by all of them.
type Connecting = Shared<BoxFuture<'static, Result<SendRequest<Body>, Arc<BoxError>>>>;

enum State {
    /// No connection, and nobody opening one.
    Idle,
    /// A call is opening one; others wait for the same attempt.
    Connecting(Connecting),
    /// Open (it may have died since: checked on use).
    Open(SendRequest<Body>),
}

impl Connection {
    /// A connection to `addr`, opened by its first call.
    pub(crate) fn lazy(
        addr: SocketAddr,
        transport: Transport,
        mesh: &MeshSettings,
    ) -> Result<Self, http::uri::InvalidUri> {
        let mut settings = Builder::new(TokioExecutor::new());
        settings
            .timer(TokioTimer::new())
            .initial_stream_window_size(mesh.stream_window_bytes)
            .initial_connection_window_size(mesh.connection_window_bytes)
            .keep_alive_interval(mesh.keep_alive_interval)
            .keep_alive_while_idle(true);
        Ok(Self::to(Arc::new(Target {
            addr,
            authority: addr.to_string().parse()?,
            transport,
            settings,
            connect_timeout: mesh.connect_timeout,
        })))
    }

    /// Another connection to the same endpoint, opened by its first call.
    pub(crate) fn fresh(&self) -> Self {
        Self::to(self.inner.target.clone())
    }

    fn to(target: Arc<Target>) -> Self {
        Self {
            sender: None,
            inner: Arc::new(Inner {
                target,
                state: Mutex::new(State::Idle),
            }),
        }
    }

    /// The live connection if there is one, or the attempt to open one to wait for.
    fn current(&mut self) -> Result<&mut SendRequest<Body>, Connecting> {
        match self.sender.take() {
            Some(sender) if !sender.is_closed() => Ok(self.sender.insert(sender)),
            _ => Ok(self.sender.insert(self.inner.open()?)),
        }
    }
}

impl Inner {
    /// The shared live connection, or the attempt to open one (started here if none is).
    fn open(self: &Arc<Self>) -> Result<SendRequest<Body>, Connecting> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match &*state {
            State::Open(sender) if !sender.is_closed() => Ok(sender.clone()),
            State::Connecting(attempt) => Err(attempt.clone()),
            State::Idle | State::Open(_) => {
                let attempt = connect(self.target.clone(), Arc::downgrade(self))
                    .boxed()
                    .shared();
                *state = State::Connecting(attempt.clone());
                Err(attempt)
            }
        }
    }
}

/// Opens a connection to `target` (within the connect timeout) and records how it went in
/// `inner`'s state, if the endpoint is still there.
async fn connect(
    target: Arc<Target>,
    inner: Weak<Inner>,
) -> Result<SendRequest<Body>, Arc<BoxError>> {
    let opened = match tokio::time::timeout(target.connect_timeout, target.handshake()).await {
        Ok(result) => result.map_err(Arc::new),
        Err(_elapsed) => Err(Arc::new(
            format!(
                "connecting to {} took longer than {:?}",
                target.addr, target.connect_timeout
            )
            .into(),
        )),
    };
    if let Some(inner) = inner.upgrade() {
        let mut state = inner.state.lock().unwrap_or_else(PoisonError::into_inner);
        // After a failure the next call tries again; the breaker above decides how often.
        *state = match &opened {
            Ok(sender) => State::Open(sender.clone()),
            Err(_) => State::Idle,
        };
    }
    opened
}

impl Target {
    async fn handshake(&self) -> Result<SendRequest<Body>, BoxError> {
        match &self.transport {
            Transport::Plain => {
                let tcp = TcpStream::connect(self.addr).await?;
                tcp.set_nodelay(true)?;
                self.http2(tcp).await
            }
            Transport::Tls(connector) => self.http2(connector.connect(self.addr).await?).await,
        }
    }

    /// HTTP/2 over `io`, its connection driven by a task of its own until both ends are done.
    async fn http2<T>(&self, io: T) -> Result<SendRequest<Body>, BoxError>
    where
        T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let (sender, connection) = self.settings.handshake(TokioIo::new(io)).await?;
        let addr = self.addr;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%addr, %error, "mesh connection ended");
            }
        });
        Ok(sender)
    }
}

/// A connect attempt's error, as one call's error (the attempt's is shared).
#[derive(Debug)]
struct ConnectFailed(Arc<BoxError>);

impl std::fmt::Display for ConnectFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for ConnectFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// Why a call on a [`Connection`] got no answer: its endpoint and the cause (the source, so
/// the endpoint layers can tell a deadline that fired from a connection that failed).
#[derive(Debug, thiserror::Error)]
#[error("{addr}: {source}")]
pub struct NoAnswer {
    addr: SocketAddr,
    source: BoxError,
}

/// The future of a call on a [`Connection`].
pub(crate) type ResponseFuture = BoxFuture<'static, Result<http::Response<Body>, NoAnswer>>;

impl Service<http::Request<Body>> for Connection {
    type Response = http::Response<Body>;
    type Error = NoAnswer;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), NoAnswer>> {
        // Connecting happens inside a call, so its failure is that call's (see the module).
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: http::Request<Body>) -> ResponseFuture {
        let addr = self.inner.target.addr;
        let mut uri = http::uri::Parts::from(std::mem::take(req.uri_mut()));
        uri.scheme = Some(Scheme::HTTP);
        uri.authority = Some(self.inner.target.authority.clone());
        match Uri::from_parts(uri) {
            Ok(uri) => *req.uri_mut() = uri,
            Err(error) => {
                let source = error.into();
                return Box::pin(std::future::ready(Err(NoAnswer { addr, source })));
            }
        }
        req.headers_mut()
            .entry(http::header::USER_AGENT)
            .or_insert_with(|| USER_AGENT.clone());
        // One allocation a call: the live connection's send, or the wait for one, inside the
        // same boxed future.
        let inner = self.inner.clone();
        let answer = match self.current() {
            Ok(sender) => Either::Left(resend_unsent(sender.try_send_request(req), inner)),
            Err(attempt) => Either::Right(async move {
                let mut sender = attempt.await.map_err(ConnectFailed)?;
                resend_unsent(sender.try_send_request(req), inner).await
            }),
        };
        Box::pin(async move {
            match answer.await {
                Ok(response) => Ok(response.map(Body::new)),
                Err(source) => Err(NoAnswer { addr, source }),
            }
        })
    }
}

/// The answer to a request sent on a connection, or, when the connection closed before the
/// request went out (a server going away gracefully, as on every rolling restart), the answer
/// to it sent once more on a new connection: it never reached the server, so resending is
/// safe whatever the call does.
async fn resend_unsent(
    sent: impl Future<Output = Result<http::Response<Incoming>, TrySendError<http::Request<Body>>>>,
    inner: Arc<Inner>,
) -> Result<http::Response<Incoming>, BoxError> {
    let mut error = match sent.await {
        Ok(response) => return Ok(response),
        Err(error) => error,
    };
    let Some(request) = error.take_message() else {
        return Err(error.into_error().into());
    };
    let mut sender = match inner.open() {
        Ok(sender) => sender,
        Err(attempt) => attempt.await.map_err(ConnectFailed)?,
    };
    Ok(sender.send_request(request).await?)
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("addr", &self.inner.target.addr)
            .field("open", &self.sender.is_some())
            .finish()
    }
}

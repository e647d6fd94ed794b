//! A server layer that applies the policy's verdict on the caller's connection (see
//! `tunemesh_discovery::connect`): a refused caller gets PERMISSION_DENIED naming both
//! identities on every call; an allowed one's service name reaches the handler as
//! [`PeerService`]. Requests that came without mutual TLS (the health-only listener, tests
//! that serve in plaintext) pass unchanged and carry no `PeerService`.

use std::task::{Context, Poll};

use futures::future::{Either, Ready, ready};
use http::{Request, Response};
use tower::{Layer, Service};
use tunemesh_discovery::PeerService;
use tunemesh_discovery::connect::MeshConnInfo;

/// Turns each connection's verdict into a refusal or a [`PeerService`].
#[derive(Debug, Clone, Copy, Default)]
pub struct AuthorizeLayer;

impl<S> Layer<S> for AuthorizeLayer {
    type Service = Authorize<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Authorize { inner }
    }
}

/// The service made by [`AuthorizeLayer`].
#[derive(Debug, Clone)]
pub struct Authorize<S> {
    inner: S,
}

impl<S, B, R> Service<Request<B>> for Authorize<S>
where
    S: Service<Request<B>, Response = Response<R>>,
    R: Default,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = Either<S::Future, Ready<Result<Response<R>, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let verdict = request
            .extensions()
            .get::<MeshConnInfo>()
            .map(|info| info.verdict.clone());
        match verdict {
            None => Either::Left(self.inner.call(request)),
            Some(Ok(peer)) => {
                request.extensions_mut().insert::<PeerService>(peer);
                Either::Left(self.inner.call(request))
            }
            Some(Err(reason)) => {
                metrics::counter!("tunemesh_grpc_server_refused_total").increment(1);
                let status = tonic::Status::permission_denied(reason.to_string());
                Either::Right(ready(Ok(status.into_http())))
            }
        }
    }
}

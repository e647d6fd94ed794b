//! One listener for REST and gRPC: requests whose content-type is `application/grpc*`
//! (native gRPC and every gRPC-web variant) go to the gRPC edge, everything else to the REST
//! router. The content-type decides, not the path, so a gRPC client never gets a JSON answer
//! and a browser never reaches the proxy by accident.

use std::convert::Infallible;
use std::task::{Context, Poll};

use axum::body::Body;
use bytes::Bytes;
use futures::future::{BoxFuture, FutureExt as _};
use http::header::CONTENT_TYPE;
use http::{Request, Response};
use tower::{Layer, Service, ServiceExt as _};

/// Puts [`GrpcSwitch`] in front of the REST service.
#[derive(Debug, Clone)]
pub(crate) struct GrpcSwitchLayer<G> {
    grpc: G,
}

impl<G> GrpcSwitchLayer<G> {
    /// Sends gRPC requests to `grpc`.
    pub(crate) fn new(grpc: G) -> Self {
        Self { grpc }
    }
}

impl<G: Clone, S> Layer<S> for GrpcSwitchLayer<G> {
    type Service = GrpcSwitch<G, S>;

    fn layer(&self, rest: S) -> GrpcSwitch<G, S> {
        GrpcSwitch {
            grpc: self.grpc.clone(),
            rest,
        }
    }
}

/// See [`GrpcSwitchLayer`].
#[derive(Debug, Clone)]
pub(crate) struct GrpcSwitch<G, S> {
    grpc: G,
    rest: S,
}

/// Whether `request` is gRPC or gRPC-web.
pub(crate) fn is_grpc<B>(request: &Request<B>) -> bool {
    request
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"))
}

impl<G, GB, S> Service<Request<Body>> for GrpcSwitch<G, S>
where
    G: Service<Request<Body>, Response = Response<GB>, Error = Infallible> + Clone + Send + 'static,
    G::Future: Send,
    GB: http_body::Body<Data = Bytes> + Send + 'static,
    GB::Error: Into<axum::BoxError>,
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // Which inner service is called is known only per request: each call drives the
        // readiness of its own clone.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        if is_grpc(&request) {
            self.grpc
                .clone()
                .oneshot(request)
                .map(|result| result.map(|response| response.map(Body::new)))
                .boxed()
        } else {
            self.rest.clone().oneshot(request).boxed()
        }
    }
}

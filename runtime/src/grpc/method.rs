//! A server layer that records which gRPC method a request called, for the caller check: a
//! gateway assertion is bound to one method (`mth`), and tonic hands handlers no path.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::Request;
use tower::{Layer, Service};

use crate::identity::CalledMethod;

/// Puts the request's path (`/pkg.Service/Method`) in its extensions as [`CalledMethod`].
#[derive(Debug, Clone, Copy, Default)]
pub struct MethodLayer;

impl<S> Layer<S> for MethodLayer {
    type Service = Method<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Method { inner }
    }
}

/// The service made by [`MethodLayer`].
#[derive(Debug, Clone)]
pub struct Method<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for Method<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let path = CalledMethod(Arc::from(request.uri().path()));
        request.extensions_mut().insert(path);
        self.inner.call(request)
    }
}

//! Two connections per endpoint: one for calls that answer at once, one for calls whose
//! response streams for long (audio). HTTP/2 caps the streams of one connection (player-svc
//! allows 256), and a listener who stops reading keeps a stream open; on a shared connection
//! a few hundred such streams would make every unary call wait for a free stream. Calls mark
//! themselves with a [`Streaming`] request extension. Streams take more connections as their
//! number needs (`streams.rs`).

use std::task::{Context, Poll};

use tonic::body::Body;
use tower::Service;

use super::conn::{Connection, NoAnswer, ResponseFuture};
use super::streams::Streams;

/// Marks a call whose response streams for long (insert it into the request's extensions):
/// it goes over the endpoint's streaming connection, so it never holds up unary calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Streaming;

/// One endpoint's unary and streaming connections.
#[derive(Debug, Clone)]
pub struct Split {
    unary: Connection,
    streaming: Streams,
}

impl Split {
    /// Calls over `unary`, streaming calls over `streaming`.
    pub(crate) fn new(unary: Connection, streaming: Streams) -> Self {
        Self { unary, streaming }
    }
}

impl Service<http::Request<Body>> for Split {
    type Response = http::Response<Body>;
    type Error = NoAnswer;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Both connections are always ready: each opens inside a call (see `conn.rs`).
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        match request.extensions().get::<Streaming>() {
            Some(Streaming) => self.streaming.call(request),
            None => self.unary.call(request),
        }
    }
}

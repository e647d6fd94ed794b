//! Two connections per endpoint: one for calls that answer at once, one for calls whose
//! response streams for long (audio). HTTP/2 caps the streams of one connection (player-svc
//! allows 256), and a listener who stops reading keeps a stream open; on a shared connection
//! a few hundred such streams would make every unary call wait for a free stream. Calls mark
//! themselves with a [`Streaming`] request extension.

use std::task::{Context, Poll};

use tonic::body::Body;
use tonic::transport::Channel;
use tower::Service;
use tower::util::{Oneshot, ServiceExt as _};

/// Marks a call whose response streams for long (insert it into the request's extensions):
/// it goes over the endpoint's streaming connection, so it never holds up unary calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Streaming;

/// One endpoint's unary and streaming connections.
#[derive(Debug, Clone)]
pub struct Split {
    unary: Channel,
    streaming: Channel,
}

impl Split {
    /// Calls over `unary`, streaming calls over `streaming`.
    pub fn new(unary: Channel, streaming: Channel) -> Self {
        Self { unary, streaming }
    }
}

impl Service<http::Request<Body>> for Split {
    type Response = http::Response<Body>;
    type Error = tonic::transport::Error;
    type Future = Oneshot<Channel, http::Request<Body>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Which connection a call takes is known only per call: each call awaits its own
        // connection's readiness (a channel's readiness is room in its queue, not a peer).
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let channel = match request.extensions().get::<Streaming>() {
            Some(Streaming) => self.streaming.clone(),
            None => self.unary.clone(),
        };
        channel.oneshot(request)
    }
}

//! Long streams to one endpoint over as many connections as their number needs.
//!
//! A server caps the streams open at once on one connection (player-svc: 256,
//! `grpc.max_concurrent_streams`); past it, hyper holds a new call until a stream ends, and
//! streams that last a whole track end slowly: the call waits out the mesh's timeout and
//! fails. The gateway multiplexes every listener's audio onto its streaming connection to a
//! player-svc replica, so one connection would cap a gateway at 256 listeners per replica. Here
//! each connection carries at most `mesh.streams_per_connection` streams; the next one opens
//! another connection, and connections left idle at the end are closed again.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use http_body_util::BodyExt as _;
use tonic::body::Body;
use tower::Service as _;

use super::conn::{Connection, NoAnswer, ResponseFuture};

/// One endpoint's streaming connections, filled in order.
#[derive(Debug, Clone)]
pub(crate) struct Streams {
    /// Never empty: the first is opened by the first stream and kept.
    connections: Vec<Counted>,
    per_connection: usize,
}

/// A connection and how many of its streams are open.
#[derive(Debug, Clone)]
struct Counted {
    connection: Connection,
    open: Arc<AtomicUsize>,
}

impl Counted {
    fn new(connection: Connection) -> Self {
        Self {
            connection,
            open: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }
}

/// One open stream: counted until its answer's body is dropped (or the call fails).
struct Open(Arc<AtomicUsize>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Streams {
    /// Streams over `first` and, when it is full, more connections to the same endpoint.
    pub(crate) fn new(first: Connection, per_connection: usize) -> Self {
        Self {
            connections: vec![Counted::new(first)],
            per_connection: per_connection.max(1),
        }
    }

    /// Sends `request` on the first connection with room for one more stream.
    pub(crate) fn call(&mut self, request: http::Request<Body>) -> ResponseFuture {
        // Connections past the first that no stream uses any more close (their last clone
        // goes); they fill in order, so the idle ones are at the end.
        while self.connections.len() > 1 && self.connections.last().is_some_and(|c| c.open() == 0) {
            self.connections.pop();
        }
        let index = match self
            .connections
            .iter()
            .position(|c| c.open() < self.per_connection)
        {
            Some(index) => index,
            None => {
                let fresh = self.connections[0].connection.fresh();
                self.connections.push(Counted::new(fresh));
                self.connections.len() - 1
            }
        };
        let slot = &mut self.connections[index];
        slot.open.fetch_add(1, Ordering::Relaxed);
        let open = Open(slot.open.clone());
        let answer = slot.connection.call(request);
        Box::pin(async move {
            let response: http::Response<Body> = answer.await?;
            // The stream stays counted for as long as its body lives.
            Ok::<_, NoAnswer>(response.map(|body| {
                Body::new(body.map_frame(move |frame| {
                    let _counted = &open;
                    frame
                }))
            }))
        })
    }
}

//! The whole answer of a retried unary call, read inside its try.
//!
//! A unary answer's headers, message and trailers are separate HTTP/2 frames. A replica
//! killed after its headers left but before the rest did fails the call only when the caller
//! reads the body, after the retry layer handed the response over: one lost call per kill
//! under load, however idempotent the call. So the retry layer reads the whole answer of a
//! call it retries before the try ends, and a body cut short is a failed try like a refused
//! connection. Calls marked [`Streaming`](super::Streaming) are not read ahead: their body
//! belongs to the caller from the headers on (the gateway's audio resumes by Range).
//!
//! Reading ahead costs the caller nothing: tonic decodes a message only once all of it has
//! arrived. An answer larger than [`READ_AHEAD`] is handed over once that much arrived,
//! the rest streaming behind it, so no call holds more than that in the mesh.

use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt as _;
use http_body_util::{BodyExt as _, BodyStream, StreamBody};
use tonic::body::Body;

use super::error::MeshError;
use crate::deadline::Deadline;

/// Bytes of an answer read ahead at most: far above a unary answer of the services here.
pub(crate) const READ_AHEAD: usize = 8 << 20;

/// Reads `response`'s body until it ends, fails, reaches [`READ_AHEAD`] bytes or `deadline`
/// passes; a body that failed (or timed out) is the try's error.
pub(crate) async fn read_ahead(
    service: &Arc<str>,
    response: http::Response<Body>,
    deadline: Deadline,
) -> Result<http::Response<Body>, MeshError> {
    let (head, mut body) = response.into_parts();
    let mut frames = Vec::new();
    let mut buffered = 0;
    let read = async {
        while buffered < READ_AHEAD {
            match body.frame().await {
                None => return Ok(true),
                Some(Ok(frame)) => {
                    buffered += frame.data_ref().map_or(0, Bytes::len);
                    frames.push(frame);
                }
                Some(Err(status)) => return Err(status),
            }
        }
        Ok(false)
    };
    let waited = tokio::time::Instant::now();
    let ended = match tokio::time::timeout_at(deadline.instant(), read).await {
        Ok(Ok(ended)) => ended,
        Ok(Err(status)) => return Err(MeshError::unavailable(service.clone(), status.into())),
        Err(_) => {
            let after = waited.elapsed();
            return Err(MeshError::deadline_exceeded(service.clone(), after));
        }
    };
    let read = futures::stream::iter(frames.into_iter().map(Ok));
    let body = if ended {
        Body::new(StreamBody::new(read))
    } else {
        Body::new(StreamBody::new(read.chain(BodyStream::new(body))))
    };
    Ok(http::Response::from_parts(head, body))
}

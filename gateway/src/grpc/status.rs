//! gRPC statuses leaving the edge: the same classification the REST routes apply
//! (`crate::error`), done on the `grpc-status` of proxied responses, whether it comes in the
//! response headers (trailers-only answers) or in the trailers at the end of a stream.
//!
//! Server errors are logged here with the service's detail and leave with a generic message;
//! client errors keep the service's message, which says what to fix.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use http_body::{Body, Frame, SizeHint};
use tonic::Code;

use tunemesh_discovery::mesh::grpc_status;

use crate::error::{ApiError, classify_downstream};

const GRPC_STATUS: &str = "grpc-status";
const GRPC_MESSAGE: &str = "grpc-message";
const GRPC_DETAILS: &str = "grpc-status-details-bin";

/// A status as a gRPC answer, from an error of the edge itself.
pub(crate) fn status_of(error: &ApiError) -> tonic::Status {
    tonic::Status::new(error.code().grpc_code(), error.message().to_owned())
}

/// Rewrites the status in `map` (headers or trailers) as [`classify_downstream`] says: a
/// server error leaves as a generic one; a client error keeps the service's message.
pub(crate) fn scrub(map: &mut HeaderMap) {
    let Some(code) = grpc_status(map).filter(|&code| code != Code::Ok) else {
        return;
    };
    let message = map
        .get(GRPC_MESSAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let (classified, replacement) = classify_downstream(code, message);
    let Some(replacement) = replacement else {
        return;
    };
    map.insert(
        GRPC_STATUS,
        HeaderValue::from(classified.grpc_code() as i32),
    );
    map.insert(GRPC_MESSAGE, HeaderValue::from_static(replacement));
    map.remove(GRPC_DETAILS);
}

/// A proxied response body whose trailers pass through [`scrub`]; data frames pass untouched
/// and unbuffered, so flow control still reaches the service.
#[derive(Debug)]
pub(crate) struct Scrubbed<B> {
    inner: B,
}

impl<B> Scrubbed<B> {
    /// Wraps `inner`.
    pub(crate) fn new(inner: B) -> Self {
        Self { inner }
    }
}

impl<B> Body for Scrubbed<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.inner)
            .poll_frame(cx)
            .map_ok(|frame| match frame.into_trailers() {
                Ok(mut trailers) => {
                    scrub(&mut trailers);
                    Frame::trailers(trailers)
                }
                Err(frame) => frame,
            })
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_status(code: Code, message: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(GRPC_STATUS, HeaderValue::from(code as i32));
        map.insert(GRPC_MESSAGE, HeaderValue::from_str(message).expect("ascii"));
        map
    }

    #[test]
    fn server_errors_lose_their_detail() {
        let mut map = with_status(Code::Internal, "db password=hunter2 failed");
        scrub(&mut map);
        assert_eq!(map[GRPC_STATUS], "13");
        assert_eq!(map[GRPC_MESSAGE], "internal error");
        let mut map = with_status(Code::Unauthenticated, "identity expired");
        scrub(&mut map);
        assert_eq!(map[GRPC_STATUS], "13");
    }

    #[test]
    fn client_errors_and_success_pass_unchanged() {
        for code in [
            Code::Ok,
            Code::NotFound,
            Code::FailedPrecondition,
            Code::Aborted,
            Code::OutOfRange,
        ] {
            let mut map = with_status(code, "playlist p1 not found");
            scrub(&mut map);
            assert_eq!(map, with_status(code, "playlist p1 not found"));
        }
    }
}

//! A bound on how long a proxied response may stream (`audio_timeout` for `StreamAudio`):
//! past it the stream ends with DEADLINE_EXCEEDED trailers, which also drops the stream to
//! the service. Checked as each frame passes, one clock read per frame; a client that stops
//! reading altogether is closed by the listener's idle timeout instead.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use http_body::{Body, Frame, SizeHint};
use tonic::Code;

/// A response body that ends with DEADLINE_EXCEEDED once `deadline` has passed.
#[derive(Debug)]
pub(crate) struct Deadlined<B> {
    inner: Option<B>,
    deadline: Instant,
}

impl<B> Deadlined<B> {
    /// `inner`, cut at `deadline`.
    pub(crate) fn new(inner: B, deadline: Instant) -> Self {
        Self {
            inner: Some(inner),
            deadline,
        }
    }
}

fn exceeded() -> HeaderMap {
    let mut trailers = HeaderMap::new();
    trailers.insert(
        "grpc-status",
        HeaderValue::from(Code::DeadlineExceeded as i32),
    );
    trailers.insert(
        "grpc-message",
        HeaderValue::from_static("the stream outlived the gateway's audio timeout"),
    );
    trailers
}

impl<B> Body for Deadlined<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let frame = std::task::ready!(Pin::new(inner).poll_frame(cx));
        if matches!(&frame, Some(Ok(f)) if f.is_data()) && Instant::now() >= self.deadline {
            // Dropping the inner body resets the stream to the service at once.
            self.inner = None;
            return Poll::Ready(Some(Ok(Frame::trailers(exceeded()))));
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use http_body_util::{BodyExt as _, StreamBody};

    use super::*;

    #[tokio::test]
    async fn a_stream_past_its_deadline_ends_with_deadline_exceeded() {
        let frames = futures::stream::iter(
            (0..3).map(|_| Ok::<_, std::convert::Infallible>(Frame::data(Bytes::from("x")))),
        );
        let past = Instant::now() - Duration::from_secs(1);
        let collected = Deadlined::new(StreamBody::new(frames), past)
            .collect()
            .await
            .expect("no error");
        let trailers = collected.trailers().cloned().expect("trailers");
        assert_eq!(trailers["grpc-status"], "4");
        assert!(
            collected.to_bytes().is_empty(),
            "nothing sent after the deadline"
        );
    }
}

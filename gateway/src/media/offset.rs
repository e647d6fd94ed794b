//! The progressive Ogg Opus file of a track from a time offset, for Subsonic's `stream` with
//! `timeOffset` (OpenSubsonic `transcodeOffset`): `PlayerService.StreamAudio` with a start
//! position. player-svc starts at the Ogg page at or before the offset (its page index, at
//! most about 1 s early) and its stream header names how many bytes follow, so the answer has
//! an exact `Content-Length` and players can show progress and seek within what they got.
//!
//! No `Range`: these bytes are not a file anyone else addresses (`Accept-Ranges: none`); a
//! client seeking further asks for another offset. The body streams as `super::audio`'s
//! does: pulled chunk by chunk, bounded by `audio_timeout`, holding a stream permit.

use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::response::Response;
use futures::{Stream, StreamExt as _};
use http::StatusCode;
use http::header::{ACCEPT_RANGES, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE};
use tunemesh_proto::player::v1 as pb;
use tunemesh_proto::player::v1::stream_audio_response::Message;
use tunemesh_runtime::ErrorCode;
use tunemesh_runtime::identity::Caller;

use super::Media;
use crate::error::ApiError;
use crate::model::catalog::Quality;

/// Track `id` at `quality` from `start`, as `caller`: the Ogg file from the page at or
/// before `start`. OUT_OF_RANGE when `start` is at or past the end of the track.
pub async fn from_offset(
    state: &Media,
    caller: &Caller,
    id: &str,
    quality: Quality,
    start: Duration,
) -> Result<Response, ApiError> {
    // Taken before the call: the stream to player-svc is what the cap protects.
    let permit = state.streams().acquire(&caller.user_id)?;
    let request = pb::StreamAudioRequest {
        track_id: id.to_owned(),
        quality: quality.to_proto().into(),
        start_position: Some(prost_types::Duration {
            seconds: i64::try_from(start.as_secs()).unwrap_or(i64::MAX),
            nanos: i32::try_from(start.subsec_nanos()).unwrap_or(0),
        }),
        container: pb::AudioContainer::Ogg.into(),
    };
    let mut stream = state
        .upstreams()
        .player()
        .streaming()
        .call(caller, request, async |c, r| c.stream_audio(r).await)
        .await?;
    let header = match stream.message().await? {
        Some(pb::StreamAudioResponse {
            message: Some(Message::Header(header)),
        }) => header,
        _ => {
            tracing::error!(
                track = id,
                "player-svc's audio stream began without a header"
            );
            return Err(ApiError::new(ErrorCode::Internal, "internal error"));
        }
    };
    let total = header.total_bytes;
    let mime = if header.mime_type.is_empty() {
        "audio/ogg".to_owned()
    } else {
        header.mime_type
    };
    let deadline = Instant::now() + state.audio_timeout();
    let body = checked(stream, total).map(move |chunk| {
        let _held = &permit;
        match chunk {
            Ok(_) if Instant::now() >= deadline => Err(std::io::Error::other(
                "audio response outlived audio_timeout",
            )),
            other => other,
        }
    });
    let mut builder = Response::builder()
        .status(StatusCode::OK)
        .header(CONTENT_TYPE, mime)
        .header(CONTENT_LENGTH, total)
        .header(ACCEPT_RANGES, "none")
        .header(CACHE_CONTROL, "private, no-store");
    if let Some(duration) = header.duration {
        // Navidrome's header, read by web players for the length of the whole track.
        let seconds = Duration::new(
            u64::try_from(duration.seconds).unwrap_or(0),
            u32::try_from(duration.nanos).unwrap_or(0),
        )
        .as_secs_f64();
        builder = builder.header("x-content-duration", format!("{seconds:.2}"));
    }
    builder
        .body(Body::from_stream(body))
        .map_err(|e| ApiError::internal(&e))
}

/// The chunks' bytes, checked to follow each other from offset 0 and to stay within the
/// `total` the header promised (and so `Content-Length`); a stream that strays ends the body
/// with an error, and the client sees a cut connection, never wrong audio.
fn checked(
    stream: impl Stream<Item = Result<pb::StreamAudioResponse, tonic::Status>> + Send + Unpin,
    total: u64,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> {
    futures::stream::unfold(
        (stream, 0_u64, false),
        move |(mut stream, next, failed)| async move {
            if failed {
                return None;
            }
            let error = match stream.next().await? {
                Ok(pb::StreamAudioResponse {
                    message: Some(Message::Chunk(chunk)),
                }) if chunk.byte_offset == next && next + chunk.data.len() as u64 <= total => {
                    let next = next + chunk.data.len() as u64;
                    return Some((Ok(chunk.data), (stream, next, false)));
                }
                Ok(_) => std::io::Error::other("player-svc sent audio out of order"),
                Err(status) => {
                    tracing::warn!(%status, "audio stream failed mid-body");
                    std::io::Error::other("audio stream failed")
                }
            };
            Some((Err(error), (stream, next, true)))
        },
    )
}

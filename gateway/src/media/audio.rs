//! `GET /v1/tracks/{id}/audio`: the progressive Ogg Opus file of a track with HTTP Range
//! support, read from `PlayerService.ReadAudioRange`, for `<audio>` elements. It takes the
//! bearer header or a signed media link (`?token=`, see `super::links`).
//!
//! The file's size, blob key and version come from what the gateway keeps of the track
//! (`super::facts`), so a byte range is one call to player-svc, whose first chunk is checked
//! against them before any header is sent, or, when the gateway reads player-svc's blob
//! store (`super::direct`), one read of the store. Ranges of popular tracks are answered
//! from the edge cache (`super::edge_cache`) without either.
//!
//! The body streams straight from the gRPC stream: hyper pulls the next chunk only when the
//! client socket takes more, and the gRPC stream is flow-controlled by HTTP/2, so a slow
//! listener slows player-svc down instead of filling the gateway's memory.

use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt as _};
use http::header::{
    ACCEPT_RANGES, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, IF_RANGE,
    RANGE,
};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde::Deserialize;
use tunemesh_proto::player::v1 as pb;
use tunemesh_runtime::ErrorCode;
use utoipa::IntoParams;

use tunemesh_runtime::identity::Caller;

use super::direct;
use super::edge_cache::part;
use super::facts::AudioInfo;
use super::range::{RangeAnswer, resolve};
use super::{Media, MediaCaller};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiQuery, check_id};
use crate::model::catalog::Quality;

/// Query of the audio route.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AudioQuery {
    /// The quality to play; `normal` when absent.
    pub quality: Option<Quality>,
}

/// The progressive Ogg Opus file of a track; honours `Range` and `If-Range`.
#[utoipa::path(
    get, path = "/v1/tracks/{id}/audio", tag = "playback",
    params(
        ("id" = String, Path, description = "track id"), AudioQuery,
        ("token" = Option<String>, Query, description = "a media token from `/audio-url`, instead of the bearer header"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the whole file", content_type = "audio/ogg"),
        (status = 206, description = "the requested byte range", content_type = "audio/ogg"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, description = "unknown track, or quality not available", body = ErrorBody),
        (status = 416, description = "the range lies past the end of the file"),
    )
)]
pub async fn audio(
    State(state): State<Media>,
    media: MediaCaller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<AudioQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    check_id("track id", &id)?;
    let quality = query.quality.unwrap_or(Quality::NORMAL);
    media.allow(&id, quality)?;
    file(&state, &media.caller, &id, quality, &headers).await
}

/// The progressive file of track `id` at `quality`, as `caller`, answering the `Range` and
/// `If-Range` of `headers`: what this route serves, and Subsonic's `stream` and `download`
/// too (one audio path for every client).
pub async fn file(
    state: &Media,
    caller: &Caller,
    id: &str,
    quality: Quality,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    // The kept facts of the track are outdated at most once per request: the second try
    // asks player-svc afresh.
    for fresh in [false, true] {
        let info = state.facts().get(state.upstreams(), caller, id).await?;
        match respond(state, caller, id, quality, &info, headers).await? {
            Answer::Ready(response) => return Ok(response),
            Answer::Outdated if fresh => break,
            Answer::Outdated => state.facts().forget(id).await,
        }
    }
    Err(ApiError::new(
        ErrorCode::Unavailable,
        "the track's audio changed while it was read, retry",
    ))
}

/// A response, or word that the kept facts of the track no longer hold.
enum Answer {
    Ready(Response),
    Outdated,
}

async fn respond(
    state: &Media,
    caller: &Caller,
    id: &str,
    quality: Quality,
    info: &AudioInfo,
    headers: &HeaderMap,
) -> Result<Answer, ApiError> {
    let wanted: i32 = quality.to_proto().into();
    let file = info.file(wanted).ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            "this quality is not available for the track",
        )
    })?;
    let size = file.size;
    // The same id, quality and version always name the same bytes: a strong validator.
    let etag = format!(
        "\"{id}.{}.{}\"",
        quality.to_proto().as_str_name(),
        info.version
    );

    let range_header = headers.get(RANGE).and_then(|v| v.to_str().ok());
    // If-Range: serve the range only if the client's copy is this one (strong comparison;
    // a date never matches, since no Last-Modified is sent).
    let range_header = match headers.get(IF_RANGE) {
        Some(validator) if validator.as_bytes() != etag.as_bytes() => None,
        _ => range_header,
    };
    let (status, start, end) = match resolve(range_header, size) {
        RangeAnswer::Unsatisfiable => return Ok(Answer::Ready(unsatisfiable(size))),
        RangeAnswer::Full if size == 0 => {
            return Ok(Answer::Ready(empty(&etag, file.mime.clone())));
        }
        RangeAnswer::Full => (StatusCode::OK, 0, size - 1),
        RangeAnswer::Partial { start, end } => (StatusCode::PARTIAL_CONTENT, start, end),
    };
    let length = end - start + 1;
    let head = || {
        let mut builder = Response::builder()
            .status(status)
            .header(CONTENT_TYPE, file.mime.clone())
            .header(CONTENT_LENGTH, length)
            .header(ACCEPT_RANGES, "bytes")
            .header(ETAG, &etag)
            .header(CACHE_CONTROL, "private, max-age=86400");
        if status == StatusCode::PARTIAL_CONTENT {
            builder = builder.header(CONTENT_RANGE, format!("bytes {start}-{end}/{size}"));
        }
        builder
    };
    // Held by the body until it ends or the client goes: one account cannot keep more
    // streams open than its share.
    let permit = state.streams().acquire(&caller.user_id)?;
    let cache = state.cache().clone();
    let name: Arc<str> = Arc::from(etag.as_str());
    if let Some(parts) = cache.get(&name, start, end) {
        let body = futures::stream::iter(parts.into_iter().map(Ok::<_, std::io::Error>)).inspect(
            move |_| {
                let _held = &permit;
            },
        );
        return head()
            .body(Body::from_stream(body))
            .map(Answer::Ready)
            .map_err(|e| ApiError::internal(&e));
    }

    let (read_start, read_end) = cache.read_range(start, end, size);
    let blocks = match (state.blobs(), file.blob.as_str()) {
        (Some(blobs), key) if !key.is_empty() => {
            match direct::read(blobs, key, read_start, read_end).await? {
                direct::Read::Blocks(blocks) => blocks.boxed(),
                direct::Read::Gone => return Ok(Answer::Outdated),
            }
        }
        _ => {
            let range = (read_start, read_end - read_start + 1);
            match from_player(state, caller, id, wanted, info, size, range).await? {
                Some(blocks) => blocks.boxed(),
                None => return Ok(Answer::Outdated),
            }
        }
    };
    // The body's bound: a client that keeps reading still cannot hold the stream past
    // `audio_timeout` (one that stops reading is closed by the listener's idle timeout).
    let deadline = Instant::now() + state.audio_timeout();
    // Each block is kept (when it is a whole one), then trimmed to the client's range.
    let body = blocks.filter_map(move |chunk| {
        let _held = &permit;
        let item = match chunk {
            Ok(_) if Instant::now() >= deadline => Some(Err(std::io::Error::other(
                "audio response outlived audio_timeout",
            ))),
            Ok((offset, data)) => {
                cache.put(&name, offset, &data, size);
                part(&data, offset, start, end).map(Ok)
            }
            Err(error) => Some(Err(error)),
        };
        std::future::ready(item)
    });
    head()
        .body(Body::from_stream(body))
        .map(Answer::Ready)
        .map_err(|e| ApiError::internal(&e))
}

/// The blocks of `(offset, length)` of the file of `quality` read through
/// `PlayerService.ReadAudioRange`; `None` when player-svc's answer says the kept facts
/// (`info`, the file of `size` bytes) are outdated. Nothing is promised before the first
/// chunk says which file it is from.
async fn from_player(
    state: &Media,
    caller: &Caller,
    id: &str,
    quality: i32,
    info: &AudioInfo,
    size: u64,
    (offset, length): (u64, u64),
) -> Result<Option<impl Stream<Item = std::io::Result<(u64, Bytes)>> + Send + use<>>, ApiError> {
    let request = pb::ReadAudioRangeRequest {
        track_id: id.to_owned(),
        quality,
        offset,
        length,
    };
    let mut stream = state
        .upstreams()
        .player()
        .streaming()
        .call(caller, request, async |c, r| c.read_audio_range(r).await)
        .await?;
    let first = match stream.message().await {
        Ok(Some(first)) => first,
        Ok(None) => {
            tracing::error!(track = id, "player-svc sent an empty audio range");
            return Err(ApiError::new(ErrorCode::Internal, "internal error"));
        }
        // Past the end of the file as it now is: it changed since the facts were kept.
        Err(status) if status.code() == tonic::Code::OutOfRange => return Ok(None),
        Err(status) => return Err(status.into()),
    };
    if first.version != info.version || first.file_size_bytes != size {
        return Ok(None);
    }
    let chunks = futures::stream::iter([Ok(first)]).chain(stream);
    Ok(Some(checked(chunks, offset, length)))
}

/// The chunks with their offsets, checked to be contiguous from `start` and to stop at
/// `length` bytes: the response promised exactly those bytes in `Content-Length`, so a
/// stream that strays ends the body with an error (the client sees a cut connection, never
/// wrong audio).
fn checked(
    stream: impl Stream<Item = Result<pb::ReadAudioRangeResponse, tonic::Status>> + Send + Unpin,
    start: u64,
    length: u64,
) -> impl Stream<Item = Result<(u64, Bytes), std::io::Error>> {
    let end = start + length;
    futures::stream::unfold(
        (stream, start, false),
        move |(mut stream, next, failed)| async move {
            if failed {
                return None;
            }
            let item = match stream.next().await? {
                Ok(chunk) if chunk.offset == next && next + chunk.data.len() as u64 <= end => {
                    let next = next + chunk.data.len() as u64;
                    return Some((Ok((chunk.offset, chunk.data)), (stream, next, false)));
                }
                Ok(_) => std::io::Error::other("player-svc sent audio out of order"),
                Err(status) => {
                    tracing::warn!(%status, "audio stream failed mid-body");
                    std::io::Error::other("audio stream failed")
                }
            };
            // The error ends the body; nothing is read after it.
            Some((Err(item), (stream, next, true)))
        },
    )
}

fn unsatisfiable(size: u64) -> Response {
    (
        StatusCode::RANGE_NOT_SATISFIABLE,
        [
            (CONTENT_RANGE, format!("bytes */{size}")),
            (ACCEPT_RANGES, "bytes".to_owned()),
        ],
    )
        .into_response()
}

fn empty(etag: &str, mime: HeaderValue) -> Response {
    let mut response = StatusCode::OK.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, mime);
    headers.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(etag) = HeaderValue::from_str(etag) {
        headers.insert(ETAG, etag);
    }
    response
}

//! Audio for browsers beyond the progressive file: the Media Source Extensions manifest, its
//! WebM init and media segments (immutable, cacheable by anyone), and signed links for
//! `<audio src>`, which cannot send a bearer header.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use http::{HeaderMap, HeaderValue, StatusCode};
use sha2::{Digest as _, Sha256};
use tunemesh_proto::player::v1 as pb;
use tunemesh_proto::player::v1::get_audio_segment_request::Segment;
use tunemesh_runtime::ErrorCode;
use tunemesh_runtime::identity::Caller;

use super::audio::AudioQuery;
use super::streams::Held;
use super::{Media, MediaCaller};
use crate::auth::Authenticated;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiQuery, check_id};
use crate::model::catalog::{Quality, millis};
use crate::model::media::{Manifest, ManifestQuality, ManifestSegment, MediaLink, Progressive};
use crate::upstream::{PlayerClient, Upstream};

/// Segments never change (new audio is a new track), so the listener's browser keeps them for
/// good; `private` because they are served only to a signed-in caller, and a shared cache
/// (a CDN) would otherwise hand them to anyone without a token.
const IMMUTABLE: &str = "private, max-age=31536000, immutable";

/// The manifest of track `id` from player-svc.
pub async fn fetch_manifest(
    player: Upstream<PlayerClient>,
    caller: &Caller,
    id: &str,
) -> Result<pb::AudioManifest, ApiError> {
    let request = pb::GetAudioManifestRequest {
        track_id: id.to_owned(),
    };
    player
        .call(caller, request, async |c, r| c.get_audio_manifest(r).await)
        .await?
        .manifest
        .ok_or_else(|| {
            tracing::error!("player-svc answered without a manifest");
            ApiError::new(ErrorCode::Internal, "internal error")
        })
}

fn link(state: &Media, caller: &Caller, id: &str, quality: Quality) -> Result<MediaLink, ApiError> {
    let (token, expires_at) = state
        .links()
        .mint(caller, id, quality, tunemesh_runtime::clock::now_secs())
        .map_err(|e| ApiError::internal(&e))?;
    Ok(MediaLink {
        url: format!(
            "/v1/tracks/{id}/audio?quality={}&token={token}",
            quality.as_str()
        ),
        token,
        expires_at,
    })
}

/// The MSE manifest of a track: every quality with its codecs string, init and segment URLs.
#[utoipa::path(
    get, path = "/v1/tracks/{id}/manifest", tag = "playback",
    params(("id" = String, Path, description = "track id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Manifest),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
pub async fn manifest(
    State(state): State<Media>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    check_id("track id", &id)?;
    let manifest = fetch_manifest(state.upstreams().player(), &caller, &id).await?;
    let mut qualities = Vec::with_capacity(manifest.renditions.len());
    for rendition in manifest.renditions {
        // A quality this gateway has no name for is one it cannot serve: left out.
        let Some(quality) = Quality::from_proto(rendition.quality) else {
            continue;
        };
        let base = format!("/v1/tracks/{id}/segments/{}", quality.as_str());
        let segments = rendition
            .segments
            .iter()
            .map(|s| ManifestSegment {
                index: s.index,
                url: format!("{base}/{}", s.index),
                start_ms: millis(s.start_time.as_ref()),
                duration_ms: millis(s.duration.as_ref()),
                size_bytes: s.size_bytes,
            })
            .collect();
        qualities.push(ManifestQuality {
            quality,
            bitrate_bps: rendition.bitrate_bps,
            codecs: rendition.segmented_mime_type,
            sample_rate_hz: rendition.sample_rate_hz,
            channels: rendition.channels,
            init_url: format!("{base}/init"),
            segments,
            progressive: Progressive {
                mime_type: rendition.progressive_mime_type,
                size_bytes: rendition.progressive_size_bytes,
                url: link(&state, &caller, &id, quality)?.url,
            },
        });
    }
    let body = Manifest {
        track_id: id,
        duration_ms: millis(manifest.duration.as_ref()),
        qualities,
    };
    // It carries signed links for this caller: never shared, not kept long.
    Ok(([(CACHE_CONTROL, "private, max-age=300")], Json(body)).into_response())
}

/// A signed link to the progressive file of a track, for `<audio src>`.
#[utoipa::path(
    get, path = "/v1/tracks/{id}/audio-url", tag = "playback",
    params(("id" = String, Path, description = "track id"), AudioQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = MediaLink),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
    )
)]
pub async fn audio_url(
    State(state): State<Media>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<AudioQuery>,
) -> Result<Response, ApiError> {
    check_id("track id", &id)?;
    let quality = query.quality.unwrap_or(Quality::NORMAL);
    let body = link(&state, &caller, &id, quality)?;
    Ok(([(CACHE_CONTROL, "private, no-store")], Json(body)).into_response())
}

/// One WebM segment (`init`, or a 0-based media segment index) of one quality.
#[utoipa::path(
    get, path = "/v1/tracks/{id}/segments/{quality}/{segment}", tag = "playback",
    params(
        ("id" = String, Path, description = "track id"),
        ("quality" = Quality, Path, description = "low, normal, high or very_high"),
        ("segment" = String, Path, description = "`init` or a media segment index"),
        ("token" = Option<String>, Query, description = "a media token, instead of the bearer header"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the segment; immutable", content_type = "audio/webm"),
        (status = 304, description = "the client's copy (If-None-Match) is current"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, description = "unknown track, quality or segment", body = ErrorBody),
    )
)]
pub async fn segment(
    State(state): State<Media>,
    media: MediaCaller,
    Path((id, quality, segment)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    check_id("track id", &id)?;
    let quality = Quality::parse(&quality)
        .ok_or_else(|| ApiError::invalid("quality must be low, normal, high or very_high"))?;
    media.allow(&id, quality)?;
    let which = match segment.as_str() {
        "init" => Segment::InitSegment(true),
        index => index
            .parse::<u32>()
            .map(Segment::MediaSegmentIndex)
            .map_err(|_| ApiError::invalid("segment must be 'init' or a segment index"))?,
    };
    let request = pb::GetAudioSegmentRequest {
        track_id: id,
        quality: quality.to_proto().into(),
        segment: Some(which),
    };
    // Held until the body is sent or the client goes (`super::streams`).
    let permit = state.streams().acquire(&media.caller.user_id)?;
    let answer = state
        .upstreams()
        .player()
        .call(&media.caller, request, async |c, r| {
            c.get_audio_segment(r).await
        })
        .await
        .map_err(|error| match error.code() {
            ErrorCode::OutOfRange => ApiError::new(ErrorCode::NotFound, "no such segment"),
            _ => error,
        })?;
    // The bytes name themselves: a strong validator that holds across gateway replicas.
    let digest = Sha256::digest(&answer.data);
    let etag = format!("\"{}\"", hex::encode(&digest[..16]));
    let mut response = if headers
        .get(IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes() || v.as_bytes() == b"*")
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        Response::new(Body::new(Held::new(Body::from(answer.data), permit)))
    };
    let mime = HeaderValue::from_str(&answer.mime_type)
        .ok()
        .filter(|v| v.as_bytes().starts_with(b"audio/webm"))
        .unwrap_or(HeaderValue::from_static("audio/webm"));
    let head = response.headers_mut();
    head.insert(CONTENT_TYPE, mime);
    head.insert(CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        head.insert(ETAG, etag);
    }
    Ok(response)
}

//! Music in without a terminal: an admin adds audio files from the web player (or any HTTP
//! client), one `PUT` per file, each streamed to player-svc's `IngestService.UploadTrack` as
//! its bytes arrive. The body is never held whole: hyper's frames are passed on as upload
//! chunks (split, never copied, when larger than the contract's 1 MiB), and the mesh stream's
//! flow control paces the client's socket.
//!
//! The path is the file's SHA-256, so a `PUT` is idempotent by content: uploading a folder
//! again (after a dropped connection, say) answers `skipped`/`duplicate_content` for every file
//! already in, right after the header, without sending its bytes on. That is what makes an
//! interrupted batch resumable at file granularity.
//!
//! These routes sit outside the REST request timeout (an upload and its transcoding can take
//! minutes): `gateway.uploads.timeout` bounds them instead, and `gateway.uploads.max_bytes`
//! the announced size.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::header::CONTENT_LENGTH;
use bytes::Bytes;
use futures::{Stream, StreamExt as _, stream};
use tunemesh_proto::catalog::v1::upload_track_request::Payload;
use tunemesh_proto::catalog::v1::{UploadTrackHeader, UploadTrackRequest};
use tunemesh_runtime::ErrorCode;
use tunemesh_runtime::identity::Caller;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::accounts::ADMIN;
use crate::auth::Authenticated;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiQuery;
use crate::model::upload::{UploadQuery, UploadResult};
use crate::state::AppState;

/// Most bytes in one upload message (`UploadTrackRequest.chunk` allows 1 MiB).
const CHUNK_MAX: usize = 1 << 20;
/// Longest file name the contract takes.
const FILE_NAME_MAX: usize = 255;

/// The upload route, for a signed-in admin.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default().routes(routes!(upload))
}

/// Adds one audio file to the catalogue (admin only). The body is the file's bytes with its
/// `Content-Length`; the path is their SHA-256 (64 hex digits). Answers once the file is
/// ingested (transcoding included) with what became of it; a file already in the catalogue
/// answers `skipped` at once. A file the server cannot use is a `200` with outcome `failed`
/// and the reason, not an error, so a batch goes on.
#[utoipa::path(
    put, path = "/v1/library/uploads/{sha256}", tag = "library",
    params(("sha256" = String, Path, description = "SHA-256 of the file, hex"), UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    security(("bearer" = [])),
    responses(
        (status = 200, body = UploadResult), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 503, body = ErrorBody), (status = 504, body = ErrorBody),
    )
)]
pub async fn upload(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(sha256): Path<String>,
    ApiQuery(query): ApiQuery<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<UploadResult>, ApiError> {
    require_admin(&caller)?;
    let settings = state.uploads();
    let header = UploadTrackHeader {
        file_name: file_name(query.file_name)?,
        size_bytes: size(&headers, settings.max_bytes)?,
        sha256: checksum(&sha256)?,
    };
    let messages = stream::once(async move {
        UploadTrackRequest {
            payload: Some(Payload::Header(header)),
        }
    })
    .chain(chunks(body));
    let answer = state
        .ingest()
        .streaming()
        .deadline(settings.timeout)
        .call(&caller, messages, async |c, r| c.upload_track(r).await)
        .await?;
    let result = answer
        .result
        .ok_or_else(|| ApiError::new(ErrorCode::Internal, "the ingest answered no result"))?;
    Ok(Json(result.into()))
}

/// Only the admin adds music; everyone else is told who can.
fn require_admin(caller: &Caller) -> Result<(), ApiError> {
    if caller.has_role(ADMIN) {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::PermissionDenied,
            "only an admin can add music: the first account created on this deployment is its \
             admin",
        ))
    }
}

/// The body's frames as upload chunks, each at most [`CHUNK_MAX`] (split without copying).
/// A body that fails (the client went away) just ends: player-svc then sees fewer bytes than
/// announced and fails the file, and nobody is left to read the answer.
fn chunks(body: Body) -> impl Stream<Item = UploadTrackRequest> + Send + 'static {
    body.into_data_stream()
        .take_while(|frame| std::future::ready(frame.is_ok()))
        .filter_map(|frame| std::future::ready(frame.ok()))
        .flat_map(|frame| stream::iter(split(frame)))
        .map(|chunk| UploadTrackRequest {
            payload: Some(Payload::Chunk(chunk)),
        })
}

fn split(mut frame: Bytes) -> impl Iterator<Item = Bytes> {
    std::iter::from_fn(move || {
        (!frame.is_empty()).then(|| frame.split_to(frame.len().min(CHUNK_MAX)))
    })
}

/// The announced size: required (it is sent ahead of the bytes and checked against them),
/// positive and within `max`.
fn size(headers: &HeaderMap, max: u64) -> Result<u64, ApiError> {
    let size = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .ok_or_else(|| {
            ApiError::invalid("an upload needs its Content-Length: send the file as the body")
        })?;
    if size == 0 {
        return Err(ApiError::invalid("the file is empty"));
    }
    if size > max {
        return Err(ApiError::invalid(format!(
            "the file is {size} bytes; this deployment takes files up to {max} bytes \
             (gateway.uploads.max_bytes)"
        )));
    }
    Ok(size)
}

fn checksum(raw: &str) -> Result<String, ApiError> {
    if raw.len() == 64 && raw.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(raw.to_ascii_lowercase())
    } else {
        Err(ApiError::invalid(
            "the path must end in the file's SHA-256 as 64 hex digits",
        ))
    }
}

fn file_name(name: String) -> Result<String, ApiError> {
    let ok = !name.is_empty()
        && name.len() <= FILE_NAME_MAX
        && !name
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_control())
        && name != "."
        && name != "..";
    if ok {
        Ok(name)
    } else {
        Err(ApiError::invalid(format!(
            "file_name must be the file's base name: 1 to {FILE_NAME_MAX} bytes without '/', \
             '\\' or control characters"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_split_at_the_chunk_limit_without_losing_a_byte() {
        let frame = Bytes::from(vec![7_u8; 2 * CHUNK_MAX + 3]);
        let parts: Vec<Bytes> = split(frame).collect();
        assert_eq!(
            parts.iter().map(Bytes::len).collect::<Vec<_>>(),
            [CHUNK_MAX, CHUNK_MAX, 3]
        );
        assert_eq!(split(Bytes::new()).count(), 0);
    }

    #[test]
    fn hostile_names_sizes_and_checksums_are_refused() {
        for bad in ["", ".", "..", "a/b.flac", "a\\b.flac", "a\nb.flac"] {
            assert!(file_name(bad.to_owned()).is_err(), "{bad:?}");
        }
        assert!(file_name("x".repeat(256)).is_err());
        assert_eq!(
            file_name("01 - Intro.flac".into()).ok().as_deref(),
            Some("01 - Intro.flac")
        );

        assert!(checksum("abc").is_err());
        assert!(checksum(&"g".repeat(64)).is_err());
        assert_eq!(checksum(&"AB".repeat(32)).ok(), Some("ab".repeat(32)));

        let mut headers = HeaderMap::new();
        assert!(size(&headers, 10).is_err(), "no length");
        for (value, ok) in [("0", false), ("11", false), ("-1", false), ("10", true)] {
            headers.insert(CONTENT_LENGTH, value.parse().expect("header"));
            assert_eq!(size(&headers, 10).is_ok(), ok, "{value}");
        }
    }
}

//! The caller's play queue (`/v1/me/play-queue`), one per user in playlist-svc and the same
//! one Subsonic apps read and write (`savePlayQueue`, `getPlayQueue`): what one device was
//! playing, resumable on another.

use axum::Json;
use axum::extract::State;
use tunemesh_proto::playlist::v1 as pb;
use tunemesh_runtime::ErrorCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Authenticated;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, check_id};
use crate::model::play_queue::{PlayQueue, SavedPlayQueue};
use crate::state::AppState;

/// Most tracks a queue holds (playlist-svc's limit).
const MAX_TRACKS: usize = 1_000;

/// The play-queue routes, for a signed-in caller.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default().routes(routes!(get_play_queue, put_play_queue))
}

/// The caller's play queue; 404 when they never saved one.
#[utoipa::path(
    get, path = "/v1/me/play-queue", tag = "playback",
    security(("bearer" = [])),
    responses(
        (status = 200, body = PlayQueue), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
pub async fn get_play_queue(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
) -> Result<Json<PlayQueue>, ApiError> {
    let answer = state
        .playlists()
        .call(&caller, pb::GetPlayQueueRequest {}, async |c, r| {
            c.get_play_queue(r).await
        })
        .await?;
    let queue = answer
        .queue
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no play queue saved"))?;
    Ok(Json(queue.into()))
}

/// Replaces the caller's play queue; answers it as saved.
#[utoipa::path(
    put, path = "/v1/me/play-queue", tag = "playback", request_body = SavedPlayQueue,
    security(("bearer" = [])),
    responses(
        (status = 200, body = PlayQueue), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 412, body = ErrorBody),
    )
)]
pub async fn put_play_queue(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiJson(body): ApiJson<SavedPlayQueue>,
) -> Result<Json<PlayQueue>, ApiError> {
    if body.track_ids.len() > MAX_TRACKS {
        return Err(ApiError::invalid(format!(
            "a play queue holds at most {MAX_TRACKS} tracks"
        )));
    }
    for id in &body.track_ids {
        check_id("track id", id)?;
    }
    let request = pb::SavePlayQueueRequest {
        track_ids: body.track_ids,
        current_index: body.current_index,
        position_ms: body.position_ms,
        client_name: body.client.unwrap_or_else(|| "web".to_owned()),
        expected_version: body.expected_version,
    };
    let answer = state
        .playlists()
        .call(&caller, request, async |c, r| c.save_play_queue(r).await)
        .await?;
    let queue = answer
        .queue
        .ok_or_else(|| ApiError::internal(&std::io::Error::other("no queue in the answer")))?;
    Ok(Json(queue.into()))
}

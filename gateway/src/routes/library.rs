//! The social side of playlists and the caller's liked songs: collaborators, following, and
//! `/v1/me/liked`, through `PlaylistService`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use tunemesh_proto::playlist::v1 as pb;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Paging;
use super::playlists::Expected;
use crate::auth::Authenticated;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiQuery, check_id};
use crate::model::playlist::{LikedCheck, LikedPage, Version};
use crate::state::AppState;

/// Most tracks one liked-songs check may ask about.
const CHECK_MAX: usize = 100;

/// The collaborator, follow and liked-songs routes, for a signed-in caller.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(add_collaborator, remove_collaborator))
        .routes(routes!(follow, unfollow))
        .routes(routes!(list_liked))
        .routes(routes!(check_liked))
        .routes(routes!(like, unlike))
}

/// Lets a user edit the playlist (owner only).
#[utoipa::path(
    put, path = "/v1/playlists/{id}/collaborators/{user_id}", tag = "playlists",
    params(("id" = String, Path), ("user_id" = String, Path), Expected),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Version), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 412, body = ErrorBody),
    )
)]
pub async fn add_collaborator(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path((id, user_id)): Path<(String, String)>,
    ApiQuery(expected): ApiQuery<Expected>,
) -> Result<Json<Version>, ApiError> {
    check_id("playlist id", &id)?;
    check_id("user id", &user_id)?;
    let request = pb::AddPlaylistCollaboratorRequest {
        playlist_id: id,
        expected_version: expected.expected_version,
        user_id,
    };
    let answer = state
        .playlists()
        .call(&caller, request, async |c, r| {
            c.add_playlist_collaborator(r).await
        })
        .await?;
    Ok(Json(Version {
        version: answer.version,
    }))
}

/// Stops a user from editing the playlist (the owner, or the collaborator leaving).
#[utoipa::path(
    delete, path = "/v1/playlists/{id}/collaborators/{user_id}", tag = "playlists",
    params(("id" = String, Path), ("user_id" = String, Path), Expected),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Version), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 412, body = ErrorBody),
    )
)]
pub async fn remove_collaborator(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path((id, user_id)): Path<(String, String)>,
    ApiQuery(expected): ApiQuery<Expected>,
) -> Result<Json<Version>, ApiError> {
    check_id("playlist id", &id)?;
    check_id("user id", &user_id)?;
    let request = pb::RemovePlaylistCollaboratorRequest {
        playlist_id: id,
        expected_version: expected.expected_version,
        user_id,
    };
    let answer = state
        .playlists()
        .call(&caller, request, async |c, r| {
            c.remove_playlist_collaborator(r).await
        })
        .await?;
    Ok(Json(Version {
        version: answer.version,
    }))
}

/// Follows a playlist the caller can read.
#[utoipa::path(
    put, path = "/v1/playlists/{id}/follow", tag = "playlists",
    params(("id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Version), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
pub async fn follow(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<Version>, ApiError> {
    check_id("playlist id", &id)?;
    let request = pb::FollowPlaylistRequest { playlist_id: id };
    let answer = state
        .playlists()
        .call(&caller, request, async |c, r| c.follow_playlist(r).await)
        .await?;
    Ok(Json(Version {
        version: answer.version,
    }))
}

/// Stops following a playlist.
#[utoipa::path(
    delete, path = "/v1/playlists/{id}/follow", tag = "playlists",
    params(("id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "no longer followed"), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
pub async fn unfollow(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    check_id("playlist id", &id)?;
    let request = pb::UnfollowPlaylistRequest { playlist_id: id };
    state
        .playlists()
        .call(&caller, request, async |c, r| c.unfollow_playlist(r).await)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lists the caller's liked songs, newest first.
#[utoipa::path(
    get, path = "/v1/me/liked", tag = "playlists", params(Paging),
    security(("bearer" = [])),
    responses(
        (status = 200, body = LikedPage), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
    )
)]
pub async fn list_liked(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiQuery(paging): ApiQuery<Paging>,
) -> Result<Json<LikedPage>, ApiError> {
    let (page_size, page_token) = paging.checked()?;
    let request = pb::ListLikedTracksRequest {
        page_size,
        page_token,
    };
    let page = state
        .playlists()
        .call(&caller, request, async |c, r| c.list_liked_tracks(r).await)
        .await?;
    Ok(Json(page.into()))
}

/// Likes a track (liking it again changes nothing).
#[utoipa::path(
    put, path = "/v1/me/liked/{track_id}", tag = "playlists",
    params(("track_id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Version), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "no such track", body = ErrorBody),
    )
)]
pub async fn like(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(track_id): Path<String>,
) -> Result<Json<Version>, ApiError> {
    check_id("track id", &track_id)?;
    let request = pb::LikeTracksRequest {
        track_ids: vec![track_id],
        expected_version: None,
    };
    let answer = state
        .playlists()
        .call(&caller, request, async |c, r| c.like_tracks(r).await)
        .await?;
    Ok(Json(Version {
        version: answer.version,
    }))
}

/// Unlikes a track.
#[utoipa::path(
    delete, path = "/v1/me/liked/{track_id}", tag = "playlists",
    params(("track_id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Version), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
    )
)]
pub async fn unlike(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(track_id): Path<String>,
) -> Result<Json<Version>, ApiError> {
    check_id("track id", &track_id)?;
    let request = pb::UnlikeTracksRequest {
        track_ids: vec![track_id],
        expected_version: None,
    };
    let answer = state
        .playlists()
        .call(&caller, request, async |c, r| c.unlike_tracks(r).await)
        .await?;
    Ok(Json(Version {
        version: answer.version,
    }))
}

/// Tracks to check.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CheckQuery {
    /// Comma-separated track ids, 1 to 100.
    pub track_ids: String,
}

/// Says which of the given tracks the caller likes.
#[utoipa::path(
    get, path = "/v1/me/liked/contains", tag = "playlists", params(CheckQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = LikedCheck), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
    )
)]
pub async fn check_liked(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiQuery(query): ApiQuery<CheckQuery>,
) -> Result<Json<LikedCheck>, ApiError> {
    let track_ids: Vec<String> = query.track_ids.split(',').map(str::to_owned).collect();
    if track_ids.len() > CHECK_MAX {
        return Err(ApiError::invalid(format!(
            "track_ids takes at most {CHECK_MAX} ids"
        )));
    }
    for id in &track_ids {
        check_id("track id", id)?;
    }
    let request = pb::CheckLikedTracksRequest { track_ids };
    let answer = state
        .playlists()
        .call(&caller, request, async |c, r| c.check_liked_tracks(r).await)
        .await?;
    Ok(Json(LikedCheck {
        liked: answer.liked,
        version: answer.version,
    }))
}

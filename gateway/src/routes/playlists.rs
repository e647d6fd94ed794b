//! Playlists: create, read, list mine, change, delete, and their items, collaborators and
//! followers, through `PlaylistService`. Writes may carry `expected_version` and answer 412
//! when the playlist changed meanwhile; a private playlist of someone else is a 404.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use tunemesh_proto::playlist::v1 as pb;
use tunemesh_runtime::identity::Caller;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Paging;
use crate::auth::Authenticated;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, check_id};
use crate::images::derived;
use crate::model::catalog::next_page;
use crate::model::playlist::{
    AddedItems, ItemMove, LibraryPage, MadeForYou, NewItems, NewPlaylist, Playlist,
    PlaylistChanges, PlaylistPage, Version,
};
use crate::state::AppState;

/// The playlist routes, for a signed-in caller.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(create))
        // The older spelling of `/v1/me/playlists`, kept for clients; not in the document.
        .route("/v1/playlists", axum::routing::get(list_mine))
        .routes(routes!(list_mine))
        .routes(routes!(made_for_you))
        .routes(routes!(get, update, delete))
        .routes(routes!(add_items))
        .routes(routes!(move_items))
        .routes(routes!(remove_item))
}

/// The REST shape of `playlist`, with its derived cover when it has none of its own.
async fn with_cover(state: &AppState, caller: &Caller, mut playlist: pb::Playlist) -> Playlist {
    derived::fill(state, caller, &mut [&mut playlist]).await;
    playlist.into()
}

fn missing() -> ApiError {
    tracing::error!("playlist-svc answered without the playlist");
    ApiError::new(tunemesh_runtime::ErrorCode::Internal, "internal error")
}

/// The optimistic-concurrency guard of writes without a body.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Expected {
    /// Apply only if the playlist is still at this version (412 otherwise).
    pub expected_version: Option<u64>,
}

/// Creates a playlist owned by the caller.
#[utoipa::path(
    post, path = "/v1/playlists", tag = "playlists", request_body = NewPlaylist,
    security(("bearer" = [])),
    responses(
        (status = 201, body = Playlist),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, description = "a track does not exist", body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiJson(body): ApiJson<NewPlaylist>,
) -> Result<(StatusCode, Json<Playlist>), ApiError> {
    let request = pb::CreatePlaylistRequest {
        request_id: body.request_id,
        name: body.name,
        description: body.description,
        public: body.public,
        collaborative: body.collaborative,
        track_ids: body.track_ids,
    };
    let answer = state
        .playlists()
        .call(&caller, request, async |c, r| c.create_playlist(r).await)
        .await?;
    let playlist = answer.playlist.ok_or_else(missing)?;
    let playlist = with_cover(&state, &caller, playlist).await;
    Ok((StatusCode::CREATED, Json(playlist)))
}

/// Lists the playlists in the caller's library: owned, collaborating on, followed.
#[utoipa::path(
    get, path = "/v1/me/playlists", tag = "playlists", params(Paging),
    security(("bearer" = [])),
    responses(
        (status = 200, body = LibraryPage),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
    )
)]
pub async fn list_mine(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiQuery(paging): ApiQuery<Paging>,
) -> Result<Json<LibraryPage>, ApiError> {
    let (page_size, page_token) = paging.checked()?;
    let request = pb::ListMyPlaylistsRequest {
        page_size,
        page_token,
        relations: Vec::new(),
    };
    let mut page = state
        .playlists()
        .call(&caller, request, async |c, r| c.list_my_playlists(r).await)
        .await?;
    let mut playlists: Vec<&mut pb::Playlist> = page
        .playlists
        .iter_mut()
        .filter_map(|entry| entry.playlist.as_mut())
        .collect();
    derived::fill(&state, &caller, &mut playlists).await;
    Ok(Json(page.into()))
}

/// Lists the playlists generated for the caller ("Made for you", e.g. the daily mix),
/// most recently refreshed first: read-only playlists owned by the system account.
#[utoipa::path(
    get, path = "/v1/me/made-for-you", tag = "playlists",
    security(("bearer" = [])),
    responses(
        (status = 200, body = MadeForYou),
        (status = 401, body = ErrorBody),
    )
)]
pub async fn made_for_you(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
) -> Result<Json<MadeForYou>, ApiError> {
    let request = pb::ListMyPlaylistsRequest {
        page_size: 50,
        page_token: String::new(),
        relations: vec![pb::PlaylistRelation::MadeForYou.into()],
    };
    let page = state
        .playlists()
        .call(&caller, request, async |c, r| c.list_my_playlists(r).await)
        .await?;
    let mut playlists: Vec<pb::Playlist> = page
        .playlists
        .into_iter()
        .filter_map(|entry| entry.playlist)
        .collect();
    derived::fill(
        &state,
        &caller,
        &mut playlists.iter_mut().collect::<Vec<_>>(),
    )
    .await;
    Ok(Json(MadeForYou {
        playlists: playlists.into_iter().map(Into::into).collect(),
    }))
}

/// Returns a playlist with one page of its items.
#[utoipa::path(
    get, path = "/v1/playlists/{id}", tag = "playlists",
    params(("id" = String, Path, description = "playlist id"), Paging),
    security(("bearer" = [])),
    responses(
        (status = 200, body = PlaylistPage),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, description = "no such playlist, or a private one of someone else", body = ErrorBody),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    ApiQuery(paging): ApiQuery<Paging>,
) -> Result<Json<PlaylistPage>, ApiError> {
    check_id("playlist id", &id)?;
    let (page_size, page_token) = paging.checked()?;
    let request = pb::GetPlaylistRequest {
        playlist_id: id,
        page_size,
        page_token,
    };
    let answer = state
        .playlists()
        .call(&caller, request, async |c, r| c.get_playlist(r).await)
        .await?;
    let playlist = answer.playlist.ok_or_else(missing)?;
    Ok(Json(PlaylistPage {
        playlist: with_cover(&state, &caller, playlist).await,
        items: answer.items.into_iter().map(Into::into).collect(),
        next_page_token: next_page(answer.next_page_token),
    }))
}

/// Changes a playlist's name, description, visibility or collaborative flag.
#[utoipa::path(
    patch, path = "/v1/playlists/{id}", tag = "playlists", request_body = PlaylistChanges,
    params(("id" = String, Path, description = "playlist id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Playlist),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "the caller may read but not change it", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 412, description = "the playlist is no longer at expected_version", body = ErrorBody),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PlaylistChanges>,
) -> Result<Json<Playlist>, ApiError> {
    check_id("playlist id", &id)?;
    let request = pb::UpdatePlaylistDetailsRequest {
        playlist_id: id,
        expected_version: body.expected_version,
        name: body.name,
        description: body.description,
        public: body.public,
        collaborative: body.collaborative,
        cover_image_id: None,
    };
    let answer = state
        .playlists()
        .call(&caller, request, async |c, r| {
            c.update_playlist_details(r).await
        })
        .await?;
    let playlist = answer.playlist.ok_or_else(missing)?;
    Ok(Json(with_cover(&state, &caller, playlist).await))
}

/// Deletes a playlist (owner only).
#[utoipa::path(
    delete, path = "/v1/playlists/{id}", tag = "playlists",
    params(("id" = String, Path, description = "playlist id"), Expected),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "deleted"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 412, body = ErrorBody),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    ApiQuery(expected): ApiQuery<Expected>,
) -> Result<StatusCode, ApiError> {
    check_id("playlist id", &id)?;
    let request = pb::DeletePlaylistRequest {
        playlist_id: id,
        expected_version: expected.expected_version,
    };
    state
        .playlists()
        .call(&caller, request, async |c, r| c.delete_playlist(r).await)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds tracks at a position (the end by default). With an `Idempotency-Key`, a repeat (a
/// client retrying after a timeout) adds nothing and answers as the first call did.
#[utoipa::path(
    post, path = "/v1/playlists/{id}/items", tag = "playlists", request_body = NewItems,
    params(
        ("id" = String, Path, description = "playlist id"),
        ("Idempotency-Key" = Option<String>, Header,
            description = "client-chosen id of this addition (a UUID), kept 24 hours"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 201, body = AddedItems),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, description = "no such playlist or track", body = ErrorBody),
        (status = 412, body = ErrorBody),
    )
)]
pub async fn add_items(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NewItems>,
) -> Result<(StatusCode, Json<AddedItems>), ApiError> {
    check_id("playlist id", &id)?;
    let request_id = match headers.get("idempotency-key") {
        Some(key) => {
            let key = key
                .to_str()
                .map_err(|_| ApiError::invalid("Idempotency-Key is not text"))?;
            check_id("Idempotency-Key", key)?;
            key.to_owned()
        }
        None => String::new(),
    };
    let track_ids: Vec<String> = body.track_id.into_iter().chain(body.track_ids).collect();
    if track_ids.is_empty() {
        return Err(ApiError::invalid("give track_id or track_ids"));
    }
    let request = pb::AddPlaylistItemsRequest {
        playlist_id: id,
        expected_version: body.expected_version,
        track_ids,
        position: body.position,
        request_id,
    };
    let keyed = !request.request_id.is_empty();
    let answer = state
        .playlists()
        .idempotent(keyed)
        .call(&caller, request, async |c, r| c.add_playlist_items(r).await)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(AddedItems {
            items: answer.items.into_iter().map(Into::into).collect(),
            version: answer.version,
        }),
    ))
}

/// Removes one item.
#[utoipa::path(
    delete, path = "/v1/playlists/{id}/items/{item_id}", tag = "playlists",
    params(
        ("id" = String, Path, description = "playlist id"),
        ("item_id" = String, Path, description = "item id"), Expected,
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Version),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 412, body = ErrorBody),
    )
)]
pub async fn remove_item(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path((id, item_id)): Path<(String, String)>,
    ApiQuery(expected): ApiQuery<Expected>,
) -> Result<Json<Version>, ApiError> {
    check_id("playlist id", &id)?;
    check_id("item id", &item_id)?;
    let request = pb::RemovePlaylistItemsRequest {
        playlist_id: id,
        expected_version: expected.expected_version,
        item_ids: vec![item_id],
    };
    let answer = state
        .playlists()
        .call(&caller, request, async |c, r| {
            c.remove_playlist_items(r).await
        })
        .await?;
    Ok(Json(Version {
        version: answer.version,
    }))
}

/// Moves a run of items before another position.
#[utoipa::path(
    post, path = "/v1/playlists/{id}/items/move", tag = "playlists", request_body = ItemMove,
    params(("id" = String, Path, description = "playlist id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Version),
        (status = 400, description = "positions out of range", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 412, body = ErrorBody),
    )
)]
pub async fn move_items(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ItemMove>,
) -> Result<Json<Version>, ApiError> {
    check_id("playlist id", &id)?;
    let request = pb::MovePlaylistItemsRequest {
        playlist_id: id,
        expected_version: body.expected_version,
        range_start: body.range_start,
        range_length: body.range_length.unwrap_or(1),
        insert_before: body.insert_before,
    };
    let answer = state
        .playlists()
        .call(&caller, request, async |c, r| {
            c.move_playlist_items(r).await
        })
        .await?;
    Ok(Json(Version {
        version: answer.version,
    }))
}

//! The catalogue: tracks, albums and artists, and how the server's music folder is being read
//! into it, from `CatalogService` through the mesh with the caller's identity attached.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use tunemesh_proto::catalog::v1 as pb;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Paging;
use crate::auth::Authenticated;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiQuery, check_id};
use crate::model::catalog::{Album, AlbumPage, Artist, ArtistPage, Track, TrackPage, next_page};
use crate::model::upload::LibraryStatus;
use crate::state::AppState;

/// The catalogue's routes, for a signed-in caller.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(list_tracks))
        .routes(routes!(get_track))
        .routes(routes!(list_albums))
        .routes(routes!(get_album))
        .routes(routes!(list_artists))
        .routes(routes!(get_artist))
        .routes(routes!(library_status))
}

/// What a missing resource in a response means: the service broke its contract.
fn missing(what: &'static str) -> ApiError {
    tracing::error!(what, "the catalog answered without the resource");
    ApiError::new(tunemesh_runtime::ErrorCode::Internal, "internal error")
}

/// Filters of `GET /v1/tracks`; at most one.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrackFilter {
    /// Only the tracks of this album, in album order.
    pub album_id: Option<String>,
    /// Only the tracks credited to this artist.
    pub artist_id: Option<String>,
    /// Items per page, 1 to 500.
    pub page_size: Option<i32>,
    /// `next_page_token` of the previous page.
    pub page_token: Option<String>,
}

/// Lists tracks, optionally of one album or one artist.
#[utoipa::path(
    get, path = "/v1/tracks", tag = "catalog", params(TrackFilter),
    security(("bearer" = [])),
    responses(
        (status = 200, body = TrackPage),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, description = "the album or artist filtered on does not exist", body = ErrorBody),
    )
)]
pub async fn list_tracks(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiQuery(query): ApiQuery<TrackFilter>,
) -> Result<Json<TrackPage>, ApiError> {
    let filter = match (query.album_id, query.artist_id) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid("give album_id or artist_id, not both"));
        }
        (Some(album), None) => {
            check_id("album_id", &album)?;
            Some(pb::list_tracks_request::Filter::AlbumId(album))
        }
        (None, Some(artist)) => {
            check_id("artist_id", &artist)?;
            Some(pb::list_tracks_request::Filter::ArtistId(artist))
        }
        (None, None) => None,
    };
    let paging = Paging {
        page_size: query.page_size,
        page_token: query.page_token,
    };
    let (page_size, page_token) = paging.checked()?;
    let request = pb::ListTracksRequest {
        page_size,
        page_token,
        filter,
        ..Default::default()
    };
    let page = state
        .catalog()
        .call(&caller, request, async |c, r| c.list_tracks(r).await)
        .await?;
    Ok(Json(TrackPage {
        tracks: page.tracks.into_iter().map(Into::into).collect(),
        next_page_token: next_page(page.next_page_token),
        total_size: page.total_size,
    }))
}

/// Returns one track.
#[utoipa::path(
    get, path = "/v1/tracks/{id}", tag = "catalog",
    params(("id" = String, Path, description = "track id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Track),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
pub async fn get_track(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<Track>, ApiError> {
    check_id("track id", &id)?;
    let request = pb::GetTrackRequest { track_id: id };
    let answer = state
        .catalog()
        .call(&caller, request, async |c, r| c.get_track(r).await)
        .await?;
    Ok(Json(answer.track.ok_or_else(|| missing("track"))?.into()))
}

/// Filter of `GET /v1/albums`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlbumFilter {
    /// Only the albums this artist is credited on.
    pub artist_id: Option<String>,
    /// Items per page, 1 to 500.
    pub page_size: Option<i32>,
    /// `next_page_token` of the previous page.
    pub page_token: Option<String>,
}

/// Lists albums, optionally of one artist.
#[utoipa::path(
    get, path = "/v1/albums", tag = "catalog", params(AlbumFilter),
    security(("bearer" = [])),
    responses(
        (status = 200, body = AlbumPage),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, description = "the artist filtered on does not exist", body = ErrorBody),
    )
)]
pub async fn list_albums(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiQuery(query): ApiQuery<AlbumFilter>,
) -> Result<Json<AlbumPage>, ApiError> {
    if let Some(artist) = &query.artist_id {
        check_id("artist_id", artist)?;
    }
    let paging = Paging {
        page_size: query.page_size,
        page_token: query.page_token,
    };
    let (page_size, page_token) = paging.checked()?;
    let request = pb::ListAlbumsRequest {
        page_size,
        page_token,
        artist_id: query.artist_id.unwrap_or_default(),
        ..Default::default()
    };
    let page = state
        .catalog()
        .call(&caller, request, async |c, r| c.list_albums(r).await)
        .await?;
    Ok(Json(AlbumPage {
        albums: page.albums.into_iter().map(Into::into).collect(),
        next_page_token: next_page(page.next_page_token),
        total_size: page.total_size,
    }))
}

/// Returns one album.
#[utoipa::path(
    get, path = "/v1/albums/{id}", tag = "catalog",
    params(("id" = String, Path, description = "album id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Album),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
pub async fn get_album(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<Album>, ApiError> {
    check_id("album id", &id)?;
    let request = pb::GetAlbumRequest { album_id: id };
    let answer = state
        .catalog()
        .call(&caller, request, async |c, r| c.get_album(r).await)
        .await?;
    Ok(Json(answer.album.ok_or_else(|| missing("album"))?.into()))
}

/// Lists every artist by sort name.
#[utoipa::path(
    get, path = "/v1/artists", tag = "catalog", params(Paging),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ArtistPage),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
    )
)]
pub async fn list_artists(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiQuery(paging): ApiQuery<Paging>,
) -> Result<Json<ArtistPage>, ApiError> {
    let (page_size, page_token) = paging.checked()?;
    let request = pb::ListArtistsRequest {
        page_size,
        page_token,
        ..Default::default()
    };
    let page = state
        .catalog()
        .call(&caller, request, async |c, r| c.list_artists(r).await)
        .await?;
    Ok(Json(ArtistPage {
        artists: page.artists.into_iter().map(Into::into).collect(),
        next_page_token: next_page(page.next_page_token),
        total_size: page.total_size,
    }))
}

/// Returns one artist.
#[utoipa::path(
    get, path = "/v1/artists/{id}", tag = "catalog",
    params(("id" = String, Path, description = "artist id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Artist),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
pub async fn get_artist(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<Artist>, ApiError> {
    check_id("artist id", &id)?;
    let request = pb::GetArtistRequest { artist_id: id };
    let answer = state
        .catalog()
        .call(&caller, request, async |c, r| c.get_artist(r).await)
        .await?;
    Ok(Json(answer.artist.ok_or_else(|| missing("artist"))?.into()))
}

/// How the server's own music folder (`tunemesh up --library DIR`) is being read into the
/// catalogue: whether a scan runs and its counts. Clients poll it while `scanning` to show
/// tracks as they become playable.
#[utoipa::path(
    get, path = "/v1/library/status", tag = "catalog",
    security(("bearer" = [])),
    responses((status = 200, body = LibraryStatus), (status = 401, body = ErrorBody))
)]
pub async fn library_status(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
) -> Result<Json<LibraryStatus>, ApiError> {
    let answer = state
        .catalog()
        .call(&caller, pb::GetLibraryStatusRequest {}, async |c, r| {
            c.get_library_status(r).await
        })
        .await?;
    Ok(Json(answer.into()))
}

//! Listening history: the caller's (`/v1/me/history`) and an artist's most played tracks
//! (`/v1/artists/{id}/top-tracks`), from `RecommendationService`, with each id resolved to
//! the catalogue's whole track or album (covers included) by `BatchGetTracks` and
//! `BatchGetAlbums`.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use tunemesh_proto::catalog::v1 as catalog;
use tunemesh_proto::reco::v1 as reco;
use tunemesh_runtime::identity::Caller;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Authenticated;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiQuery, check_id};
use crate::model::history::{History, Resolved, TopTracks};
use crate::state::AppState;

/// Most entries of one list (reco-svc's bound).
const LIMIT_MAX: u32 = 50;
/// Most ids one catalogue batch read takes (the contract's limit).
const BATCH: usize = 100;

/// The history routes, for a signed-in caller.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(history))
        .routes(routes!(top_tracks))
}

/// How many entries each list holds.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryLimit {
    /// 1 to 50; 20 for the history and 10 for top tracks when absent.
    pub limit: Option<u32>,
}

impl HistoryLimit {
    /// The limit for reco-svc (0: its default), after bounds checks.
    fn checked(&self) -> Result<u32, ApiError> {
        match self.limit {
            None => Ok(0),
            Some(n) if (1..=LIMIT_MAX).contains(&n) => Ok(n),
            Some(_) => Err(ApiError::invalid(format!(
                "limit must be between 1 and {LIMIT_MAX}"
            ))),
        }
    }
}

/// What the caller played lately, and the albums they play most.
#[utoipa::path(
    get, path = "/v1/me/history", tag = "history", params(HistoryLimit),
    security(("bearer" = [])),
    responses(
        (status = 200, body = History),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 503, description = "the history is still loading", body = ErrorBody),
    )
)]
pub async fn history(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiQuery(query): ApiQuery<HistoryLimit>,
) -> Result<Json<History>, ApiError> {
    let limit = query.checked()?;
    // The caller's own: reco-svc reads the user from the signed identity, never the request.
    let (recent, most) = tokio::try_join!(
        state.reco().call(
            &caller,
            reco::RecentlyPlayedRequest { limit },
            async |c, r| c.recently_played(r).await
        ),
        state.reco().call(
            &caller,
            reco::MostPlayedAlbumsRequest { limit },
            async |c, r| c.most_played_albums(r).await
        ),
    )?;
    let tracks = recent.tracks.iter().map(|t| t.track_id.clone()).collect();
    let albums = (recent.albums.iter().chain(&most.albums))
        .map(|a| a.album_id.clone())
        .collect();
    let resolved = resolve(&state, &caller, tracks, albums).await?;
    Ok(Json(resolved.history(recent, most)))
}

/// The artist's tracks every listener played most.
#[utoipa::path(
    get, path = "/v1/artists/{id}/top-tracks", tag = "history",
    params(("id" = String, Path, description = "artist id"), HistoryLimit),
    security(("bearer" = [])),
    responses(
        (status = 200, body = TopTracks),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, description = "unknown artist", body = ErrorBody),
        (status = 503, description = "the play counts are still loading", body = ErrorBody),
    )
)]
pub async fn top_tracks(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<HistoryLimit>,
) -> Result<Json<TopTracks>, ApiError> {
    check_id("artist id", &id)?;
    let limit = query.checked()?;
    // reco-svc has no notion of a missing artist (it learns the catalogue from events); the
    // catalogue answers NOT_FOUND for one that does not exist.
    let artist = catalog::GetArtistRequest {
        artist_id: id.clone(),
    };
    let request = reco::TopTracksRequest {
        artist_id: id,
        limit,
    };
    let (_, top) = tokio::try_join!(
        state
            .catalog()
            .call(&caller, artist, async |c, r| c.get_artist(r).await),
        state
            .reco()
            .call(&caller, request, async |c, r| c.top_tracks(r).await),
    )?;
    let tracks = top.tracks.iter().map(|t| t.track_id.clone()).collect();
    let resolved = resolve(&state, &caller, tracks, Vec::new()).await?;
    Ok(Json(resolved.top_tracks(top)))
}

/// The catalogue's tracks and albums of `track_ids` and `album_ids` (duplicates read once,
/// at most [`BATCH`] per call), as `caller` sees the catalogue.
async fn resolve(
    state: &AppState,
    caller: &Caller,
    mut track_ids: Vec<String>,
    mut album_ids: Vec<String>,
) -> Result<Resolved, ApiError> {
    for ids in [&mut track_ids, &mut album_ids] {
        ids.sort_unstable();
        ids.dedup();
    }
    let tracks = batched(&track_ids, |track_ids| async move {
        let request = catalog::BatchGetTracksRequest { track_ids };
        let answer = (state.catalog())
            .call(caller, request, async |c, r| c.batch_get_tracks(r).await)
            .await?;
        Ok(answer.tracks)
    });
    let albums = batched(&album_ids, |album_ids| async move {
        let request = catalog::BatchGetAlbumsRequest { album_ids };
        let answer = (state.catalog())
            .call(caller, request, async |c, r| c.batch_get_albums(r).await)
            .await?;
        Ok(answer.albums)
    });
    let (tracks, albums) = tokio::try_join!(tracks, albums)?;
    Ok(Resolved {
        tracks: tracks.into_iter().map(|t| (t.id.clone(), t)).collect(),
        albums: albums.into_iter().map(|a| (a.id.clone(), a)).collect(),
    })
}

/// What `read` finds of `ids`, asked [`BATCH`] ids at a time.
async fn batched<T, F>(ids: &[String], read: impl Fn(Vec<String>) -> F) -> Result<Vec<T>, ApiError>
where
    F: Future<Output = Result<Vec<T>, ApiError>>,
{
    let mut found = Vec::new();
    for batch in ids.chunks(BATCH) {
        found.extend(read(batch.to_vec()).await?);
    }
    Ok(found)
}

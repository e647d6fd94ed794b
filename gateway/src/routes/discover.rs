//! Finding music: search (`SearchService`) and recommendations, radio and similar tracks
//! (`RecommendationService`).

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use tunemesh_proto::reco::v1 as reco;
use tunemesh_proto::search::v1 as search;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::check_page_token;
use crate::auth::Authenticated;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiQuery, check_id};
use crate::images::derived;
use crate::model::discover::{Recommendations, SearchPage};
use crate::state::AppState;

/// Longest query passed on; longer ones are not searches a person typed.
const QUERY_MAX_CHARS: usize = 256;
/// Most results of one page.
const LIMIT_MAX: u32 = 100;

/// The search and recommendation routes, for a signed-in caller.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(search))
        .routes(routes!(recommendations))
        .routes(routes!(radio))
        .routes(routes!(similar))
}

/// Query of `GET /v1/search`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// What to look for, 1 to 256 characters; prefixes and typos are fine.
    pub q: String,
    /// Results per page, 1 to 100; the service's default when absent.
    pub limit: Option<u32>,
    /// Only these kinds: `track`, `album`, `artist`, `playlist`, comma-separated; all when
    /// absent.
    pub kind: Option<String>,
    /// `next_page_token` of the previous page.
    pub page_token: Option<String>,
}

fn limit(limit: Option<u32>) -> Result<u32, ApiError> {
    match limit {
        None => Ok(0),
        Some(n) if (1..=LIMIT_MAX).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::invalid(format!(
            "limit must be between 1 and {LIMIT_MAX}"
        ))),
    }
}

/// Searches tracks, albums, artists and public playlists.
#[utoipa::path(
    get, path = "/v1/search", tag = "discover", params(SearchQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = SearchPage),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
    )
)]
pub async fn search(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> Result<Json<SearchPage>, ApiError> {
    let chars = query.q.chars().count();
    if query.q.trim().is_empty() || chars > QUERY_MAX_CHARS {
        return Err(ApiError::invalid(format!(
            "q must be 1 to {QUERY_MAX_CHARS} characters"
        )));
    }
    let types = match query.kind.as_deref() {
        None | Some("") => Vec::new(),
        Some(kinds) => kinds
            .split(',')
            .map(|kind| match kind.trim() {
                "track" => Ok(search::SearchResultType::Track.into()),
                "album" => Ok(search::SearchResultType::Album.into()),
                "artist" => Ok(search::SearchResultType::Artist.into()),
                "playlist" => Ok(search::SearchResultType::Playlist.into()),
                _ => Err(ApiError::invalid(
                    "kind must be track, album, artist or playlist (comma-separated)",
                )),
            })
            .collect::<Result<_, _>>()?,
    };
    let request = search::SearchRequest {
        query: query.q,
        types,
        page_size: i32::try_from(limit(query.limit)?).unwrap_or(0),
        page_token: check_page_token(query.page_token)?,
    };
    let mut page = state
        .search()
        .call(&caller, request, async |c, r| c.search(r).await)
        .await?;
    let mut playlists: Vec<&mut search::PlaylistSummary> = page
        .results
        .iter_mut()
        .filter_map(|hit| match &mut hit.item {
            Some(search::search_result::Item::Playlist(playlist)) => Some(playlist),
            _ => None,
        })
        .collect();
    derived::fill(&state, &caller, &mut playlists).await;
    Ok(Json(page.into()))
}

/// How many tracks to return.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Limit {
    /// 1 to 100; the service's default when absent.
    pub limit: Option<u32>,
}

/// Radio paging.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RadioQuery {
    /// 1 to 100; the service's default when absent.
    pub limit: Option<u32>,
    /// `next_page_token` of the previous batch, to continue the station.
    pub page_token: Option<String>,
}

/// Tracks for the caller, from what they played (popular tracks for new listeners).
#[utoipa::path(
    get, path = "/v1/recommendations", tag = "discover", params(Limit),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Recommendations),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 501, description = "recommendations are not available yet", body = ErrorBody),
    )
)]
pub async fn recommendations(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiQuery(query): ApiQuery<Limit>,
) -> Result<Json<Recommendations>, ApiError> {
    let request = reco::RecommendRequest {
        limit: limit(query.limit)?,
        exclude_track_ids: Vec::new(),
    };
    let answer = state
        .reco()
        .call(&caller, request, async |c, r| c.recommend(r).await)
        .await?;
    Ok(Json(Recommendations::of(
        answer.recommendations,
        String::new(),
    )))
}

/// An endless station from a seed track, batch by batch.
#[utoipa::path(
    get, path = "/v1/radio/{track_id}", tag = "discover",
    params(("track_id" = String, Path, description = "seed track"), RadioQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Recommendations),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, description = "unknown seed track", body = ErrorBody),
        (status = 501, description = "radio is not available yet", body = ErrorBody),
    )
)]
pub async fn radio(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(track_id): Path<String>,
    ApiQuery(query): ApiQuery<RadioQuery>,
) -> Result<Json<Recommendations>, ApiError> {
    check_id("track id", &track_id)?;
    let request = reco::RadioRequest {
        seed_track_id: track_id,
        limit: limit(query.limit)?,
        page_token: check_page_token(query.page_token)?,
    };
    let answer = state
        .reco()
        .call(&caller, request, async |c, r| c.radio(r).await)
        .await?;
    Ok(Json(Recommendations::of(
        answer.tracks,
        answer.next_page_token,
    )))
}

/// Tracks listeners of a track also play.
#[utoipa::path(
    get, path = "/v1/tracks/{id}/similar", tag = "discover",
    params(("id" = String, Path, description = "track id"), Limit),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Recommendations),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, description = "unknown track", body = ErrorBody),
        (status = 501, description = "similar tracks are not available yet", body = ErrorBody),
    )
)]
pub async fn similar(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<Limit>,
) -> Result<Json<Recommendations>, ApiError> {
    check_id("track id", &id)?;
    let request = reco::SimilarTracksRequest {
        track_id: id,
        limit: limit(query.limit)?,
    };
    let answer = state
        .reco()
        .call(&caller, request, async |c, r| c.similar_tracks(r).await)
        .await?;
    Ok(Json(Recommendations::of(answer.tracks, String::new())))
}

//! Songs from reco-svc's model: `getSimilarSongs` (a song, album or artist: what apps call
//! "instant mix"), `getSimilarSongs2` (an artist) and `getTopSongs` (an artist by name).
//!
//! A seed that is not a song is a song of it: an album's first, an artist's most played (or
//! first, before anyone played it). A seed the model knows nothing about yet still gives a
//! mix: reco-svc's radio station from it, which starts from popular tracks.

use tunemesh_proto::catalog::v1 as catalog;
use tunemesh_proto::reco::v1 as pb;
use tunemesh_proto::search::v1 as search;

use super::browse::{album_tracks, id_param};
use super::error::SubsonicError;
use super::hydrate::{mark_starred, tracks};
use super::methods::{Ctx, Method, handler};
use super::model::Child;
use super::response::{Payload, Songs};

/// This area's methods.
pub(crate) const TABLE: &[(&str, Method)] = &[
    ("getSimilarSongs", handler!(get_similar_songs)),
    ("getSimilarSongs2", handler!(get_similar_songs2)),
    ("getTopSongs", handler!(get_top_songs)),
];

/// Songs answered by default, and at most (reco-svc's `SimilarTracks` limit).
const DEFAULT_COUNT: u32 = 50;
const MAX_COUNT: u32 = 100;

/// `count`, defaulted and bounded.
fn count(ctx: &Ctx<'_>, max: u32) -> Result<u32, SubsonicError> {
    match ctx.call.params.get("count").filter(|c| !c.is_empty()) {
        None => Ok(DEFAULT_COUNT.min(max)),
        Some(raw) => raw
            .parse::<u32>()
            .map(|n| n.clamp(1, max))
            .map_err(|_| SubsonicError::MissingParameter("count must be a number".into())),
    }
}

async fn get_similar_songs(ctx: &Ctx<'_>) -> Result<Payload, SubsonicError> {
    Ok(Payload::SimilarSongs(similar(ctx).await?))
}

async fn get_similar_songs2(ctx: &Ctx<'_>) -> Result<Payload, SubsonicError> {
    Ok(Payload::SimilarSongs2(similar(ctx).await?))
}

/// Songs like the seed `id`.
async fn similar(ctx: &Ctx<'_>) -> Result<Songs, SubsonicError> {
    let id = id_param(ctx, "id")?.to_owned();
    let limit = count(ctx, MAX_COUNT)?;
    let Some(seed) = seed_track(ctx, id).await? else {
        return Ok(Songs { song: Vec::new() });
    };
    let request = pb::SimilarTracksRequest {
        track_id: seed.clone(),
        limit,
    };
    let mut ids: Vec<String> = (ctx.state.reco())
        .call(ctx.identity(), request, async |c, r| {
            c.similar_tracks(r).await
        })
        .await?
        .tracks
        .into_iter()
        .map(|t| t.track_id)
        .collect();
    if ids.is_empty() {
        let request = pb::RadioRequest {
            seed_track_id: seed.clone(),
            limit: limit.min(50),
            page_token: String::new(),
        };
        ids = (ctx.state.reco())
            .call(ctx.identity(), request, async |c, r| c.radio(r).await)
            .await?
            .tracks
            .into_iter()
            .map(|t| t.track_id)
            .filter(|id| *id != seed)
            .collect();
    }
    songs(ctx, &ids).await
}

/// The song standing for `id`: itself, an album's first song, an artist's top (or first) song.
async fn seed_track(ctx: &Ctx<'_>, id: String) -> Result<Option<String>, SubsonicError> {
    if id.starts_with("al_") {
        return Ok(album_tracks(ctx, id)
            .await?
            .into_iter()
            .next()
            .map(|t| t.id));
    }
    if id.starts_with("ar_") {
        return Ok(artist_top(ctx, &id, 1).await?.into_iter().next());
    }
    Ok(Some(id))
}

/// An artist's most played songs, or their first songs before anyone played them.
async fn artist_top(
    ctx: &Ctx<'_>,
    artist_id: &str,
    limit: u32,
) -> Result<Vec<String>, SubsonicError> {
    let request = pb::TopTracksRequest {
        artist_id: artist_id.to_owned(),
        limit: limit.min(50),
    };
    let top: Vec<String> = (ctx.state.reco())
        .call(ctx.identity(), request, async |c, r| c.top_tracks(r).await)
        .await?
        .tracks
        .into_iter()
        .map(|t| t.track_id)
        .collect();
    if !top.is_empty() {
        return Ok(top);
    }
    let request = catalog::ListTracksRequest {
        page_size: i32::try_from(limit).unwrap_or(500),
        page_token: String::new(),
        filter: Some(catalog::list_tracks_request::Filter::ArtistId(
            artist_id.to_owned(),
        )),
        ..Default::default()
    };
    Ok((ctx.state.catalog())
        .call(ctx.identity(), request, async |c, r| c.list_tracks(r).await)
        .await?
        .tracks
        .into_iter()
        .map(|t| t.id)
        .collect())
}

/// `getTopSongs`: `artist` is a name, as Last.fm-era clients send it; the artist whose name
/// matches it exactly (ignoring case) among the search results, else no songs.
async fn get_top_songs(ctx: &Ctx<'_>) -> Result<Payload, SubsonicError> {
    let name = ctx.call.params.required("artist")?;
    let limit = count(ctx, 50)?;
    if name.chars().count() > 200 {
        return Ok(Payload::TopSongs(Songs { song: Vec::new() }));
    }
    let request = search::SearchRequest {
        query: name.to_owned(),
        types: vec![search::SearchResultType::Artist as i32],
        page_size: 10,
        page_token: String::new(),
    };
    let found = (ctx.state.search())
        .call(ctx.identity(), request, async |c, r| c.search(r).await)
        .await?;
    let artist = found.results.into_iter().find_map(|r| match r.item {
        Some(search::search_result::Item::Artist(a)) if a.name.eq_ignore_ascii_case(name) => {
            Some(a.id)
        }
        _ => None,
    });
    let Some(artist) = artist else {
        return Ok(Payload::TopSongs(Songs { song: Vec::new() }));
    };
    let ids = artist_top(ctx, &artist, limit).await?;
    Ok(Payload::TopSongs(songs(ctx, &ids).await?))
}

/// `ids` as songs, in order.
async fn songs(ctx: &Ctx<'_>, ids: &[String]) -> Result<Songs, SubsonicError> {
    let found = tracks(ctx, ids).await?;
    let mut song: Vec<Child> = found.iter().map(Child::from).collect();
    mark_starred(ctx, &mut song).await?;
    Ok(Songs { song })
}

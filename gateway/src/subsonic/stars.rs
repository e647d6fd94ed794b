//! Stars: `star`/`unstar` and `getStarred`/`getStarred2`, on playlist-svc's liked songs,
//! albums and artists (each with its like time, answered as `starred`), hydrated from the
//! catalogue with `BatchGet*`.
//!
//! `star`'s `id` names songs, or albums and artists by their id prefix (`al_`, `ar_`): DSub in
//! folder mode stars folders through `id`. `albumId` and `artistId` name albums and artists.

use std::collections::HashMap;

use prost_types::Timestamp;
use serde::Serialize;
use tunemesh_proto::playlist::v1 as pb;

use super::error::SubsonicError;
use super::hydrate::{BATCH, albums, artists, tracks};
use super::methods::{Ctx, Method, handler};
use super::model::{AlbumId3, ArtistId3, Child, time};
use super::response::Payload;
use crate::error::ApiError;
use crate::extract::check_id;

/// This area's methods.
pub(crate) const TABLE: &[(&str, Method)] = &[
    ("star", handler!(star)),
    ("unstar", handler!(unstar)),
    ("getStarred", handler!(get_starred)),
    ("getStarred2", handler!(get_starred2)),
];

/// Most ids one `star`/`unstar` takes, all kinds together: a whole album's songs fit, and a
/// call stays a handful of requests to playlist-svc.
const MAX_STAR_IDS: usize = 1_000;

/// Most starred items of each kind `getStarred` answers, most recently starred first:
/// bounds one call's work (the API has no paging here).
pub(crate) const MAX_STARRED: usize = 2_000;

/// What a `star`/`unstar` names, each kind without repeats, in request order.
#[derive(Debug, Default)]
struct Targets {
    tracks: Vec<String>,
    albums: Vec<String>,
    artists: Vec<String>,
}

impl Targets {
    fn of(ctx: &Ctx<'_>) -> Result<Self, SubsonicError> {
        let params = &ctx.call.params;
        let mut targets = Self::default();
        let named = params
            .all("id")
            .map(|id| ("id", id))
            .chain(params.all("albumId").map(|id| ("albumId", id)))
            .chain(params.all("artistId").map(|id| ("artistId", id)));
        for (count, (param, id)) in named.enumerate() {
            if count >= MAX_STAR_IDS {
                return Err(SubsonicError::MissingParameter(
                    format!("at most {MAX_STAR_IDS} ids per call").into(),
                ));
            }
            check_id(param, id)?;
            let list = match (param, id.get(..3)) {
                ("albumId", _) | ("id", Some("al_")) => &mut targets.albums,
                ("artistId", _) | ("id", Some("ar_")) => &mut targets.artists,
                _ => &mut targets.tracks,
            };
            if !list.iter().any(|known| known == id) {
                list.push(id.to_owned());
            }
        }
        if targets.tracks.is_empty() && targets.albums.is_empty() && targets.artists.is_empty() {
            return Err(SubsonicError::missing("id, albumId or artistId"));
        }
        Ok(targets)
    }
}

/// A like's refusal as Subsonic sees it: the gateway checked the ids' form and sends at most
/// [`BATCH`], so an invalid argument can only be an id the catalogue does not have (70).
fn like_error(error: ApiError) -> SubsonicError {
    match error.code() {
        tunemesh_runtime::ErrorCode::InvalidArgument => {
            SubsonicError::NotFound(error.message().to_owned().into())
        }
        _ => error.into(),
    }
}

async fn star(ctx: &Ctx<'_>) -> Result<(), SubsonicError> {
    change(ctx, true).await
}

async fn unstar(ctx: &Ctx<'_>) -> Result<(), SubsonicError> {
    change(ctx, false).await
}

/// Likes (or unlikes) every target, a batch at a time.
async fn change(ctx: &Ctx<'_>, like: bool) -> Result<(), SubsonicError> {
    let targets = Targets::of(ctx)?;
    let (me, playlists) = (ctx.identity(), || ctx.state.playlists());
    for ids in targets.tracks.chunks(BATCH).map(<[String]>::to_vec) {
        let expected_version = None;
        let result = if like {
            let request = pb::LikeTracksRequest {
                track_ids: ids,
                expected_version,
            };
            playlists()
                .call(me, request, async |c, r| c.like_tracks(r).await)
                .await
                .map(drop)
        } else {
            let request = pb::UnlikeTracksRequest {
                track_ids: ids,
                expected_version,
            };
            playlists()
                .call(me, request, async |c, r| c.unlike_tracks(r).await)
                .await
                .map(drop)
        };
        result.map_err(like_error)?;
    }
    for ids in targets.albums.chunks(BATCH).map(<[String]>::to_vec) {
        let expected_version = None;
        let result = if like {
            let request = pb::LikeAlbumsRequest {
                album_ids: ids,
                expected_version,
            };
            playlists()
                .call(me, request, async |c, r| c.like_albums(r).await)
                .await
                .map(drop)
        } else {
            let request = pb::UnlikeAlbumsRequest {
                album_ids: ids,
                expected_version,
            };
            playlists()
                .call(me, request, async |c, r| c.unlike_albums(r).await)
                .await
                .map(drop)
        };
        result.map_err(like_error)?;
    }
    for ids in targets.artists.chunks(BATCH).map(<[String]>::to_vec) {
        let expected_version = None;
        let result = if like {
            let request = pb::LikeArtistsRequest {
                artist_ids: ids,
                expected_version,
            };
            playlists()
                .call(me, request, async |c, r| c.like_artists(r).await)
                .await
                .map(drop)
        } else {
            let request = pb::UnlikeArtistsRequest {
                artist_ids: ids,
                expected_version,
            };
            playlists()
                .call(me, request, async |c, r| c.unlike_artists(r).await)
                .await
                .map(drop)
        };
        result.map_err(like_error)?;
    }
    Ok(())
}

/// `(id, like time)` pairs, most recently liked first.
type Liked = Vec<(String, Option<Timestamp>)>;

/// One page of a liked list: its items and the next page's token.
type LikedPage = (Liked, String);

/// The kinds of likes.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Song,
    Album,
    Artist,
}

/// One page of the caller's liked items of `kind`.
async fn liked_page(ctx: &Ctx<'_>, kind: Kind, page_token: String) -> Result<LikedPage, ApiError> {
    let (me, playlists) = (ctx.identity(), ctx.state.playlists());
    let page_size = 500;
    Ok(match kind {
        Kind::Song => {
            let request = pb::ListLikedTracksRequest {
                page_size,
                page_token,
            };
            let page = playlists
                .call(me, request, async |c, r| c.list_liked_tracks(r).await)
                .await?;
            let items = page.tracks.into_iter().map(|t| (t.track_id, t.like_time));
            (items.collect(), page.next_page_token)
        }
        Kind::Album => {
            let request = pb::ListLikedAlbumsRequest {
                page_size,
                page_token,
            };
            let page = playlists
                .call(me, request, async |c, r| c.list_liked_albums(r).await)
                .await?;
            let items = page.albums.into_iter().map(|a| (a.album_id, a.like_time));
            (items.collect(), page.next_page_token)
        }
        Kind::Artist => {
            let request = pb::ListLikedArtistsRequest {
                page_size,
                page_token,
            };
            let page = playlists
                .call(me, request, async |c, r| c.list_liked_artists(r).await)
                .await?;
            let items = page.artists.into_iter().map(|a| (a.artist_id, a.like_time));
            (items.collect(), page.next_page_token)
        }
    })
}

/// Every liked item of `kind` (at most [`MAX_STARRED`]), most recently liked first.
async fn all_liked(ctx: &Ctx<'_>, kind: Kind) -> Result<Liked, SubsonicError> {
    let mut liked = Vec::new();
    let mut token = String::new();
    loop {
        let (items, next) = liked_page(ctx, kind, token).await?;
        liked.extend(items);
        if next.is_empty() || liked.len() >= MAX_STARRED {
            liked.truncate(MAX_STARRED);
            return Ok(liked);
        }
        token = next;
    }
}

/// The caller's liked songs, albums and artists, read at once.
async fn liked(ctx: &Ctx<'_>) -> Result<(Liked, Liked, Liked), SubsonicError> {
    tokio::try_join!(
        all_liked(ctx, Kind::Song),
        all_liked(ctx, Kind::Album),
        all_liked(ctx, Kind::Artist)
    )
}

/// Ids and their like times as RFC 3339.
fn times(liked: &Liked) -> (Vec<String>, HashMap<&str, Option<String>>) {
    let ids = liked.iter().map(|(id, _)| id.clone()).collect();
    let at = liked
        .iter()
        .map(|(id, at)| (id.as_str(), time(at.as_ref())))
        .collect();
    (ids, at)
}

/// The starred songs, albums and artists, hydrated, each with its `starred` time.
async fn starred(ctx: &Ctx<'_>) -> Result<Starred2, SubsonicError> {
    let (songs, album_likes, artist_likes) = liked(ctx).await?;
    let ((song_ids, song_at), (album_ids, album_at), (artist_ids, artist_at)) =
        (times(&songs), times(&album_likes), times(&artist_likes));
    let (found_songs, found_albums, found_artists) = tokio::try_join!(
        tracks(ctx, &song_ids),
        albums(ctx, &album_ids),
        artists(ctx, &artist_ids)
    )?;
    let at = |map: &HashMap<&str, Option<String>>, id: &str| map.get(id).cloned().flatten();
    Ok(Starred2 {
        artist: (found_artists.iter())
            .map(|a| ArtistId3 {
                starred: at(&artist_at, &a.id),
                ..ArtistId3::from(a)
            })
            .collect(),
        album: (found_albums.iter())
            .map(|a| AlbumId3 {
                starred: at(&album_at, &a.id),
                ..AlbumId3::from(a)
            })
            .collect(),
        song: (found_songs.iter())
            .map(|t| Child {
                starred: at(&song_at, &t.id),
                ..Child::from(t)
            })
            .collect(),
    })
}

async fn get_starred2(ctx: &Ctx<'_>) -> Result<Payload, SubsonicError> {
    Ok(Payload::Starred2(starred(ctx).await?))
}

/// `getStarred`: the same, with albums as directories (`Child`, `isDir`) and artists as
/// `Artist`.
async fn get_starred(ctx: &Ctx<'_>) -> Result<Payload, SubsonicError> {
    let starred = starred(ctx).await?;
    Ok(Payload::Starred(Starred {
        artist: (starred.artist.into_iter())
            .map(|a| Artist {
                id: a.id,
                name: a.name,
                starred: a.starred,
            })
            .collect(),
        album: starred.album.iter().map(AlbumId3::as_child).collect(),
        song: starred.song,
    }))
}

/// `starred2`: what the caller starred, by tags (ID3).
#[derive(Debug, Serialize)]
pub(crate) struct Starred2 {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    artist: Vec<ArtistId3>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    album: Vec<AlbumId3>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    song: Vec<Child>,
}

/// `starred`: what the caller starred, by folders.
#[derive(Debug, Serialize)]
pub(crate) struct Starred {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    artist: Vec<Artist>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    album: Vec<Child>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    song: Vec<Child>,
}

/// `Artist` (folder browsing): an artist as a directory.
#[derive(Debug, Serialize)]
pub(crate) struct Artist {
    #[serde(rename = "@id")]
    id: String,
    #[serde(rename = "@name")]
    name: String,
    #[serde(rename = "@starred", skip_serializing_if = "Option::is_none")]
    starred: Option<String>,
}

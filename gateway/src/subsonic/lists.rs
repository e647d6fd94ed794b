//! Lists: `getAlbumList`/`getAlbumList2` (the home screens of every client), `getRandomSongs`,
//! `getGenres` and `getSongsByGenre`. Orders, filters and samples are the catalogue's
//! (`ListAlbums` orders and filters, `SampleAlbums`, `SampleTracks`, `ListGenres`); a user's
//! recent and most played albums are reco-svc's (`RecentlyPlayed`, `MostPlayedAlbums`), their
//! starred albums playlist-svc's (`ListLikedAlbums`).

use tunemesh_proto::catalog::v1 as pb;
use tunemesh_proto::playlist::v1 as playlist;
use tunemesh_proto::reco::v1 as reco;

use super::error::SubsonicError;
use super::hydrate;
use super::library::{AlbumList, AlbumList2, Genre, Genres, Songs};
use super::methods::{Ctx, Method, handler};
use super::model::{AlbumId3, Child, int32, time};
use super::response::Payload;

/// This area's methods.
pub(crate) const TABLE: &[(&str, Method)] = &[
    ("getAlbumList", handler!(get_album_list)),
    ("getAlbumList2", handler!(get_album_list2)),
    ("getRandomSongs", handler!(get_random_songs)),
    ("getGenres", handler!(get_genres)),
    ("getSongsByGenre", handler!(get_songs_by_genre)),
];

/// Largest list one call answers (the spec's maximum for `size` and `count`).
pub(crate) const MAX_SIZE: u32 = 500;
/// Largest `offset` accepted (the catalogue's bound).
pub(crate) const MAX_OFFSET: u32 = 1_000_000;

/// The number `name`: `default` when absent or empty, at most `max`; error 10 when it is not
/// a non-negative integer.
pub(crate) fn number(
    ctx: &Ctx<'_>,
    name: &str,
    default: u32,
    max: u32,
) -> Result<u32, SubsonicError> {
    match ctx.call.params.get(name) {
        None | Some("") => Ok(default),
        Some(raw) => raw.trim().parse::<u32>().map(|n| n.min(max)).map_err(|_| {
            SubsonicError::MissingParameter(
                format!("{name} must be a number from 0, not {raw:?}").into(),
            )
        }),
    }
}

/// An optional year (`fromYear`, `toYear`): 0 when absent.
fn year(ctx: &Ctx<'_>, name: &str) -> Result<u32, SubsonicError> {
    number(ctx, name, 0, 9999)
}

/// A non-empty text parameter, if sent.
fn text<'a>(ctx: &'a Ctx<'_>, name: &str) -> Option<&'a str> {
    ctx.call.params.get(name).filter(|v| !v.is_empty())
}

async fn get_album_list(ctx: &Ctx<'_>) -> Result<Payload, SubsonicError> {
    let albums = album_list(ctx).await?;
    Ok(Payload::AlbumList(AlbumList {
        album: albums.iter().map(AlbumId3::as_child).collect(),
    }))
}

async fn get_album_list2(ctx: &Ctx<'_>) -> Result<Payload, SubsonicError> {
    Ok(Payload::AlbumList2(AlbumList2 {
        album: album_list(ctx).await?,
    }))
}

/// The albums of a `getAlbumList*` call, by `type`.
async fn album_list(ctx: &Ctx<'_>) -> Result<Vec<AlbumId3>, SubsonicError> {
    let kind = ctx.call.params.required("type")?;
    let size = number(ctx, "size", 10, MAX_SIZE)?;
    let offset = number(ctx, "offset", 0, MAX_OFFSET)?;
    if size == 0 {
        return Ok(Vec::new());
    }
    let mut request = pb::ListAlbumsRequest {
        page_size: int32(size),
        offset: int32(offset),
        ..Default::default()
    };
    let order = match kind {
        "newest" => pb::AlbumOrder::Newest,
        "alphabeticalByName" => pb::AlbumOrder::Title,
        "alphabeticalByArtist" => pb::AlbumOrder::Artist,
        "byYear" => {
            let (from, to) = (year(ctx, "fromYear")?, year(ctx, "toYear")?);
            ctx.call.params.required("fromYear")?;
            ctx.call.params.required("toYear")?;
            // fromYear > toYear asks for the range latest first (the spec's rule).
            if from > to {
                (request.from_year, request.to_year) = (to, from);
                pb::AlbumOrder::YearDescending
            } else {
                (request.from_year, request.to_year) = (from, to);
                pb::AlbumOrder::Year
            }
        }
        "byGenre" => {
            request.genre = ctx.call.params.required("genre")?.to_owned();
            pb::AlbumOrder::Title
        }
        "random" => {
            let request = pb::SampleAlbumsRequest { size: int32(size) };
            let answer = (ctx.state.catalog())
                .call(ctx.identity(), request, async |c, r| {
                    c.sample_albums(r).await
                })
                .await?;
            return Ok(answer.albums.iter().map(AlbumId3::from).collect());
        }
        "recent" => return played_albums(ctx, size, offset, Played::Recent).await,
        // tunemesh has no ratings: the best rated are the most played, as Navidrome answers
        // when ratings are off.
        "frequent" | "highest" => return played_albums(ctx, size, offset, Played::Most).await,
        "starred" => return starred_albums(ctx, size, offset).await,
        other => {
            return Err(SubsonicError::MissingParameter(
                format!("type {other:?} is not a list type").into(),
            ));
        }
    };
    request.set_order(order);
    let page = (ctx.state.catalog())
        .call(ctx.identity(), request, async |c, r| c.list_albums(r).await)
        .await?;
    Ok(page.albums.iter().map(AlbumId3::from).collect())
}

/// Which of the caller's played albums.
#[derive(Debug, Clone, Copy)]
enum Played {
    Recent,
    Most,
}

/// reco-svc keeps the caller's last and most played albums, at most this many.
const PLAYED_LIMIT: u32 = 50;

/// The caller's recently or most played albums, `offset..offset + size` of them (reco-svc
/// keeps [`PLAYED_LIMIT`]), hydrated from the catalogue in reco's order; albums the
/// catalogue no longer has are left out.
async fn played_albums(
    ctx: &Ctx<'_>,
    size: u32,
    offset: u32,
    which: Played,
) -> Result<Vec<AlbumId3>, SubsonicError> {
    if offset >= PLAYED_LIMIT {
        return Ok(Vec::new());
    }
    let limit = offset.saturating_add(size).min(PLAYED_LIMIT);
    let reco = ctx.state.reco();
    let played = match which {
        Played::Recent => {
            let request = reco::RecentlyPlayedRequest { limit };
            reco.call(ctx.identity(), request, async |c, r| {
                c.recently_played(r).await
            })
            .await?
            .albums
        }
        Played::Most => {
            let request = reco::MostPlayedAlbumsRequest { limit };
            reco.call(ctx.identity(), request, async |c, r| {
                c.most_played_albums(r).await
            })
            .await?
            .albums
        }
    };
    let ids: Vec<String> = played
        .into_iter()
        .skip(offset as usize)
        .take(size as usize)
        .map(|a| a.album_id)
        .collect();
    let albums = hydrate::albums(ctx, &ids).await?;
    Ok(albums.iter().map(AlbumId3::from).collect())
}

/// Liked albums one `starred` list may page through (20 pages of the service's 500).
const MAX_STARRED: u32 = 10_000;

/// The caller's liked albums, most recently liked first, `offset..offset + size` of them,
/// each with its like time as `starred`; albums the catalogue no longer has are left out.
async fn starred_albums(
    ctx: &Ctx<'_>,
    size: u32,
    offset: u32,
) -> Result<Vec<AlbumId3>, SubsonicError> {
    let wanted = offset.saturating_add(size).min(MAX_STARRED) as usize;
    let mut liked = Vec::new();
    let mut page_token = String::new();
    while liked.len() < wanted {
        let request = playlist::ListLikedAlbumsRequest {
            page_size: 500,
            page_token,
        };
        let page = (ctx.state.playlists())
            .call(ctx.identity(), request, async |c, r| {
                c.list_liked_albums(r).await
            })
            .await?;
        liked.extend(page.albums);
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    let liked: Vec<_> = liked
        .into_iter()
        .skip(offset as usize)
        .take(size as usize)
        .collect();
    let ids: Vec<String> = liked.iter().map(|a| a.album_id.clone()).collect();
    let at: std::collections::HashMap<&str, Option<String>> = liked
        .iter()
        .map(|a| (a.album_id.as_str(), time(a.like_time.as_ref())))
        .collect();
    let albums = hydrate::albums(ctx, &ids).await?;
    Ok(albums
        .iter()
        .map(|a| AlbumId3 {
            starred: at.get(a.id.as_str()).cloned().flatten(),
            ..AlbumId3::from(a)
        })
        .collect())
}

async fn get_random_songs(ctx: &Ctx<'_>) -> Result<Payload, SubsonicError> {
    let request = pb::SampleTracksRequest {
        size: int32(number(ctx, "size", 10, MAX_SIZE)?.max(1)),
        genre: text(ctx, "genre").unwrap_or_default().to_owned(),
        from_year: year(ctx, "fromYear")?,
        to_year: year(ctx, "toYear")?,
    };
    if request.from_year > 0 && request.to_year > 0 && request.from_year > request.to_year {
        return Err(SubsonicError::MissingParameter(
            "fromYear must not be after toYear".into(),
        ));
    }
    let answer = (ctx.state.catalog())
        .call(ctx.identity(), request, async |c, r| {
            c.sample_tracks(r).await
        })
        .await?;
    Ok(Payload::RandomSongs(Songs {
        song: answer.tracks.iter().map(Child::from).collect(),
    }))
}

async fn get_genres(ctx: &Ctx<'_>) -> Result<Payload, SubsonicError> {
    let answer = (ctx.state.catalog())
        .call(ctx.identity(), pb::ListGenresRequest {}, async |c, r| {
            c.list_genres(r).await
        })
        .await?;
    Ok(Payload::Genres(Genres {
        genre: answer
            .genres
            .into_iter()
            .map(|g| Genre {
                song_count: int32(g.track_count),
                album_count: int32(g.album_count),
                value: g.name,
            })
            .collect(),
    }))
}

async fn get_songs_by_genre(ctx: &Ctx<'_>) -> Result<Payload, SubsonicError> {
    let genre = ctx.call.params.required("genre")?.to_owned();
    let count = number(ctx, "count", 10, MAX_SIZE)?;
    let offset = number(ctx, "offset", 0, MAX_OFFSET)?;
    if count == 0 {
        return Ok(Payload::SongsByGenre(Songs { song: Vec::new() }));
    }
    let request = pb::ListTracksRequest {
        page_size: int32(count),
        offset: int32(offset),
        filter: Some(pb::list_tracks_request::Filter::Genre(genre)),
        ..Default::default()
    };
    let page = (ctx.state.catalog())
        .call(ctx.identity(), request, async |c, r| c.list_tracks(r).await)
        .await?;
    Ok(Payload::SongsByGenre(Songs {
        song: page.tracks.iter().map(Child::from).collect(),
    }))
}

//! `getCoverArt`: the image route's covers (`crate::routes::images`: resized to a few sizes,
//! cached, `ETag` and 304) for Subsonic apps.
//!
//! `id` is what tunemesh puts in `coverArt` (an image id, the hash of its bytes, or a
//! playlist's mosaic of four), or, as classic apps send, the id of a song, album, artist or
//! playlist, resolved to its cover: a song's or album's cover, an artist's picture (the
//! catalogue's: their first album's cover) or else their first album's, a playlist's own cover
//! or the one derived from its first songs. Resolved image ids are kept a while
//! ([`CoverIds`]), so a grid of covers is not a grid of catalogue calls. Without a cover, or
//! for an unknown id, the answer is error 70 in the caller's format, and apps draw their own
//! placeholder.
//!
//! An image id names the same bytes for ever (`immutable`); a song's id may get another cover
//! when it is re-tagged, so that answer is cached a day and revalidated by its `ETag`.

use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;
use http::header::{ACCEPT, CACHE_CONTROL};
use moka::future::Cache;
use tunemesh_proto::catalog::v1 as catalog;
use tunemesh_proto::playlist::v1 as playlist;
use tunemesh_runtime::ErrorCode;

use super::error::SubsonicError;
use super::methods::{Ctx, Method, Reply, handler};
use crate::error::ApiError;
use crate::extract::check_id;
use crate::images::{Variant, derived, render, servable_id};

/// This area's methods.
pub(crate) const TABLE: &[(&str, Method)] = &[("getCoverArt", handler!(get_cover_art))];

/// How long a resolved cover is kept: re-tagging is rare, and the answer is revalidated.
const RESOLVED_TTL: Duration = Duration::from_secs(600);
/// Most resolved covers kept.
const RESOLVED_CAPACITY: u64 = 50_000;
/// Caching of an answer for a song, album, artist or playlist id.
const RESOLVED_CACHING: &str = "private, max-age=86400";

/// The image ids of songs, albums and artists, as resolved lately (playlists are not kept:
/// they are the caller's, and their covers follow their songs).
#[derive(Debug, Clone)]
pub(crate) struct CoverIds {
    resolved: Cache<String, Arc<str>>,
}

impl Default for CoverIds {
    fn default() -> Self {
        Self {
            resolved: Cache::builder()
                .max_capacity(RESOLVED_CAPACITY)
                .time_to_live(RESOLVED_TTL)
                .build(),
        }
    }
}

async fn get_cover_art(ctx: &Ctx<'_>) -> Result<Reply, SubsonicError> {
    let id = ctx.call.params.required("id")?;
    let variant = variant(ctx)?;
    let (image, immutable) = if servable_id(id) {
        (Arc::from(id), true)
    } else {
        (resolve(ctx, id).await?, false)
    };
    let images = ctx.state.images();
    let mut response = crate::routes::images::answer(images, &image, variant, ctx.headers)
        .await
        .map_err(|error| match error.code() {
            ErrorCode::NotFound => no_cover(),
            _ => error.into(),
        })?;
    if !immutable {
        let caching = HeaderValue::from_static(RESOLVED_CACHING);
        response.headers_mut().insert(CACHE_CONTROL, caching);
    }
    Ok(Reply::Binary(response))
}

fn no_cover() -> SubsonicError {
    SubsonicError::NotFound("cover art not found".into())
}

/// `size`: the image as stored without one (or 0); else rounded up to a served size, and the
/// largest for anything above it (apps ask for their screen's size).
fn variant(ctx: &Ctx<'_>) -> Result<Variant, SubsonicError> {
    let size = match ctx.call.params.get("size").map(str::trim) {
        None | Some("" | "0") => return Ok(Variant::Original),
        Some(text) => text.parse::<u32>().map_err(|_| {
            SubsonicError::MissingParameter("size must be a number of pixels".into())
        })?,
    };
    let snapped = render::snap(size.min(render::MAX_REQUESTED)).unwrap_or(render::LARGEST);
    let accept = (ctx.headers.get(ACCEPT))
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    Ok(Variant::Sized(
        snapped,
        ctx.state.images().negotiate(accept),
    ))
}

/// What kind of thing an id names, from its shape (player-svc's `tr_`/`al_`/`ar_` ids,
/// playlist-svc's 32 hexadecimal digits); anything else is tried as each in turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Track,
    Album,
    Artist,
    Playlist,
}

fn kinds(id: &str) -> &'static [Kind] {
    if id.starts_with("tr_") {
        &[Kind::Track]
    } else if id.starts_with("al_") {
        &[Kind::Album]
    } else if id.starts_with("ar_") {
        &[Kind::Artist]
    } else if id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        &[Kind::Playlist]
    } else {
        &[Kind::Track, Kind::Album, Kind::Artist, Kind::Playlist]
    }
}

/// The image id of `id`'s cover; 70 when it has none or does not exist.
async fn resolve(ctx: &Ctx<'_>, id: &str) -> Result<Arc<str>, SubsonicError> {
    check_id("id", id).map_err(|_| no_cover())?;
    let covers = &ctx.state.subsonic().covers().resolved;
    if let Some(image) = covers.get(id).await {
        return Ok(image);
    }
    for &kind in kinds(id) {
        let found = match kind {
            Kind::Track => track_cover(ctx, id).await,
            Kind::Album => album_cover(ctx, id).await,
            Kind::Artist => artist_cover(ctx, id).await,
            Kind::Playlist => playlist_cover(ctx, id).await,
        };
        match found {
            Ok(Some(image)) => {
                let image: Arc<str> = Arc::from(image);
                if kind != Kind::Playlist {
                    covers.insert(id.to_owned(), image.clone()).await;
                }
                return Ok(image);
            }
            Ok(None) => return Err(no_cover()),
            // Not this kind of thing: the next.
            Err(error)
                if matches!(
                    error.code(),
                    ErrorCode::NotFound | ErrorCode::InvalidArgument
                ) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Err(no_cover())
}

async fn track_cover(ctx: &Ctx<'_>, id: &str) -> Result<Option<String>, ApiError> {
    let request = catalog::GetTrackRequest {
        track_id: id.to_owned(),
    };
    let answer = (ctx.state.catalog())
        .call(ctx.identity(), request, async |c, r| c.get_track(r).await)
        .await?;
    Ok(answer.track.and_then(|t| t.cover).map(|c| c.id))
}

async fn album_cover(ctx: &Ctx<'_>, id: &str) -> Result<Option<String>, ApiError> {
    let request = catalog::GetAlbumRequest {
        album_id: id.to_owned(),
    };
    let answer = (ctx.state.catalog())
        .call(ctx.identity(), request, async |c, r| c.get_album(r).await)
        .await?;
    Ok(answer.album.and_then(|a| a.cover).map(|c| c.id))
}

async fn artist_cover(ctx: &Ctx<'_>, id: &str) -> Result<Option<String>, ApiError> {
    let request = catalog::GetArtistRequest {
        artist_id: id.to_owned(),
    };
    let answer = (ctx.state.catalog())
        .call(ctx.identity(), request, async |c, r| c.get_artist(r).await)
        .await?;
    if let Some(image) = answer.artist.and_then(|a| a.image) {
        return Ok(Some(image.id));
    }
    // The catalogue names a picture only when it has one; look at the first albums too.
    let request = catalog::ListAlbumsRequest {
        page_size: 20,
        page_token: String::new(),
        artist_id: id.to_owned(),
        ..Default::default()
    };
    let albums = (ctx.state.catalog())
        .call(ctx.identity(), request, async |c, r| c.list_albums(r).await)
        .await?;
    Ok(albums
        .albums
        .into_iter()
        .find_map(|a| a.cover)
        .map(|c| c.id))
}

async fn playlist_cover(ctx: &Ctx<'_>, id: &str) -> Result<Option<String>, ApiError> {
    let request = playlist::GetPlaylistRequest {
        playlist_id: id.to_owned(),
        page_size: 1,
        page_token: String::new(),
    };
    let answer = (ctx.state.playlists())
        .call(ctx.identity(), request, async |c, r| {
            c.get_playlist(r).await
        })
        .await?;
    let Some(mut found) = answer.playlist else {
        return Ok(None);
    };
    if found.cover.is_none() {
        derived::fill(ctx.state, ctx.identity(), &mut [&mut found]).await;
    }
    Ok(found.cover.map(|c| c.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_say_what_they_name() {
        assert_eq!(kinds("tr_0123456789abcdef01234567"), [Kind::Track]);
        assert_eq!(kinds("al_0123456789abcdef01234567"), [Kind::Album]);
        assert_eq!(kinds("ar_0123456789abcdef01234567"), [Kind::Artist]);
        assert_eq!(kinds("0123456789abcdef0123456789abcdef"), [Kind::Playlist]);
        assert_eq!(kinds("t1").len(), 4);
    }
}

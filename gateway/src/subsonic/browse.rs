//! Browsing the library by tags (ID3): the music folder, songs, albums and artists, each from
//! `CatalogService` through the mesh with the caller's identity.

use tunemesh_proto::catalog::v1 as pb;

use super::error::SubsonicError;
use super::hydrate::mark_starred;
use super::methods::{Ctx, Method, handler};
use super::model::{AlbumId3, ArtistId3, Child};
use super::response::{MusicFolder, MusicFolders, Payload};
use crate::extract::check_id;

/// This area's methods.
pub(crate) const TABLE: &[(&str, Method)] = &[
    ("getMusicFolders", handler!(get_music_folders)),
    ("getSong", handler!(get_song)),
    ("getAlbum", handler!(get_album)),
    ("getArtist", handler!(get_artist)),
];

/// The most items one listing gathers across pages (an album's songs, an artist's albums):
/// bounds the work of one call whatever the catalogue holds.
pub(crate) const MAX_ITEMS: usize = 10_000;

/// The one music folder: tunemesh has one library (`musicFolderId` is accepted and ignored).
pub(crate) const FOLDER_ID: i32 = 1;

async fn get_music_folders(_ctx: &Ctx<'_>) -> Result<Payload, SubsonicError> {
    Ok(Payload::MusicFolders(MusicFolders {
        music_folder: vec![MusicFolder {
            id: FOLDER_ID,
            name: "tunemesh",
        }],
    }))
}

/// The `id` parameter, checked as a catalogue id.
pub(crate) fn id_param<'a>(ctx: &'a Ctx<'_>, what: &'static str) -> Result<&'a str, SubsonicError> {
    let id = ctx.call.params.required("id")?;
    check_id(what, id)?;
    Ok(id)
}

async fn get_song(ctx: &Ctx<'_>) -> Result<Payload, SubsonicError> {
    let track_id = id_param(ctx, "id")?.to_owned();
    let answer = ctx
        .state
        .catalog()
        .call(
            ctx.identity(),
            pb::GetTrackRequest { track_id },
            async |c, r| c.get_track(r).await,
        )
        .await?;
    let track = answer.track.ok_or_else(|| not_found("song"))?;
    let mut song = [Child::from(&track)];
    mark_starred(ctx, &mut song).await?;
    let [song] = song;
    Ok(Payload::Song(Box::new(song)))
}

async fn get_album(ctx: &Ctx<'_>) -> Result<Payload, SubsonicError> {
    let album_id = id_param(ctx, "id")?.to_owned();
    let catalog = ctx.state.catalog();
    let request = pb::GetAlbumRequest {
        album_id: album_id.clone(),
    };
    let answer = catalog
        .call(ctx.identity(), request, async |c, r| c.get_album(r).await)
        .await?;
    let mut album = AlbumId3::from(&answer.album.ok_or_else(|| not_found("album"))?);
    album.song = album_tracks(ctx, album_id)
        .await?
        .iter()
        .map(Child::from)
        .collect();
    mark_starred(ctx, &mut album.song).await?;
    Ok(Payload::Album(Box::new(album)))
}

/// Every track of an album, in album order (at most [`MAX_ITEMS`]).
pub(crate) async fn album_tracks(
    ctx: &Ctx<'_>,
    album_id: String,
) -> Result<Vec<pb::Track>, SubsonicError> {
    let mut tracks = Vec::new();
    let mut page_token = String::new();
    loop {
        let request = pb::ListTracksRequest {
            page_size: 500,
            page_token,
            filter: Some(pb::list_tracks_request::Filter::AlbumId(album_id.clone())),
            ..Default::default()
        };
        let page = (ctx.state.catalog())
            .call(ctx.identity(), request, async |c, r| c.list_tracks(r).await)
            .await?;
        tracks.extend(page.tracks);
        if page.next_page_token.is_empty() || tracks.len() >= MAX_ITEMS {
            return Ok(tracks);
        }
        page_token = page.next_page_token;
    }
}

async fn get_artist(ctx: &Ctx<'_>) -> Result<Payload, SubsonicError> {
    let artist_id = id_param(ctx, "id")?.to_owned();
    let catalog = ctx.state.catalog();
    let request = pb::GetArtistRequest {
        artist_id: artist_id.clone(),
    };
    let answer = catalog
        .call(ctx.identity(), request, async |c, r| c.get_artist(r).await)
        .await?;
    let mut artist = ArtistId3::from(&answer.artist.ok_or_else(|| not_found("artist"))?);
    artist.album = artist_albums(ctx, artist_id)
        .await?
        .iter()
        .map(AlbumId3::from)
        .collect();
    Ok(Payload::Artist(Box::new(artist)))
}

/// Every album of an artist (at most [`MAX_ITEMS`]).
pub(crate) async fn artist_albums(
    ctx: &Ctx<'_>,
    artist_id: String,
) -> Result<Vec<pb::Album>, SubsonicError> {
    let mut albums = Vec::new();
    let mut page_token = String::new();
    loop {
        let request = pb::ListAlbumsRequest {
            page_size: 500,
            page_token,
            artist_id: artist_id.clone(),
            ..Default::default()
        };
        let page = (ctx.state.catalog())
            .call(ctx.identity(), request, async |c, r| c.list_albums(r).await)
            .await?;
        albums.extend(page.albums);
        if page.next_page_token.is_empty() || albums.len() >= MAX_ITEMS {
            return Ok(albums);
        }
        page_token = page.next_page_token;
    }
}

/// The catalogue answered without the resource: it does not exist for this caller.
fn not_found(what: &'static str) -> SubsonicError {
    SubsonicError::NotFound(format!("{what} not found").into())
}

//! Playlists: `getPlaylists`, `getPlaylist`, `createPlaylist` (also replacing a playlist's
//! songs), `updatePlaylist` (index-based removal) and `deletePlaylist`, on `PlaylistService`
//! with the caller's identity, songs hydrated from the catalogue.
//!
//! Subsonic edits by position and in one call; playlist-svc edits by item id, at most 100
//! tracks a call, each write guarded by the version it read. So an index-based removal reads
//! the items, removes their ids with `expected_version` set (a playlist changed meanwhile by
//! another app fails the call rather than removing the wrong songs), then adds; a replacement
//! empties the playlist the same way, then adds in batches.

use std::collections::HashMap;

use tunemesh_proto::catalog::v1 as catalog;
use tunemesh_proto::playlist::v1 as pb;

use super::error::SubsonicError;
use super::hydrate::{self, BATCH, mark_starred};
use super::methods::{Ctx, Method, handler};
use super::model::{Child, int32, seconds, time};
use super::response::{Payload, Playlist, Playlists};
use crate::accounts::MAX_NAME_LOOKUPS;
use crate::extract::check_id;

/// This area's methods.
pub(crate) const TABLE: &[(&str, Method)] = &[
    ("getPlaylists", handler!(get_playlists)),
    ("getPlaylist", handler!(get_playlist)),
    ("createPlaylist", handler!(create_playlist)),
    ("updatePlaylist", handler!(update_playlist)),
    ("deletePlaylist", handler!(delete_playlist)),
];

/// The most items a playlist has (playlist-svc's limit).
const MAX_ITEMS: usize = 10_000;
/// The most playlists `getPlaylists` lists.
const MAX_PLAYLISTS: usize = 2_000;

async fn get_playlists(ctx: &Ctx<'_>) -> Result<Payload, SubsonicError> {
    if let Some(name) = ctx.call.params.get("username")
        && !name.is_empty()
        && !name.eq_ignore_ascii_case(&ctx.caller.username)
    {
        return Err(SubsonicError::NotAuthorized(
            "getPlaylists answers only for the signed-in user".into(),
        ));
    }
    let mut playlists = Vec::new();
    let mut page_token = String::new();
    loop {
        let request = pb::ListMyPlaylistsRequest {
            page_size: 200,
            page_token,
            relations: Vec::new(),
        };
        let page = (ctx.state.playlists())
            .call(ctx.identity(), request, async |c, r| {
                c.list_my_playlists(r).await
            })
            .await?;
        playlists.extend(
            page.playlists
                .into_iter()
                .filter_map(|entry| entry.playlist),
        );
        if page.next_page_token.is_empty() || playlists.len() >= MAX_PLAYLISTS {
            break;
        }
        page_token = page.next_page_token;
    }
    let owners = Owners::of(ctx, &playlists).await?;
    Ok(Payload::Playlists(Playlists {
        playlist: playlists
            .iter()
            .map(|playlist| {
                let duration = i64::from(seconds(playlist.duration.as_ref()));
                summary(&owners, playlist, duration)
            })
            .collect(),
    }))
}

async fn get_playlist(ctx: &Ctx<'_>) -> Result<Payload, SubsonicError> {
    let id = playlist_id(ctx, "id")?;
    Ok(Payload::Playlist(Box::new(with_songs(ctx, id).await?)))
}

/// A playlist with its songs, as `getPlaylist` and `createPlaylist` answer it.
async fn with_songs(ctx: &Ctx<'_>, id: &str) -> Result<Playlist, SubsonicError> {
    let (playlist, items) = read(ctx, id).await?;
    let ids: Vec<String> = items.into_iter().map(|item| item.track_id).collect();
    let tracks = tracks_by_id(ctx, &ids).await?;
    // Summed exactly, then rounded once as playlist-svc's total is in `getPlaylists`, so
    // both answer the same.
    let total_ms = tracks
        .iter()
        .flatten()
        .filter_map(|t| t.duration.as_ref())
        .map(|d| {
            d.seconds
                .max(0)
                .saturating_mul(1000)
                .saturating_add(i64::from(d.nanos.max(0) / 1_000_000))
        })
        .fold(0_i64, i64::saturating_add);
    let duration = total_ms.saturating_add(500) / 1000;
    let owners = Owners::of(ctx, std::slice::from_ref(&playlist)).await?;
    let mut answer = summary(&owners, &playlist, duration);
    // A song gone from the catalogue keeps its place, so the indexes an app sends to
    // `updatePlaylist` stay those of the items.
    answer.entry = ids
        .iter()
        .zip(&tracks)
        .map(|(id, track)| match track {
            Some(track) => Child::from(track),
            None => Child {
                id: id.clone(),
                title: "(no longer in the library)".to_owned(),
                ..Child::default()
            },
        })
        .collect();
    mark_starred(ctx, &mut answer.entry).await?;
    Ok(answer)
}

/// The playlist and all its items (at most [`MAX_ITEMS`]), read at one version.
async fn read(
    ctx: &Ctx<'_>,
    id: &str,
) -> Result<(pb::Playlist, Vec<pb::PlaylistItem>), SubsonicError> {
    let mut items = Vec::new();
    let mut page_token = String::new();
    loop {
        let request = pb::GetPlaylistRequest {
            playlist_id: id.to_owned(),
            page_size: 500,
            page_token,
        };
        let page = (ctx.state.playlists())
            .call(ctx.identity(), request, async |c, r| {
                c.get_playlist(r).await
            })
            .await?;
        items.extend(page.items);
        if page.next_page_token.is_empty() || items.len() >= MAX_ITEMS {
            let playlist = page
                .playlist
                .ok_or_else(|| SubsonicError::NotFound("playlist not found".into()))?;
            return Ok((playlist, items));
        }
        page_token = page.next_page_token;
    }
}

/// `ids`' tracks, one entry per id, repeats kept (`None` for a track gone from the
/// catalogue): each distinct track read once, through [`hydrate::tracks`].
async fn tracks_by_id(
    ctx: &Ctx<'_>,
    ids: &[String],
) -> Result<Vec<Option<catalog::Track>>, SubsonicError> {
    let mut unique = ids.to_vec();
    unique.sort_unstable();
    unique.dedup();
    let found: HashMap<String, catalog::Track> = (hydrate::tracks(ctx, &unique).await?)
        .into_iter()
        .map(|track| (track.id.clone(), track))
        .collect();
    Ok(ids.iter().map(|id| found.get(id).cloned()).collect())
}

/// The Subsonic playlist of `playlist`, songs not filled in.
fn summary(owners: &Owners, playlist: &pb::Playlist, duration: i64) -> Playlist {
    let created = time(playlist.create_time.as_ref()).unwrap_or_default();
    Playlist {
        id: playlist.id.clone(),
        name: playlist.name.clone(),
        comment: (!playlist.description.is_empty()).then(|| playlist.description.clone()),
        owner: owners.name(playlist),
        public: playlist.public,
        song_count: int32(playlist.item_count),
        duration: int32(duration),
        changed: time(playlist.update_time.as_ref()).unwrap_or_else(|| created.clone()),
        created,
        cover_art: Some(playlist.id.clone()),
        entry: Vec::new(),
    }
}

/// The owners of some playlists by name: Subsonic apps show a name, playlist-svc knows ids.
struct Owners(HashMap<String, String>);

impl Owners {
    /// The names of `playlists`' owners, in one lookup of the accounts store.
    async fn of(ctx: &Ctx<'_>, playlists: &[pb::Playlist]) -> Result<Self, SubsonicError> {
        let me = &ctx.identity().user_id;
        let mut names = HashMap::from([(me.clone(), ctx.caller.username.clone())]);
        let mut others: Vec<String> = playlists
            .iter()
            .filter(|p| p.generated.is_none() && p.owner_id != *me)
            .map(|p| p.owner_id.clone())
            .collect();
        others.sort_unstable();
        others.dedup();
        for chunk in others.chunks(MAX_NAME_LOOKUPS) {
            let found = (ctx.state.subsonic().accounts().user_names(chunk).await)
                .map_err(|e| SubsonicError::internal(&e))?;
            names.extend(found);
        }
        Ok(Self(names))
    }

    /// `playlist`'s owner: a user name, `tunemesh` for what it generated, else the owner id
    /// (an account deleted since).
    fn name(&self, playlist: &pb::Playlist) -> String {
        if playlist.generated.is_some() {
            return "tunemesh".to_owned();
        }
        (self.0.get(&playlist.owner_id))
            .cloned()
            .unwrap_or_else(|| playlist.owner_id.clone())
    }
}

/// The playlist id in `name`, checked.
fn playlist_id<'a>(ctx: &'a Ctx<'_>, name: &'static str) -> Result<&'a str, SubsonicError> {
    let id = ctx.call.params.required(name)?;
    check_id(name, id)?;
    Ok(id)
}

/// Every `songId`-like parameter `name`, checked; at most [`MAX_ITEMS`].
fn song_ids(ctx: &Ctx<'_>, name: &'static str) -> Result<Vec<String>, SubsonicError> {
    let ids: Vec<String> = ctx.call.params.all(name).map(str::to_owned).collect();
    if ids.len() > MAX_ITEMS {
        return Err(SubsonicError::Generic(
            format!("a playlist holds at most {MAX_ITEMS} songs").into(),
        ));
    }
    for id in &ids {
        check_id(name, id)?;
    }
    Ok(ids)
}

/// `createPlaylist`: `name` and `songId`s make a new playlist; `playlistId` replaces the
/// songs of an existing one (and renames it when `name` is given).
async fn create_playlist(ctx: &Ctx<'_>) -> Result<Payload, SubsonicError> {
    let songs = song_ids(ctx, "songId")?;
    let id = match ctx
        .call
        .params
        .get("playlistId")
        .filter(|id| !id.is_empty())
    {
        Some(_) => {
            let id = playlist_id(ctx, "playlistId")?.to_owned();
            if let Some(name) = ctx.call.params.get("name").filter(|n| !n.is_empty()) {
                let request = pb::UpdatePlaylistDetailsRequest {
                    playlist_id: id.clone(),
                    name: Some(name.to_owned()),
                    ..Default::default()
                };
                (ctx.state.playlists())
                    .call(ctx.identity(), request, async |c, r| {
                        c.update_playlist_details(r).await
                    })
                    .await?;
            }
            let (playlist, items) = read(ctx, &id).await?;
            let ids: Vec<String> = items.into_iter().map(|item| item.item_id).collect();
            let version = remove_items(ctx, &id, playlist.version, &ids).await?;
            add_songs(ctx, &id, Some(version), &songs).await?;
            id
        }
        None => {
            let name = ctx.call.params.required("name")?.to_owned();
            let (first, rest) = songs.split_at(songs.len().min(BATCH));
            let request = pb::CreatePlaylistRequest {
                name,
                track_ids: first.to_vec(),
                ..Default::default()
            };
            let created = (ctx.state.playlists())
                .call(ctx.identity(), request, async |c, r| {
                    c.create_playlist(r).await
                })
                .await?
                .playlist
                .ok_or_else(|| SubsonicError::Generic("the playlist was not created".into()))?;
            add_songs(ctx, &created.id, Some(created.version), rest).await?;
            created.id
        }
    };
    Ok(Payload::Playlist(Box::new(with_songs(ctx, &id).await?)))
}

/// Removes the items `ids` from playlist `id` at `version`, in batches; the new version.
async fn remove_items(
    ctx: &Ctx<'_>,
    id: &str,
    mut version: u64,
    ids: &[String],
) -> Result<u64, SubsonicError> {
    for chunk in ids.chunks(BATCH) {
        let request = pb::RemovePlaylistItemsRequest {
            playlist_id: id.to_owned(),
            expected_version: Some(version),
            item_ids: chunk.to_vec(),
        };
        version = (ctx.state.playlists())
            .call(ctx.identity(), request, async |c, r| {
                c.remove_playlist_items(r).await
            })
            .await?
            .version;
    }
    Ok(version)
}

/// Appends `songs` to playlist `id` in batches, each at the version the last one left.
async fn add_songs(
    ctx: &Ctx<'_>,
    id: &str,
    mut version: Option<u64>,
    songs: &[String],
) -> Result<(), SubsonicError> {
    for chunk in songs.chunks(BATCH) {
        let request = pb::AddPlaylistItemsRequest {
            playlist_id: id.to_owned(),
            expected_version: version,
            track_ids: chunk.to_vec(),
            position: None,
            request_id: String::new(),
        };
        let added = (ctx.state.playlists())
            .call(ctx.identity(), request, async |c, r| {
                c.add_playlist_items(r).await
            })
            .await?;
        version = Some(added.version);
    }
    Ok(())
}

/// `updatePlaylist`: details (`name`, `comment`, `public`), then `songIndexToRemove` (positions
/// in the playlist as the app last read it), then `songIdToAdd` appended.
async fn update_playlist(ctx: &Ctx<'_>) -> Result<(), SubsonicError> {
    let id = playlist_id(ctx, "playlistId")?.to_owned();
    let params = &ctx.call.params;
    let public = match params.get("public") {
        Some(v) if !v.is_empty() => Some(params.bool("public", false)?),
        _ => None,
    };
    let details = pb::UpdatePlaylistDetailsRequest {
        playlist_id: id.clone(),
        expected_version: None,
        name: params
            .get("name")
            .filter(|n| !n.is_empty())
            .map(str::to_owned),
        description: params.get("comment").map(str::to_owned),
        public,
        ..Default::default()
    };
    if details.name.is_some() || details.description.is_some() || details.public.is_some() {
        (ctx.state.playlists())
            .call(ctx.identity(), details, async |c, r| {
                c.update_playlist_details(r).await
            })
            .await?;
    }
    let mut indexes = Vec::new();
    for raw in params.all("songIndexToRemove") {
        let index: usize = raw.parse().map_err(|_| {
            SubsonicError::MissingParameter("songIndexToRemove must be a position".into())
        })?;
        indexes.push(index);
    }
    let songs = song_ids(ctx, "songIdToAdd")?;
    let mut version = None;
    if !indexes.is_empty() {
        let (playlist, items) = read(ctx, &id).await?;
        let mut ids = Vec::with_capacity(indexes.len());
        for index in indexes {
            let item = items.get(index).ok_or_else(|| {
                SubsonicError::NotFound(format!("the playlist has no song at index {index}").into())
            })?;
            ids.push(item.item_id.clone());
        }
        ids.sort_unstable();
        ids.dedup();
        version = Some(remove_items(ctx, &id, playlist.version, &ids).await?);
    }
    add_songs(ctx, &id, version, &songs).await
}

async fn delete_playlist(ctx: &Ctx<'_>) -> Result<(), SubsonicError> {
    let request = pb::DeletePlaylistRequest {
        playlist_id: playlist_id(ctx, "id")?.to_owned(),
        expected_version: None,
    };
    (ctx.state.playlists())
        .call(ctx.identity(), request, async |c, r| {
            c.delete_playlist(r).await
        })
        .await?;
    Ok(())
}

//! Reads: a playlist page (cache first), the caller's library, liked tracks.

use std::sync::Arc;

use tunemesh_proto::playlist::v1 as pb;
use tunemesh_runtime::identity::Caller;

use super::PlaylistDomain;
use crate::cache::CACHED_ITEMS;
use crate::convert;
use crate::error::PlaylistError;
use crate::model::{Access, PlaylistPage, Relation};
use crate::store::Cursor;
use crate::validate;

impl PlaylistDomain {
    /// GetPlaylist: one page of items, from the cache when it holds the page.
    pub(super) async fn get(
        &self,
        caller: &Caller,
        req: pb::GetPlaylistRequest,
    ) -> Result<pb::GetPlaylistResponse, PlaylistError> {
        validate::id("playlist_id", &req.playlist_id)?;
        let size = validate::page_size(req.page_size, 100, 500)?;
        let (offset, version) = if req.page_token.is_empty() {
            (0, None)
        } else {
            let fields = validate::decode_token("g1", &req.page_token, 3)?;
            if fields[2] != req.playlist_id {
                return Err(PlaylistError::invalid(
                    "page_token was issued for another playlist",
                ));
            }
            (
                validate::token_number::<u32>(&fields[1])?,
                Some(validate::token_number::<u64>(&fields[0])?),
            )
        };
        let page = self
            .read_page(caller, &req.playlist_id, offset, size, version)
            .await?;
        let skip = usize::try_from(offset.saturating_sub(page.offset)).unwrap_or(usize::MAX);
        let items: Vec<pb::PlaylistItem> = page
            .items
            .iter()
            .skip(skip)
            .take(size as usize)
            .map(convert::item)
            .collect();
        let next = offset.saturating_add(size);
        let next_page_token = if next < page.playlist.item_count {
            validate::encode_token(
                "g1",
                &[
                    &page.playlist.version.to_string(),
                    &next.to_string(),
                    &req.playlist_id,
                ],
            )
        } else {
            String::new()
        };
        Ok(pb::GetPlaylistResponse {
            playlist: Some(convert::playlist(&page.playlist)),
            items,
            next_page_token,
        })
    }

    /// ListMyPlaylists.
    pub(super) async fn list_mine(
        &self,
        caller: &Caller,
        req: pb::ListMyPlaylistsRequest,
    ) -> Result<pb::ListMyPlaylistsResponse, PlaylistError> {
        let size = validate::page_size(req.page_size, 50, 200)?;
        let relations = relations(&req.relations)?;
        let after = cursor("l1", &req.page_token)?;
        let rows = self
            .bounded(self.store.library(&caller.user_id, &relations, after, size))
            .await?;
        let next_page_token = match rows.last() {
            Some((last, _)) if rows.len() == size as usize => {
                validate::encode_token("l1", &[&last.update_ms.to_string(), &last.id])
            }
            _ => String::new(),
        };
        let playlists = rows
            .iter()
            // A followed playlist made private since is no longer shown.
            .filter(|(p, _)| p.visible_to(&caller.user_id))
            .map(|(p, r)| pb::LibraryPlaylist {
                playlist: Some(convert::playlist(p)),
                relation: convert::relation(*r).into(),
            })
            .collect();
        Ok(pb::ListMyPlaylistsResponse {
            playlists,
            next_page_token,
        })
    }

    /// ListLikedTracks.
    pub(super) async fn list_liked(
        &self,
        caller: &Caller,
        req: pb::ListLikedTracksRequest,
    ) -> Result<pb::ListLikedTracksResponse, PlaylistError> {
        let size = validate::page_size(req.page_size, 50, 500)?;
        let after = cursor("k1", &req.page_token)?;
        let (tracks, total, version) = self
            .bounded(self.store.liked(&caller.user_id, after, size))
            .await?;
        let next_page_token = match tracks.last() {
            Some(last) if tracks.len() == size as usize => {
                validate::encode_token("k1", &[&last.like_ms.to_string(), &last.track_id])
            }
            _ => String::new(),
        };
        Ok(pb::ListLikedTracksResponse {
            tracks: tracks.iter().map(convert::liked).collect(),
            next_page_token,
            total_size: i32::try_from(total).unwrap_or(i32::MAX),
            version,
        })
    }

    /// CheckLikedTracks.
    pub(super) async fn check_liked(
        &self,
        caller: &Caller,
        req: pb::CheckLikedTracksRequest,
    ) -> Result<pb::CheckLikedTracksResponse, PlaylistError> {
        validate::ids("track_ids", &req.track_ids, 1)?;
        let (times, version) = self
            .bounded(self.store.check_liked(&caller.user_id, &req.track_ids))
            .await?;
        let (liked, like_times) = super::library::like_times(&times);
        Ok(pb::CheckLikedTracksResponse {
            liked,
            version,
            like_times,
        })
    }

    /// A page of the playlist for `caller`, from the cache when the page lies in its window.
    async fn read_page(
        &self,
        caller: &Caller,
        id: &str,
        offset: u32,
        size: u32,
        version: Option<u64>,
    ) -> Result<Arc<PlaylistPage>, PlaylistError> {
        let in_window = u64::from(offset) + u64::from(size) <= u64::from(CACHED_ITEMS);
        let mut page = if in_window {
            self.reads.read(id).await?
        } else {
            None
        };
        // A cached page older than the token's version may predate an invalidation in flight.
        if page
            .as_ref()
            .is_some_and(|p| version.is_some_and(|v| v != p.playlist.version))
        {
            page = self.reads.reload(id).await?;
        }
        let page = match page {
            Some(page) => page,
            None if in_window => return Err(PlaylistError::PlaylistNotFound(id.to_owned())),
            None => Arc::new(
                self.bounded(self.store.page(id, offset, size))
                    .await?
                    .ok_or_else(|| PlaylistError::PlaylistNotFound(id.to_owned()))?,
            ),
        };
        page.playlist.authorize(&caller.user_id, Access::Read)?;
        if let Some(was) = version
            && was != page.playlist.version
        {
            return Err(PlaylistError::PageStale {
                id: id.to_owned(),
                was,
                now: page.playlist.version,
            });
        }
        Ok(page)
    }
}

fn relations(values: &[i32]) -> Result<Vec<Relation>, PlaylistError> {
    if values.is_empty() {
        return Ok(vec![
            Relation::Owner,
            Relation::Collaborator,
            Relation::Follower,
            Relation::MadeForYou,
        ]);
    }
    values
        .iter()
        .map(|v| match pb::PlaylistRelation::try_from(*v) {
            Ok(pb::PlaylistRelation::Owner) => Ok(Relation::Owner),
            Ok(pb::PlaylistRelation::Collaborator) => Ok(Relation::Collaborator),
            Ok(pb::PlaylistRelation::Follower) => Ok(Relation::Follower),
            Ok(pb::PlaylistRelation::MadeForYou) => Ok(Relation::MadeForYou),
            _ => Err(PlaylistError::invalid(format!(
                "relations holds an unknown relation {v}"
            ))),
        })
        .collect()
}

pub(super) fn cursor(kind: &str, token: &str) -> Result<Option<Cursor>, PlaylistError> {
    if token.is_empty() {
        return Ok(None);
    }
    let fields = validate::decode_token(kind, token, 2)?;
    Ok(Some(Cursor {
        ms: validate::token_number(&fields[0])?,
        id: fields[1].clone(),
    }))
}

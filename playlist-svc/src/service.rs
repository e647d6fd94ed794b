//! The domain: [`Playlists`], every RPC of `PlaylistService` as a method on plain messages
//! and a verified caller (no tonic types), implemented by [`PlaylistDomain`] over the store,
//! the cache and the catalogue.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tunemesh_proto::playlist::v1 as pb;
use tunemesh_runtime::identity::Caller;

use crate::cache::{CACHED_ITEMS, DELETED, ReadThrough};
use crate::catalog::TrackCatalog;
use crate::convert;
use crate::error::PlaylistError;
use crate::model::{
    Access, DetailsChange, Edit, EditOp, Edited, NewPlaylist, PlaylistPage, Relation, new_id,
};
use crate::store::{Cursor, PlaylistStore};
use crate::validate;

/// `PlaylistService` as the domain sees it; see `playlist_service.proto` for each method.
#[async_trait]
pub trait Playlists: Send + Sync + 'static {
    /// CreatePlaylist.
    async fn create(
        &self,
        caller: &Caller,
        req: pb::CreatePlaylistRequest,
    ) -> Result<pb::CreatePlaylistResponse, PlaylistError>;
    /// GetPlaylist.
    async fn get(
        &self,
        caller: &Caller,
        req: pb::GetPlaylistRequest,
    ) -> Result<pb::GetPlaylistResponse, PlaylistError>;
    /// ListMyPlaylists.
    async fn list_mine(
        &self,
        caller: &Caller,
        req: pb::ListMyPlaylistsRequest,
    ) -> Result<pb::ListMyPlaylistsResponse, PlaylistError>;
    /// UpdatePlaylistDetails.
    async fn update_details(
        &self,
        caller: &Caller,
        req: pb::UpdatePlaylistDetailsRequest,
    ) -> Result<pb::UpdatePlaylistDetailsResponse, PlaylistError>;
    /// DeletePlaylist.
    async fn delete(
        &self,
        caller: &Caller,
        req: pb::DeletePlaylistRequest,
    ) -> Result<pb::DeletePlaylistResponse, PlaylistError>;
    /// AddPlaylistItems.
    async fn add_items(
        &self,
        caller: &Caller,
        req: pb::AddPlaylistItemsRequest,
    ) -> Result<pb::AddPlaylistItemsResponse, PlaylistError>;
    /// RemovePlaylistItems.
    async fn remove_items(
        &self,
        caller: &Caller,
        req: pb::RemovePlaylistItemsRequest,
    ) -> Result<pb::RemovePlaylistItemsResponse, PlaylistError>;
    /// MovePlaylistItems.
    async fn move_items(
        &self,
        caller: &Caller,
        req: pb::MovePlaylistItemsRequest,
    ) -> Result<pb::MovePlaylistItemsResponse, PlaylistError>;
    /// AddPlaylistCollaborator.
    async fn add_collaborator(
        &self,
        caller: &Caller,
        req: pb::AddPlaylistCollaboratorRequest,
    ) -> Result<pb::AddPlaylistCollaboratorResponse, PlaylistError>;
    /// RemovePlaylistCollaborator.
    async fn remove_collaborator(
        &self,
        caller: &Caller,
        req: pb::RemovePlaylistCollaboratorRequest,
    ) -> Result<pb::RemovePlaylistCollaboratorResponse, PlaylistError>;
    /// FollowPlaylist.
    async fn follow(
        &self,
        caller: &Caller,
        req: pb::FollowPlaylistRequest,
    ) -> Result<pb::FollowPlaylistResponse, PlaylistError>;
    /// UnfollowPlaylist.
    async fn unfollow(
        &self,
        caller: &Caller,
        req: pb::UnfollowPlaylistRequest,
    ) -> Result<pb::UnfollowPlaylistResponse, PlaylistError>;
    /// LikeTracks.
    async fn like(
        &self,
        caller: &Caller,
        req: pb::LikeTracksRequest,
    ) -> Result<pb::LikeTracksResponse, PlaylistError>;
    /// UnlikeTracks.
    async fn unlike(
        &self,
        caller: &Caller,
        req: pb::UnlikeTracksRequest,
    ) -> Result<pb::UnlikeTracksResponse, PlaylistError>;
    /// ListLikedTracks.
    async fn list_liked(
        &self,
        caller: &Caller,
        req: pb::ListLikedTracksRequest,
    ) -> Result<pb::ListLikedTracksResponse, PlaylistError>;
    /// CheckLikedTracks.
    async fn check_liked(
        &self,
        caller: &Caller,
        req: pb::CheckLikedTracksRequest,
    ) -> Result<pb::CheckLikedTracksResponse, PlaylistError>;
}

/// The implementation: validation, catalogue checks, cached reads, store writes.
#[derive(Debug)]
pub struct PlaylistDomain {
    store: Arc<dyn PlaylistStore>,
    reads: ReadThrough,
    catalog: Arc<dyn TrackCatalog>,
    /// Bound on every store call, so a stuck database answers UNAVAILABLE, never hangs.
    timeout: Duration,
}

impl PlaylistDomain {
    /// The domain over its ports.
    pub fn new(
        store: Arc<dyn PlaylistStore>,
        reads: ReadThrough,
        catalog: Arc<dyn TrackCatalog>,
        timeout: Duration,
    ) -> Self {
        Self {
            store,
            reads,
            catalog,
            timeout,
        }
    }

    async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, PlaylistError>>,
    ) -> Result<T, PlaylistError> {
        tokio::time::timeout(self.timeout, call)
            .await
            .unwrap_or_else(|_| {
                Err(PlaylistError::Unavailable {
                    what: "playlist store",
                    source: anyhow::anyhow!("no answer within {:?}", self.timeout),
                })
            })
    }

    /// Checks the tracks exist: INVALID_ARGUMENT naming the first unknown one.
    async fn check_tracks(
        &self,
        caller: &Caller,
        track_ids: &[String],
    ) -> Result<(), PlaylistError> {
        let distinct = validate::distinct(track_ids);
        let missing = self.catalog.missing(caller, &distinct).await?;
        match missing.first() {
            None => Ok(()),
            Some(first) => Err(PlaylistError::invalid(format!(
                "track {first} is not in the catalog ({} unknown track ids in the request)",
                missing.len()
            ))),
        }
    }

    /// Applies an edit, then invalidates the cached playlist.
    async fn edit(&self, edit: Edit) -> Result<Edited, PlaylistError> {
        let id = edit.playlist_id.clone();
        let edited = self.bounded(self.store.edit(edit)).await?;
        let revision = edited.playlist.as_ref().map_or(DELETED, |p| p.revision);
        self.reads.cache().invalidate(&id, revision).await;
        Ok(edited)
    }

    /// Validates and applies one edit of `caller`'s to a playlist.
    async fn edit_op(
        &self,
        caller: &Caller,
        playlist_id: String,
        expected_version: Option<u64>,
        op: EditOp,
    ) -> Result<Edited, PlaylistError> {
        self.edit(Self::edit_of(caller, playlist_id, expected_version, op)?)
            .await
    }

    fn edit_of(
        caller: &Caller,
        playlist_id: String,
        expected_version: Option<u64>,
        op: EditOp,
    ) -> Result<Edit, PlaylistError> {
        validate::id("playlist_id", &playlist_id)?;
        Ok(Edit {
            playlist_id,
            actor: caller.user_id.clone(),
            expected_version,
            op,
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
        ]);
    }
    values
        .iter()
        .map(|v| match pb::PlaylistRelation::try_from(*v) {
            Ok(pb::PlaylistRelation::Owner) => Ok(Relation::Owner),
            Ok(pb::PlaylistRelation::Collaborator) => Ok(Relation::Collaborator),
            Ok(pb::PlaylistRelation::Follower) => Ok(Relation::Follower),
            _ => Err(PlaylistError::invalid(format!(
                "relations holds an unknown relation {v}"
            ))),
        })
        .collect()
}

fn cursor(kind: &str, token: &str) -> Result<Option<Cursor>, PlaylistError> {
    if token.is_empty() {
        return Ok(None);
    }
    let fields = validate::decode_token(kind, token, 2)?;
    Ok(Some(Cursor {
        ms: validate::token_number(&fields[0])?,
        id: fields[1].clone(),
    }))
}

#[async_trait]
impl Playlists for PlaylistDomain {
    async fn create(
        &self,
        caller: &Caller,
        req: pb::CreatePlaylistRequest,
    ) -> Result<pb::CreatePlaylistResponse, PlaylistError> {
        validate::name(&req.name)?;
        validate::description(&req.description)?;
        validate::ids("track_ids", &req.track_ids, 0)?;
        let request_id = if req.request_id.is_empty() {
            None
        } else {
            validate::id("request_id", &req.request_id)?;
            Some(req.request_id)
        };
        self.check_tracks(caller, &req.track_ids).await?;
        let new = NewPlaylist {
            id: new_id(),
            owner_id: caller.user_id.clone(),
            request_id,
            name: req.name,
            description: req.description,
            public: req.public,
            collaborative: req.collaborative,
            track_ids: req.track_ids,
        };
        let playlist = self.bounded(self.store.create(new)).await?;
        Ok(pb::CreatePlaylistResponse {
            playlist: Some(convert::playlist(&playlist)),
        })
    }

    async fn get(
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

    async fn list_mine(
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

    async fn update_details(
        &self,
        caller: &Caller,
        req: pb::UpdatePlaylistDetailsRequest,
    ) -> Result<pb::UpdatePlaylistDetailsResponse, PlaylistError> {
        if let Some(name) = &req.name {
            validate::name(name)?;
        }
        if let Some(description) = &req.description {
            validate::description(description)?;
        }
        let cover_image_id = match req.cover_image_id {
            Some(cover) if cover.is_empty() => Some(None),
            Some(cover) => {
                validate::id("cover_image_id", &cover)?;
                Some(Some(cover))
            }
            None => None,
        };
        let change = DetailsChange {
            name: req.name,
            description: req.description,
            public: req.public,
            collaborative: req.collaborative,
            cover_image_id,
        };
        if change.name.is_none()
            && change.description.is_none()
            && change.public.is_none()
            && change.collaborative.is_none()
            && change.cover_image_id.is_none()
        {
            return Err(PlaylistError::invalid(
                "set at least one of name, description, public, collaborative or cover_image_id",
            ));
        }
        let edit = Self::edit_of(
            caller,
            req.playlist_id,
            req.expected_version,
            EditOp::UpdateDetails(change),
        )?;
        let edited = self.edit(edit).await?;
        Ok(pb::UpdatePlaylistDetailsResponse {
            playlist: edited.playlist.as_ref().map(convert::playlist),
        })
    }

    async fn delete(
        &self,
        caller: &Caller,
        req: pb::DeletePlaylistRequest,
    ) -> Result<pb::DeletePlaylistResponse, PlaylistError> {
        self.edit_op(
            caller,
            req.playlist_id,
            req.expected_version,
            EditOp::Delete,
        )
        .await?;
        Ok(pb::DeletePlaylistResponse {})
    }

    async fn add_items(
        &self,
        caller: &Caller,
        req: pb::AddPlaylistItemsRequest,
    ) -> Result<pb::AddPlaylistItemsResponse, PlaylistError> {
        validate::ids("track_ids", &req.track_ids, 1)?;
        let op = EditOp::AddItems {
            track_ids: req.track_ids.clone(),
            position: req.position,
        };
        let edit = Self::edit_of(caller, req.playlist_id, req.expected_version, op)?;
        self.check_tracks(caller, &req.track_ids).await?;
        let edited = self.edit(edit).await?;
        Ok(pb::AddPlaylistItemsResponse {
            items: edited.items.iter().map(convert::item).collect(),
            version: edited.version,
        })
    }

    async fn remove_items(
        &self,
        caller: &Caller,
        req: pb::RemovePlaylistItemsRequest,
    ) -> Result<pb::RemovePlaylistItemsResponse, PlaylistError> {
        validate::ids("item_ids", &req.item_ids, 1)?;
        let op = EditOp::RemoveItems {
            item_ids: validate::distinct(&req.item_ids),
        };
        let edited = self
            .edit_op(caller, req.playlist_id, req.expected_version, op)
            .await?;
        Ok(pb::RemovePlaylistItemsResponse {
            version: edited.version,
        })
    }

    async fn move_items(
        &self,
        caller: &Caller,
        req: pb::MovePlaylistItemsRequest,
    ) -> Result<pb::MovePlaylistItemsResponse, PlaylistError> {
        let op = EditOp::MoveItems {
            start: req.range_start,
            length: req.range_length.max(1),
            before: req.insert_before,
        };
        let edited = self
            .edit_op(caller, req.playlist_id, req.expected_version, op)
            .await?;
        Ok(pb::MovePlaylistItemsResponse {
            version: edited.version,
        })
    }

    async fn add_collaborator(
        &self,
        caller: &Caller,
        req: pb::AddPlaylistCollaboratorRequest,
    ) -> Result<pb::AddPlaylistCollaboratorResponse, PlaylistError> {
        validate::id("user_id", &req.user_id)?;
        let op = EditOp::AddCollaborator(req.user_id);
        let edited = self
            .edit_op(caller, req.playlist_id, req.expected_version, op)
            .await?;
        Ok(pb::AddPlaylistCollaboratorResponse {
            version: edited.version,
        })
    }

    async fn remove_collaborator(
        &self,
        caller: &Caller,
        req: pb::RemovePlaylistCollaboratorRequest,
    ) -> Result<pb::RemovePlaylistCollaboratorResponse, PlaylistError> {
        validate::id("user_id", &req.user_id)?;
        let op = EditOp::RemoveCollaborator(req.user_id);
        let edited = self
            .edit_op(caller, req.playlist_id, req.expected_version, op)
            .await?;
        Ok(pb::RemovePlaylistCollaboratorResponse {
            version: edited.version,
        })
    }

    async fn follow(
        &self,
        caller: &Caller,
        req: pb::FollowPlaylistRequest,
    ) -> Result<pb::FollowPlaylistResponse, PlaylistError> {
        validate::id("playlist_id", &req.playlist_id)?;
        let after = self
            .bounded(self.store.follow(&req.playlist_id, &caller.user_id, true))
            .await?;
        self.reads
            .cache()
            .invalidate(&req.playlist_id, after.revision)
            .await;
        Ok(pb::FollowPlaylistResponse {
            version: after.version,
        })
    }

    async fn unfollow(
        &self,
        caller: &Caller,
        req: pb::UnfollowPlaylistRequest,
    ) -> Result<pb::UnfollowPlaylistResponse, PlaylistError> {
        validate::id("playlist_id", &req.playlist_id)?;
        let after = self
            .bounded(self.store.follow(&req.playlist_id, &caller.user_id, false))
            .await?;
        self.reads
            .cache()
            .invalidate(&req.playlist_id, after.revision)
            .await;
        Ok(pb::UnfollowPlaylistResponse {})
    }

    async fn like(
        &self,
        caller: &Caller,
        req: pb::LikeTracksRequest,
    ) -> Result<pb::LikeTracksResponse, PlaylistError> {
        validate::ids("track_ids", &req.track_ids, 1)?;
        self.check_tracks(caller, &req.track_ids).await?;
        let tracks = validate::distinct(&req.track_ids);
        let changed = self
            .bounded(
                self.store
                    .like(&caller.user_id, &tracks, true, req.expected_version),
            )
            .await?;
        Ok(pb::LikeTracksResponse {
            version: changed.version,
        })
    }

    async fn unlike(
        &self,
        caller: &Caller,
        req: pb::UnlikeTracksRequest,
    ) -> Result<pb::UnlikeTracksResponse, PlaylistError> {
        validate::ids("track_ids", &req.track_ids, 1)?;
        let tracks = validate::distinct(&req.track_ids);
        let changed = self
            .bounded(
                self.store
                    .like(&caller.user_id, &tracks, false, req.expected_version),
            )
            .await?;
        Ok(pb::UnlikeTracksResponse {
            version: changed.version,
        })
    }

    async fn list_liked(
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

    async fn check_liked(
        &self,
        caller: &Caller,
        req: pb::CheckLikedTracksRequest,
    ) -> Result<pb::CheckLikedTracksResponse, PlaylistError> {
        validate::ids("track_ids", &req.track_ids, 1)?;
        let (liked, version) = self
            .bounded(self.store.check_liked(&caller.user_id, &req.track_ids))
            .await?;
        Ok(pb::CheckLikedTracksResponse { liked, version })
    }
}

//! The domain: [`Playlists`], every RPC of `PlaylistService` as a method on plain messages
//! and a verified caller (no tonic types), implemented by [`PlaylistDomain`] over the store,
//! the cache and the catalogue.
//!
//! This file holds the trait, the shared steps (bounded store calls, catalogue checks,
//! edit-then-invalidate) and the trait implementation, which forwards each RPC to the
//! inherent method of the same name in the file of its concern: `reads.rs` (playlist pages,
//! library, liked tracks), `edits.rs` (one playlist's details, items and collaborators),
//! `social.rs` (follows and likes), `generated.rs` (generated playlists and who writes them),
//! `library.rs` (liked albums and artists, the play queue: the [`Library`] trait).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tunemesh_proto::playlist::v1 as pb;
use tunemesh_runtime::identity::Caller;

use crate::cache::{DELETED, ReadThrough};
use crate::catalog::{TrackCatalog, TrackCheck};
use crate::error::PlaylistError;
use crate::model::{Durations, Edit, EditOp, Edited};
use crate::store::PlaylistStore;
use crate::validate;

mod edits;
mod generated;
mod library;
mod reads;
mod social;

pub(crate) use library::Library;

/// `PlaylistService` as the domain sees it; see `playlist_service.proto` for each method
/// (the album and artist likes and the play queue are in [`Library`]).
#[async_trait]
pub(crate) trait Playlists: Library + Send + Sync + 'static {
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
    /// PutGeneratedPlaylist.
    async fn put_generated(
        &self,
        caller: &Caller,
        req: pb::PutGeneratedPlaylistRequest,
    ) -> Result<pb::PutGeneratedPlaylistResponse, PlaylistError>;
}

/// The implementation: validation, catalogue checks, cached reads, store writes.
#[derive(Debug)]
pub(crate) struct PlaylistDomain {
    store: Arc<dyn PlaylistStore>,
    reads: ReadThrough,
    catalog: Arc<dyn TrackCatalog>,
    /// Bound on every store call, so a stuck database answers UNAVAILABLE, never hangs.
    timeout: Duration,
}

impl PlaylistDomain {
    /// The domain over its ports.
    pub(crate) fn new(
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

    /// Checks the tracks exist: INVALID_ARGUMENT naming the first unknown one; else their
    /// durations, as the catalogue gave them.
    async fn check_tracks(
        &self,
        caller: &Caller,
        track_ids: &[String],
    ) -> Result<Durations, PlaylistError> {
        let distinct = validate::distinct(track_ids);
        let TrackCheck { missing, durations } = self.catalog.check(caller, &distinct).await?;
        match missing.first() {
            None => Ok(durations),
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
            request_id: None,
        })
    }
}

// Inherent methods win over the trait's in `PlaylistDomain::name` paths: these forward.
#[async_trait]
impl Playlists for PlaylistDomain {
    async fn create(
        &self,
        caller: &Caller,
        req: pb::CreatePlaylistRequest,
    ) -> Result<pb::CreatePlaylistResponse, PlaylistError> {
        PlaylistDomain::create(self, caller, req).await
    }

    async fn get(
        &self,
        caller: &Caller,
        req: pb::GetPlaylistRequest,
    ) -> Result<pb::GetPlaylistResponse, PlaylistError> {
        PlaylistDomain::get(self, caller, req).await
    }

    async fn list_mine(
        &self,
        caller: &Caller,
        req: pb::ListMyPlaylistsRequest,
    ) -> Result<pb::ListMyPlaylistsResponse, PlaylistError> {
        PlaylistDomain::list_mine(self, caller, req).await
    }

    async fn update_details(
        &self,
        caller: &Caller,
        req: pb::UpdatePlaylistDetailsRequest,
    ) -> Result<pb::UpdatePlaylistDetailsResponse, PlaylistError> {
        PlaylistDomain::update_details(self, caller, req).await
    }

    async fn delete(
        &self,
        caller: &Caller,
        req: pb::DeletePlaylistRequest,
    ) -> Result<pb::DeletePlaylistResponse, PlaylistError> {
        PlaylistDomain::delete(self, caller, req).await
    }

    async fn add_items(
        &self,
        caller: &Caller,
        req: pb::AddPlaylistItemsRequest,
    ) -> Result<pb::AddPlaylistItemsResponse, PlaylistError> {
        PlaylistDomain::add_items(self, caller, req).await
    }

    async fn remove_items(
        &self,
        caller: &Caller,
        req: pb::RemovePlaylistItemsRequest,
    ) -> Result<pb::RemovePlaylistItemsResponse, PlaylistError> {
        PlaylistDomain::remove_items(self, caller, req).await
    }

    async fn move_items(
        &self,
        caller: &Caller,
        req: pb::MovePlaylistItemsRequest,
    ) -> Result<pb::MovePlaylistItemsResponse, PlaylistError> {
        PlaylistDomain::move_items(self, caller, req).await
    }

    async fn add_collaborator(
        &self,
        caller: &Caller,
        req: pb::AddPlaylistCollaboratorRequest,
    ) -> Result<pb::AddPlaylistCollaboratorResponse, PlaylistError> {
        PlaylistDomain::add_collaborator(self, caller, req).await
    }

    async fn remove_collaborator(
        &self,
        caller: &Caller,
        req: pb::RemovePlaylistCollaboratorRequest,
    ) -> Result<pb::RemovePlaylistCollaboratorResponse, PlaylistError> {
        PlaylistDomain::remove_collaborator(self, caller, req).await
    }

    async fn follow(
        &self,
        caller: &Caller,
        req: pb::FollowPlaylistRequest,
    ) -> Result<pb::FollowPlaylistResponse, PlaylistError> {
        PlaylistDomain::follow(self, caller, req).await
    }

    async fn unfollow(
        &self,
        caller: &Caller,
        req: pb::UnfollowPlaylistRequest,
    ) -> Result<pb::UnfollowPlaylistResponse, PlaylistError> {
        PlaylistDomain::unfollow(self, caller, req).await
    }

    async fn like(
        &self,
        caller: &Caller,
        req: pb::LikeTracksRequest,
    ) -> Result<pb::LikeTracksResponse, PlaylistError> {
        PlaylistDomain::like(self, caller, req).await
    }

    async fn unlike(
        &self,
        caller: &Caller,
        req: pb::UnlikeTracksRequest,
    ) -> Result<pb::UnlikeTracksResponse, PlaylistError> {
        PlaylistDomain::unlike(self, caller, req).await
    }

    async fn list_liked(
        &self,
        caller: &Caller,
        req: pb::ListLikedTracksRequest,
    ) -> Result<pb::ListLikedTracksResponse, PlaylistError> {
        PlaylistDomain::list_liked(self, caller, req).await
    }

    async fn check_liked(
        &self,
        caller: &Caller,
        req: pb::CheckLikedTracksRequest,
    ) -> Result<pb::CheckLikedTracksResponse, PlaylistError> {
        PlaylistDomain::check_liked(self, caller, req).await
    }

    async fn put_generated(
        &self,
        caller: &Caller,
        req: pb::PutGeneratedPlaylistRequest,
    ) -> Result<pb::PutGeneratedPlaylistResponse, PlaylistError> {
        PlaylistDomain::put_generated(self, caller, req).await
    }
}

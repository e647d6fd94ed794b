//! Writes to one playlist: creation, details, items, collaborators; each validated, then
//! applied by the store and followed by a cache invalidation.

use tunemesh_proto::playlist::v1 as pb;
use tunemesh_runtime::identity::Caller;

use super::PlaylistDomain;
use crate::convert;
use crate::error::PlaylistError;
use crate::model::{DetailsChange, Durations, EditOp, NewPlaylist, new_id};
use crate::validate;

impl PlaylistDomain {
    /// CreatePlaylist: a new playlist of `caller`'s, idempotent by request id.
    pub(super) async fn create(
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
        let durations = self.check_tracks(caller, &req.track_ids).await?;
        let new = NewPlaylist {
            id: new_id(),
            owner_id: caller.user_id.clone(),
            request_id,
            name: req.name,
            description: req.description,
            public: req.public,
            collaborative: req.collaborative,
            track_ids: req.track_ids,
            durations,
        };
        let playlist = self.bounded(self.store.create(new)).await?;
        Ok(pb::CreatePlaylistResponse {
            playlist: Some(convert::playlist(&playlist)),
        })
    }

    /// UpdatePlaylistDetails.
    pub(super) async fn update_details(
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

    /// DeletePlaylist.
    pub(super) async fn delete(
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

    /// AddPlaylistItems: with a request id, a repeat returns the first answer.
    pub(super) async fn add_items(
        &self,
        caller: &Caller,
        req: pb::AddPlaylistItemsRequest,
    ) -> Result<pb::AddPlaylistItemsResponse, PlaylistError> {
        validate::ids("track_ids", &req.track_ids, 1)?;
        let op = EditOp::AddItems {
            track_ids: req.track_ids.clone(),
            position: req.position,
            durations: Durations::new(),
        };
        let mut edit = Self::edit_of(caller, req.playlist_id, req.expected_version, op)?;
        if !req.request_id.is_empty() {
            validate::id("request_id", &req.request_id)?;
            edit.request_id = Some(req.request_id);
        }
        let checked = self.check_tracks(caller, &req.track_ids).await?;
        if let EditOp::AddItems { durations, .. } = &mut edit.op {
            *durations = checked;
        }
        let edited = self.edit(edit).await?;
        Ok(pb::AddPlaylistItemsResponse {
            items: edited.items.iter().map(convert::item).collect(),
            version: edited.version,
        })
    }

    /// RemovePlaylistItems.
    pub(super) async fn remove_items(
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

    /// MovePlaylistItems.
    pub(super) async fn move_items(
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

    /// AddPlaylistCollaborator.
    pub(super) async fn add_collaborator(
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

    /// RemovePlaylistCollaborator.
    pub(super) async fn remove_collaborator(
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
}

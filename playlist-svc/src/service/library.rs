//! [`Library`]: the RPCs of a listener's liked albums, liked artists and play queue, on
//! plain messages and a verified caller, implemented for [`PlaylistDomain`]. Albums and
//! artists share one implementation, told apart by [`LikeKind`].

use async_trait::async_trait;
use tunemesh_proto::playlist::v1 as pb;
use tunemesh_proto::prost_types::Timestamp;
use tunemesh_runtime::identity::Caller;

use super::PlaylistDomain;
use crate::convert::timestamp;
use crate::error::PlaylistError;
use crate::library::{
    LikeKind, LikedItem, MAX_CLIENT_CHARS, MAX_QUEUE_POSITION_MS, MAX_QUEUE_TRACKS, PlayQueue,
    QueueSave,
};
use crate::validate;

/// Album and artist likes and the play queue; see `playlist_service.proto`.
#[async_trait]
pub(crate) trait Library: Send + Sync + 'static {
    /// LikeAlbums.
    async fn like_albums(
        &self,
        caller: &Caller,
        req: pb::LikeAlbumsRequest,
    ) -> Result<pb::LikeAlbumsResponse, PlaylistError>;
    /// UnlikeAlbums.
    async fn unlike_albums(
        &self,
        caller: &Caller,
        req: pb::UnlikeAlbumsRequest,
    ) -> Result<pb::UnlikeAlbumsResponse, PlaylistError>;
    /// ListLikedAlbums.
    async fn list_liked_albums(
        &self,
        caller: &Caller,
        req: pb::ListLikedAlbumsRequest,
    ) -> Result<pb::ListLikedAlbumsResponse, PlaylistError>;
    /// CheckLikedAlbums.
    async fn check_liked_albums(
        &self,
        caller: &Caller,
        req: pb::CheckLikedAlbumsRequest,
    ) -> Result<pb::CheckLikedAlbumsResponse, PlaylistError>;
    /// LikeArtists.
    async fn like_artists(
        &self,
        caller: &Caller,
        req: pb::LikeArtistsRequest,
    ) -> Result<pb::LikeArtistsResponse, PlaylistError>;
    /// UnlikeArtists.
    async fn unlike_artists(
        &self,
        caller: &Caller,
        req: pb::UnlikeArtistsRequest,
    ) -> Result<pb::UnlikeArtistsResponse, PlaylistError>;
    /// ListLikedArtists.
    async fn list_liked_artists(
        &self,
        caller: &Caller,
        req: pb::ListLikedArtistsRequest,
    ) -> Result<pb::ListLikedArtistsResponse, PlaylistError>;
    /// CheckLikedArtists.
    async fn check_liked_artists(
        &self,
        caller: &Caller,
        req: pb::CheckLikedArtistsRequest,
    ) -> Result<pb::CheckLikedArtistsResponse, PlaylistError>;
    /// SavePlayQueue.
    async fn save_queue(
        &self,
        caller: &Caller,
        req: pb::SavePlayQueueRequest,
    ) -> Result<pb::SavePlayQueueResponse, PlaylistError>;
    /// GetPlayQueue.
    async fn get_queue(
        &self,
        caller: &Caller,
        req: pb::GetPlayQueueRequest,
    ) -> Result<pb::GetPlayQueueResponse, PlaylistError>;
}

/// One page of liked items: the items, the next page's token, the total and the version.
type LikedPage = (Vec<LikedItem>, String, i32, u64);

impl PlaylistDomain {
    /// Likes (after checking the ids name something) or unlikes albums or artists.
    async fn like_items(
        &self,
        caller: &Caller,
        kind: LikeKind,
        ids: &[String],
        liked: bool,
        expected_version: Option<u64>,
    ) -> Result<u64, PlaylistError> {
        validate::ids(kind.field(), ids, 1)?;
        let ids = validate::distinct(ids);
        if liked {
            let missing = self.catalog.missing_items(caller, kind, &ids).await?;
            if let Some(first) = missing.first() {
                return Err(PlaylistError::invalid(format!(
                    "{} {first} is not in the catalog ({} unknown ids in the request)",
                    kind.as_str(),
                    missing.len()
                )));
            }
        }
        let store = self.store.as_ref();
        let user = caller.user_id.as_str();
        let changed = self
            .bounded(store.like_items(user, kind, &ids, liked, expected_version))
            .await?;
        Ok(changed.version)
    }

    async fn liked_page(
        &self,
        caller: &Caller,
        kind: LikeKind,
        page_size: i32,
        page_token: &str,
    ) -> Result<LikedPage, PlaylistError> {
        // Token kinds: `a1` albums, `r1` artists; a token of one list is refused by the other.
        let token_kind = match kind {
            LikeKind::Album => "a1",
            LikeKind::Artist => "r1",
        };
        let size = validate::page_size(page_size, 50, 500)?;
        let after = super::reads::cursor(token_kind, page_token)?;
        let store = self.store.as_ref();
        let (items, total, version) = self
            .bounded(store.liked_items(&caller.user_id, kind, after, size))
            .await?;
        let next = match items.last() {
            Some(last) if items.len() == size as usize => {
                validate::encode_token(token_kind, &[&last.like_ms.to_string(), &last.id])
            }
            _ => String::new(),
        };
        Ok((
            items,
            next,
            i32::try_from(total).unwrap_or(i32::MAX),
            version,
        ))
    }

    async fn check_items(
        &self,
        caller: &Caller,
        kind: LikeKind,
        ids: &[String],
    ) -> Result<(Vec<bool>, u64, Vec<Timestamp>), PlaylistError> {
        validate::ids(kind.field(), ids, 1)?;
        let store = self.store.as_ref();
        let (times, version) = self
            .bounded(store.check_liked_items(&caller.user_id, kind, ids))
            .await?;
        let (liked, times) = like_times(&times);
        Ok((liked, version, times))
    }
}

/// The flags and times of a check: the zero timestamp for what is not liked.
pub(super) fn like_times(times: &[Option<i64>]) -> (Vec<bool>, Vec<Timestamp>) {
    let liked = times.iter().map(Option::is_some).collect();
    let times = times.iter().map(|t| timestamp(t.unwrap_or(0))).collect();
    (liked, times)
}

fn queue_message(queue: PlayQueue) -> pb::PlayQueue {
    pb::PlayQueue {
        track_ids: queue.track_ids,
        current_index: queue.current_index,
        position_ms: queue.position_ms,
        changed_by: queue.changed_by,
        change_time: Some(timestamp(queue.changed_ms)),
        version: queue.version,
    }
}

fn check_queue(req: &pb::SavePlayQueueRequest) -> Result<(), PlaylistError> {
    if req.track_ids.len() > MAX_QUEUE_TRACKS {
        return Err(PlaylistError::invalid(format!(
            "track_ids names {} tracks; a play queue holds at most {MAX_QUEUE_TRACKS}",
            req.track_ids.len()
        )));
    }
    req.track_ids
        .iter()
        .try_for_each(|id| validate::id("track_ids", id))?;
    if let Some(index) = req.current_index
        && usize::try_from(index).map_or(true, |i| i >= req.track_ids.len())
    {
        return Err(PlaylistError::invalid(format!(
            "current_index {index} is past the queue's {} tracks",
            req.track_ids.len()
        )));
    }
    if !(0..=MAX_QUEUE_POSITION_MS).contains(&req.position_ms) {
        return Err(PlaylistError::invalid(format!(
            "position_ms must be 0 to {MAX_QUEUE_POSITION_MS}"
        )));
    }
    let chars = req.client_name.chars().count();
    if chars > MAX_CLIENT_CHARS || req.client_name.chars().any(char::is_control) {
        return Err(PlaylistError::invalid(format!(
            "client_name must be at most {MAX_CLIENT_CHARS} printable characters"
        )));
    }
    Ok(())
}

#[async_trait]
impl Library for PlaylistDomain {
    async fn like_albums(
        &self,
        caller: &Caller,
        req: pb::LikeAlbumsRequest,
    ) -> Result<pb::LikeAlbumsResponse, PlaylistError> {
        let (ids, expected) = (&req.album_ids, req.expected_version);
        let version = self
            .like_items(caller, LikeKind::Album, ids, true, expected)
            .await?;
        Ok(pb::LikeAlbumsResponse { version })
    }

    async fn unlike_albums(
        &self,
        caller: &Caller,
        req: pb::UnlikeAlbumsRequest,
    ) -> Result<pb::UnlikeAlbumsResponse, PlaylistError> {
        let (ids, expected) = (&req.album_ids, req.expected_version);
        let version = self
            .like_items(caller, LikeKind::Album, ids, false, expected)
            .await?;
        Ok(pb::UnlikeAlbumsResponse { version })
    }

    async fn list_liked_albums(
        &self,
        caller: &Caller,
        req: pb::ListLikedAlbumsRequest,
    ) -> Result<pb::ListLikedAlbumsResponse, PlaylistError> {
        let (items, next_page_token, total_size, version) = self
            .liked_page(caller, LikeKind::Album, req.page_size, &req.page_token)
            .await?;
        let albums = items
            .into_iter()
            .map(|i| pb::LikedAlbum {
                album_id: i.id,
                like_time: Some(timestamp(i.like_ms)),
            })
            .collect();
        Ok(pb::ListLikedAlbumsResponse {
            albums,
            next_page_token,
            total_size,
            version,
        })
    }

    async fn check_liked_albums(
        &self,
        caller: &Caller,
        req: pb::CheckLikedAlbumsRequest,
    ) -> Result<pb::CheckLikedAlbumsResponse, PlaylistError> {
        let (liked, version, like_times) = self
            .check_items(caller, LikeKind::Album, &req.album_ids)
            .await?;
        Ok(pb::CheckLikedAlbumsResponse {
            liked,
            version,
            like_times,
        })
    }

    async fn like_artists(
        &self,
        caller: &Caller,
        req: pb::LikeArtistsRequest,
    ) -> Result<pb::LikeArtistsResponse, PlaylistError> {
        let (ids, expected) = (&req.artist_ids, req.expected_version);
        let version = self
            .like_items(caller, LikeKind::Artist, ids, true, expected)
            .await?;
        Ok(pb::LikeArtistsResponse { version })
    }

    async fn unlike_artists(
        &self,
        caller: &Caller,
        req: pb::UnlikeArtistsRequest,
    ) -> Result<pb::UnlikeArtistsResponse, PlaylistError> {
        let (ids, expected) = (&req.artist_ids, req.expected_version);
        let version = self
            .like_items(caller, LikeKind::Artist, ids, false, expected)
            .await?;
        Ok(pb::UnlikeArtistsResponse { version })
    }

    async fn list_liked_artists(
        &self,
        caller: &Caller,
        req: pb::ListLikedArtistsRequest,
    ) -> Result<pb::ListLikedArtistsResponse, PlaylistError> {
        let (items, next_page_token, total_size, version) = self
            .liked_page(caller, LikeKind::Artist, req.page_size, &req.page_token)
            .await?;
        let artists = items
            .into_iter()
            .map(|i| pb::LikedArtist {
                artist_id: i.id,
                like_time: Some(timestamp(i.like_ms)),
            })
            .collect();
        Ok(pb::ListLikedArtistsResponse {
            artists,
            next_page_token,
            total_size,
            version,
        })
    }

    async fn check_liked_artists(
        &self,
        caller: &Caller,
        req: pb::CheckLikedArtistsRequest,
    ) -> Result<pb::CheckLikedArtistsResponse, PlaylistError> {
        let (liked, version, like_times) = self
            .check_items(caller, LikeKind::Artist, &req.artist_ids)
            .await?;
        Ok(pb::CheckLikedArtistsResponse {
            liked,
            version,
            like_times,
        })
    }

    async fn save_queue(
        &self,
        caller: &Caller,
        req: pb::SavePlayQueueRequest,
    ) -> Result<pb::SavePlayQueueResponse, PlaylistError> {
        check_queue(&req)?;
        let save = QueueSave {
            user_id: caller.user_id.clone(),
            track_ids: req.track_ids,
            current_index: req.current_index,
            position_ms: req.position_ms,
            changed_by: req.client_name,
            expected_version: req.expected_version,
        };
        let queue = self.bounded(self.store.save_queue(save)).await?;
        Ok(pb::SavePlayQueueResponse {
            queue: Some(queue_message(queue)),
        })
    }

    async fn get_queue(
        &self,
        caller: &Caller,
        _req: pb::GetPlayQueueRequest,
    ) -> Result<pb::GetPlayQueueResponse, PlaylistError> {
        let queue = self.bounded(self.store.queue(&caller.user_id)).await?;
        Ok(pb::GetPlayQueueResponse {
            queue: queue.map(queue_message),
        })
    }
}

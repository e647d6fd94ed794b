//! Domain values to their protobuf messages.

use tunemesh_proto::common::v1::Image;
use tunemesh_proto::playlist::v1 as pb;
use tunemesh_proto::prost_types::{Duration as ProtoDuration, Timestamp};

use crate::model::{Item, LikedTrack, Playlist, Relation};

/// A timestamp from ms since the epoch.
pub(crate) fn timestamp(ms: i64) -> Timestamp {
    Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: i32::try_from(ms.rem_euclid(1000) * 1_000_000).unwrap_or(0),
    }
}

/// A duration from ms.
pub(crate) fn duration(ms: u64) -> ProtoDuration {
    ProtoDuration {
        seconds: i64::try_from(ms / 1000).unwrap_or(i64::MAX),
        nanos: i32::try_from((ms % 1000) * 1_000_000).unwrap_or(0),
    }
}

/// The message of a playlist.
pub(crate) fn playlist(p: &Playlist) -> pb::Playlist {
    pb::Playlist {
        id: p.id.clone(),
        name: p.name.clone(),
        description: p.description.clone(),
        owner_id: p.owner_id.clone(),
        public: p.public,
        collaborative: p.collaborative,
        collaborator_ids: p.collaborator_ids.clone(),
        cover: p.cover_image_id.as_ref().map(|id| Image {
            id: id.clone(),
            // Where images are served is the gateway's to say (`Image.url` in the contract).
            url: String::new(),
            ..Image::default()
        }),
        item_count: p.item_count,
        follower_count: p.follower_count,
        version: p.version,
        create_time: Some(timestamp(p.create_ms)),
        update_time: Some(timestamp(p.update_ms)),
        first_track_ids: p.first_track_ids.clone(),
        generated: p.generated.as_ref().map(|g| pb::GeneratedFor {
            user_id: g.for_user.clone(),
            kind: g.kind.clone(),
        }),
        duration: Some(duration(p.duration_ms)),
    }
}

/// The message of an item.
pub(crate) fn item(i: &Item) -> pb::PlaylistItem {
    pb::PlaylistItem {
        item_id: i.item_id.clone(),
        track_id: i.track_id.clone(),
        position: i.position,
        added_by: i.added_by.clone(),
        add_time: Some(timestamp(i.add_ms)),
    }
}

/// The message of a liked track.
pub(crate) fn liked(t: &LikedTrack) -> pb::LikedTrack {
    pb::LikedTrack {
        track_id: t.track_id.clone(),
        like_time: Some(timestamp(t.like_ms)),
    }
}

/// The enum value of a relation.
pub(crate) fn relation(r: Relation) -> pb::PlaylistRelation {
    match r {
        Relation::Owner => pb::PlaylistRelation::Owner,
        Relation::Collaborator => pb::PlaylistRelation::Collaborator,
        Relation::Follower => pb::PlaylistRelation::Follower,
        Relation::MadeForYou => pb::PlaylistRelation::MadeForYou,
    }
}

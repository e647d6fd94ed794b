//! The events playlist-svc publishes (`events.playlist`), built inside the store's
//! transaction so that each committed change carries exactly one event.

use tunemesh_events::{Envelope, EnvelopeError, new_event_id};
use tunemesh_proto::events::v1::{
    EventMeta, LikedTracksChanged, PlaylistChangeKind, PlaylistChanged, PlaylistEvent,
    playlist_event,
};
use tunemesh_proto::prost_types::Timestamp;
use tunemesh_runtime::clock::now_ms;

use crate::error::PlaylistError;
use crate::model::EditOp;

/// The producer name in every event's meta.
const PRODUCER: &str = "playlist-svc";

fn meta() -> EventMeta {
    let ms = now_ms();
    EventMeta {
        event_id: new_event_id(),
        occurred_at: Some(Timestamp {
            seconds: ms.div_euclid(1000),
            nanos: i32::try_from(ms.rem_euclid(1000) * 1_000_000).unwrap_or(0),
        }),
        producer: PRODUCER.to_owned(),
        ..EventMeta::default()
    }
}

fn envelope(event: playlist_event::Event) -> Result<Envelope, PlaylistError> {
    Envelope::from_event(&PlaylistEvent { event: Some(event) })
        .map_err(|e: EnvelopeError| PlaylistError::Internal(e.into()))
}

/// The kind of change an edit makes.
pub(crate) fn kind_of(op: &EditOp) -> PlaylistChangeKind {
    match op {
        EditOp::AddItems { .. } => PlaylistChangeKind::ItemsAdded,
        EditOp::RemoveItems { .. } => PlaylistChangeKind::ItemsRemoved,
        EditOp::MoveItems { .. } => PlaylistChangeKind::ItemsMoved,
        EditOp::UpdateDetails(_) => PlaylistChangeKind::DetailsUpdated,
        EditOp::AddCollaborator(_) | EditOp::RemoveCollaborator(_) => {
            PlaylistChangeKind::CollaboratorsChanged
        }
        EditOp::Delete => PlaylistChangeKind::Deleted,
    }
}

/// A `PlaylistChanged` event.
pub(crate) fn playlist_changed(
    playlist_id: &str,
    owner_id: &str,
    actor: &str,
    version: u64,
    kind: PlaylistChangeKind,
    track_ids: Vec<String>,
) -> Result<Envelope, PlaylistError> {
    envelope(playlist_event::Event::PlaylistChanged(PlaylistChanged {
        meta: Some(meta()),
        playlist_id: playlist_id.to_owned(),
        version,
        kind: kind.into(),
        actor_user_id: actor.to_owned(),
        owner_id: owner_id.to_owned(),
        track_ids,
    }))
}

/// A `LikedTracksChanged` event.
pub(crate) fn liked_changed(
    user: &str,
    track_ids: Vec<String>,
    liked: bool,
    version: u64,
) -> Result<Envelope, PlaylistError> {
    envelope(playlist_event::Event::LikedTracksChanged(
        LikedTracksChanged {
            meta: Some(meta()),
            user_id: user.to_owned(),
            track_ids,
            liked,
            version,
        },
    ))
}

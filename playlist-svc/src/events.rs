//! The events playlist-svc publishes (`events.playlist`), built inside the store's
//! transaction so that each committed change carries exactly one event.

use tunemesh_events::{Envelope, EnvelopeError, new_event_id};
use tunemesh_proto::events::v1::{
    EventMeta, LikedItemKind, LikedItemsChanged, LikedTracksChanged, PlaylistChangeKind,
    PlaylistChanged, PlaylistEvent, playlist_event,
};
use tunemesh_proto::prost_types::Timestamp;
use tunemesh_runtime::clock::now_ms;
use tunemesh_runtime::identity::SYSTEM_ACCOUNT;
use uuid::Uuid;

use crate::convert;
use crate::error::PlaylistError;
use crate::library::LikeKind;
use crate::model::{EditOp, Playlist};

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

/// The `PlaylistChanged` event of a change that left the playlist as `after` (read inside the
/// change's transaction): its version and revision, and its details for consumers that keep
/// them (search-svc).
pub(crate) fn playlist_changed(
    after: &Playlist,
    actor: &str,
    kind: PlaylistChangeKind,
    track_ids: Vec<String>,
) -> Result<Envelope, PlaylistError> {
    envelope(playlist_event::Event::PlaylistChanged(PlaylistChanged {
        meta: Some(meta()),
        playlist_id: after.id.clone(),
        version: after.version,
        kind: kind.into(),
        actor_user_id: actor.to_owned(),
        owner_id: after.owner_id.clone(),
        track_ids,
        revision: after.revision,
        playlist: Some(convert::playlist(after)),
    }))
}

/// The `CREATED` event of a generated playlist, by the system account.
pub(crate) fn generated_created(
    created: &Playlist,
    track_ids: Vec<String>,
) -> Result<Envelope, PlaylistError> {
    playlist_changed(
        created,
        SYSTEM_ACCOUNT,
        PlaylistChangeKind::Created,
        track_ids,
    )
}

/// The first event of a generated playlist's replacement: its old items removed, the
/// playlist empty at the next version and revision (`current` is before the replacement).
pub(crate) fn generated_emptied(
    current: &Playlist,
    old_track_ids: Vec<String>,
    now_ms: i64,
) -> Result<Envelope, PlaylistError> {
    let emptied = Playlist {
        item_count: 0,
        first_track_ids: Vec::new(),
        version: current.version + 1,
        revision: current.revision + 1,
        update_ms: now_ms,
        ..current.clone()
    };
    playlist_changed(
        &emptied,
        SYSTEM_ACCOUNT,
        PlaylistChangeKind::ItemsRemoved,
        old_track_ids,
    )
}

/// The last event of a generated playlist's replacement: the new items added (`after` is
/// the playlist the replacement left).
pub(crate) fn generated_filled(
    after: &Playlist,
    track_ids: Vec<String>,
) -> Result<Envelope, PlaylistError> {
    playlist_changed(
        after,
        SYSTEM_ACCOUNT,
        PlaylistChangeKind::ItemsAdded,
        track_ids,
    )
}

/// The `DELETED` event of `current`, the playlist as it was before the deletion: the next
/// version and revision, and no details.
pub(crate) fn playlist_deleted(current: &Playlist, actor: &str) -> Result<Envelope, PlaylistError> {
    envelope(playlist_event::Event::PlaylistChanged(PlaylistChanged {
        meta: Some(meta()),
        playlist_id: current.id.clone(),
        version: current.version + 1,
        kind: PlaylistChangeKind::Deleted.into(),
        actor_user_id: actor.to_owned(),
        owner_id: current.owner_id.clone(),
        track_ids: Vec::new(),
        revision: current.revision + 1,
        playlist: None,
    }))
}

/// The id of the republished state of playlist `id` at `revision`: the same every time
/// (UUID v5), so consumers that deduplicate by event id drop a second republishing.
pub(crate) fn republished_id(id: &str, revision: u64) -> String {
    Uuid::new_v5(
        &Uuid::NAMESPACE_URL,
        format!("tunemesh:playlist-details:{id}:{revision}").as_bytes(),
    )
    .to_string()
}

/// The playlist's current state published again, for consumers that missed its details
/// (the details backfill): a `DETAILS_UPDATED` at its current version and revision, no
/// actor and no tracks, under [`republished_id`]. A consumer that keeps details and saw this
/// revision already ignores it; reco-svc ignores details changes.
pub(crate) fn playlist_republished(current: &Playlist) -> Result<Envelope, PlaylistError> {
    let mut meta = meta();
    meta.event_id = republished_id(&current.id, current.revision);
    envelope(playlist_event::Event::PlaylistChanged(PlaylistChanged {
        meta: Some(meta),
        playlist_id: current.id.clone(),
        version: current.version,
        kind: PlaylistChangeKind::DetailsUpdated.into(),
        actor_user_id: String::new(),
        owner_id: current.owner_id.clone(),
        track_ids: Vec::new(),
        revision: current.revision,
        playlist: Some(convert::playlist(current)),
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

/// A `LikedItemsChanged` event.
pub(crate) fn liked_items_changed(
    user: &str,
    kind: LikeKind,
    item_ids: Vec<String>,
    liked: bool,
    version: u64,
) -> Result<Envelope, PlaylistError> {
    let kind = match kind {
        LikeKind::Album => LikedItemKind::Album,
        LikeKind::Artist => LikedItemKind::Artist,
    };
    envelope(playlist_event::Event::LikedItemsChanged(
        LikedItemsChanged {
            meta: Some(meta()),
            user_id: user.to_owned(),
            kind: kind.into(),
            item_ids,
            liked,
            version,
        },
    ))
}

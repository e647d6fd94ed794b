//! Public playlists as search sees them: the details each playlist event carries, applied in
//! the order of the playlist's `revision`, and the documents they make.
//!
//! Every `PlaylistChanged` carries the playlist's state after the change and a revision that
//! grows with every change of that playlist (follows included), so applying one is an
//! upsert guarded by the revision: an event whose revision is not above the last one applied
//! is a redelivery or arrived late, and changes nothing. A deletion is final (playlist ids
//! are never reused): it leaves a tombstone that no later-delivered event gets past, so a
//! late `CREATED` after `DELETED` cannot bring the playlist back. A private playlist is known
//! (its revision is kept) but has no searchable document.
//!
//! What is known of every playlist is stored with its document (a private or deleted one has
//! a document with no text, found by no search), so a replica that reopens its index knows
//! the revisions again and keeps refusing stale events across restarts.

use std::collections::{HashMap, HashSet};

use tunemesh_proto::events::v1::{PlaylistChangeKind, PlaylistChanged};
use tunemesh_proto::playlist::v1::Playlist;
use tunemesh_proto::search::v1::{PlaylistSummary, SearchResult, SearchResultType, search_result};

use crate::catalog::Change;
use crate::schema::{IndexDoc, key};

/// First tracks kept per playlist for its derived cover (the contract's bound).
const FIRST_TRACKS: usize = 8;

/// What is known of one playlist.
#[derive(Debug, Clone, PartialEq)]
struct Known {
    /// The revision of the last event applied.
    revision: u64,
    /// Deleted for good.
    deleted: bool,
    /// The playlist while it is public.
    public: Option<Playlist>,
}

/// The playlists known from events, and which of their documents changed.
#[derive(Debug, Default)]
pub(crate) struct Playlists {
    known: HashMap<String, Known>,
    /// Playlists whose document changed since the last [`Playlists::drain_changes`].
    dirty: HashSet<String>,
}

impl Playlists {
    /// Applies one playlist event; returns false when it changed nothing (a redelivery, an
    /// event older than what is known, one about a deleted playlist, or one without details).
    pub(crate) fn apply(&mut self, event: &PlaylistChanged) -> bool {
        let id = &event.playlist_id;
        if id.is_empty() {
            return false;
        }
        let known = self.known.get(id);
        if known.is_some_and(|k| k.deleted) {
            return false;
        }
        let next = if event.kind() == PlaylistChangeKind::Deleted {
            Known {
                revision: event.revision.max(known.map_or(0, |k| k.revision)),
                deleted: true,
                public: None,
            }
        } else {
            // Producers older than the details carry none: nothing to index from them.
            let Some(playlist) = &event.playlist else {
                return false;
            };
            if known.is_some_and(|k| event.revision <= k.revision) {
                return false;
            }
            Known {
                revision: event.revision,
                deleted: false,
                public: playlist.public.then(|| searchable(id, playlist)),
            }
        };
        self.known.insert(id.clone(), next);
        self.dirty.insert(id.clone());
        true
    }

    /// Puts back what a reopened index stored of a playlist (what `stored` made);
    /// nothing is marked to rewrite, since the index holds it already.
    pub(crate) fn restore(&mut self, stored: &PlaylistChanged) {
        self.apply(stored);
        self.dirty.remove(&stored.playlist_id);
    }

    /// Number of public playlists known.
    pub(crate) fn public_count(&self) -> usize {
        self.known.values().filter(|k| k.public.is_some()).count()
    }

    /// The documents to rewrite since the last call.
    pub(crate) fn drain_changes(&mut self) -> Vec<Change> {
        let dirty = std::mem::take(&mut self.dirty);
        dirty
            .into_iter()
            .filter_map(|id| {
                let known = self.known.get(&id)?;
                Some(Change::Upsert(Box::new(document(&id, known))))
            })
            .collect()
    }
}

/// The parts of `playlist` search keeps, under the event's id.
fn searchable(id: &str, playlist: &Playlist) -> Playlist {
    Playlist {
        id: id.to_owned(),
        name: playlist.name.clone(),
        description: playlist.description.clone(),
        owner_id: playlist.owner_id.clone(),
        public: true,
        cover: playlist.cover.clone(),
        item_count: playlist.item_count,
        follower_count: playlist.follower_count,
        first_track_ids: playlist
            .first_track_ids
            .iter()
            .take(FIRST_TRACKS)
            .cloned()
            .collect(),
        ..Playlist::default()
    }
}

/// What is stored of a playlist to rebuild [`Known`] from: an event that, applied to an
/// empty model, gives the same state.
fn stored(id: &str, known: &Known) -> PlaylistChanged {
    let (kind, playlist) = match (&known.public, known.deleted) {
        (_, true) => (PlaylistChangeKind::Deleted, None),
        (Some(public), false) => (PlaylistChangeKind::DetailsUpdated, Some(public.clone())),
        (None, false) => (
            PlaylistChangeKind::DetailsUpdated,
            Some(Playlist {
                id: id.to_owned(),
                public: false,
                ..Playlist::default()
            }),
        ),
    };
    PlaylistChanged {
        playlist_id: id.to_owned(),
        revision: known.revision,
        kind: kind.into(),
        playlist,
        ..PlaylistChanged::default()
    }
}

/// The document of a playlist: searchable while public, an empty holder of its state
/// otherwise.
fn document(id: &str, known: &Known) -> IndexDoc {
    let state = Some(stored(id, known));
    let key = key(SearchResultType::Playlist, id);
    let Some(playlist) = &known.public else {
        return IndexDoc {
            key,
            kind: SearchResultType::Unspecified,
            name: String::new(),
            artists: Vec::new(),
            album: String::new(),
            extra: String::new(),
            plays: 0,
            result: SearchResult::default(),
            track: None,
            playlist: state,
        };
    };
    let summary = PlaylistSummary {
        id: id.to_owned(),
        name: playlist.name.clone(),
        description: playlist.description.clone(),
        owner_id: playlist.owner_id.clone(),
        follower_count: playlist.follower_count,
        item_count: playlist.item_count,
        cover: playlist.cover.clone(),
        first_track_ids: playlist.first_track_ids.clone(),
    };
    IndexDoc {
        key,
        kind: SearchResultType::Playlist,
        name: playlist.name.clone(),
        artists: Vec::new(),
        album: String::new(),
        // Matched with the low weight of genres and years: a description is many words.
        extra: playlist.description.clone(),
        // Followers make a playlist popular as plays make a track.
        plays: u64::from(playlist.follower_count),
        result: SearchResult {
            item: Some(search_result::Item::Playlist(summary)),
            score: 0.0,
            highlights: Vec::new(),
        },
        track: None,
        playlist: state,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str, revision: u64, kind: PlaylistChangeKind, public: bool) -> PlaylistChanged {
        PlaylistChanged {
            playlist_id: id.to_owned(),
            revision,
            kind: kind.into(),
            playlist: (kind != PlaylistChangeKind::Deleted).then(|| Playlist {
                id: id.to_owned(),
                name: format!("{id} at {revision}"),
                public,
                follower_count: u32::try_from(revision).unwrap_or(0),
                ..Playlist::default()
            }),
            ..PlaylistChanged::default()
        }
    }

    /// The searchable name of `id`, if any, after draining.
    fn searchable_name(model: &mut Playlists, id: &str) -> Option<String> {
        model.drain_changes();
        model.known.get(id)?.public.as_ref().map(|p| p.name.clone())
    }

    #[test]
    fn a_late_or_repeated_event_never_brings_back_an_older_state() {
        use PlaylistChangeKind::{Created, DetailsUpdated, Followed};
        let mut model = Playlists::default();
        assert!(model.apply(&event("p", 3, DetailsUpdated, true)));
        assert!(!model.apply(&event("p", 1, Created, true)), "late creation");
        assert!(
            !model.apply(&event("p", 3, DetailsUpdated, true)),
            "redelivery"
        );
        assert_eq!(searchable_name(&mut model, "p").as_deref(), Some("p at 3"));
        assert!(model.apply(&event("p", 4, DetailsUpdated, false)));
        assert!(!model.apply(&event("p", 2, Followed, true)), "late follow");
        assert_eq!(searchable_name(&mut model, "p"), None);
    }

    #[test]
    fn a_deletion_is_final_whatever_arrives_after_it() {
        use PlaylistChangeKind::{Created, Deleted, DetailsUpdated};
        let mut model = Playlists::default();
        assert!(model.apply(&event("p", 5, Deleted, true)));
        assert!(!model.apply(&event("p", 1, Created, true)));
        assert!(!model.apply(&event("p", 9, DetailsUpdated, true)));
        assert_eq!(searchable_name(&mut model, "p"), None);
        let changes = model.drain_changes();
        assert!(changes.is_empty(), "{changes:?}");
    }

    #[test]
    fn the_stored_state_restores_the_same_model() {
        use PlaylistChangeKind::{Created, Deleted, DetailsUpdated};
        let mut live = Playlists::default();
        live.apply(&event("public", 2, DetailsUpdated, true));
        live.apply(&event("private", 3, Created, false));
        live.apply(&event("gone", 4, Deleted, true));
        let mut restored = Playlists::default();
        for (id, known) in &live.known {
            restored.restore(&stored(id, known));
        }
        assert_eq!(restored.known, live.known);
        assert!(restored.dirty.is_empty());
        // The restored revisions still refuse what came before them.
        assert!(!restored.apply(&event("private", 1, Created, true)));
        assert!(!restored.apply(&event("gone", 1, Created, true)));
    }
}

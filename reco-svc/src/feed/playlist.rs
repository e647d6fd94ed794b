//! The consumer of `events.playlist`: likes and playlist edits, each read, planned
//! ([`crate::model::playlist`]) and applied under the listener's or playlist's version,
//! planned again when another event of the same listener or playlist landed in between.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tunemesh_events::Envelope;
use tunemesh_events::consumer::{Handler, HandlerError};
use tunemesh_proto::events::v1::{PlaylistEvent, playlist_event};

use super::{CONFLICT_RETRIES, behind, count, transient};
use crate::model::ModelParams;
use crate::model::playlist::{
    LikeChange, LikeState, PlaylistChange, PlaylistEdit, PlaylistState, plan_likes, plan_playlist,
};
use crate::store::{Applied, RecoStore, SetKey, StoreError, Versioned};

/// What became of one like or playlist event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Its writes were applied.
    Applied,
    /// Its event id was applied before: nothing changed.
    Duplicate,
    /// It changes nothing the model keeps (its playlist was deleted).
    Ignored,
    /// Its listener or playlist kept changing under it: retry later.
    Contended,
}

/// Applies a like or unlike to `store`: read, plan, apply, again on a conflict.
pub async fn apply_likes(
    store: &dyn RecoStore,
    change: &LikeChange,
    params: &ModelParams,
) -> Result<Outcome, StoreError> {
    for _ in 0..CONFLICT_RETRIES {
        let state = read_likes(store, change).await?;
        match store.apply(&plan_likes(change, &state, params)).await? {
            Applied::Conflict => continue,
            Applied::Duplicate => return Ok(Outcome::Duplicate),
            Applied::Done => return Ok(Outcome::Applied),
        }
    }
    Ok(Outcome::Contended)
}

/// Applies a playlist edit to `store`: read, plan, apply, again on a conflict.
pub async fn apply_playlist(
    store: &dyn RecoStore,
    edit: &PlaylistEdit,
    params: &ModelParams,
) -> Result<Outcome, StoreError> {
    for _ in 0..CONFLICT_RETRIES {
        let state = read_playlist(store, edit, params).await?;
        let Some(batch) = plan_playlist(edit, &state, params) else {
            return Ok(Outcome::Ignored);
        };
        match store.apply(&batch).await? {
            Applied::Conflict => continue,
            Applied::Duplicate => return Ok(Outcome::Duplicate),
            Applied::Done => return Ok(Outcome::Applied),
        }
    }
    Ok(Outcome::Contended)
}

/// The version is read first: anything read after it that changed since fails the guard.
async fn read_likes(store: &dyn RecoStore, change: &LikeChange) -> Result<LikeState, StoreError> {
    let user = &change.user_id;
    let version = store.version(&Versioned::Listener(user.clone())).await?;
    let tracks = &change.track_ids;
    let (likes, liked_at) = (SetKey::Likes(user.clone()), SetKey::LikedAt(user.clone()));
    let (counts, liked_at) = tokio::try_join!(
        store.scores(&likes, tracks),
        store.scores(&liked_at, tracks)
    )?;
    Ok(LikeState {
        version,
        counts: whole(tracks, counts),
        liked_at: whole(tracks, liked_at),
    })
}

async fn read_playlist(
    store: &dyn RecoStore,
    edit: &PlaylistEdit,
    params: &ModelParams,
) -> Result<PlaylistState, StoreError> {
    let id = &edit.playlist_id;
    let version = store.version(&Versioned::Playlist(id.clone())).await?;
    let deleted = store
        .scores(&SetKey::DeletedPlaylists, std::slice::from_ref(id))
        .await?;
    let mut state = PlaylistState {
        version,
        deleted: deleted.first().is_some_and(Option::is_some),
        ..PlaylistState::default()
    };
    if state.deleted {
        return Ok(state);
    }
    let joined_key = SetKey::PlaylistJoined(id.clone());
    let leaving = match &edit.change {
        PlaylistChange::Added(_) => {
            let (latest, size) = tokio::try_join!(
                store.top(std::slice::from_ref(&joined_key), params.playlist_window),
                store.sizes(std::slice::from_ref(&joined_key)),
            )?;
            state.latest = times(latest.into_iter().next().unwrap_or_default().entries);
            state.size = size.first().copied().unwrap_or(0);
            state.counts = counts(store, id, &edit.tracks()).await?;
            return Ok(state);
        }
        PlaylistChange::Removed(_) => {
            let tracks = edit.tracks();
            state.counts = counts(store, id, &tracks).await?;
            let joined = store.scores(&joined_key, &tracks).await?;
            state.joined = whole(&tracks, joined);
            state.joined.keys().cloned().collect::<Vec<_>>()
        }
        PlaylistChange::Deleted => {
            let all = store
                .top(std::slice::from_ref(&joined_key), usize::MAX)
                .await?;
            state.joined = times(all.into_iter().next().unwrap_or_default().entries)
                .into_iter()
                .collect();
            state.joined.keys().cloned().collect::<Vec<_>>()
        }
    };
    let keys: Vec<SetKey> = leaving
        .iter()
        .map(|t| SetKey::PlaylistPairs(id.clone(), t.clone()))
        .collect();
    let records = store.top(&keys, usize::MAX).await?;
    state.pairs = leaving
        .into_iter()
        .zip(records)
        .map(|(track, record)| (track, record.entries))
        .collect();
    Ok(state)
}

async fn counts(
    store: &dyn RecoStore,
    id: &str,
    tracks: &[String],
) -> Result<HashMap<String, i64>, StoreError> {
    let scores = store
        .scores(&SetKey::PlaylistItems(id.to_owned()), tracks)
        .await?;
    Ok(whole(tracks, scores))
}

/// Stored whole numbers (counts, times in ms) of the members that have one.
fn whole(members: &[String], scores: Vec<Option<f64>>) -> HashMap<String, i64> {
    members
        .iter()
        .zip(scores)
        // written as whole numbers, far below 2^53
        .filter_map(|(m, s)| s.map(|s| (m.clone(), s as i64)))
        .collect()
}

fn times(entries: Vec<(String, f64)>) -> Vec<(String, i64)> {
    // written as whole ms
    entries.into_iter().map(|(t, at)| (t, at as i64)).collect()
}

/// Applies playlist events: likes to the listener, edits to the playlist.
pub(super) struct PlaylistHandler {
    pub(super) store: Arc<dyn RecoStore>,
    pub(super) params: ModelParams,
    pub(super) consumer: String,
}

#[async_trait]
impl Handler for PlaylistHandler {
    async fn handle(&self, envelope: &Envelope) -> Result<(), HandlerError> {
        let span = tracing::info_span!("reco.apply_playlist", event_id = %envelope.id);
        let _ = span.set_parent(envelope.trace_context());
        self.apply(envelope).instrument(span).await
    }
}

impl PlaylistHandler {
    async fn apply(&self, envelope: &Envelope) -> Result<(), HandlerError> {
        let event: PlaylistEvent = envelope.decode()?;
        let (id, at) = (&envelope.id, envelope.occurred_at_millis());
        let store = self.store.as_ref();
        let (outcome, label) = match event.event {
            Some(playlist_event::Event::LikedTracksChanged(e)) => {
                match LikeChange::from_event(&e, id, at) {
                    Some(change) => (
                        apply_likes(store, &change, &self.params)
                            .await
                            .map_err(transient)?,
                        if change.liked { "like" } else { "unlike" },
                    ),
                    None => (Outcome::Ignored, "ignored"),
                }
            }
            Some(playlist_event::Event::PlaylistChanged(e)) => {
                match PlaylistEdit::from_event(&e, id, at) {
                    Some(edit) => (
                        apply_playlist(store, &edit, &self.params)
                            .await
                            .map_err(transient)?,
                        "playlist",
                    ),
                    None => (Outcome::Ignored, "ignored"),
                }
            }
            // Album and artist likes are no signal reco-svc uses yet.
            Some(playlist_event::Event::LikedItemsChanged(_)) | None => {
                (Outcome::Ignored, "ignored")
            }
        };
        match outcome {
            Outcome::Applied => {
                count(&self.consumer, label);
                behind(&self.consumer, envelope);
            }
            Outcome::Duplicate => count(&self.consumer, "duplicate"),
            Outcome::Ignored => count(&self.consumer, "ignored"),
            Outcome::Contended => {
                return Err(HandlerError::Transient(anyhow::anyhow!(
                    "listener or playlist kept changing while event {id} was applied"
                )));
            }
        }
        Ok(())
    }
}

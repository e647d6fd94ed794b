//! The covers of playlists without one of their own, for the REST answers: playlist-svc
//! names each playlist's first tracks (`Playlist.first_track_ids`), the catalogue says their
//! covers (`CatalogService.BatchGetTracks`, the batch read every playlist view makes), and
//! [`mosaic::derive`] picks the cover. The services keep their own data; only ids meet here.
//! Playlists found by search (`PlaylistSummary`) carry the same first tracks and get the
//! same cover.
//!
//! gRPC answers pass through the gateway untouched, so gRPC clients (the web player among
//! them) apply the same rule themselves, as the contract describes.

use std::collections::HashMap;

use tunemesh_proto::catalog::v1::BatchGetTracksRequest;
use tunemesh_proto::common::v1::Image as PbImage;
use tunemesh_proto::playlist::v1::Playlist;
use tunemesh_proto::search::v1::PlaylistSummary;
use tunemesh_runtime::identity::Caller;

use super::mosaic;
use crate::state::AppState;

/// Most ids one `BatchGetTracks` takes (the contract's limit).
const BATCH: usize = 100;

/// First tracks of a playlist looked at: the contract's bound on `first_track_ids`, held here
/// too so no answer from upstream can widen the lookups.
const FIRST_TRACKS: usize = 8;

/// Most playlists of one answer given a derived cover: a page is at most 200 playlists of
/// 8 tracks, so this bounds one answer to a few catalogue calls.
const MAX_PLAYLISTS: usize = 200;

/// A playlist as an answer carries it: `Playlist`, or `PlaylistSummary` from search.
pub(crate) trait Covered {
    /// Its cover (the owner's, unset without one) and the track ids of its first items.
    fn cover_parts(&mut self) -> (&mut Option<PbImage>, &[String]);
}

impl Covered for Playlist {
    fn cover_parts(&mut self) -> (&mut Option<PbImage>, &[String]) {
        (&mut self.cover, &self.first_track_ids)
    }
}

impl Covered for PlaylistSummary {
    fn cover_parts(&mut self) -> (&mut Option<PbImage>, &[String]) {
        (&mut self.cover, &self.first_track_ids)
    }
}

/// Gives each of `playlists` without a cover the one derived from its first tracks' covers,
/// as `caller` sees the catalogue. A catalogue failure leaves them without: a cover is
/// decoration, and the playlists themselves are the upstream's answer.
pub(crate) async fn fill<P: Covered>(state: &AppState, caller: &Caller, playlists: &mut [&mut P]) {
    let mut ids: Vec<String> = playlists
        .iter_mut()
        .map(|p| p.cover_parts())
        .filter(|(cover, _)| cover.is_none())
        .take(MAX_PLAYLISTS)
        .flat_map(|(_, firsts)| firsts.iter().take(FIRST_TRACKS).cloned())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return;
    }
    let mut covers: HashMap<String, PbImage> = HashMap::new();
    for batch in ids.chunks(BATCH) {
        let request = BatchGetTracksRequest {
            track_ids: batch.to_vec(),
        };
        let answer = state
            .catalog()
            .call(caller, request, async |c, r| c.batch_get_tracks(r).await)
            .await;
        match answer {
            Ok(answer) => covers.extend(
                answer
                    .tracks
                    .into_iter()
                    .filter_map(|t| Some((t.id, t.cover?))),
            ),
            Err(error) => {
                tracing::warn!(?error, "playlists answered without derived covers");
                return;
            }
        }
    }
    let uncovered = playlists
        .iter_mut()
        .map(|p| p.cover_parts())
        .filter(|(cover, _)| cover.is_none())
        .take(MAX_PLAYLISTS);
    for (cover, firsts) in uncovered {
        let firsts = firsts
            .iter()
            .take(FIRST_TRACKS)
            .filter_map(|t| covers.get(t));
        *cover = mosaic::derive(firsts);
    }
}

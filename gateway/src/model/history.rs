//! JSON shapes of the listening history (`/v1/me/history`) and an artist's top tracks
//! (`/v1/artists/{id}/top-tracks`): reco-svc's ids and counts with the catalogue's whole
//! tracks and albums (covers included), so a client draws them without another call.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use tunemesh_proto::catalog::v1 as catalog;
use tunemesh_proto::reco::v1 as reco;
use utoipa::ToSchema;

use super::catalog::{Album, Track, rfc3339};

/// A track the caller played.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PlayedTrack {
    /// When the caller's latest counted play of it ended (RFC 3339).
    pub played_at: Option<String>,
    /// The track.
    pub track: Track,
}

/// An album the caller played.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PlayedAlbum {
    /// When the caller's latest counted play of one of its tracks ended (RFC 3339); absent
    /// when that is older than the caller's kept recent tracks.
    pub played_at: Option<String>,
    /// In `most_played_albums`: counted plays of its tracks, each halved every 30 days since
    /// it happened; absent in `recent_albums`.
    pub plays: Option<f64>,
    /// The album.
    pub album: Album,
}

/// The caller's listening history.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct History {
    /// Distinct tracks, latest play first (a track played again moves to the front).
    pub recent_tracks: Vec<PlayedTrack>,
    /// The albums of those tracks, latest play first.
    pub recent_albums: Vec<PlayedAlbum>,
    /// Albums by recent plays (decayed counts), most first.
    pub most_played_albums: Vec<PlayedAlbum>,
}

/// A track and how often every listener played it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TopTrack {
    /// Counted plays by all listeners (skips do not count).
    pub plays: u64,
    /// The track.
    pub track: Track,
}

/// An artist's most played tracks.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TopTracks {
    /// Most played first; tracks nobody played yet are not listed.
    pub tracks: Vec<TopTrack>,
}

/// Whole catalogue objects by id, for the ids reco-svc answered with.
#[derive(Debug, Default)]
pub(crate) struct Resolved {
    /// Tracks by id.
    pub(crate) tracks: HashMap<String, catalog::Track>,
    /// Albums by id.
    pub(crate) albums: HashMap<String, catalog::Album>,
}

impl Resolved {
    fn track(&self, id: &str) -> Option<Track> {
        self.tracks.get(id).cloned().map(Into::into)
    }

    fn album(&self, played: reco::PlayedAlbum, decayed: bool) -> Option<PlayedAlbum> {
        Some(PlayedAlbum {
            played_at: rfc3339(played.last_played_at.as_ref()),
            plays: decayed.then_some(played.plays),
            album: self.albums.get(&played.album_id).cloned()?.into(),
        })
    }

    /// The history from reco-svc's answers; ids the catalogue no longer knows are left out.
    pub(crate) fn history(
        &self,
        recent: reco::RecentlyPlayedResponse,
        most: reco::MostPlayedAlbumsResponse,
    ) -> History {
        History {
            recent_tracks: recent
                .tracks
                .into_iter()
                .filter_map(|played| {
                    Some(PlayedTrack {
                        played_at: rfc3339(played.last_played_at.as_ref()),
                        track: self.track(&played.track_id)?,
                    })
                })
                .collect(),
            recent_albums: recent
                .albums
                .into_iter()
                .filter_map(|a| self.album(a, false))
                .collect(),
            most_played_albums: most
                .albums
                .into_iter()
                .filter_map(|a| self.album(a, true))
                .collect(),
        }
    }

    /// The top tracks from reco-svc's answer; ids the catalogue no longer knows are left out.
    pub(crate) fn top_tracks(&self, top: reco::TopTracksResponse) -> TopTracks {
        TopTracks {
            tracks: top
                .tracks
                .into_iter()
                .filter_map(|t| {
                    Some(TopTrack {
                        plays: t.plays,
                        track: self.track(&t.track_id)?,
                    })
                })
                .collect(),
        }
    }
}

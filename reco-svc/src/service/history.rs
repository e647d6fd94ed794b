//! Listening history: `RecentlyPlayed` and `MostPlayedAlbums` (the caller's own) and
//! `TopTracks` (an artist's, over every listener).
//!
//! Plays are stored by track id only ([`crate::model::update::history`]); albums and artists
//! are joined here from the catalogue facts the model keeps, so the answers do not depend on
//! whether a play or its track's catalogue event was applied first.

use std::collections::HashMap;

use tunemesh_proto::prost_types::Timestamp;
use tunemesh_proto::reco::v1::{
    MostPlayedAlbumsRequest, MostPlayedAlbumsResponse, PlayedAlbum, PlayedTrack,
    RecentlyPlayedRequest, RecentlyPlayedResponse, TopTrack, TopTracksRequest, TopTracksResponse,
};

use super::{ModelRecommender, check_id, limit};
use crate::error::RecoError;
use crate::model::{decay, ms};
use crate::store::{CLOCK, Ranked, SetKey, TrackInfo};

/// Most entries of one history list.
const HISTORY_MAX: usize = 50;
/// Most tracks of an artist looked at for its top tracks, latest credited first: bounds the
/// read for an artist with a huge catalogue.
const ARTIST_TRACKS_MAX: usize = 2000;

/// A time in ms since the epoch as a protobuf timestamp.
fn timestamp(at_ms: i64) -> Timestamp {
    Timestamp {
        seconds: at_ms.div_euclid(1000),
        // below 1e9, so it fits
        nanos: i32::try_from(at_ms.rem_euclid(1000) * 1_000_000).unwrap_or(0),
    }
}

/// A list of (member, time in ms) read from a set of play times.
fn timed(list: Ranked) -> Vec<(String, i64)> {
    // times were written as whole ms
    list.entries
        .into_iter()
        .map(|(t, at)| (t, at as i64))
        .collect()
}

/// The latest play of each album among `recent` (latest first), in that order.
fn albums_by_latest<'a>(
    recent: &'a [(String, i64)],
    infos: &'a HashMap<String, TrackInfo>,
) -> impl Iterator<Item = (&'a str, i64)> {
    let mut seen = std::collections::HashSet::new();
    recent.iter().filter_map(move |(track, at)| {
        let album = infos.get(track)?.album_id.as_str();
        (!album.is_empty() && seen.insert(album)).then_some((album, *at))
    })
}

impl ModelRecommender {
    /// The caller's latest distinct tracks and their albums.
    pub(super) async fn recent_history(
        &self,
        user_id: &str,
        request: RecentlyPlayedRequest,
    ) -> Result<RecentlyPlayedResponse, RecoError> {
        let n = limit(request.limit, 20, HISTORY_MAX)?;
        self.check_ready()?;
        let recent = SetKey::Recent(user_id.to_owned());
        let list = self.store.top(&[recent], self.params.recent_size).await?;
        let recent = timed(list.into_iter().next().unwrap_or_default());
        let infos = self
            .infos(recent.iter().map(|(t, _)| t.clone()).collect())
            .await?;
        let albums = albums_by_latest(&recent, &infos)
            .take(n)
            .map(|(album, at)| PlayedAlbum {
                album_id: album.to_owned(),
                last_played_at: Some(timestamp(at)),
                plays: 0.0,
            })
            .collect();
        let tracks = recent
            .into_iter()
            .take(n)
            .map(|(track_id, at)| PlayedTrack {
                track_id,
                last_played_at: Some(timestamp(at)),
            })
            .collect();
        Ok(RecentlyPlayedResponse { tracks, albums })
    }

    /// The caller's albums by decayed plays, as of the model's clock.
    pub(super) async fn most_played(
        &self,
        user_id: &str,
        request: MostPlayedAlbumsRequest,
    ) -> Result<MostPlayedAlbumsResponse, RecoError> {
        let n = limit(request.limit, 20, HISTORY_MAX)?;
        self.check_ready()?;
        let user = user_id.to_owned();
        let keys = [
            SetKey::Plays(user.clone()),
            SetKey::Recent(user),
            SetKey::Meta,
        ];
        let depth = self.params.history_size.max(self.params.recent_size);
        let [plays, recent, meta] =
            <[_; 3]>::try_from(self.store.top(&keys, depth).await?).unwrap_or_default();
        let recent = timed(recent);
        let mut ids: Vec<String> = plays.entries.iter().map(|(t, _)| t.clone()).collect();
        ids.extend(recent.iter().map(|(t, _)| t.clone()));
        let infos = self.infos(ids).await?;

        let mut sums: HashMap<&str, f64> = HashMap::new();
        // In the set's order, so both stores add the same numbers in the same order.
        for (track, stored) in &plays.entries {
            if let Some(info) = infos.get(track).filter(|i| !i.album_id.is_empty()) {
                *sums.entry(info.album_id.as_str()).or_default() += stored;
            }
        }
        let latest: HashMap<&str, i64> = albums_by_latest(&recent, &infos).collect();
        // Values as of the latest event applied: event time, so a replay answers the same.
        let landmark = plays.landmark_ms.unwrap_or(0);
        let clock = meta
            .entries
            .iter()
            .find(|(member, _)| member == CLOCK)
            .map_or(landmark, |(_, at)| *at as i64);
        let half_life = ms(self.params.history_half_life);
        let mut albums: Vec<(&str, f64)> = sums
            .into_iter()
            .map(|(album, stored)| (album, decay::value_at(stored, landmark, clock, half_life)))
            .collect();
        albums.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        albums.truncate(n);
        Ok(MostPlayedAlbumsResponse {
            albums: albums
                .into_iter()
                .map(|(album, plays)| PlayedAlbum {
                    album_id: album.to_owned(),
                    last_played_at: latest.get(album).map(|at| timestamp(*at)),
                    plays,
                })
                .collect(),
        })
    }

    /// An artist's most played tracks over every listener.
    pub(super) async fn artist_top_tracks(
        &self,
        request: TopTracksRequest,
    ) -> Result<TopTracksResponse, RecoError> {
        check_id("artist", &request.artist_id)?;
        let n = limit(request.limit, 10, HISTORY_MAX)?;
        self.check_ready()?;
        let artist = SetKey::ArtistTracks(request.artist_id);
        let list = self.store.top(&[artist], ARTIST_TRACKS_MAX).await?;
        let ids: Vec<String> = list
            .into_iter()
            .next()
            .unwrap_or_default()
            .entries
            .into_iter()
            .map(|(t, _)| t)
            .collect();
        let counts = self.store.scores(&SetKey::PlayCounts, &ids).await?;
        let mut tracks: Vec<(String, u64)> = ids
            .into_iter()
            .zip(counts)
            // counts are whole numbers of plays, stored exactly
            .filter_map(|(track, count)| Some((track, count.filter(|c| *c >= 1.0)? as u64)))
            .collect();
        tracks.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        tracks.truncate(n);
        Ok(TopTracksResponse {
            tracks: tracks
                .into_iter()
                .map(|(track_id, plays)| TopTrack { track_id, plays })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_before_and_after_the_epoch_become_timestamps() {
        assert_eq!(
            timestamp(1_700_000_000_123),
            Timestamp {
                seconds: 1_700_000_000,
                nanos: 123_000_000
            }
        );
        assert_eq!(
            timestamp(-1),
            Timestamp {
                seconds: -1,
                nanos: 999_000_000
            }
        );
    }

    #[test]
    fn an_album_is_listed_once_at_its_latest_play_and_unknown_tracks_are_skipped() {
        let info = |track: &str, album: &str| TrackInfo {
            track_id: track.to_owned(),
            artist_id: "a".to_owned(),
            artist_name: "A".to_owned(),
            title: track.to_owned(),
            album_id: album.to_owned(),
            updated_ms: 0,
        };
        let infos: HashMap<String, TrackInfo> = [info("t1", "x"), info("t2", "y"), info("t3", "x")]
            .into_iter()
            .chain([info("t4", "")])
            .map(|i| (i.track_id.clone(), i))
            .collect();
        let recent: Vec<(String, i64)> =
            [("t4", 9), ("t3", 8), ("unknown", 7), ("t2", 6), ("t1", 5)]
                .into_iter()
                .map(|(t, at)| (t.to_owned(), at))
                .collect();
        let albums: Vec<(&str, i64)> = albums_by_latest(&recent, &infos).collect();
        assert_eq!(albums, [("x", 8), ("y", 6)]);
    }
}

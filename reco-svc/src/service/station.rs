//! `Radio`: a station from a seed track, steered by its latest tracks, leaning toward what
//! the listener likes and away from what they skipped.

use std::collections::HashSet;

use tunemesh_proto::reco::v1::{RadioRequest, RadioResponse};

use super::{ModelRecommender, SAME_ARTIST, STATION_STEER, check_track_id, explain, flat, limit};
use crate::error::RecoError;
use crate::model::rank::{self, Candidate, Reason, Scores};
use crate::radio::{Station, WINDOW};
use crate::store::SetKey;

impl ModelRecommender {
    /// The next page of the station in `request` for `user_id`.
    pub(super) async fn station(
        &self,
        user_id: &str,
        request: RadioRequest,
    ) -> Result<RadioResponse, RecoError> {
        let seed = request.seed_track_id.as_str();
        check_track_id(seed)?;
        let n = limit(request.limit, 10, 50)?;
        let mut station = if request.page_token.is_empty() {
            Station::new(seed)
        } else {
            Station::from_token(&request.page_token, seed)?
        };
        self.check_ready()?;
        let seed_info = self.infos(vec![seed.to_owned()]).await?.remove(seed);
        if !self.known(seed, seed_info.as_ref()).await? {
            return Err(RecoError::TrackNotFound(seed.to_owned()));
        }

        let mut keys = vec![
            SetKey::Skips(user_id.to_owned()),
            SetKey::Popularity,
            SetKey::Taste(user_id.to_owned()),
            SetKey::Neighbours(seed.to_owned()),
            SetKey::Related(seed.to_owned()),
        ];
        let steering: Vec<&String> = station
            .recent
            .iter()
            .rev()
            .take(STATION_STEER.len())
            .collect();
        for track in &steering {
            keys.push(SetKey::Neighbours((*track).clone()));
            keys.push(SetKey::Related((*track).clone()));
        }
        if let Some(info) = &seed_info {
            keys.push(SetKey::ArtistTracks(info.artist_id.clone()));
        }
        let depth = self
            .params
            .neighbours
            .max(self.params.taste_size)
            .max(n + WINDOW + 1);
        let mut lists = self.store.top(&keys, depth).await?.into_iter();
        let mut next = || lists.next().unwrap_or_default().entries;
        let (skips, popularity, taste) = (next(), next(), next());

        let mut scores = Scores::default();
        let mix = self.params.playlist_mix;
        let from_seed = Reason::ListenersAlsoPlayed(seed.to_owned());
        scores.add_normalised(&next(), 1.0, &from_seed);
        let in_playlists = Reason::InSamePlaylists(seed.to_owned());
        scores.add_normalised(&next(), mix, &in_playlists);
        for (track, weight) in steering.iter().zip(STATION_STEER) {
            let reason = Reason::ListenersAlsoPlayed((*track).clone());
            scores.add_normalised(&next(), weight, &reason);
            let reason = Reason::InSamePlaylists((*track).clone());
            scores.add_normalised(&next(), weight * mix, &reason);
        }
        if let Some(info) = &seed_info {
            let reason = Reason::SameArtist(info.artist_id.clone());
            scores.add_normalised(&flat(next()), SAME_ARTIST, &reason);
        }
        scores.add_normalised(&popularity, self.params.popularity_mix, &Reason::Popular);
        // What the listener likes (likes, plays, their playlists) moves up among the
        // station's candidates; it never brings in a track the station would not play.
        scores.boost_present(&taste, self.params.radio_taste);

        let mut tracks = Vec::with_capacity(n);
        if station.recent.is_empty() {
            tracks.push(Candidate {
                track_id: seed.to_owned(),
                score: 1.0,
                reason: Reason::RadioSeed(seed.to_owned()),
            });
        }
        let mut exclude: HashSet<&str> = station.recent.iter().map(String::as_str).collect();
        exclude.insert(seed);
        exclude.extend(skips.iter().map(|(t, _)| t.as_str()));
        let wanted = n - tracks.len();
        let (picked, infos) = self
            .pick(scores.into_candidates(&exclude), wanted, &[seed.to_owned()])
            .await?;
        tracks.extend(picked);
        // A catalogue smaller than the window: replay the station's oldest tracks rather
        // than end it (the station never runs out).
        let mut replay = station.recent.clone().into_iter();
        while tracks.len() < n {
            match replay.next() {
                Some(track) if !tracks.iter().any(|c| c.track_id == track) => {
                    tracks.push(Candidate {
                        track_id: track,
                        score: 0.0,
                        reason: Reason::ListenersAlsoPlayed(seed.to_owned()),
                    });
                }
                Some(_) => {}
                None if tracks.is_empty() => tracks.push(Candidate {
                    track_id: seed.to_owned(),
                    score: 1.0,
                    reason: Reason::RadioSeed(seed.to_owned()),
                }),
                None => break,
            }
        }
        for candidate in &tracks {
            station.push(&candidate.track_id);
        }
        rank::normalise(&mut tracks);
        Ok(RadioResponse {
            tracks: explain::all(tracks, &infos),
            next_page_token: station.token(),
        })
    }
}

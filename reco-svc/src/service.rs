//! The domain: `Recommend`, `Radio` and `SimilarTracks` over the model's store, with no
//! tonic types. Each answer reads the state it needs in two round trips at most, ranks with
//! [`crate::model::rank`] and explains each track with its strongest reason.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::watch;
use tunemesh_proto::reco::v1::{
    RadioRequest, RadioResponse, RecommendRequest, RecommendResponse, SimilarTracksRequest,
    SimilarTracksResponse,
};

use crate::error::RecoError;
use crate::model::ModelParams;
use crate::model::rank::{self, Candidate, Reason, Scores};
use crate::radio::{Station, WINDOW};
use crate::store::{RecoStore, SetKey, TrackInfo};

mod explain;

/// Longest track id accepted (the catalogue's ids are at most 64 ASCII characters).
const MAX_ID: usize = 64;
/// Tracks a `Recommend` may exclude, at most.
const MAX_EXCLUDE: usize = 500;
/// Station tracks whose neighbours steer the next page, latest first, with their weights.
const STATION_STEER: [f64; 3] = [0.6, 0.4, 0.3];
/// Weight of the seed artist's other tracks (radio, similar tracks).
const SAME_ARTIST: f64 = 0.3;

/// Recommendations for callers; `user_id` comes from the verified identity.
#[async_trait]
pub trait Recommender: Send + Sync + std::fmt::Debug {
    /// Personal recommendations for `user_id`, best first.
    async fn recommend(
        &self,
        user_id: &str,
        request: RecommendRequest,
    ) -> Result<RecommendResponse, RecoError>;
    /// The next page of the radio station in `request`, skipping what `user_id` skipped.
    async fn radio(&self, user_id: &str, request: RadioRequest)
    -> Result<RadioResponse, RecoError>;
    /// The tracks most similar to a track (not personalised).
    async fn similar(
        &self,
        request: SimilarTracksRequest,
    ) -> Result<SimilarTracksResponse, RecoError>;
}

/// A track id as the catalogue makes them: the mesh-wide id rule (`tunemesh_runtime::ids`).
pub fn check_track_id(id: &str) -> Result<(), RecoError> {
    if id.len() > MAX_ID || !tunemesh_runtime::ids::is_valid(id) {
        return Err(RecoError::invalid(format!(
            "track ids {}",
            tunemesh_runtime::ids::RULE
        )));
    }
    Ok(())
}

/// `limit` with 0 meaning `default`, refused past `max`.
fn limit(requested: u32, default: usize, max: usize) -> Result<usize, RecoError> {
    match usize::try_from(requested).unwrap_or(usize::MAX) {
        0 => Ok(default),
        n if n <= max => Ok(n),
        _ => Err(RecoError::invalid(format!("limit must be at most {max}"))),
    }
}

/// The model behind a [`RecoStore`].
#[derive(Debug)]
pub struct ModelRecommender {
    store: Arc<dyn RecoStore>,
    params: ModelParams,
    ready: watch::Receiver<bool>,
}

impl ModelRecommender {
    /// Answers from `store` once `ready` turns true (UNAVAILABLE before).
    pub fn new(
        store: Arc<dyn RecoStore>,
        params: ModelParams,
        ready: watch::Receiver<bool>,
    ) -> Self {
        Self {
            store,
            params,
            ready,
        }
    }

    fn check_ready(&self) -> Result<(), RecoError> {
        if *self.ready.borrow() {
            Ok(())
        } else {
            Err(RecoError::NotReady)
        }
    }

    /// The catalogue facts of `ids`, by id.
    async fn infos(&self, ids: Vec<String>) -> Result<HashMap<String, TrackInfo>, RecoError> {
        let infos = self.store.tracks(&ids).await?;
        Ok(ids
            .into_iter()
            .zip(infos)
            .filter_map(|(id, info)| info.map(|info| (id, info)))
            .collect())
    }

    /// Picks `n` of `candidates` with variety across artists.
    async fn pick(
        &self,
        candidates: Vec<Candidate>,
        n: usize,
        also_describe: &[String],
    ) -> Result<(Vec<Candidate>, HashMap<String, TrackInfo>), RecoError> {
        // Only the head can be picked: the penalty at most halves a score per repeat.
        let mut pool = candidates;
        pool.truncate(n.saturating_mul(4).max(n + 20));
        let mut ids: Vec<String> = pool.iter().map(|c| c.track_id.clone()).collect();
        ids.extend(also_describe.iter().cloned());
        let infos = self.infos(ids).await?;
        let penalty = self.params.artist_penalty.clamp(0.0, 1.0);
        let picked = rank::diversify(
            pool,
            |t| infos.get(t).map(|i| i.artist_id.as_str()),
            n,
            penalty,
        );
        Ok((picked, infos))
    }

    /// Whether the model knows `track` at all (catalogue, plays or neighbours).
    async fn known(&self, track: &str, info: Option<&TrackInfo>) -> Result<bool, RecoError> {
        if info.is_some() {
            return Ok(true);
        }
        let played = self
            .store
            .scores(&SetKey::Popularity, &[track.to_owned()])
            .await?;
        Ok(played.first().is_some_and(Option::is_some))
    }
}

#[async_trait]
impl Recommender for ModelRecommender {
    async fn recommend(
        &self,
        user_id: &str,
        request: RecommendRequest,
    ) -> Result<RecommendResponse, RecoError> {
        let n = limit(request.limit, 20, 100)?;
        if request.exclude_track_ids.len() > MAX_EXCLUDE {
            return Err(RecoError::invalid(
                "exclude_track_ids holds at most 500 ids",
            ));
        }
        for id in &request.exclude_track_ids {
            check_track_id(id)?;
        }
        self.check_ready()?;
        let user = user_id.to_owned();
        let own = self
            .store
            .top(
                &[
                    SetKey::Taste(user.clone()),
                    SetKey::Recent(user.clone()),
                    SetKey::Skips(user),
                ],
                usize::MAX,
            )
            .await?;
        let [taste, recent, skips] = <[_; 3]>::try_from(own).unwrap_or_default();
        let recent: Vec<String> = recent.entries.into_iter().map(|(t, _)| t).collect();
        let seeds = rank::seeds(&taste.entries, &recent, 5, self.params.seeds);
        let mut exclude: HashSet<&str> = recent.iter().map(String::as_str).collect();
        exclude.extend(skips.entries.iter().map(|(t, _)| t.as_str()));
        exclude.extend(request.exclude_track_ids.iter().map(String::as_str));

        let mut keys: Vec<SetKey> = seeds
            .iter()
            .map(|(s, _)| SetKey::Neighbours(s.clone()))
            .collect();
        keys.push(SetKey::Popularity);
        let depth = self.params.neighbours.max(n + exclude.len());
        let mut lists = self.store.top(&keys, depth).await?;
        let popularity = lists.pop().unwrap_or_default();

        let mut scores = Scores::default();
        for ((seed, weight), neighbours) in seeds.iter().zip(&lists) {
            let mut entries = neighbours.entries.clone();
            entries.truncate(self.params.neighbours);
            scores.add_normalised(&entries, *weight, &Reason::BecauseYouPlayed(seed.clone()));
        }
        let personal = seeds.iter().any(|(_, w)| *w > 0.0);
        let mix = if personal {
            self.params.popularity_mix
        } else {
            1.0
        };
        scores.add_normalised(&popularity.entries, mix, &Reason::Popular);

        let seed_ids: Vec<String> = seeds.into_iter().map(|(s, _)| s).collect();
        let (mut picked, infos) = self
            .pick(scores.into_candidates(&exclude), n, &seed_ids)
            .await?;
        rank::normalise(&mut picked);
        Ok(RecommendResponse {
            recommendations: explain::all(picked, &infos),
        })
    }

    async fn radio(
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
            SetKey::Neighbours(seed.to_owned()),
        ];
        let steering: Vec<&String> = station
            .recent
            .iter()
            .rev()
            .take(STATION_STEER.len())
            .collect();
        keys.extend(steering.iter().map(|t| SetKey::Neighbours((*t).clone())));
        if let Some(info) = &seed_info {
            keys.push(SetKey::ArtistTracks(info.artist_id.clone()));
        }
        let depth = self.params.neighbours.max(n + WINDOW + 1);
        let mut lists = self.store.top(&keys, depth).await?.into_iter();
        let (skips, popularity) = (
            lists.next().unwrap_or_default(),
            lists.next().unwrap_or_default(),
        );

        let mut scores = Scores::default();
        let from_seed = Reason::ListenersAlsoPlayed(seed.to_owned());
        scores.add_normalised(&lists.next().unwrap_or_default().entries, 1.0, &from_seed);
        for (track, weight) in steering.iter().zip(STATION_STEER) {
            let reason = Reason::ListenersAlsoPlayed((*track).clone());
            scores.add_normalised(&lists.next().unwrap_or_default().entries, weight, &reason);
        }
        if let Some(info) = &seed_info {
            let by_artist = lists.next().unwrap_or_default().entries;
            let flat: Vec<(String, f64)> = by_artist.into_iter().map(|(t, _)| (t, 1.0)).collect();
            scores.add_normalised(
                &flat,
                SAME_ARTIST,
                &Reason::SameArtist(info.artist_id.clone()),
            );
        }
        scores.add_normalised(
            &popularity.entries,
            self.params.popularity_mix,
            &Reason::Popular,
        );

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
        exclude.extend(skips.entries.iter().map(|(t, _)| t.as_str()));
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

    async fn similar(
        &self,
        request: SimilarTracksRequest,
    ) -> Result<SimilarTracksResponse, RecoError> {
        let track = request.track_id.as_str();
        check_track_id(track)?;
        let n = limit(request.limit, 20, 100)?;
        self.check_ready()?;
        let info = self.infos(vec![track.to_owned()]).await?.remove(track);
        if !self.known(track, info.as_ref()).await? {
            return Err(RecoError::TrackNotFound(track.to_owned()));
        }
        let mut keys = vec![SetKey::Neighbours(track.to_owned())];
        if let Some(info) = &info {
            keys.push(SetKey::ArtistTracks(info.artist_id.clone()));
        }
        let lists = self
            .store
            .top(&keys, self.params.neighbours.max(n + 1))
            .await?;
        let mut scores = Scores::default();
        let mut lists = lists.into_iter();
        let reason = Reason::ListenersAlsoPlayed(track.to_owned());
        scores.add_normalised(&lists.next().unwrap_or_default().entries, 1.0, &reason);
        if let (Some(info), Some(by_artist)) = (&info, lists.next()) {
            let flat: Vec<(String, f64)> = by_artist
                .entries
                .into_iter()
                .map(|(t, _)| (t, 1.0))
                .collect();
            scores.add_normalised(
                &flat,
                SAME_ARTIST,
                &Reason::SameArtist(info.artist_id.clone()),
            );
        }
        let mut candidates = scores.into_candidates(&HashSet::from([track]));
        candidates.truncate(n);
        let mut ids: Vec<String> = candidates.iter().map(|c| c.track_id.clone()).collect();
        ids.push(track.to_owned());
        let infos = self.infos(ids).await?;
        rank::normalise(&mut candidates);
        Ok(SimilarTracksResponse {
            tracks: explain::all(candidates, &infos),
        })
    }
}

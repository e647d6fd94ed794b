//! The domain: `Recommend` here, `Radio` (`station`), `SimilarTracks` (`similar`) and the
//! listening history (`history`: `RecentlyPlayed`, `MostPlayedAlbums`, `TopTracks`) over the
//! model's store, with no tonic types. Each answer reads the state it needs in a few batched
//! round trips; recommendations rank with [`crate::model::rank`] (co-listening, what
//! listeners played next, playlist co-occurrence, popularity) and explain each track with its
//! strongest reason.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::watch;
use tunemesh_proto::reco::v1::{
    MostPlayedAlbumsRequest, MostPlayedAlbumsResponse, RadioRequest, RadioResponse,
    RecentlyPlayedRequest, RecentlyPlayedResponse, RecommendRequest, RecommendResponse,
    SimilarTracksRequest, SimilarTracksResponse, TopTracksRequest, TopTracksResponse,
};

use crate::error::RecoError;
use crate::model::rank::{self, Candidate, Reason, Scores};
use crate::model::{ModelParams, sequence};
use crate::store::{RecoStore, SetKey, TrackInfo};

mod explain;
mod history;
mod similar;
mod station;

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
    /// `user_id`'s latest distinct tracks and their albums, latest first.
    async fn recently_played(
        &self,
        user_id: &str,
        request: RecentlyPlayedRequest,
    ) -> Result<RecentlyPlayedResponse, RecoError>;
    /// The albums `user_id` played most (decayed counts), most first.
    async fn most_played_albums(
        &self,
        user_id: &str,
        request: MostPlayedAlbumsRequest,
    ) -> Result<MostPlayedAlbumsResponse, RecoError>;
    /// An artist's tracks most played by every listener (not personalised).
    async fn top_tracks(&self, request: TopTracksRequest) -> Result<TopTracksResponse, RecoError>;
}

/// A track id as the catalogue makes them: the mesh-wide id rule (`tunemesh_runtime::ids`).
pub fn check_track_id(id: &str) -> Result<(), RecoError> {
    check_id("track", id)
}

/// An id of `what` (track, artist) by the mesh-wide id rule.
fn check_id(what: &str, id: &str) -> Result<(), RecoError> {
    if id.len() > MAX_ID || !tunemesh_runtime::ids::is_valid(id) {
        return Err(RecoError::invalid(format!(
            "{what} ids {}",
            tunemesh_runtime::ids::RULE
        )));
    }
    Ok(())
}

/// A list's members, each worth the same (an artist's tracks).
fn flat(entries: Vec<(String, f64)>) -> Vec<(String, f64)> {
    entries.into_iter().map(|(t, _)| (t, 1.0)).collect()
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

    /// Whether the model knows `track` at all (catalogue, plays or playlists).
    async fn known(&self, track: &str, info: Option<&TrackInfo>) -> Result<bool, RecoError> {
        if info.is_some() {
            return Ok(true);
        }
        let played = self
            .store
            .scores(&SetKey::Popularity, &[track.to_owned()])
            .await?;
        if played.first().is_some_and(Option::is_some) {
            return Ok(true);
        }
        let related = self
            .store
            .top(&[SetKey::Related(track.to_owned())], 1)
            .await?;
        Ok(related.first().is_some_and(|r| !r.entries.is_empty()))
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
        let seeds = rank::seeds(
            &taste.entries,
            &recent,
            (self.params.session_plays, self.params.session_boost),
            self.params.seeds,
        );
        let follow = sequence::follow_weights(&recent, self.params.session_plays, &self.params);
        let mut exclude: HashSet<&str> = recent.iter().map(String::as_str).collect();
        exclude.extend(skips.entries.iter().map(|(t, _)| t.as_str()));
        exclude.extend(request.exclude_track_ids.iter().map(String::as_str));

        let mut keys: Vec<SetKey> = seeds
            .iter()
            .map(|(s, _)| SetKey::Neighbours(s.clone()))
            .collect();
        keys.extend(seeds.iter().map(|(s, _)| SetKey::Related(s.clone())));
        keys.extend(follow.iter().map(|(t, _)| SetKey::Next(t.clone())));
        keys.push(SetKey::Popularity);
        let depth = self.params.neighbours.max(n + exclude.len());
        let mut lists = self.store.top(&keys, depth).await?;
        let popularity = lists.pop().unwrap_or_default();
        let (co_listened, rest) = lists.split_at(seeds.len().min(lists.len()));
        let (related, next) = rest.split_at(seeds.len().min(rest.len()));

        let mut scores = Scores::default();
        for ((seed, weight), neighbours) in seeds.iter().zip(co_listened) {
            let mut entries = neighbours.entries.clone();
            entries.truncate(self.params.neighbours);
            scores.add_normalised(&entries, *weight, &Reason::BecauseYouPlayed(seed.clone()));
        }
        for ((seed, weight), related) in seeds.iter().zip(related) {
            let mut entries = related.entries.clone();
            entries.truncate(self.params.related_size);
            let weight = weight * self.params.recommend_playlist_mix;
            scores.add_normalised(&entries, weight, &Reason::InSamePlaylists(seed.clone()));
        }
        for ((track, weight), next) in follow.iter().zip(next) {
            let mut entries = next.entries.clone();
            entries.truncate(self.params.neighbours);
            scores.add_normalised(&entries, *weight, &Reason::BecauseYouPlayed(track.clone()));
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
        self.station(user_id, request).await
    }

    async fn similar(
        &self,
        request: SimilarTracksRequest,
    ) -> Result<SimilarTracksResponse, RecoError> {
        self.similar_tracks(request).await
    }

    async fn recently_played(
        &self,
        user_id: &str,
        request: RecentlyPlayedRequest,
    ) -> Result<RecentlyPlayedResponse, RecoError> {
        self.recent_history(user_id, request).await
    }

    async fn most_played_albums(
        &self,
        user_id: &str,
        request: MostPlayedAlbumsRequest,
    ) -> Result<MostPlayedAlbumsResponse, RecoError> {
        self.most_played(user_id, request).await
    }

    async fn top_tracks(&self, request: TopTracksRequest) -> Result<TopTracksResponse, RecoError> {
        self.artist_top_tracks(request).await
    }
}

//! The streaming model fed the training ratings in time order through the consumer's own
//! code paths (`plan_listen` and the store batch for plays and skips, `apply_likes`,
//! `apply_playlist`), into the embedded store, then asked `Recommend` for each held-out user.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tunemesh_proto::reco::v1::RecommendRequest;
use tunemesh_reco::feed::playlist::{Outcome, apply_likes, apply_playlist};
use tunemesh_reco::model::playlist::{LikeChange, PlaylistChange, PlaylistEdit};
use tunemesh_reco::model::update::plan_listen;
use tunemesh_reco::model::{Listen, ListenKind, ModelParams};
use tunemesh_reco::service::{ModelRecommender, Recommender as _};
use tunemesh_reco::store::memory::MemoryStore;
use tunemesh_reco::store::{Applied, RecoStore as _};

use super::baselines::Score;
use super::movielens::{Rating, Split};

/// Which playlists a user's highly rated movies go into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Playlists {
    /// None.
    None,
    /// One playlist per user.
    User,
    /// One playlist per user and genre (a movie of three genres joins three).
    Genre,
}

/// How ratings become events.
#[derive(Debug, Clone)]
pub struct Protocol {
    /// Ratings at or above this are counted plays.
    pub play_threshold: f64,
    /// Ratings below `play_threshold` are skips (else they are left out).
    pub low_as_skips: bool,
    /// Ratings at or above this are also likes (above 5: none).
    pub like_threshold: f64,
    /// Ratings at or above this also join the user's playlists.
    pub playlist_threshold: f64,
    /// Which playlists.
    pub playlists: Playlists,
    /// Each movie's genres (for [`Playlists::Genre`]).
    pub genres: HashMap<String, Vec<String>>,
    /// Recommendations asked per user.
    pub k: usize,
}

/// What one model row measured.
#[derive(Debug, Clone)]
pub struct Measured {
    /// Hit ratio and NDCG.
    pub score: Score,
    /// Events fed (plays, skips, likes, playlist edits).
    pub events: usize,
    /// Time to feed them.
    pub feed: Duration,
    /// Time to answer every held-out user.
    pub query: Duration,
}

/// Feeds `split.train` by `protocol` into a fresh model with `params` and scores its
/// answers for `split.test`.
pub async fn measure(
    split: &Split,
    protocol: &Protocol,
    params: ModelParams,
) -> anyhow::Result<Measured> {
    let started = Instant::now();
    let store = Arc::new(MemoryStore::new());
    let mut events = 0;
    for (n, r) in split.train.iter().enumerate() {
        events += feed_rating(&store, n, r, protocol, &params).await?;
    }
    let feed = started.elapsed();
    let started = Instant::now();
    let (_ready, ready_rx) = watch::channel(true);
    let model = ModelRecommender::new(store, params, ready_rx);
    let mut score = Score::default();
    for (user, held_out) in &split.test {
        let request = RecommendRequest {
            limit: u32::try_from(protocol.k).unwrap_or(10),
            exclude_track_ids: Vec::new(),
        };
        let answer = model.recommend(user, request).await?;
        let ranked: Vec<String> = answer
            .recommendations
            .into_iter()
            .map(|r| r.track_id)
            .collect();
        score.add(&ranked, held_out);
    }
    Ok(Measured {
        score,
        events,
        feed,
        query: started.elapsed(),
    })
}

/// The events of rating `n`: a play or a skip, then a like, then playlist additions, all at
/// the rating's time. Returns how many were applied.
async fn feed_rating(
    store: &MemoryStore,
    n: usize,
    r: &Rating,
    protocol: &Protocol,
    params: &ModelParams,
) -> anyhow::Result<usize> {
    let mut events = 0;
    let at_ms = r.at * 1000;
    let kind = if r.rating >= protocol.play_threshold {
        Some(ListenKind::Play { weight: 1.0 })
    } else if protocol.low_as_skips {
        Some(ListenKind::Skip)
    } else {
        None
    };
    if let Some(kind) = kind {
        let listen = Listen {
            event_id: format!("e{n}"),
            user_id: r.user.clone(),
            track_id: r.item.clone(),
            at_ms,
            kind,
        };
        let listener = store.listener(&listen.user_id, params.recent_size).await?;
        let applied = store
            .apply(&plan_listen(&listen, &listener, params))
            .await?;
        anyhow::ensure!(applied == Applied::Done, "event {n}: {applied:?}");
        events += 1;
    }
    if r.rating >= protocol.like_threshold {
        let like = LikeChange {
            event_id: format!("like{n}"),
            user_id: r.user.clone(),
            track_ids: vec![r.item.clone()],
            liked: true,
            at_ms,
        };
        let outcome = apply_likes(store, &like, params).await?;
        anyhow::ensure!(outcome == Outcome::Applied, "like {n}: {outcome:?}");
        events += 1;
    }
    if r.rating >= protocol.playlist_threshold {
        let lists: Vec<String> = match protocol.playlists {
            Playlists::None => Vec::new(),
            Playlists::User => vec![format!("pl-{}", r.user)],
            Playlists::Genre => protocol
                .genres
                .get(&r.item)
                .into_iter()
                .flatten()
                .map(|g| format!("pl-{}-{g}", r.user))
                .collect(),
        };
        for playlist_id in lists {
            let edit = PlaylistEdit {
                event_id: format!("{playlist_id}:{n}"),
                playlist_id,
                owner_id: r.user.clone(),
                at_ms,
                change: PlaylistChange::Added(vec![r.item.clone()]),
            };
            let outcome = apply_playlist(store, &edit, params).await?;
            anyhow::ensure!(outcome == Outcome::Applied, "playlist {n}: {outcome:?}");
            events += 1;
        }
    }
    Ok(events)
}

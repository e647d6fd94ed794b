//! Offline quality of the reco model on MovieLens-100K (as shipped inside PyPI `recbole`),
//! temporal leave-last-out: each user's last rating is held out, everything else trains.
//! Reports HR@10 and NDCG@10 of the streaming model (fed the training ratings in time order
//! as play events through the real model code and the embedded store) against a popularity
//! baseline and a batch item-kNN baseline, all in the same run.
//!
//! ```sh
//! bash scripts/testdata.sh   # installs recbole (no deps) under .testdata/
//! cargo run --release -p tunemesh-bench --bin reco_eval
//! ```
//!
//! Ratings >= `--play-threshold` become counted plays; lower ones become skips (or are
//! dropped with `--low-as-skips false`). With `--like-threshold R`, ratings >= R are also
//! likes (`LikedTracksChanged`); with `--playlist-threshold R`, each user's ratings >= R are
//! also added, in time order, to a playlist that user owns (`PlaylistChanged`), a stand-in
//! for curated playlists, which MovieLens does not have. Both go through the consumer's own
//! code (`apply_likes`, `apply_playlist`). The held-out item is the user's last rating
//! whatever its value. Every method recommends 10 items the user has not rated in training.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use clap::Parser;
use tokio::sync::watch;
use tunemesh_proto::reco::v1::RecommendRequest;
use tunemesh_reco::feed::playlist::{Outcome, apply_likes, apply_playlist};
use tunemesh_reco::model::playlist::{LikeChange, PlaylistChange, PlaylistEdit};
use tunemesh_reco::model::update::plan_listen;
use tunemesh_reco::model::{Listen, ListenKind, ModelParams};
use tunemesh_reco::service::{ModelRecommender, Recommender as _};
use tunemesh_reco::store::memory::MemoryStore;
use tunemesh_reco::store::{Applied, RecoStore as _};

/// Command-line options.
#[derive(Debug, Parser)]
struct Args {
    /// The `ml-100k.inter` file; found under `.testdata/` or the Python path when unset.
    #[arg(long, env = "MOVIELENS_100K")]
    data: Option<PathBuf>,
    /// Ratings at or above this are plays.
    #[arg(long, default_value_t = 3.0)]
    play_threshold: f64,
    /// Ratings below the threshold are skips (else they are left out of the model's input).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    low_as_skips: bool,
    /// Ratings at or above this are also likes (none when unset).
    #[arg(long)]
    like_threshold: Option<f64>,
    /// Ratings at or above this also put the item in the user's own playlist (none when
    /// unset).
    #[arg(long)]
    playlist_threshold: Option<f64>,
    /// Neighbours per item of the item-kNN baseline.
    #[arg(long, default_value_t = 50)]
    knn: usize,
    /// Cut-off of the hit ratio and NDCG.
    #[arg(long, default_value_t = 10)]
    k: usize,
}

/// One rating.
#[derive(Debug, Clone)]
struct Rating {
    user: String,
    item: String,
    rating: f64,
    at: i64,
}

/// Hits and NDCG summed over users.
#[derive(Debug, Default)]
struct Score {
    hits: f64,
    ndcg: f64,
    users: usize,
}

impl Score {
    fn add(&mut self, ranked: &[String], held_out: &str) {
        self.users += 1;
        if let Some(rank) = ranked.iter().position(|i| i == held_out) {
            self.hits += 1.0;
            let gain = 1.0 / ((rank + 2) as f64).log2();
            self.ndcg += gain;
        }
    }

    fn hr(&self) -> f64 {
        let users = self.users.max(1) as f64;
        self.hits / users
    }

    fn ndcg(&self) -> f64 {
        let users = self.users.max(1) as f64;
        self.ndcg / users
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let path = match args.data.clone() {
        Some(path) => path,
        None => find_data()?,
    };
    let ratings = load(&path)?;
    let (train, test) = split(ratings);
    eprintln!(
        "{} training ratings, {} users held out, from {}",
        train.len(),
        test.len(),
        path.display()
    );
    let mut seen: HashMap<&str, HashSet<&str>> = HashMap::new();
    for r in &train {
        seen.entry(&r.user).or_default().insert(&r.item);
    }

    let started = Instant::now();
    let mut popularity = Score::default();
    let popular = popular_items(&train);
    for (user, held_out) in &test {
        let ranked = top_unseen(
            popular.iter().map(|(i, s)| (i.as_str(), *s)),
            &seen,
            user,
            args.k,
        );
        popularity.add(&ranked, held_out);
    }
    let pop_time = started.elapsed();

    let started = Instant::now();
    let mut knn = Score::default();
    let knn_scores = item_knn(&train, &seen, &test, args.knn);
    for (user, held_out) in &test {
        let scores = knn_scores.get(user.as_str()).cloned().unwrap_or_default();
        let ranked = top_unseen(
            scores.iter().map(|(i, s)| (i.as_str(), *s)),
            &seen,
            user,
            args.k,
        );
        knn.add(&ranked, held_out);
    }
    let knn_time = started.elapsed();

    let started = Instant::now();
    let (model, events) = stream_model(&train, &args).await?;
    let feed_time = started.elapsed();
    let started = Instant::now();
    let mut streaming = Score::default();
    for (user, held_out) in &test {
        let request = RecommendRequest {
            limit: u32::try_from(args.k).unwrap_or(10),
            exclude_track_ids: Vec::new(),
        };
        let answer = model.recommend(user, request).await?;
        let ranked: Vec<String> = answer
            .recommendations
            .into_iter()
            .map(|r| r.track_id)
            .collect();
        streaming.add(&ranked, held_out);
    }
    let query_time = started.elapsed();

    println!(
        "| method | HR@{k} | NDCG@{k} | HR vs popularity | time |",
        k = args.k
    );
    println!("|---|---|---|---|---|");
    for (name, score, time) in [
        (
            "popularity (baseline)",
            &popularity,
            format!("{pop_time:.2?}"),
        ),
        (
            &format!("item-kNN, batch, cosine, {} neighbours", args.knn),
            &knn,
            format!("{knn_time:.2?}"),
        ),
        (
            "tunemesh streaming model",
            &streaming,
            format!(
                "{events} events in {feed_time:.2?}, {} queries in {query_time:.2?}",
                test.len()
            ),
        ),
    ] {
        println!(
            "| {name} | {:.4} | {:.4} | {:.2}× | {time} |",
            score.hr(),
            score.ndcg(),
            score.hr() / popularity.hr().max(f64::MIN_POSITIVE)
        );
    }
    Ok(())
}

/// `ml-100k.inter` under `.testdata/` (scripts/testdata.sh), else in the installed recbole.
fn find_data() -> anyhow::Result<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let local = root.join(".testdata/python/recbole/recbole/dataset_example/ml-100k/ml-100k.inter");
    if local.is_file() {
        return Ok(local);
    }
    let output = std::process::Command::new("python3")
        .args([
            "-c",
            "import recbole,os;print(os.path.dirname(recbole.__file__))",
        ])
        .output()
        .context("run python3 to find recbole")?;
    let dir = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let installed = PathBuf::from(dir).join("dataset_example/ml-100k/ml-100k.inter");
    anyhow::ensure!(
        output.status.success() && installed.is_file(),
        "MovieLens-100K not found: run `bash scripts/testdata.sh` (pip install --no-deps recbole)"
    );
    Ok(installed)
}

/// Reads the tab-separated `user item rating timestamp` file (one header line).
fn load(path: &PathBuf) -> anyhow::Result<Vec<Rating>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
    let mut ratings = Vec::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        let fields: Vec<&str> = line.split('\t').collect();
        let [user, item, rating, at] = fields[..] else {
            anyhow::bail!("line {} has {} fields, not 4", n + 1, fields.len());
        };
        ratings.push(Rating {
            user: format!("u{user}"),
            item: format!("m{item}"),
            rating: rating
                .parse()
                .with_context(|| format!("rating on line {}", n + 1))?,
            at: at
                .parse::<f64>()
                .with_context(|| format!("time on line {}", n + 1))? as i64,
        });
    }
    Ok(ratings)
}

/// Each user's last rating (by time, then file order) is held out; the rest, in time order,
/// trains.
fn split(ratings: Vec<Rating>) -> (Vec<Rating>, Vec<(String, String)>) {
    let mut last: HashMap<String, usize> = HashMap::new();
    for (i, r) in ratings.iter().enumerate() {
        let entry = last.entry(r.user.clone()).or_insert(i);
        if r.at >= ratings[*entry].at {
            *entry = i;
        }
    }
    let held: HashSet<usize> = last.values().copied().collect();
    let mut test: Vec<(String, String)> = last
        .values()
        .map(|&i| (ratings[i].user.clone(), ratings[i].item.clone()))
        .collect();
    test.sort();
    let mut train: Vec<Rating> = ratings
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !held.contains(i))
        .map(|(_, r)| r)
        .collect();
    train.sort_by_key(|r| r.at);
    (train, test)
}

/// Items by number of training ratings, most first.
fn popular_items(train: &[Rating]) -> Vec<(String, f64)> {
    let mut counts: HashMap<&str, f64> = HashMap::new();
    for r in train {
        *counts.entry(&r.item).or_default() += 1.0;
    }
    let mut items: Vec<(String, f64)> =
        counts.into_iter().map(|(i, c)| (i.to_owned(), c)).collect();
    items.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    items
}

/// The `k` best-scored items `user` has not rated in training.
fn top_unseen<'a>(
    scored: impl Iterator<Item = (&'a str, f64)>,
    seen: &HashMap<&str, HashSet<&str>>,
    user: &str,
    k: usize,
) -> Vec<String> {
    let mine = seen.get(user);
    let mut list: Vec<(&str, f64)> = scored
        .filter(|(i, _)| !mine.is_some_and(|m| m.contains(i)))
        .collect();
    list.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    list.into_iter()
        .take(k)
        .map(|(i, _)| i.to_owned())
        .collect()
}

/// Batch item-kNN: cosine similarity of items over binary user vectors, each item keeping
/// its `neighbours` most similar; a user's score for an item sums its similarity to the
/// items the user rated.
fn item_knn(
    train: &[Rating],
    seen: &HashMap<&str, HashSet<&str>>,
    test: &[(String, String)],
    neighbours: usize,
) -> HashMap<String, Vec<(String, f64)>> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut names: Vec<&str> = Vec::new();
    for r in train {
        index.entry(&r.item).or_insert_with(|| {
            names.push(&r.item);
            names.len() - 1
        });
    }
    let n = names.len();
    let mut co = vec![0f32; n * n];
    let mut count = vec![0f32; n];
    for items in seen.values() {
        let ids: Vec<usize> = items.iter().map(|i| index[i]).collect();
        for &a in &ids {
            count[a] += 1.0;
            for &b in &ids {
                if a != b {
                    co[a * n + b] += 1.0;
                }
            }
        }
    }
    let mut similar: Vec<Vec<(usize, f32)>> = Vec::with_capacity(n);
    for a in 0..n {
        let mut row: Vec<(usize, f32)> = (0..n)
            .filter(|&b| co[a * n + b] > 0.0)
            .map(|b| (b, co[a * n + b] / (count[a] * count[b]).sqrt()))
            .collect();
        row.sort_by(|x, y| y.1.total_cmp(&x.1));
        row.truncate(neighbours);
        similar.push(row);
    }
    let mut out = HashMap::new();
    for (user, _) in test {
        let mut scores = vec![0f64; n];
        for item in seen.get(user.as_str()).into_iter().flatten() {
            for &(b, s) in &similar[index[item]] {
                scores[b] += f64::from(s);
            }
        }
        let list = scores
            .into_iter()
            .enumerate()
            .filter(|(_, s)| *s > 0.0)
            .map(|(b, s)| (names[b].to_owned(), s))
            .collect();
        out.insert(user.clone(), list);
    }
    out
}

/// The streaming model fed every training rating, in time order, as a play or a skip,
/// through the same planning and store code the consumer runs.
async fn stream_model(train: &[Rating], args: &Args) -> anyhow::Result<(ModelRecommender, usize)> {
    let params = ModelParams {
        // Everything a user rated counts as "just played", as the baselines exclude it.
        recent_size: 2_000,
        ..ModelParams::default()
    };
    let store = Arc::new(MemoryStore::new());
    let mut events = 0;
    for (n, r) in train.iter().enumerate() {
        let kind = if r.rating >= args.play_threshold {
            ListenKind::Play { weight: 1.0 }
        } else if args.low_as_skips {
            ListenKind::Skip
        } else {
            continue;
        };
        let listen = Listen {
            event_id: format!("e{n}"),
            user_id: r.user.clone(),
            track_id: r.item.clone(),
            at_ms: r.at * 1000,
            kind,
        };
        let listener = store.listener(&listen.user_id, params.recent_size).await?;
        let applied = store
            .apply(&plan_listen(&listen, &listener, &params))
            .await?;
        anyhow::ensure!(
            applied == Applied::Done,
            "event {n} was not applied: {applied:?}"
        );
        events += 1;
        let at_ms = r.at * 1000;
        if args.like_threshold.is_some_and(|t| r.rating >= t) {
            let like = LikeChange {
                event_id: format!("like{n}"),
                user_id: r.user.clone(),
                track_ids: vec![r.item.clone()],
                liked: true,
                at_ms,
            };
            let outcome = apply_likes(store.as_ref(), &like, &params).await?;
            anyhow::ensure!(outcome == Outcome::Applied, "like {n}: {outcome:?}");
            events += 1;
        }
        if args.playlist_threshold.is_some_and(|t| r.rating >= t) {
            let edit = PlaylistEdit {
                event_id: format!("playlist{n}"),
                playlist_id: format!("pl-{}", r.user),
                owner_id: r.user.clone(),
                at_ms,
                change: PlaylistChange::Added(vec![r.item.clone()]),
            };
            let outcome = apply_playlist(store.as_ref(), &edit, &params).await?;
            anyhow::ensure!(
                outcome == Outcome::Applied,
                "playlist edit {n}: {outcome:?}"
            );
            events += 1;
        }
    }
    let (_ready, ready_rx) = watch::channel(true);
    Ok((ModelRecommender::new(store, params, ready_rx), events))
}

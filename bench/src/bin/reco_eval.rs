//! Offline quality of the reco model on MovieLens-100K (as shipped inside PyPI `recbole`),
//! temporal leave-last-out: each user's last rating is held out, everything else trains.
//! Reports HR@10 and NDCG@10 of popularity, batch item-kNN, the model as it was before
//! issue 14 ("today's") and the model as the service now runs it, all in the same run.
//!
//! ```sh
//! bash scripts/testdata.sh   # installs recbole (no deps) under .testdata/
//! cargo run --release -p tunemesh-bench --bin reco_eval [-- --ablation]
//! ```
//!
//! Issue 14's protocol is the default: ratings >= 3 are counted plays and lower ones skips;
//! ratings >= 4 are also likes (`LikedTracksChanged`) and also join, in time order, one
//! playlist per user and genre that the user owns (`PlaylistChanged`; a movie of two genres
//! joins two). Every event goes through the consumer's own code (`plan_listen`,
//! `apply_likes`, `apply_playlist`) into the embedded store. The held-out item is the user's
//! last rating whatever its value. Every method recommends 10 items the user has not rated
//! in training.

use std::time::Instant;

use anyhow::Context as _;
use clap::Parser;
use serde_json::{Map, Value};
use tunemesh_bench::reco_eval::baselines::{self, Score};
use tunemesh_bench::reco_eval::feed::{Measured, Playlists, Protocol, measure};
use tunemesh_bench::reco_eval::movielens;
use tunemesh_reco::model::ModelParams;

/// The model before issue 14's quality work: the parameters whose defaults changed, at
/// their old values (the features they turn on did not exist).
const TODAY: &str = r#"{"transition_window": 0, "transition_mix": 0.0, "session_boost": 1.0,
    "seeds": 30, "co_half_life": "30days", "recommend_playlist_mix": 0.5}"#;

/// What each change of issue 14 added, and the parameters that take it out again.
const FEATURES: &[(&str, &str)] = &[
    (
        "transitions (what listeners played next)",
        r#"{"transition_window": 0, "transition_mix": 0.0}"#,
    ),
    (
        "the latest plays' stronger boost",
        r#"{"session_boost": 1.0}"#,
    ),
    ("fewer taste seeds (10, not 30)", r#"{"seeds": 30}"#),
    (
        "the longer co-listening memory (90 days, not 30)",
        r#"{"co_half_life": "30days"}"#,
    ),
    (
        "playlist co-occurrence weighted less (0.2, not 0.5)",
        r#"{"recommend_playlist_mix": 0.5}"#,
    ),
];

/// Command-line options.
#[derive(Debug, Parser)]
struct Args {
    /// The `ml-100k.inter` file (genres are read from `ml-100k.item` beside it); found under
    /// `.testdata/` or the Python path when unset.
    #[arg(long, env = "MOVIELENS_100K")]
    data: Option<std::path::PathBuf>,
    /// Ratings at or above this are plays.
    #[arg(long, default_value_t = 3.0)]
    play_threshold: f64,
    /// Ratings below the play threshold are skips (else they are left out).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    low_as_skips: bool,
    /// Ratings at or above this are also likes (6: no likes).
    #[arg(long, default_value_t = 4.0)]
    like_threshold: f64,
    /// Ratings at or above this also join the user's playlists.
    #[arg(long, default_value_t = 4.0)]
    playlist_threshold: f64,
    /// Which playlists: one per user and genre, one per user, or none.
    #[arg(long, value_enum, default_value_t = Playlists::Genre)]
    playlists: Playlists,
    /// Model parameters over the service's defaults for the new model's row, as JSON
    /// (`{"transition_mix": 4}`; durations as "30m").
    #[arg(long, default_value = "{}")]
    model: String,
    /// Extra rows: `NAME=JSON`, parameters over the new model's (repeatable).
    #[arg(long)]
    variant: Vec<String>,
    /// Adds a row per change of issue 14: the new model without it.
    #[arg(long)]
    ablation: bool,
    /// Leaves out today's model (saves a feed).
    #[arg(long)]
    no_today: bool,
    /// Validation split: each user's last rating is dropped, the second-to-last held out
    /// (for choosing parameters without looking at the test items).
    #[arg(long)]
    validation: bool,
    /// Neighbours per item of the item-kNN baseline.
    #[arg(long, default_value_t = 50)]
    knn: usize,
    /// Cut-off of the hit ratio and NDCG.
    #[arg(long, default_value_t = 10)]
    k: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let path = movielens::find_data(args.data.clone())?;
    let mut ratings = movielens::load_ratings(&path)?;
    if args.validation {
        ratings = movielens::without_last(ratings);
    }
    let split = movielens::split(ratings);
    let genres = movielens::load_genres(&path)?;
    eprintln!(
        "{} training ratings, {} users held out, {} movies with genres, from {}",
        split.train.len(),
        split.test.len(),
        genres.len(),
        path.display()
    );
    let protocol = Protocol {
        play_threshold: args.play_threshold,
        low_as_skips: args.low_as_skips,
        like_threshold: args.like_threshold,
        playlist_threshold: args.playlist_threshold,
        playlists: args.playlists,
        genres,
        k: args.k,
    };
    let seen = baselines::seen(&split.train);

    let started = Instant::now();
    let mut popularity = Score::default();
    let popular = baselines::popular_items(&split.train);
    for (user, held_out) in &split.test {
        let scored = popular.iter().map(|(i, s)| (i.as_str(), *s));
        let ranked = baselines::top_unseen(scored, &seen, user, args.k);
        popularity.add(&ranked, held_out);
    }
    let mut rows = vec![(
        "popularity (baseline)".to_owned(),
        popularity.clone(),
        format!("{:.2?}", started.elapsed()),
    )];
    let started = Instant::now();
    let mut knn = Score::default();
    let knn_scores = baselines::item_knn(&split.train, &seen, &split.test, args.knn);
    for (user, held_out) in &split.test {
        let scores = knn_scores.get(user.as_str()).cloned().unwrap_or_default();
        let scored = scores.iter().map(|(i, s)| (i.as_str(), *s));
        let ranked = baselines::top_unseen(scored, &seen, user, args.k);
        knn.add(&ranked, held_out);
    }
    rows.push((
        format!("item-kNN, batch, cosine, {} neighbours", args.knn),
        knn,
        format!("{:.2?}", started.elapsed()),
    ));

    let new = json(&args.model).context("--model")?;
    let mut models: Vec<(String, Map<String, Value>)> = Vec::new();
    if !args.no_today {
        models.push(("today's model (before issue 14)".into(), json(TODAY)?));
    }
    models.push(("**new model** (service defaults)".into(), new.clone()));
    if args.ablation {
        for (feature, off) in FEATURES {
            models.push((format!("new model without {feature}"), over(&new, off)?));
        }
    }
    for variant in &args.variant {
        let (name, overrides) = variant
            .split_once('=')
            .context("--variant takes NAME=JSON")?;
        models.push((name.to_owned(), over(&new, overrides)?));
    }
    for (name, overrides) in models {
        let params = params(overrides).with_context(|| format!("parameters of {name}"))?;
        let Measured {
            score,
            events,
            feed,
            query,
        } = measure(&split, &protocol, params).await?;
        eprintln!("{name}: HR {:.4}", score.hr());
        let time = format!(
            "{events} events in {feed:.2?}, {} queries in {query:.2?}",
            split.test.len()
        );
        rows.push((name, score, time));
    }

    println!(
        "| method | HR@{k} | NDCG@{k} | hits | HR vs popularity | time |",
        k = args.k
    );
    println!("|---|---|---|---|---|---|");
    for (name, score, time) in rows {
        println!(
            "| {name} | {:.4} | {:.4} | {} | {:.2}× | {time} |",
            score.hr(),
            score.ndcg(),
            score.hits(),
            score.hr() / popularity.hr().max(f64::MIN_POSITIVE)
        );
    }
    Ok(())
}

/// A JSON object of parameters.
fn json(text: &str) -> anyhow::Result<Map<String, Value>> {
    match serde_json::from_str(text).with_context(|| format!("parse {text}"))? {
        Value::Object(map) => Ok(map),
        _ => anyhow::bail!("parameters are a JSON object, not {text}"),
    }
}

/// `base` with the parameters of `overrides` replaced.
fn over(base: &Map<String, Value>, overrides: &str) -> anyhow::Result<Map<String, Value>> {
    let mut merged = base.clone();
    merged.extend(json(overrides)?);
    Ok(merged)
}

/// The service's defaults with `overrides`; every rated item stays among the listener's
/// recent plays (`recent_size` 2,000), so the model excludes what the baselines exclude.
fn params(mut overrides: Map<String, Value>) -> anyhow::Result<ModelParams> {
    overrides
        .entry("recent_size")
        .or_insert_with(|| Value::from(2_000));
    Ok(serde_json::from_value(Value::Object(overrides))?)
}

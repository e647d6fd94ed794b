//! A hundred thousand listeners' state (issue 17 item 3): reco-svc's Redis and playlist-svc's
//! PostgreSQL as listeners are added in steps, so each cost per listener is a curve.
//!
//! ```sh
//! bash scripts/testdata.sh && source .servers/env
//! cargo run --release -p tunemesh-bench --bin listeners -- --sizes 1000,10000,100000 --playlist-sizes 1000,10000,100000
//! ```
//!
//! reco-svc: the catalogue's facts, then each step's new listeners' histories (MovieLens-100K's
//! distributions, `bench/src/listeners/synth.rs`) through the consumer's store calls; at each
//! size `Recommend` and `Radio` for `--queries` listeners, the write rate of the step, and
//! Redis memory by key kind (`MEMORY USAGE` sampled per kind, and `INFO memory`'s delta).
//! playlist-svc: `--playlists-per-user` playlists per new listener through the store (or, with
//! `--load copy`, the same rows by COPY); at each size relation sizes and cold (PostgreSQL,
//! cache emptied) and warm (Redis) read latencies.
//! Everything runs in its own key prefix and database, deleted at the end.

use std::time::Duration;

use clap::Parser;
use tunemesh_bench::listeners::playlists::{EXPLAINED, Load, PlaylistState, PlaylistStep, TABLES};
use tunemesh_bench::listeners::reco::{RecoState, RecoStep};
use tunemesh_bench::listeners::synth::Population;
use tunemesh_bench::reco_eval::movielens;

/// Command-line options.
#[derive(Debug, Parser)]
struct Args {
    /// Listener counts reco-svc is measured at, growing (`0`: skip reco-svc).
    #[arg(long, value_delimiter = ',', default_value = "1000,10000,100000")]
    sizes: Vec<usize>,
    /// Listener counts playlist-svc is measured at, growing (`0`: skip playlist-svc).
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    playlist_sizes: Vec<usize>,
    /// Plays per listener as a share of MovieLens's ratings per user (mean 106).
    #[arg(long, default_value_t = 0.25)]
    plays_scale: f64,
    /// Tracks each MovieLens movie stands for.
    #[arg(long, default_value_t = 10)]
    fanout: usize,
    /// Listeners per round of writes (the consumer's batch).
    #[arg(long, default_value_t = 128)]
    batch: usize,
    /// Calls timed per measure and size.
    #[arg(long, default_value_t = 1000)]
    queries: usize,
    /// How long reco-svc remembers applied event ids (its `dedup_ttl`), in hours.
    #[arg(long, default_value_t = 7 * 24)]
    dedup_ttl_hours: u64,
    /// Plays of the one heaviest listener measured after the sizes.
    #[arg(long, default_value_t = 1000)]
    heaviest: usize,
    /// Fresh event ids the two dedup encodings are compared on.
    #[arg(long, default_value_t = 200_000)]
    dedup_ids: usize,
    /// Playlists per listener.
    #[arg(long, default_value_t = 20)]
    playlists_per_user: usize,
    /// Tracks per playlist as a share of MovieLens's ratings per user.
    #[arg(long, default_value_t = 0.1)]
    playlist_scale: f64,
    /// Playlists created at a time (`--load store`).
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// How playlists are written: `store`, one `create` per playlist (the write rate), or
    /// `copy`, the same rows by COPY in batches of listeners (to reach size quickly).
    #[arg(long, value_enum, default_value = "store")]
    load: Load,
    /// Listeners per COPY transaction (`--load copy`).
    #[arg(long, default_value_t = 500)]
    copy_batch: usize,
    /// MovieLens-100K's `ml-100k.inter` (default: found as `reco_eval` finds it).
    #[arg(long)]
    data: Option<std::path::PathBuf>,
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Says a size is done, with the machine's load then.
fn measured_at(size: usize) {
    println!(
        "  {size} listeners measured (load average {})",
        load_average()
    );
}

fn print_reco(steps: &[RecoStep]) {
    println!(
        "\n| listeners | plays | plays/s (step) | Redis bytes per listener (by kind) | used_memory Δ per listener | Recommend p50 / p99 ms | Radio p50 / p99 ms |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for s in steps {
        let total: f64 = s.kinds.values().map(|k| k.bytes()).sum();
        let (rp50, rp99) = s.recommend.p50_p99_ms();
        let (dp50, dp99) = s.radio.p50_p99_ms();
        println!(
            "| {} | {} | {:.0} | {:.0} | {:.0} | {rp50:.2} / {rp99:.2} | {dp50:.2} / {dp99:.2} |",
            s.users,
            s.events,
            s.step_events as f64 / s.step_time.as_secs_f64().max(1e-9),
            total / s.users as f64,
            s.used_delta as f64 / s.users as f64,
        );
    }
    let Some(last) = steps.last() else { return };
    print!("\n| key kind | keys at {} |", last.users);
    for s in steps {
        print!(" bytes per listener at {} |", s.users);
    }
    println!();
    println!("|---|---:|{}", "---:|".repeat(steps.len()));
    for (kind, k) in &last.kinds {
        print!("| `{kind}` | {} |", k.keys);
        for s in steps {
            let bytes = s.kinds.get(kind).map_or(0.0, |k| k.bytes());
            print!(" {:.1} |", bytes / s.users as f64);
        }
        println!();
    }
}

fn print_playlists(steps: &[PlaylistStep]) {
    println!(
        "\n| listeners | playlists | items | creates/s (step) | {} bytes per listener | cache entry bytes | cold read p50 / p99 ms | warm read p50 / p99 ms |",
        TABLES.join(" / ")
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for s in steps {
        let per_user: Vec<String> = s
            .table_bytes
            .iter()
            .map(|b| format!("{:.0}", *b as f64 / s.users as f64))
            .collect();
        let (c50, c99) = s.cold.p50_p99_ms();
        let (w50, w99) = s.warm.p50_p99_ms();
        println!(
            "| {} | {} | {} | {:.0} | {} | {:.0} | {c50:.2} / {c99:.2} | {w50:.2} / {w99:.2} |",
            s.users,
            s.playlists,
            s.items,
            s.step_playlists as f64 / s.step_time.as_secs_f64().max(1e-9),
            per_user.join(" / "),
            s.cache_entry_bytes,
        );
    }
    println!(
        "\n| listeners | a cold read in PostgreSQL ({EXPLAINED} other playlists, EXPLAIN ANALYZE): buffers hit / read from the kernel | reads' ms | execution ms |"
    );
    println!("|---:|---:|---:|---:|");
    for s in steps {
        let e = s.explained;
        println!(
            "| {} | {:.1} / {:.1} | {:.3} | {:.3} |",
            s.users, e.hit, e.read, e.read_ms, e.ms
        );
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = Args::parse();
    args.sizes.retain(|&n| n > 0);
    args.playlist_sizes.retain(|&n| n > 0);
    let ratings = movielens::load_ratings(&movielens::find_data(args.data.clone())?)?;
    println!("load average at start: {}", load_average());
    if !args.sizes.is_empty() {
        let population = Population::from_ratings(&ratings, args.fanout, args.plays_scale, 17);
        println!(
            "reco-svc: {} tracks, {:.1} plays per listener on average",
            population.tracks(),
            population.mean_plays()
        );
        let prefix = format!("{}:", tunemesh_testkit::unique_prefix("listeners reco"));
        let ttl = Duration::from_secs(args.dedup_ttl_hours * 3600);
        let mut state = RecoState::new(population, &prefix, ttl).await?;
        // Measured in full before the clean-up, which runs whatever failed.
        let measured = async {
            let mut steps = Vec::new();
            for &size in &args.sizes {
                steps.push(state.grow(size, args.batch, args.queries).await?);
                measured_at(size);
            }
            let heaviest = state.heaviest(args.heaviest).await?;
            Ok::<_, anyhow::Error>((
                steps,
                heaviest,
                state.dedup_encodings(args.dedup_ids).await?,
            ))
        }
        .await;
        state.clean_up().await?;
        let (steps, heaviest, encodings) = measured?;
        print_reco(&steps);
        println!(
            "\none listener after {} plays of distinct tracks (every set at its cap):",
            args.heaviest
        );
        for (kind, bytes) in heaviest {
            println!("  `{kind}`: {bytes} bytes");
        }
        let [old, new] = encodings;
        println!(
            "\n| applied event ids ({} fresh ones) | used_memory Δ per id | MEMORY USAGE per id |",
            args.dedup_ids
        );
        println!("|---|---:|---:|");
        println!(
            "| a string key per id with a TTL (before) | {:.1} | {:.1} |",
            old.0, old.1
        );
        println!(
            "| 14-byte digests in expiring sets (now) | {:.1} | {:.1} |",
            new.0, new.1
        );
    }
    if !args.playlist_sizes.is_empty() {
        let population = Population::from_ratings(&ratings, args.fanout, args.playlist_scale, 29);
        println!(
            "\nplaylist-svc: {} playlists per listener, {:.1} tracks per playlist on average, written by {:?}",
            args.playlists_per_user,
            population.mean_plays(),
            args.load
        );
        let mut state = PlaylistState::new(
            population,
            args.playlists_per_user,
            args.concurrency,
            args.load,
            args.copy_batch,
        )
        .await?;
        let measured = async {
            let mut steps = Vec::new();
            for &size in &args.playlist_sizes {
                steps.push(state.grow(size, args.concurrency, args.queries).await?);
                measured_at(size);
            }
            Ok::<_, anyhow::Error>(steps)
        }
        .await;
        state.clean_up().await?;
        print_playlists(&measured?);
    }
    println!("\nload average at end: {}", load_average());
    Ok(())
}

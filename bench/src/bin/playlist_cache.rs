//! Playlist reads under Zipf(1.0) popularity: warm cache (Redis) vs straight from
//! PostgreSQL, in the same run on the same data, then write throughput.
//!
//! Runs at the domain level (store, cache, read-through), on loopback, against the test
//! servers (`scripts/servers.sh`), in a fresh database and key prefix.
//!
//! ```sh
//! cargo run --release -p tunemesh-bench --bin playlist_cache -- [--seconds 3] [--playlists 1000] [--items 50] [--concurrency 16]
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use rand::Rng as _;
use tunemesh_bench::listeners::playlists::PlaylistSvc;
use tunemesh_playlist::cache::CACHED_ITEMS;
use tunemesh_playlist::model::{Edit, EditOp, NewPlaylist, new_id};
use tunemesh_testkit::{delete_redis_keys, redis_client};

#[derive(Debug, Parser)]
struct Args {
    /// Length of each measured phase.
    #[arg(long, default_value_t = 3)]
    seconds: u64,
    /// Playlists in the catalogue of reads.
    #[arg(long, default_value_t = 1000)]
    playlists: usize,
    /// Items per playlist.
    #[arg(long, default_value_t = 50)]
    items: usize,
    /// Concurrent readers or writers.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
}

/// Zipf(1.0) over `n` ranks by inverse CDF.
struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    fn new(n: usize) -> Self {
        let mut total = 0.0;
        let mut cdf: Vec<f64> = (1..=n)
            .map(|k| {
                total += 1.0 / k as f64;
                total
            })
            .collect();
        cdf.iter_mut().for_each(|c| *c /= total);
        Self { cdf }
    }

    fn sample(&self) -> usize {
        let u: f64 = rand::rng().random();
        self.cdf.partition_point(|c| *c < u).min(self.cdf.len() - 1)
    }
}

struct Phase {
    latencies_us: Vec<u64>,
    ops: u64,
    elapsed: Duration,
}

impl Phase {
    fn report(&mut self, name: &str, extra: &str) {
        self.latencies_us.sort_unstable();
        let pct = |p: f64| {
            let i = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
            self.latencies_us.get(i).copied().unwrap_or(0) as f64 / 1000.0
        };
        println!(
            "{name:<28} {:>9.0} ops/s   p50 {:>6.3} ms   p99 {:>6.3} ms   ({} ops){extra}",
            self.ops as f64 / self.elapsed.as_secs_f64(),
            pct(0.50),
            pct(0.99),
            self.ops
        );
    }
}

/// Runs `op` from `concurrency` tasks for `seconds`, timing each call.
async fn run<F, Fut>(args: &Args, op: F) -> anyhow::Result<Phase>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let op = Arc::new(op);
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..args.concurrency)
        .map(|_| {
            let op = op.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    op().await?;
                    latencies.push(t.elapsed().as_micros() as u64);
                }
                anyhow::Ok(latencies)
            })
        })
        .collect();
    let mut latencies_us = Vec::new();
    for task in tasks {
        latencies_us.extend(task.await??);
    }
    Ok(Phase {
        ops: latencies_us.len() as u64,
        latencies_us,
        elapsed: started.elapsed(),
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let PlaylistSvc {
        db: _db,
        store,
        cache,
        reads,
        prefix,
        ..
    } = PlaylistSvc::open(args.concurrency + 4).await?;

    println!(
        "seeding {} playlists × {} items …",
        args.playlists, args.items
    );
    let mut ids = Vec::with_capacity(args.playlists);
    for n in 0..args.playlists {
        let new = NewPlaylist {
            id: new_id(),
            owner_id: format!("user-{}", n % 100),
            request_id: None,
            name: format!("playlist {n}"),
            description: String::new(),
            public: true,
            collaborative: false,
            track_ids: (0..args.items).map(|i| format!("track-{i}")).collect(),
            durations: Default::default(),
        };
        ids.push(store.create(new).await?.id);
    }
    let ids = Arc::new(ids);
    let zipf = Arc::new(Zipf::new(args.playlists));
    println!(
        "zipf(1.0) over {} playlists, {} concurrent, {} s per phase",
        args.playlists, args.concurrency, args.seconds
    );

    let (s, i, z) = (store.clone(), ids.clone(), zipf.clone());
    let mut uncached = run(&args, move || {
        let (s, id) = (s.clone(), i[z.sample()].clone());
        async move {
            s.page(&id, 0, CACHED_ITEMS).await?;
            Ok(())
        }
    })
    .await?;

    for id in ids.iter() {
        reads.read(id).await?;
    }
    let (hits, misses) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let (c, r, i, z, h, m) = (
        cache.clone(),
        reads.clone(),
        ids.clone(),
        zipf.clone(),
        hits.clone(),
        misses.clone(),
    );
    let mut cached = run(&args, move || {
        let (c, r, id, h, m) = (
            c.clone(),
            r.clone(),
            i[z.sample()].clone(),
            h.clone(),
            m.clone(),
        );
        async move {
            if c.get(&id).await.is_some() {
                h.fetch_add(1, Ordering::Relaxed);
            } else {
                m.fetch_add(1, Ordering::Relaxed);
                r.reload(&id).await?;
            }
            Ok(())
        }
    })
    .await?;

    let (s, c, i, z) = (store.clone(), cache.clone(), ids.clone(), zipf.clone());
    let mut writes = run(&args, move || {
        let (s, c, id) = (s.clone(), c.clone(), i[z.sample() % i.len()].clone());
        async move {
            let edit = Edit {
                playlist_id: id.clone(),
                actor: "user-0".into(),
                expected_version: None,
                op: EditOp::AddItems {
                    track_ids: vec!["track-1".into()],
                    position: None,
                    durations: Default::default(),
                },
                request_id: None,
            };
            // Only the owner may append; pick the owner of this playlist.
            let owner = s
                .page(&id, 0, 0)
                .await?
                .map(|p| p.playlist.owner_id)
                .unwrap_or_default();
            let edited = s
                .edit(Edit {
                    actor: owner,
                    ..edit
                })
                .await?;
            if let Some(p) = edited.playlist {
                c.invalidate(&id, p.revision).await;
            }
            Ok(())
        }
    })
    .await?;

    println!();
    uncached.report("reads, straight from pg", "");
    let (h, m) = (hits.load(Ordering::Relaxed), misses.load(Ordering::Relaxed));
    cached.report(
        "reads, warm redis cache",
        &format!("   hit ratio {:.4}", h as f64 / (h + m).max(1) as f64),
    );
    writes.report(
        "writes (append + invalidate)",
        "   (includes one owner read per write)",
    );
    let speedup = (cached.ops as f64 / cached.elapsed.as_secs_f64())
        / (uncached.ops as f64 / uncached.elapsed.as_secs_f64());
    println!("cached / uncached throughput: {speedup:.1}×");

    let client = redis_client().await?;
    delete_redis_keys(&client, &prefix).await?;
    Ok(())
}

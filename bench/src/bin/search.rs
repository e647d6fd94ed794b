//! Search benchmark: tunemesh's tantivy index against PostgreSQL full-text search plus
//! `pg_trgm`, on the same catalogue and the same queries, in the same run.
//!
//! Catalogues of the requested sizes are grown from real names (the Chinook catalogue and
//! faker's music names, installed by `bash scripts/testdata.sh`) by combining titles,
//! artists and albums. Queries are a realistic mix drawn from the catalogue: prefixes of
//! what is being typed, titles with one typo, full titles and artist names.
//!
//! ```sh
//! bash scripts/testdata.sh
//! cargo run --release -p tunemesh-bench --bin search -- --sizes 10000,100000,1000000
//! ```
//!
//! tantivy is measured through the service's domain (`Search::search`: request checks,
//! query building, the search on a blocking thread, highlights), PostgreSQL through a
//! client on loopback; both with the same number of concurrent callers. Each phase runs for
//! a bounded time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use futures::SinkExt as _;
use tokio::sync::watch;
use tunemesh_bench::names::{draw_queries, grow, load_names};
use tunemesh_proto::catalog::v1::Track;
use tunemesh_proto::search::v1::SearchRequest;
use tunemesh_search::service::{IndexSearch, Search as _};

/// Command-line options.
#[derive(Debug, Parser)]
struct Args {
    /// Catalogue sizes (tracks), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000,1000000")]
    sizes: Vec<usize>,
    /// Seconds each query phase runs.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Concurrent callers per phase.
    #[arg(long, default_value_t = 2)]
    concurrency: usize,
    /// Distinct queries drawn per size.
    #[arg(long, default_value_t = 2000)]
    queries: usize,
    /// Skip PostgreSQL (tantivy only).
    #[arg(long)]
    no_postgres: bool,
    /// After the tantivy phase, run every query once on one caller and print p50/p99 per
    /// kind of query (where the time goes).
    #[arg(long)]
    breakdown: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let names = load_names()?;
    eprintln!(
        "names: {} titles, {} artists, {} albums",
        names.titles.len(),
        names.artists.len(),
        names.albums.len()
    );
    println!("| tracks | engine | build s | QPS | p50 ms | p99 ms | queries |");
    println!("|---:|---|---:|---:|---:|---:|---:|");
    for &size in &args.sizes {
        let tracks = grow(&names, size);
        let drawn = draw_queries(&tracks, args.queries);
        let queries: Vec<String> = drawn.iter().map(|(_, q)| q.clone()).collect();
        let (build, stats) = bench_tantivy(&tracks, &queries, &drawn, &args).await?;
        print_row(size, "tantivy (search-svc)", build, &stats);
        if !args.no_postgres {
            let (build, stats) = bench_postgres(&tracks, &queries, &args).await?;
            print_row(size, "PostgreSQL FTS + pg_trgm", build, &stats);
        }
    }
    Ok(())
}

/// Latencies of one phase.
struct Stats {
    latencies: Vec<Duration>,
    elapsed: Duration,
}

fn print_row(size: usize, engine: &str, build: Duration, stats: &Stats) {
    let mut sorted = stats.latencies.clone();
    sorted.sort_unstable();
    let at = |q: f64| {
        let i = ((sorted.len() as f64 * q) as usize).min(sorted.len().saturating_sub(1));
        sorted.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let qps = sorted.len() as f64 / stats.elapsed.as_secs_f64();
    println!(
        "| {size} | {engine} | {:.1} | {qps:.0} | {:.2} | {:.2} | {} |",
        build.as_secs_f64(),
        at(0.50),
        at(0.99),
        sorted.len()
    );
}

/// Runs `concurrency` callers over `queries` until the phase's time is up.
async fn run_phase<F, Fut>(args: &Args, queries: &[String], call: F) -> anyhow::Result<Stats>
where
    F: Fn(usize, String) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let deadline = Instant::now() + Duration::from_secs_f64(args.seconds);
    let started = Instant::now();
    let queries = Arc::new(queries.to_vec());
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..args.concurrency {
        let (call, queries) = (call.clone(), queries.clone());
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            let mut i = worker;
            while Instant::now() < deadline {
                let query = queries[i % queries.len()].clone();
                let t = Instant::now();
                call(worker, query).await?;
                latencies.push(t.elapsed());
                i += args_stride();
            }
            anyhow::Ok(latencies)
        });
    }
    let mut latencies = Vec::new();
    while let Some(done) = tasks.join_next().await {
        latencies.extend(done??);
    }
    Ok(Stats {
        latencies,
        elapsed: started.elapsed(),
    })
}

/// Callers walk the query list with a stride coprime to its length, so they do not repeat
/// each other's queries in lockstep.
fn args_stride() -> usize {
    7
}

async fn bench_tantivy(
    tracks: &[Track],
    queries: &[String],
    drawn: &[(&'static str, String)],
    args: &Args,
) -> anyhow::Result<(Duration, Stats)> {
    let dir = tempfile::tempdir()?;
    let started = Instant::now();
    let index = {
        let tracks = tracks.to_vec();
        let path = dir.path().join("index");
        tokio::task::spawn_blocking(move || tunemesh_bench::index::build(&path, &tracks)).await??
    };
    let build = started.elapsed();
    eprintln!("tantivy: {} docs indexed in {build:?}", index.num_docs());
    let (_ready_tx, ready) = watch::channel(true);
    let search = Arc::new(IndexSearch::new(Arc::new(index), ready));
    if args.breakdown {
        breakdown(&search, drawn).await?;
    }
    let stats = run_phase(args, queries, move |_, query| {
        let search = search.clone();
        async move {
            let request = SearchRequest {
                query,
                page_size: 20,
                ..SearchRequest::default()
            };
            search.search(request).await?;
            Ok(())
        }
    })
    .await?;
    Ok((build, stats))
}

/// Every query once, one at a time: p50/p99 per kind of query.
async fn breakdown(search: &IndexSearch, drawn: &[(&'static str, String)]) -> anyhow::Result<()> {
    let mut by_kind: std::collections::BTreeMap<&str, Vec<(Duration, &str)>> =
        std::collections::BTreeMap::new();
    for (kind, query) in drawn {
        let request = SearchRequest {
            query: query.clone(),
            page_size: 20,
            ..SearchRequest::default()
        };
        let t = Instant::now();
        search.search(request).await?;
        by_kind.entry(kind).or_default().push((t.elapsed(), query));
    }
    for (kind, mut times) in by_kind {
        times.sort_unstable();
        let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)].0;
        let slowest: Vec<&str> = times.iter().rev().take(3).map(|(_, q)| *q).collect();
        eprintln!(
            "breakdown {kind:<7} n={:<4} p50 {:>7.2?} p99 {:>7.2?} slowest {slowest:?}",
            times.len(),
            at(0.5),
            at(0.99)
        );
    }
    Ok(())
}

async fn bench_postgres(
    tracks: &[Track],
    queries: &[String],
    args: &Args,
) -> anyhow::Result<(Duration, Stats)> {
    let db = tunemesh_testkit::test_database().await?;
    let connect = || async {
        let (client, connection) = tokio_postgres::connect(db.url(), tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        anyhow::Ok(client)
    };
    let admin = connect().await?;
    let started = Instant::now();
    admin
        .batch_execute(
            "CREATE EXTENSION IF NOT EXISTS pg_trgm;
             CREATE TABLE tracks (
                 id text PRIMARY KEY,
                 title text NOT NULL,
                 artist text NOT NULL,
                 album text NOT NULL,
                 -- folded the same way the index folds (case, accents, punctuation)
                 search_text text NOT NULL,
                 tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED
             );",
        )
        .await?;
    let sink = admin
        .copy_in("COPY tracks (id, title, artist, album, search_text) FROM STDIN")
        .await?;
    futures::pin_mut!(sink);
    let mut buffer = String::new();
    for track in tracks {
        let artist = track.artists.first().map_or("", |a| a.name.as_str());
        let album = track.album.as_ref().map_or("", |a| a.title.as_str());
        let folded = fold(&format!("{} {artist} {album}", track.title));
        for (i, field) in [track.id.as_str(), &track.title, artist, album, &folded]
            .iter()
            .enumerate()
        {
            if i > 0 {
                buffer.push('\t');
            }
            buffer.push_str(&copy_escape(field));
        }
        buffer.push('\n');
        if buffer.len() > 1 << 20 {
            sink.send(bytes::Bytes::from(std::mem::take(&mut buffer)))
                .await?;
        }
    }
    sink.send(bytes::Bytes::from(buffer)).await?;
    sink.finish().await?;
    admin
        .batch_execute(
            "CREATE INDEX tracks_tsv ON tracks USING gin (tsv);
             CREATE INDEX tracks_trgm ON tracks USING gin (search_text gin_trgm_ops);
             ANALYZE tracks;",
        )
        .await?;
    let build = started.elapsed();
    eprintln!(
        "postgres: {} rows loaded and indexed in {build:?}",
        tracks.len()
    );
    let mut clients = Vec::new();
    for _ in 0..args.concurrency {
        clients.push(Arc::new(connect().await?));
    }
    let clients = Arc::new(clients);
    let stats = run_phase(args, queries, move |worker, query| {
        let client = clients[worker].clone();
        async move {
            let words: Vec<String> = fold(&query)
                .split(' ')
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
                .collect();
            // Every word must match; the last one as a prefix (search as you type).
            let mut tsquery = words.join(" & ");
            if !tsquery.is_empty() {
                tsquery.push_str(":*");
            }
            let text = words.join(" ");
            client
                .query(
                    "SELECT id FROM tracks
                     WHERE tsv @@ to_tsquery('simple', $1) OR $2 <% search_text
                     ORDER BY greatest(ts_rank(tsv, to_tsquery('simple', $1)),
                                       word_similarity($2, search_text)) DESC
                     LIMIT 20",
                    &[&tsquery, &text],
                )
                .await?;
            Ok(())
        }
    })
    .await?;
    drop(db);
    Ok((build, stats))
}

/// Folds text the way the index does, words separated by single spaces.
fn fold(text: &str) -> String {
    tunemesh_search::text::terms(text)
        .into_iter()
        .filter(|t| !t.compound)
        .map(|t| t.text)
        .collect::<Vec<_>>()
        .join(" ")
}

fn copy_escape(field: &str) -> String {
    field.replace('\\', "\\\\").replace(['\t', '\n', '\r'], " ")
}

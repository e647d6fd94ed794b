//! Streaming benchmark of reco-svc: how many play events per second the consumer sustains
//! through the real path (JetStream durable consumer → plan → Redis Lua batch), and how
//! fresh the model is at a fixed share of that rate.
//!
//! ```sh
//! bash scripts/servers.sh && source .servers/env
//! cargo run --release -p tunemesh-bench --bin reco_stream
//! ```
//!
//! Plays come in listening sessions (`Plays`): the cost of a play grows with the earlier
//! plays of its session it is paired with, so every phase sees plays of the same shape.
//!
//! Baseline, same run: the same events planned and applied straight to Redis by one caller,
//! with no bus (the ceiling the consumer can reach). Then the events are published to a
//! JetStream stream of their own and the feed catches up from the start (sustained rate).
//! Last, events are published at `--rate-share` of that rate for `--seconds`, and freshness
//! is the time from each publish to its batch being applied in Redis (after which the next
//! `Recommend` sees it: answers read Redis directly). Keys and stream are deleted at the end.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use clap::Parser;
use futures::StreamExt as _;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tunemesh_bench::listeners::latency::percentile;
use tunemesh_bench::listeners::reco::redis_store;
use tunemesh_events::jetstream::{JetStreamBus, JetStreamSettings};
use tunemesh_events::{Envelope, EventBus};
use tunemesh_proto::events::v1::{EventMeta, PlayEvent};
use tunemesh_proto::player::v1::PlaybackEndReason;
use tunemesh_proto::prost_types::Timestamp;
use tunemesh_reco::RecoSettings;
use tunemesh_reco::feed::Feed;
use tunemesh_reco::model::update::plan_listen;
use tunemesh_reco::model::{Listen, ModelParams};
use tunemesh_reco::store::redis::RedisStore;
use tunemesh_reco::store::{
    Applied, Listener, Ranked, RecoStore, SetKey, StoreError, TrackInfo, Versioned, WriteBatch,
};
use tunemesh_testkit::{delete_nats_streams, delete_redis_keys, nats_client, redis_client};

/// Command-line options.
#[derive(Debug, Parser)]
struct Args {
    /// Play events in the throughput phases.
    #[arg(long, default_value_t = 20_000)]
    events: usize,
    /// Distinct listeners.
    #[arg(long, default_value_t = 2_000)]
    users: usize,
    /// Distinct tracks (drawn with a skew towards the first ones).
    #[arg(long, default_value_t = 5_000)]
    tracks: usize,
    /// Seconds of the freshness phase.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Share of the sustained rate the freshness phase publishes at.
    #[arg(long, default_value_t = 0.7)]
    rate_share: f64,
    /// Plays per listening session, on average.
    #[arg(long, default_value_t = 8.0)]
    session_plays: f64,
}

/// The Redis store, counting applied batches and timing the ones a publish was timed for.
#[derive(Debug)]
struct Timed {
    inner: RedisStore,
    applied: AtomicUsize,
    sent: Mutex<HashMap<String, Instant>>,
    fresh: Mutex<Vec<Duration>>,
}

impl Timed {
    /// Counts a batch applied now and how long after its publish that was.
    fn record(&self, batch: &WriteBatch, applied: Applied) {
        if applied == Applied::Done {
            self.applied.fetch_add(1, Ordering::Relaxed);
            let sent = lock(&self.sent).remove(&batch.event_id);
            if let Some(sent) = sent {
                lock(&self.fresh).push(sent.elapsed());
            }
        }
    }
}

/// The Redis store, timing what it applies; every read and write goes to the real store
/// (the batched calls too, so the consumer's round trips are the production ones).
#[async_trait]
impl RecoStore for Timed {
    async fn apply(&self, batch: &WriteBatch) -> Result<Applied, StoreError> {
        let applied = self.inner.apply(batch).await?;
        self.record(batch, applied);
        Ok(applied)
    }
    async fn apply_all(&self, batches: &[WriteBatch]) -> Result<Vec<Applied>, StoreError> {
        let outcomes = self.inner.apply_all(batches).await?;
        for (batch, applied) in batches.iter().zip(&outcomes) {
            self.record(batch, *applied);
        }
        Ok(outcomes)
    }
    async fn listeners(&self, users: &[&str], recent: usize) -> Result<Vec<Listener>, StoreError> {
        self.inner.listeners(users, recent).await
    }
    async fn top(&self, keys: &[SetKey], n: usize) -> Result<Vec<Ranked>, StoreError> {
        self.inner.top(keys, n).await
    }
    async fn scores(&self, key: &SetKey, m: &[String]) -> Result<Vec<Option<f64>>, StoreError> {
        self.inner.scores(key, m).await
    }
    async fn tracks(&self, ids: &[String]) -> Result<Vec<Option<TrackInfo>>, StoreError> {
        self.inner.tracks(ids).await
    }
    async fn listener(&self, user: &str, recent: usize) -> Result<Listener, StoreError> {
        self.inner.listener(user, recent).await
    }
    async fn version(&self, of: &Versioned) -> Result<u64, StoreError> {
        self.inner.version(of).await
    }
    async fn sizes(&self, keys: &[SetKey]) -> Result<Vec<usize>, StoreError> {
        self.inner.sizes(keys).await
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Plays of random listeners in sessions, as people listen: a listener's plays are 3 to 5
/// minutes apart in sessions of `--session-plays` on average, sessions hours to two days
/// apart. The model pairs a play with the earlier plays of its session, so the cost of a play
/// depends on how far into a session it is: with sessions, that cost is the same in every
/// phase of the run (with every play "now", a listener's session only grew, and the later
/// phases paid for ever more pairs than the phase that measured the rate).
struct Plays {
    rng: StdRng,
    tracks: usize,
    session_plays: f64,
    /// Per listener: the time of their latest play (ms) and plays so far in its session.
    listeners: Vec<(i64, u32)>,
}

impl Plays {
    fn new(args: &Args) -> Self {
        let mut rng = StdRng::seed_from_u64(8);
        let day = 24 * 3_600_000;
        let start = tunemesh_runtime::clock::now_ms() - 60 * day;
        let listeners = (0..args.users)
            .map(|_| (start + rng.random_range(0..30 * day), u32::MAX))
            .collect();
        Self {
            rng,
            tracks: args.tracks,
            session_plays: args.session_plays.max(1.0),
            listeners,
        }
    }

    /// The next play: a skewed-random track by a random listener.
    fn next(&mut self) -> PlayEvent {
        let rng = &mut self.rng;
        let user = rng.random_range(0..self.listeners.len());
        // Squaring a uniform draw skews towards popular tracks, as real listening is.
        let draw: f64 = rng.random();
        let track = ((draw * draw) * self.tracks as f64) as usize;
        let (at, in_session) = &mut self.listeners[user];
        // Each play ends its session with probability 1 / session_plays (geometric lengths).
        if *in_session == u32::MAX || rng.random::<f64>() < 1.0 / self.session_plays {
            *at += rng.random_range(2 * 3_600_000..48 * 3_600_000);
            *in_session = 0;
        } else {
            *at += rng.random_range(180_000..300_000);
        }
        *in_session = in_session.saturating_add(1);
        let occurred =
            SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(*at).unwrap_or(0));
        PlayEvent {
            meta: Some(EventMeta {
                event_id: tunemesh_events::new_event_id(),
                occurred_at: Some(Timestamp::from(occurred)),
                producer: "reco-bench".to_owned(),
                // trace_context is deprecated: the trace travels in the message headers
                ..EventMeta::default()
            }),
            user_id: format!("u{user}"),
            track_id: format!("t{track}"),
            end_reason: PlaybackEndReason::Completed as i32,
            counted: true,
            ..PlayEvent::default()
        }
    }
}

async fn store(prefix: &str) -> anyhow::Result<RedisStore> {
    Ok(redis_store(prefix, Duration::from_secs(3600)).await?.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut plays = Plays::new(&args);
    let events: Vec<PlayEvent> = (0..args.events).map(|_| plays.next()).collect();
    let params = ModelParams::default();
    let run = tunemesh_testkit::unique_prefix("reco bench");

    // Baseline: plan and apply straight to Redis, one caller, no bus.
    let direct_prefix = format!("{run}_direct:");
    let direct = store(&direct_prefix).await?;
    let started = Instant::now();
    for play in &events {
        let id = play
            .meta
            .as_ref()
            .map(|m| m.event_id.clone())
            .unwrap_or_default();
        let listen =
            Listen::from_event(play, &id, 0).ok_or_else(|| anyhow::anyhow!("no listen"))?;
        let listener = direct.listener(&listen.user_id, params.recent_size).await?;
        direct
            .apply(&plan_listen(&listen, &listener, &params))
            .await?;
    }
    let direct_time = started.elapsed();

    // The real path: publish everything, then let the feed catch up from the start.
    let js = async_nats::jetstream::new(nats_client().await?);
    let bus: Arc<dyn EventBus> =
        Arc::new(JetStreamBus::new(js.clone(), &run, &JetStreamSettings::default()).await?);
    let envelopes: Vec<Envelope> = events
        .iter()
        .map(Envelope::from_event)
        .collect::<Result<_, _>>()?;
    let published: Vec<_> = futures::stream::iter(envelopes)
        .map(|e| {
            let bus = bus.clone();
            async move { bus.publish(&e).await }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    for result in published {
        result?;
    }
    let feed_prefix = format!("{run}_feed:");
    let timed = Arc::new(Timed {
        inner: store(&feed_prefix).await?,
        applied: AtomicUsize::new(0),
        sent: Mutex::default(),
        fresh: Mutex::default(),
    });
    let settings = RecoSettings {
        consumer_prefix: run.clone(),
        ..RecoSettings::default()
    };
    let feed = Feed::new(bus.clone(), timed.clone(), &settings, None);
    let shutdown = CancellationToken::new();
    let (ready, _ready_rx) = watch::channel(false);
    let started = Instant::now();
    let task = tokio::spawn(feed.run(ready, shutdown.clone()));
    while timed.applied.load(Ordering::Relaxed) < args.events {
        tokio::time::sleep(Duration::from_millis(5)).await;
        anyhow::ensure!(started.elapsed() < Duration::from_secs(600), "feed stalled");
    }
    let feed_time = started.elapsed();
    let (direct_rate, feed_rate) = (
        args.events as f64 / direct_time.as_secs_f64(),
        args.events as f64 / feed_time.as_secs_f64(),
    );

    // Freshness at a fixed share of the sustained rate.
    let rate = (feed_rate * args.rate_share).max(1.0);
    let interval = Duration::from_secs_f64(1.0 / rate);
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let phase = Instant::now();
    let mut sent = 0usize;
    let mut acks = futures::stream::FuturesUnordered::new();
    while phase.elapsed().as_secs_f64() < args.seconds {
        ticker.tick().await;
        let play = plays.next();
        let envelope = Envelope::from_event(&play)?;
        lock(&timed.sent).insert(envelope.id.clone(), Instant::now());
        let bus = bus.clone();
        acks.push(async move { bus.publish(&envelope).await });
        sent += 1;
        while let Some(Some(result)) = futures::FutureExt::now_or_never(acks.next()) {
            result?;
        }
    }
    while let Some(result) = acks.next().await {
        result?;
    }
    let target = args.events + sent;
    let drain = Instant::now();
    while timed.applied.load(Ordering::Relaxed) < target
        && drain.elapsed() < Duration::from_secs(60)
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    shutdown.cancel();
    task.await?;
    let mut fresh = lock(&timed.fresh).clone();
    fresh.sort();

    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| baseline: plan + Redis apply, one caller, no bus | {direct_rate:.0} events/s ({} events in {direct_time:.2?}) |",
        args.events
    );
    println!(
        "| JetStream durable consumer → plan → Redis, catching up | {feed_rate:.0} events/s ({:.2}× baseline) |",
        feed_rate / direct_rate
    );
    println!(
        "| freshness phase: published | {sent} events at {rate:.0}/s for {:.0} s |",
        args.seconds
    );
    println!(
        "| freshness p50 / p99 / max (publish → applied in Redis) | {:.1?} / {:.1?} / {:.1?} ({} timed) |",
        percentile(&fresh, 0.5),
        percentile(&fresh, 0.99),
        fresh.last().copied().unwrap_or_default(),
        fresh.len()
    );

    let redis = redis_client().await?;
    delete_redis_keys(&redis, &direct_prefix).await?;
    delete_redis_keys(&redis, &feed_prefix).await?;
    delete_nats_streams(&js, &run).await?;
    Ok(())
}

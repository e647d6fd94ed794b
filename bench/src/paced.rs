//! Listeners that play at real-time pace, for the `stream` benchmark: how a consumer keeps
//! audio buffered, what it saw, and a phase of N of them started over a spread of time. The
//! disk consumer, the baseline, reads the same files straight from disk at the same pace.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt as _;

use crate::cpu;

/// Seconds of audio a consumer buffers before playback starts.
pub const STARTUP: f64 = 0.5;

/// One stored rendition: its track, its file on disk and its duration.
#[derive(Debug, Clone)]
pub struct Rendition {
    /// The catalogue's id of the track.
    pub track_id: String,
    /// The rendition's file in player-svc's blob store.
    pub file: PathBuf,
    /// Seconds of audio.
    pub duration: f64,
}

/// What one consumer saw.
#[derive(Debug, Clone, Copy)]
pub struct Seen {
    /// From its start to its first bytes of audio (or to what the consumer measures).
    pub first_chunk: Option<Duration>,
    /// Whether its buffer ran dry before the track ended.
    pub starved: bool,
    /// Seconds of playback (from the first chunk) when it starved, to tell startup from
    /// steady-state starvation.
    pub starved_at: Option<f64>,
}

/// What one phase saw.
#[derive(Debug)]
pub struct Phase {
    ttfc: Vec<Duration>,
    /// Consumers whose buffer ran dry.
    pub starved: usize,
    starved_at: Vec<f64>,
    /// Consumers that ended with an error.
    pub failed: usize,
    cpu_per_stream: f64,
}

impl Phase {
    /// The `p` quantile of the first chunks (0 when none arrived).
    pub fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.ttfc.clone();
        sorted.sort();
        let at = ((sorted.len() as f64 * p).ceil() as usize).saturating_sub(1);
        sorted.get(at).copied().unwrap_or_default()
    }

    /// The phase as one line of the report.
    pub fn line(&self, name: &str, n: usize) -> String {
        format!(
            "{name:>6} N={n:>5}: first chunk p50 {:>7.2} ms p99 {:>7.2} ms; starved {}/{n}, \
             failed {}; CPU per stream {:.3} % of a core{}",
            self.percentile(0.5).as_secs_f64() * 1e3,
            self.percentile(0.99).as_secs_f64() * 1e3,
            self.starved,
            self.failed,
            self.cpu_per_stream * 100.0,
            if self.starved_at.is_empty() {
                String::new()
            } else {
                format!("; starved after {:.1?} s of playback", self.starved_at)
            }
        )
    }
}

/// Runs `n` consumers, started evenly over `spread` (at once when zero), and gathers what
/// they saw and the CPU they cost. A consumer's clock starts when it does.
pub async fn phase<F, Fut>(n: usize, spread: Duration, consumer: F) -> Phase
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Seen>> + Send + 'static,
{
    let (started, cpu_started) = (Instant::now(), cpu::process());
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let at = tokio::time::Instant::now() + spread.mul_f64(i as f64 / n as f64);
            let consumer = consumer(i);
            tokio::spawn(async move {
                tokio::time::sleep_until(at).await;
                consumer.await
            })
        })
        .collect();
    let (mut ttfc, mut starved, mut failed) = (Vec::with_capacity(n), 0, 0);
    let mut starved_at = Vec::new();
    for task in tasks {
        match task.await {
            Ok(Ok(seen)) => {
                ttfc.extend(seen.first_chunk);
                starved += usize::from(seen.starved);
                starved_at.extend(seen.starved_at);
            }
            _ => failed += 1,
        }
    }
    let (cpu, wall) = (
        cpu::process() - cpu_started,
        started.elapsed().as_secs_f64(),
    );
    Phase {
        ttfc,
        starved,
        starved_at,
        failed,
        cpu_per_stream: cpu / wall / n as f64,
    }
}

/// A listener's pacing: how much audio it holds and when playback passes it.
#[derive(Debug)]
pub struct Pacing {
    first: Option<Instant>,
    /// Media seconds received so far (from the start of the track).
    received: f64,
    ahead: f64,
    /// Whether the buffer ran dry.
    pub starved: bool,
}

impl Pacing {
    /// A listener that keeps `ahead` seconds buffered.
    pub fn new(ahead: f64) -> Self {
        Self {
            first: None,
            received: 0.0,
            ahead,
            starved: false,
        }
    }

    /// Records that audio up to `media_end` seconds has arrived; playback starts once
    /// [`STARTUP`] seconds are buffered (a first chunk may be only the stream's headers).
    pub fn received(&mut self, media_end: f64) {
        self.received = media_end;
        if self.first.is_none() && media_end >= STARTUP {
            self.first = Some(Instant::now());
        }
    }

    /// Audio buffered ahead of playback now.
    fn buffered(&self) -> f64 {
        self.first
            .map_or(f64::INFINITY, |f| self.received - f.elapsed().as_secs_f64())
    }

    /// Waits until the player wants more; returns how long the next read may take before
    /// the buffer runs dry (None: no limit yet, nothing plays).
    pub async fn want_more(&self) -> Option<Duration> {
        let buffered = self.buffered();
        if buffered.is_infinite() {
            return None;
        }
        if buffered > self.ahead {
            tokio::time::sleep(Duration::from_secs_f64(buffered - self.ahead)).await;
        }
        Some(Duration::from_secs_f64(self.buffered().max(0.0)))
    }

    /// What the listener saw, with its first chunk after `first_chunk`.
    pub fn seen(&self, first_chunk: Option<Duration>) -> Seen {
        Seen {
            first_chunk,
            starved: self.starved,
            starved_at: self
                .first
                .filter(|_| self.starved)
                .map(|f| f.elapsed().as_secs_f64()),
        }
    }
}

/// Plays `rendition` for `window` from its file on disk, 64 KiB reads at the listener's pace.
pub async fn disk_consumer(
    rendition: Rendition,
    ahead: f64,
    window: Duration,
) -> anyhow::Result<Seen> {
    let started = Instant::now();
    let mut file = tokio::fs::File::open(&rendition.file).await?;
    let size = file.metadata().await?.len().max(1);
    let (mut pacing, mut first_chunk, mut read) = (Pacing::new(ahead), None, 0u64);
    let mut buffer = vec![0u8; 64 * 1024];
    while started.elapsed() < window {
        let deadline = pacing.want_more().await;
        let next = file.read(&mut buffer);
        let n = match deadline {
            None => next.await?,
            Some(limit) => match tokio::time::timeout(limit, next).await {
                Ok(n) => n?,
                Err(_) => {
                    pacing.starved = true;
                    break;
                }
            },
        };
        if n == 0 {
            break;
        }
        first_chunk.get_or_insert_with(|| started.elapsed());
        read += n as u64;
        pacing.received(read as f64 / size as f64 * rendition.duration);
    }
    Ok(pacing.seen(first_chunk))
}

//! Timed calls from a few concurrent callers, and their percentiles.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt as _;

/// The value at quantile `p` (0 to 1) of `sorted`, nearest rank.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len().saturating_sub(1)) as f64 * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

/// Latencies of one phase, sorted.
#[derive(Debug, Clone, Default)]
pub struct Latencies {
    /// Each call's time, shortest first.
    pub sorted: Vec<Duration>,
    /// Wall time of the phase.
    pub elapsed: Duration,
}

impl Latencies {
    /// p50 and p99 in milliseconds.
    pub fn p50_p99_ms(&self) -> (f64, f64) {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        (
            ms(percentile(&self.sorted, 0.5)),
            ms(percentile(&self.sorted, 0.99)),
        )
    }
}

/// Runs `call(i)` for every `i` in `0..calls`, `concurrency` at a time, timing each.
pub async fn timed<F, Fut>(calls: usize, concurrency: usize, call: F) -> anyhow::Result<Latencies>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let call = Arc::new(call);
    let started = Instant::now();
    let results: Vec<anyhow::Result<Duration>> = futures::stream::iter(0..calls)
        .map(|i| {
            let call = call.clone();
            async move {
                let t = Instant::now();
                call(i).await?;
                Ok(t.elapsed())
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut sorted = results.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    sorted.sort_unstable();
    Ok(Latencies {
        sorted,
        elapsed: started.elapsed(),
    })
}

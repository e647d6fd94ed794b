//! The transcoding pool: a fixed set of OS threads, niced below the threads that serve
//! streams, fed through a bounded queue, so a library scan can never take the CPU (or the
//! tokio runtime threads) that live streams need.
//!
//! Why not `spawn_blocking`: tokio's blocking pool grows to 512 threads and runs at the
//! process's priority; transcoding is the one CPU-heavy job here and must yield to serving.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};

/// A job for a pool thread.
type Job = Box<dyn FnOnce() + Send>;

/// Why a job did not return a value.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PoolError {
    /// The pool's threads are gone (the service is shutting down).
    #[error("the transcoding pool is closed")]
    Closed,
    /// The job panicked; the thread survives and takes the next job.
    #[error("transcoding job panicked: {0}")]
    Panicked(String),
}

/// A handle to the pool; clones share the threads, which exit once every handle is dropped.
#[derive(Debug, Clone)]
pub(crate) struct TranscodePool {
    jobs: mpsc::Sender<Job>,
    threads: usize,
}

impl TranscodePool {
    /// Starts `threads` threads (at least one) named `transcode-<n>`, each raising its own
    /// nice value by `nice` (0 leaves it alone). At most `threads` jobs wait in the queue;
    /// further callers wait in [`TranscodePool::run`] without holding their input on a thread.
    pub(crate) fn start(threads: usize, nice: i32) -> std::io::Result<Self> {
        let threads = threads.max(1);
        let (jobs, queue) = mpsc::channel::<Job>(threads);
        // One receiver shared by the threads: whichever is idle takes the next job.
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("transcode-{n}"))
                .spawn(move || work(&queue, nice))?;
        }
        Ok(Self { jobs, threads })
    }

    /// Threads in the pool.
    pub(crate) fn threads(&self) -> usize {
        self.threads
    }

    /// Runs `job` on a pool thread and returns its result, waiting for a free slot first.
    pub(crate) async fn run<R: Send + 'static>(
        &self,
        job: impl FnOnce() -> R + Send + 'static,
    ) -> Result<R, PoolError> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            let result = std::panic::catch_unwind(AssertUnwindSafe(job)).map_err(|panic| {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                PoolError::Panicked(message)
            });
            // The caller may have gone away (cancelled request); the result is then unwanted.
            let _ = tx.send(result);
        });
        self.jobs.send(job).await.map_err(|_| PoolError::Closed)?;
        rx.await.map_err(|_| PoolError::Closed)?
    }
}

/// A pool thread: lower its priority, then take jobs until every handle is dropped.
fn work(queue: &Mutex<mpsc::Receiver<Job>>, nice: i32) {
    if nice != 0
        && let Err(error) = lower_priority(nice)
    {
        tracing::warn!(%error, nice, "cannot lower the transcoding thread's priority");
    }
    loop {
        // Held only while waiting for a job, never while running one.
        let job = match queue.lock() {
            Ok(mut queue) => queue.blocking_recv(),
            Err(poisoned) => poisoned.into_inner().blocking_recv(),
        };
        let Some(job) = job else { return };
        job();
    }
}

/// Raises this thread's nice value by `nice`. On Linux the nice value belongs to the thread
/// (setpriority on a thread id), so the rest of the process keeps its priority.
#[cfg(target_os = "linux")]
fn lower_priority(nice: i32) -> std::io::Result<()> {
    let tid = rustix::thread::gettid();
    let current = rustix::process::getpriority_process(Some(tid))?;
    rustix::process::setpriority_process(Some(tid), current.saturating_add(nice).min(19))?;
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn lower_priority(_nice: i32) -> std::io::Result<()> {
    // Elsewhere nice is per process; lowering it would slow serving too.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This thread's nice value (Linux).
    fn current_nice() -> std::io::Result<i32> {
        Ok(rustix::process::getpriority_process(Some(
            rustix::thread::gettid(),
        ))?)
    }

    #[tokio::test]
    async fn jobs_run_on_named_niced_pool_threads_and_a_panic_is_an_error() {
        let pool = TranscodePool::start(2, 10).unwrap_or_else(|e| panic!("start: {e}"));
        let base = current_nice().unwrap_or_else(|e| panic!("nice: {e}"));
        let (name, nice) = pool
            .run(|| {
                let name = std::thread::current().name().map(str::to_owned);
                (name, current_nice().ok())
            })
            .await
            .unwrap_or_else(|e| panic!("run: {e}"));
        assert!(name.is_some_and(|n| n.starts_with("transcode-")));
        assert_eq!(nice, Some((base + 10).min(19)), "the worker is niced");
        assert_eq!(
            current_nice().ok(),
            Some(base),
            "the caller's thread keeps its priority"
        );
        let panicked = pool.run(|| panic!("boom")).await;
        assert!(matches!(panicked, Err(PoolError::Panicked(m)) if m == "boom"));
        assert_eq!(
            pool.run(|| 7).await.ok(),
            Some(7),
            "the pool survives a panic"
        );
    }

    #[tokio::test]
    async fn no_more_jobs_run_at_once_than_there_are_threads() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let pool = TranscodePool::start(2, 0).unwrap_or_else(|e| panic!("start: {e}"));
        let (running, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let jobs = (0..8).map(|_| {
            let (running, peak) = (running.clone(), peak.clone());
            pool.run(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(20));
                running.fetch_sub(1, Ordering::SeqCst);
            })
        });
        for done in futures::future::join_all(jobs).await {
            done.unwrap_or_else(|e| panic!("job: {e}"));
        }
        assert_eq!(peak.load(Ordering::SeqCst), 2);
    }
}

//! Library scans: every file under a folder, in path order, ingested on the worker pool, and
//! a watcher that rescans periodically and only looks again at files whose size or
//! modification time changed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use futures::StreamExt as _;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::ingest::{Ingest, Outcome};

/// Every regular file under `root`, recursively, sorted; hidden entries are left out.
pub fn walk(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut dirs = vec![root.to_owned()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let kind = entry.file_type()?;
            if kind.is_dir() {
                dirs.push(entry.path());
            } else if kind.is_file() {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Ingests `files` in order, as many at once as there are workers, sending each outcome (in
/// path order) to `results`. Stops early when `results` is closed or `stop` is cancelled.
pub async fn ingest_all(
    ingest: &Ingest,
    files: Vec<PathBuf>,
    results: mpsc::Sender<(PathBuf, Outcome)>,
    stop: CancellationToken,
) {
    // Reading the next files while the current ones transcode keeps every worker busy.
    let parallel = ingest.workers() + 1;
    let mut outcomes = futures::stream::iter(files)
        .map(|path| async move {
            let outcome = ingest.ingest_path(&path).await;
            (path, outcome)
        })
        .buffered(parallel);
    loop {
        let next = tokio::select! {
            () = stop.cancelled() => return,
            next = outcomes.next() => next,
        };
        let Some(done) = next else { return };
        if results.send(done).await.is_err() {
            return;
        }
    }
}

fn log(path: &Path, outcome: &Outcome) {
    match outcome {
        Outcome::Ingested { .. } => {}
        Outcome::Skipped { detail, .. } => {
            tracing::debug!(path = %path.display(), %detail, "skipped");
        }
        Outcome::Failed { reason, detail } => {
            tracing::warn!(path = %path.display(), ?reason, %detail, "cannot ingest file");
        }
    }
}

/// Scans `root` now and every `every` after, ingesting new and changed files, until
/// cancelled.
pub async fn watch(ingest: Ingest, root: PathBuf, every: Duration, stop: CancellationToken) {
    let mut seen: HashMap<PathBuf, (u64, SystemTime)> = HashMap::new();
    loop {
        let scan_root = root.clone();
        let listed = tokio::task::spawn_blocking(move || {
            let files = walk(&scan_root)?;
            Ok::<_, std::io::Error>(
                files
                    .into_iter()
                    .filter_map(|f| {
                        let meta = std::fs::metadata(&f).ok()?;
                        Some((f, (meta.len(), meta.modified().ok()?)))
                    })
                    .collect::<Vec<_>>(),
            )
        })
        .await;
        match listed {
            Ok(Ok(files)) => {
                let changed: Vec<PathBuf> = files
                    .iter()
                    .filter(|(f, stat)| seen.get(f) != Some(stat))
                    .map(|(f, _)| f.clone())
                    .collect();
                if !changed.is_empty() {
                    tracing::info!(root = %root.display(), files = changed.len(), "scanning library");
                }
                let (tx, mut rx) = mpsc::channel(16);
                let scan = ingest_all(&ingest, changed, tx, stop.clone());
                let record = async {
                    let mut ingested = 0usize;
                    while let Some((path, outcome)) = rx.recv().await {
                        log(&path, &outcome);
                        ingested += usize::from(matches!(outcome, Outcome::Ingested { .. }));
                        // Files that failed for our own reasons are retried next time.
                        let retry = matches!(
                            outcome,
                            Outcome::Failed {
                                reason: crate::ingest::Reason::Internal,
                                ..
                            }
                        );
                        if !retry && let Some((_, stat)) = files.iter().find(|(f, _)| f == &path) {
                            seen.insert(path, *stat);
                        }
                    }
                    ingested
                };
                let ((), ingested) = tokio::join!(scan, record);
                if ingested > 0 {
                    tracing::info!(root = %root.display(), ingested, "library scan done");
                }
            }
            Ok(Err(error)) => {
                tracing::warn!(root = %root.display(), %error, "cannot read the library");
            }
            Err(error) => tracing::warn!(%error, "library scan panicked"),
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}

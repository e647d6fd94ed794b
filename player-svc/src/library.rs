//! Library scans: every file under a folder, in path order, ingested on the worker pool, and
//! a watcher that rescans periodically and only looks again at files whose size or
//! modification time changed.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt as _;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::ingest::{Ingest, Outcome};
use crate::library_status::{Counts as Tally, StatusSender};

/// What a walk found: the files to ingest, and the entries it passed over with the reason.
#[derive(Debug, Default)]
pub(crate) struct Walked {
    /// Regular files (or symlinks to them), sorted.
    pub(crate) files: Vec<PathBuf>,
    /// Entries not walked into or not listed, with why, for the log.
    pub(crate) skipped: Vec<(PathBuf, String)>,
}

/// Every regular file under `root`, recursively, sorted; hidden entries are left out.
/// Symlinks are followed, to files and to folders, as people keep libraries of links; a folder
/// reached twice (a link loop, or two links to one folder) is walked once.
pub(crate) fn walk(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    Ok(walk_all(root)?.files)
}

/// [`walk`], also returning what was skipped and why. Fails only when `root` cannot be read.
pub(crate) fn walk_all(root: &Path) -> std::io::Result<Walked> {
    let mut walked = Walked::default();
    let mut visited = HashSet::new();
    visited.insert(std::fs::canonicalize(root)?);
    let mut dirs = vec![root.to_owned()];
    let mut first = true;
    while let Some(dir) = dirs.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(error) if !first => {
                walked
                    .skipped
                    .push((dir, format!("cannot read the folder: {error}")));
                continue;
            }
            Err(error) => return Err(error),
        };
        first = false;
        for entry in entries {
            let entry = entry?;
            let path = entry.path();
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            // `metadata` follows symlinks; a dangling one is skipped, with its reason.
            let kind = match std::fs::metadata(&path) {
                Ok(meta) => meta.file_type(),
                Err(error) => {
                    walked
                        .skipped
                        .push((path, format!("cannot follow: {error}")));
                    continue;
                }
            };
            if kind.is_dir() {
                match std::fs::canonicalize(&path) {
                    Ok(real) if visited.insert(real.clone()) => dirs.push(path),
                    Ok(real) => walked.skipped.push((
                        path,
                        format!(
                            "already walked as {} (a link loop or a second link)",
                            real.display()
                        ),
                    )),
                    Err(error) => walked
                        .skipped
                        .push((path, format!("cannot resolve: {error}"))),
                }
            } else if kind.is_file() {
                walked.files.push(path);
            } else {
                walked.skipped.push((path, "not a regular file".to_owned()));
            }
        }
    }
    walked.files.sort();
    walked.files.dedup();
    walked.skipped.sort();
    Ok(walked)
}

/// Ingests `files` in order, as many at once as there are workers, sending each outcome (in
/// path order) to `results`. Stops early when `results` is closed or `stop` is cancelled.
pub(crate) async fn ingest_all(
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
            tracing::info!(path = %path.display(), %detail, "skipped");
        }
        Outcome::Failed { reason, detail } => {
            tracing::warn!(path = %path.display(), ?reason, %detail, "cannot ingest file");
        }
    }
}

/// How often a running scan reports its progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);

impl Tally {
    fn add(&mut self, outcome: &Outcome) {
        self.done += 1;
        match outcome {
            Outcome::Ingested { .. } => self.ingested += 1,
            Outcome::Skipped {
                track_id: Some(_), ..
            } => self.known += 1,
            Outcome::Skipped { .. } => self.skipped += 1,
            Outcome::Failed { .. } => self.failed += 1,
        }
    }

    fn report(&self, root: &Path, message: &'static str) {
        tracing::info!(
            root = %root.display(),
            done = self.done,
            files = self.files,
            ingested = self.ingested,
            already = self.known,
            skipped = self.skipped,
            failed = self.failed,
            "{message}: {} of {} files",
            self.done,
            self.files,
        );
    }
}

/// Scans `root` now and every `every` after, ingesting new and changed files, until
/// cancelled. Logs progress while a scan runs, every skipped entry once, and says so when the
/// first scan finds nothing playable.
/// `status` follows each scan as it goes (`CatalogService.GetLibraryStatus`).
pub(crate) async fn watch(
    ingest: Ingest,
    root: PathBuf,
    every: Duration,
    status: StatusSender,
    stop: CancellationToken,
) {
    let mut seen: HashMap<PathBuf, (u64, SystemTime)> = HashMap::new();
    let mut reported: HashSet<PathBuf> = HashSet::new();
    let mut first = true;
    loop {
        status.send_modify(|s| s.scanning = true);
        let scan_root = root.clone();
        let listed = tokio::task::spawn_blocking(move || {
            let walked = walk_all(&scan_root)?;
            let files = walked
                .files
                .into_iter()
                .filter_map(|f| {
                    let meta = std::fs::metadata(&f).ok()?;
                    Some((f, (meta.len(), meta.modified().ok()?)))
                })
                .collect::<HashMap<_, _>>();
            Ok::<_, std::io::Error>((files, walked.skipped))
        })
        .await;
        match listed {
            Ok(Ok((files, skipped))) => {
                for (path, why) in skipped {
                    if reported.insert(path.clone()) {
                        tracing::info!(path = %path.display(), %why, "skipped");
                    }
                }
                let tally = scan(&ingest, &root, &files, &mut seen, &status, &stop).await;
                if first && tally.ingested + tally.known == 0 && !stop.is_cancelled() {
                    tracing::warn!(
                        root = %root.display(),
                        files = tally.files,
                        "the library holds nothing playable: no file under it could be ingested \
                         (see the lines above for each one's reason)"
                    );
                }
                first = false;
            }
            Ok(Err(error)) => {
                tracing::warn!(root = %root.display(), %error, "cannot read the library");
            }
            Err(error) => tracing::warn!(%error, "library scan panicked"),
        }
        status.send_modify(|s| {
            s.scanning = false;
            s.scans_completed += 1;
        });
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}

/// Ingests the files of `files` that are new or changed since `seen`, logging progress.
async fn scan(
    ingest: &Ingest,
    root: &Path,
    files: &HashMap<PathBuf, (u64, SystemTime)>,
    seen: &mut HashMap<PathBuf, (u64, SystemTime)>,
    status: &StatusSender,
    stop: &CancellationToken,
) -> Tally {
    let mut changed: Vec<PathBuf> = files
        .iter()
        .filter(|(f, stat)| seen.get(*f) != Some(*stat))
        .map(|(f, _)| f.clone())
        .collect();
    changed.sort();
    let mut tally = Tally {
        files: changed.len(),
        ..Tally::default()
    };
    if changed.is_empty() {
        return tally;
    }
    tally.report(root, "scanning library");
    status.send_modify(|s| s.last = Some(tally));
    let (tx, mut rx) = mpsc::channel(16);
    let run = ingest_all(ingest, changed, tx, stop.clone());
    let record = async {
        let mut last_report = Instant::now();
        while let Some((path, outcome)) = rx.recv().await {
            log(&path, &outcome);
            tally.add(&outcome);
            status.send_modify(|s| s.last = Some(tally));
            if last_report.elapsed() >= PROGRESS_EVERY {
                tally.report(root, "scanning library");
                last_report = Instant::now();
            }
            // Files that failed for our own reasons are retried next time.
            let retry = matches!(
                outcome,
                Outcome::Failed {
                    reason: crate::ingest::Reason::Internal,
                    ..
                }
            );
            if !retry && let Some(stat) = files.get(&path) {
                seen.insert(path, *stat);
            }
        }
    };
    let ((), ()) = tokio::join!(run, record);
    tally.report(root, "library scan done");
    tally
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    #[test]
    fn walk_follows_symlinks_once_and_says_what_it_skipped() {
        let music = tempfile::tempdir().unwrap();
        let library = tempfile::tempdir().unwrap();
        let album = music.path().join("album");
        std::fs::create_dir(&album).unwrap();
        std::fs::write(album.join("a.ogg"), b"a").unwrap();
        std::fs::write(music.path().join("single.mp3"), b"b").unwrap();
        std::fs::write(library.path().join(".hidden.ogg"), b"c").unwrap();
        // A library of links, as people keep them: to a folder, to a file, twice to one folder,
        // a loop back to the library itself, and one dangling.
        symlink(&album, library.path().join("album")).unwrap();
        symlink(&album, library.path().join("same album")).unwrap();
        symlink(
            music.path().join("single.mp3"),
            library.path().join("single.mp3"),
        )
        .unwrap();
        symlink(library.path(), library.path().join("loop")).unwrap();
        symlink(
            music.path().join("gone.ogg"),
            library.path().join("gone.ogg"),
        )
        .unwrap();

        let walked = walk_all(library.path()).unwrap();

        let names: Vec<_> = walked
            .files
            .iter()
            .map(|f| f.strip_prefix(library.path()).unwrap().to_path_buf())
            .collect();
        let album_once = names == [PathBuf::from("album/a.ogg"), "single.mp3".into()]
            || names == [PathBuf::from("same album/a.ogg"), "single.mp3".into()];
        assert!(album_once, "{names:?}");
        let skipped: Vec<_> = walked
            .skipped
            .iter()
            .map(|(path, why)| {
                (
                    path.file_name().unwrap().to_string_lossy().into_owned(),
                    why,
                )
            })
            .collect();
        assert_eq!(skipped.len(), 3, "{skipped:?}");
        assert!(
            skipped
                .iter()
                .any(|(name, why)| name == "gone.ogg" && why.starts_with("cannot follow"))
        );
        assert!(
            skipped
                .iter()
                .any(|(name, why)| name == "loop" && why.contains("link loop"))
        );
        assert!(
            skipped
                .iter()
                .any(|(name, why)| (name == "album" || name == "same album")
                    && why.contains("already walked"))
        );
    }

    #[test]
    fn an_unreadable_root_is_an_error() {
        assert!(walk_all(Path::new("/nonexistent/tunemesh-library")).is_err());
    }
}

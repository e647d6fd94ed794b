//! What the library watcher is doing, for `CatalogService.GetLibraryStatus`: whether a scan
//! runs and its counts. The watcher writes it as files are done; readers take a copy.

use tokio::sync::watch;
use tunemesh_proto::catalog::v1::{GetLibraryStatusResponse, ScanProgress};

/// A scan's counts so far.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counts {
    /// Files the scan had to read (new or changed since the previous scan).
    pub(crate) files: usize,
    /// Files done so far.
    pub(crate) done: usize,
    /// Files that became new tracks.
    pub(crate) ingested: usize,
    /// Files already in the catalog.
    pub(crate) known: usize,
    /// Files skipped for another reason (not audio, too long...).
    pub(crate) skipped: usize,
    /// Files that could not be ingested.
    pub(crate) failed: usize,
}

/// The watcher's state.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LibraryStatus {
    /// Whether this service reads a music folder at all.
    pub(crate) configured: bool,
    /// Whether a scan runs now.
    pub(crate) scanning: bool,
    /// The running scan's counts, or the last one's that had files to read.
    pub(crate) last: Option<Counts>,
    /// Scans finished since start.
    pub(crate) scans_completed: u64,
}

/// The writing side, held by the watcher.
pub(crate) type StatusSender = watch::Sender<LibraryStatus>;

/// A status channel for a service that reads a folder (`configured`) or not.
pub(crate) fn channel(configured: bool) -> (StatusSender, watch::Receiver<LibraryStatus>) {
    watch::channel(LibraryStatus {
        configured,
        ..LibraryStatus::default()
    })
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl From<LibraryStatus> for GetLibraryStatusResponse {
    fn from(status: LibraryStatus) -> Self {
        Self {
            configured: status.configured,
            scanning: status.scanning,
            progress: status.last.map(|c| ScanProgress {
                files_done: count(c.done),
                files_total: count(c.files),
                ingested: count(c.ingested),
                skipped: count(c.known + c.skipped),
                failed: count(c.failed),
            }),
            scans_completed: status.scans_completed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn already_known_files_count_as_skipped_in_the_contract() {
        let status = LibraryStatus {
            configured: true,
            scanning: true,
            last: Some(Counts {
                files: 10,
                done: 6,
                ingested: 3,
                known: 1,
                skipped: 1,
                failed: 1,
            }),
            scans_completed: 2,
        };
        let answer = GetLibraryStatusResponse::from(status);
        let progress = answer.progress.unwrap();
        assert_eq!(
            (progress.files_done, progress.files_total, progress.ingested),
            (6, 10, 3)
        );
        assert_eq!((progress.skipped, progress.failed), (2, 1));
        assert!(answer.configured && answer.scanning);
        assert_eq!(answer.scans_completed, 2);
    }

    #[test]
    fn a_service_without_a_folder_says_so_and_nothing_else() {
        let (_tx, rx) = channel(false);
        let answer = GetLibraryStatusResponse::from(*rx.borrow());
        assert_eq!(answer, GetLibraryStatusResponse::default());
    }
}

//! The duration backfill: items stored before playlists kept durations (migration V6) have
//! none, so their playlists' totals count them 0. A background task asks the catalogue for
//! their tracks' durations and fills them in, in bounded batches, shortly after the service
//! starts and then every `duration_backfill_interval` (which also catches any item a
//! catalogue answered without a duration), sooner after a failure.
//!
//! Why a background task and not a step of `open` like the details backfill: it needs the
//! catalogue (player-svc), which may not be up yet when playlist-svc starts, and a large
//! database would hold the service's readiness for the whole job. Until it is done, reads
//! answer the totals known so far. Each batch is at most [`DURATION_TRACKS`] tracks in one
//! catalogue call, then transactions of at most `BACKFILL_BATCH` playlists each; replicas
//! may run it together (the fill only touches items still unknown, under the playlist row
//! locks). A track the catalogue no longer has counts 0, so the job always ends.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tunemesh_runtime::identity::Caller;

use crate::cache::PlaylistCache;
use crate::catalog::TrackCatalog;
use crate::error::PlaylistError;
use crate::store::{DURATION_TRACKS, PlaylistStore};

/// Longest wait after a failed run.
const RETRY: Duration = Duration::from_secs(30);

/// The backfill's ports and pace.
#[derive(Debug)]
pub(crate) struct DurationBackfill {
    pub(crate) store: Arc<dyn PlaylistStore>,
    pub(crate) catalog: Arc<dyn TrackCatalog>,
    pub(crate) cache: Arc<dyn PlaylistCache>,
    /// Wait between runs (and after a failed one).
    pub(crate) interval: Duration,
}

impl DurationBackfill {
    /// Runs the backfill now and then every interval, until `shutdown`.
    pub(crate) async fn run(self, shutdown: CancellationToken) {
        loop {
            let pass = tokio::select! {
                () = shutdown.cancelled() => return,
                pass = self.pass() => pass,
            };
            let wait = match pass {
                Ok(0) => self.interval,
                Ok(playlists) => {
                    tracing::info!(playlists, "filled in playlist durations");
                    self.interval
                }
                Err(error) => {
                    tracing::warn!(%error, "playlist duration backfill failed; retrying later");
                    // The catalogue may just be starting (`tunemesh up` starts all at once).
                    self.interval.min(RETRY)
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Fills in every unknown duration; returns the number of playlist updates.
    pub(crate) async fn pass(&self) -> Result<u64, PlaylistError> {
        let caller = Caller::service(crate::SERVICE_NAME);
        let mut updated = 0_u64;
        loop {
            let tracks = self.store.unknown_durations(DURATION_TRACKS).await?;
            if tracks.is_empty() {
                return Ok(updated);
            }
            let check = self.catalog.check(&caller, &tracks).await?;
            // A track the catalogue has not (any more), or gave no duration of, counts 0.
            let durations: Vec<(String, u64)> = tracks
                .into_iter()
                .map(|track| {
                    let ms = check.durations.get(&track).copied().unwrap_or(0);
                    (track, ms)
                })
                .collect();
            loop {
                let filled = self.store.fill_durations(&durations).await?;
                if filled.is_empty() {
                    break;
                }
                for (id, revision) in &filled {
                    self.cache.invalidate(id, *revision).await;
                }
                updated += filled.len() as u64;
            }
        }
    }
}

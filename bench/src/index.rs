//! search-svc's index of a catalogue, built on disk the way its feed fills it (catalogue model
//! changes, committed in batches): for the search and snapshot benchmarks.

use std::path::Path;

use tunemesh_proto::catalog::v1::Track;
use tunemesh_search::catalog::Catalog;
use tunemesh_search::index::SearchIndex;

/// Tracks per commit.
const CHUNK: usize = 100_000;

/// A new index of `tracks` in `dir` (whatever was there is removed).
pub fn build(dir: &Path, tracks: &[Track]) -> anyhow::Result<SearchIndex> {
    let index = SearchIndex::create(Some(dir), 512 * 1024 * 1024)?;
    let mut catalog = Catalog::default();
    for chunk in tracks.chunks(CHUNK) {
        for track in chunk {
            catalog.upsert_track(track.clone());
        }
        index.apply(&catalog.drain_changes())?;
    }
    Ok(index)
}

//! Media blobs through `object_store`: a local folder embedded and in production (S3 and the
//! rest are a configuration away in the same crate).
//!
//! Layout, per track and quality, under `tracks/<track id>/<content hash prefix>/`:
//! `<quality>/audio.ogg` (progressive Ogg Opus) and `<quality>/audio.webm` (the init segment
//! followed by every media segment; the manifest records their offsets). The hash in the
//! path means a changed source writes beside the old renditions, and the catalogue row
//! switches to the new ones in one commit. Covers are `covers/<hash>`.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use object_store::local::LocalFileSystem;
use object_store::path::Path as BlobPath;
use object_store::{ObjectStore, ObjectStoreExt as _, PutPayload};

/// Bytes read from the blob store by every stream in this process; tests watch it to prove
/// a stalled consumer stalls the reads too.
static BYTES_READ: AtomicU64 = AtomicU64::new(0);

/// Total bytes read from blobs so far in this process.
pub fn bytes_read() -> u64 {
    BYTES_READ.load(Ordering::Relaxed)
}

/// The media blob store.
#[derive(Debug, Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
}

impl Blobs {
    /// Blobs in the directory `root` (created if missing).
    pub fn local(root: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(root)?;
        Ok(Self {
            store: Arc::new(LocalFileSystem::new_with_prefix(root)?),
        })
    }

    /// Writes one blob.
    pub async fn put(&self, path: &str, bytes: Bytes) -> object_store::Result<()> {
        self.store
            .put(&BlobPath::from(path), PutPayload::from_bytes(bytes))
            .await
            .map(drop)
    }

    /// Reads `range` of a blob.
    pub async fn get_range(&self, path: &str, range: Range<u64>) -> object_store::Result<Bytes> {
        let bytes = self.store.get_range(&BlobPath::from(path), range).await?;
        BYTES_READ.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        metrics::counter!("tunemesh_player_blob_read_bytes_total").increment(bytes.len() as u64);
        Ok(bytes)
    }
}

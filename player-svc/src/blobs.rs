//! Media blobs through `object_store`: a local folder by default, an S3-compatible bucket
//! when `[player.s3]` is set (AWS, MinIO, Ceph, moto: anything speaking the S3 API) and the
//! crate is built with its `s3` feature.
//!
//! Layout, per track and quality, under `tracks/<track id>/<content hash prefix>/`:
//! `<quality>/audio.ogg` (progressive Ogg Opus) and `<quality>/audio.webm` (the init segment
//! followed by every media segment; the manifest records their offsets). The hash in the
//! path means a changed source writes beside the old renditions, and the catalogue row
//! switches to the new ones in one commit. Covers are `covers/<hash>`.
//!
//! The blob store contract tests reach [`Blobs`] through `testsuite`; without that feature
//! its `pub` items are crate-internal.
#![cfg_attr(not(feature = "testsuite"), allow(unreachable_pub))]

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use object_store::local::LocalFileSystem;
use object_store::path::Path as BlobPath;
use object_store::{ObjectStore, ObjectStoreExt as _, PutPayload};

use crate::settings::S3Settings;

/// Bytes read from the blob store by every stream in this process; tests watch it to prove
/// a stalled consumer stalls the reads too.
static BYTES_READ: AtomicU64 = AtomicU64::new(0);

/// Total bytes read from blobs so far in this process.
#[cfg(feature = "testsuite")]
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

    /// Blobs in the S3-compatible bucket `settings` names. Nothing is contacted until the
    /// first read or write; the secret key is handed to the client and never printed.
    #[cfg(feature = "s3")]
    pub fn s3(settings: &S3Settings) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        use object_store::ClientOptions;
        use object_store::aws::AmazonS3Builder;
        use secrecy::ExposeSecret as _;

        anyhow::ensure!(!settings.bucket.is_empty(), "player.s3.bucket must be set");
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region)
            .with_allow_http(settings.allow_http)
            .with_client_options(
                ClientOptions::new()
                    .with_allow_http(settings.allow_http)
                    .with_connect_timeout(settings.connect_timeout)
                    .with_timeout(settings.request_timeout),
            );
        if let Some(endpoint) = &settings.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(key) = &settings.access_key_id {
            builder = builder.with_access_key_id(key);
        }
        if let Some(secret) = &settings.secret_access_key {
            builder = builder.with_secret_access_key(secret.expose_secret());
        }
        // object_store's messages name the setting at fault, never the secret.
        let store = builder
            .build()
            .with_context(|| format!("cannot configure the S3 bucket {:?}", settings.bucket))?;
        Ok(Self {
            store: Arc::new(store),
        })
    }

    /// This build has no S3 client: says how to get one.
    #[cfg(not(feature = "s3"))]
    pub fn s3(_settings: &S3Settings) -> anyhow::Result<Self> {
        anyhow::bail!(
            "player.s3 is set but this build has no S3 support: build with the tunemesh-player/s3 feature"
        )
    }

    /// Writes one blob.
    pub async fn put(&self, path: &str, bytes: Bytes) -> object_store::Result<()> {
        self.store
            .put(&BlobPath::from(path), PutPayload::from_bytes(bytes))
            .await
            .map(drop)
    }

    /// Reads a whole blob; `None` when there is none at `path`. For small blobs only (covers):
    /// audio is read in ranges.
    pub async fn get(&self, path: &str) -> object_store::Result<Option<Bytes>> {
        let found = match self.store.get(&BlobPath::from(path)).await {
            Ok(found) => found,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let bytes = found.bytes().await?;
        BYTES_READ.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        metrics::counter!("tunemesh_player_blob_read_bytes_total").increment(bytes.len() as u64);
        Ok(Some(bytes))
    }

    /// Reads `range` of a blob.
    pub async fn get_range(&self, path: &str, range: Range<u64>) -> object_store::Result<Bytes> {
        let bytes = self.store.get_range(&BlobPath::from(path), range).await?;
        BYTES_READ.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        metrics::counter!("tunemesh_player_blob_read_bytes_total").increment(bytes.len() as u64);
        Ok(bytes)
    }
}

//! Media blobs through `object_store`: a local folder by default, an S3-compatible bucket
//! when `[player.s3]` is set (AWS, MinIO, Ceph, moto: anything speaking the S3 API) and the
//! crate is built with its `s3` feature. player-svc writes and reads them; the gateway may
//! read the progressive audio files straight from the same store (`[gateway.blobs]`).

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use object_store::local::LocalFileSystem;
use object_store::path::Path as BlobPath;
use object_store::{ObjectStore, ObjectStoreExt as _, PutPayload};
use secrecy::SecretString;
use serde::Deserialize;

mod local;

use local::LocalReads;

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
    /// Range reads of a local directory, without the blocking pool when cached.
    local: Option<Arc<LocalReads>>,
    /// The counter of bytes read (`<service>_blob_read_bytes_total`).
    read_metric: &'static str,
}

impl Blobs {
    /// Blobs in the directory `root` (created if missing).
    pub fn local(root: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(root)?;
        let fs = Arc::new(LocalFileSystem::new_with_prefix(root)?);
        Ok(Self {
            local: Some(Arc::new(LocalReads::new(fs.clone()))),
            ..Self::of(fs)
        })
    }

    fn of(store: Arc<dyn ObjectStore>) -> Self {
        Self {
            store,
            local: None,
            read_metric: "tunemesh_player_blob_read_bytes_total",
        }
    }

    /// These blobs, counting the bytes read in the counter `name` instead of player-svc's.
    pub fn counted_as(mut self, name: &'static str) -> Self {
        self.read_metric = name;
        self
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
        Ok(Self::of(Arc::new(store)))
    }

    /// This build has no S3 client: says how to get one.
    #[cfg(not(feature = "s3"))]
    pub fn s3(_settings: &S3Settings) -> anyhow::Result<Self> {
        anyhow::bail!(
            "an S3 bucket is set but this build has no S3 support: build with the s3 feature"
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
        metrics::counter!(self.read_metric).increment(bytes.len() as u64);
        Ok(Some(bytes))
    }

    /// Reads `range` of a blob; `None` when there is none at `path`.
    pub async fn find_range(
        &self,
        path: &str,
        range: Range<u64>,
    ) -> object_store::Result<Option<Bytes>> {
        match self.get_range(path, range).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Reads `range` of a blob.
    pub async fn get_range(&self, path: &str, range: Range<u64>) -> object_store::Result<Bytes> {
        let path = BlobPath::from(path);
        let bytes = match &self.local {
            Some(local) => local.get_range(&path, range).await?,
            None => self.store.get_range(&path, range).await?,
        };
        BYTES_READ.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        metrics::counter!(self.read_metric).increment(bytes.len() as u64);
        Ok(bytes)
    }
}

/// An S3-compatible bucket for media blobs (`[player.s3]`, `TUNEMESH_PLAYER__S3__*`;
/// `[gateway.blobs.s3]` for the gateway's direct reads).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Settings {
    /// The bucket (must exist).
    pub bucket: String,
    /// Its region; S3-compatible servers usually accept any.
    pub region: String,
    /// The server's URL for anything but AWS itself (e.g. `http://127.0.0.1:9000`).
    pub endpoint: Option<String>,
    /// Allows a plain-HTTP endpoint (a server on a private network or loopback).
    pub allow_http: bool,
    /// Access key id; unset uses the instance's or pod's role credentials.
    pub access_key_id: Option<String>,
    /// Secret access key: read from settings or env, never logged or printed.
    pub secret_access_key: Option<SecretString>,
    /// Bound on opening a connection to the server.
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Bound on one request (a segment read or a rendition write).
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
}

impl Default for S3Settings {
    fn default() -> Self {
        Self {
            bucket: String::new(),
            region: "us-east-1".to_owned(),
            endpoint: None,
            allow_http: false,
            access_key_id: None,
            secret_access_key: None,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Where a reader finds the media blobs: a directory, or an S3-compatible bucket; neither
/// means it does not read them itself (`[gateway.blobs]`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BlobSettings {
    /// The blob directory (player-svc's `player.blob_dir`, mounted here; read only).
    pub dir: Option<std::path::PathBuf>,
    /// The bucket, instead of `dir`.
    pub s3: Option<S3Settings>,
}

impl BlobSettings {
    /// The store these settings name, if any.
    pub fn open(&self) -> anyhow::Result<Option<Blobs>> {
        use anyhow::Context as _;
        match (&self.s3, &self.dir) {
            (Some(s3), _) => Blobs::s3(s3).map(Some),
            (None, Some(dir)) => Blobs::local(dir)
                .map(Some)
                .with_context(|| format!("cannot open blob dir {}", dir.display())),
            (None, None) => Ok(None),
        }
    }
}

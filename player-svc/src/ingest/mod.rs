//! Ingest: one file in, one catalogue track out, or a clear reason why not.
//!
//! Idempotent by content hash (checked before any transcoding). Transcoding runs on the
//! [`TranscodePool`]: a few niced OS threads, never the tokio runtime's, so a library scan
//! leaves the CPU to serving. Sources are read from files (library files, spooled uploads)
//! only on those threads, so memory is bounded by the pool's size times the file limit.
//! A track becomes visible only once every rendition is stored: blobs first, then the
//! catalogue row and its `TrackAdded` (or `TrackUpdated`, for a changed file at a known
//! path) event in one transaction.

mod folder_cover;
pub(crate) mod record;

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use sha2::{Digest, Sha256};
use tunemesh_events::outbox::OutboxWaker;
use tunemesh_runtime::clock::now_ms;

use crate::blobs::Blobs;
use crate::media::{self, MediaBundle, MediaError, TranscodeOptions};
use crate::store::{CatalogStore, Cover, RenditionManifest, SegmentEntry, TrackManifest};
use crate::track_cache::TrackCache;
use crate::workers::TranscodePool;
use crate::{covers, ids, seek};
use record::{RecordParts, catalog_event, record};

/// Shortest audio accepted as a track.
const MIN_DURATION: Duration = Duration::from_secs(1);

/// Why a file did not become a (new) track; mirrors the contract's `IngestReason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reason {
    /// Already in the catalogue.
    Duplicate,
    /// Not audio.
    NotAudio,
    /// A codec we do not decode.
    Unsupported,
    /// Damaged or truncated.
    Corrupt,
    /// The bytes do not match the announced size or hash.
    Checksum,
    /// No audio, or under a second.
    Empty,
    /// Over a limit.
    TooLarge,
    /// Our fault (storage, transcoder).
    Internal,
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A new track, or a changed file's track updated (`updated`).
    Ingested {
        /// The track.
        track_id: String,
        /// True when the source was known and its content changed.
        updated: bool,
    },
    /// Left alone on purpose.
    Skipped {
        /// Why.
        reason: Reason,
        /// The existing track, for duplicates.
        track_id: Option<String>,
        /// For people.
        detail: String,
    },
    /// Could not be ingested; nothing changed.
    Failed {
        /// Why.
        reason: Reason,
        /// For people: the decoder's or the store's words.
        detail: String,
    },
}

impl Outcome {
    fn failed(reason: Reason, detail: impl Into<String>) -> Self {
        Self::Failed {
            reason,
            detail: detail.into(),
        }
    }

    fn internal(error: impl std::fmt::Display) -> Self {
        Self::failed(Reason::Internal, error.to_string())
    }
}

/// Maps a media error to the reason the contract names.
fn media_outcome(error: &MediaError) -> Outcome {
    let detail = error.to_string();
    match error {
        MediaError::NotAudio => Outcome::Skipped {
            reason: Reason::NotAudio,
            track_id: None,
            detail,
        },
        MediaError::Empty | MediaError::NoAudio => Outcome::failed(Reason::Empty, detail),
        MediaError::UnsupportedCodec { .. }
        | MediaError::Channels { .. }
        | MediaError::SampleRate { .. } => Outcome::failed(Reason::Unsupported, detail),
        MediaError::Truncated { .. }
        | MediaError::Corrupt { .. }
        | MediaError::Damaged { .. }
        | MediaError::FormatChange { .. } => Outcome::failed(Reason::Corrupt, detail),
        MediaError::FileTooLarge { .. }
        | MediaError::TooLong { .. }
        | MediaError::CoverTooLarge { .. } => Outcome::failed(Reason::TooLarge, detail),
        MediaError::Io { .. } | MediaError::Encoder(_) => Outcome::failed(Reason::Internal, detail),
    }
}

/// `sha256:<hex>` of a digest.
pub(crate) fn content_hash(digest: &[u8; 32]) -> String {
    format!("sha256:{}", hex::encode(digest))
}

/// The ingest pipeline.
#[derive(Debug, Clone)]
pub(crate) struct Ingest {
    store: Arc<dyn CatalogStore>,
    blobs: Blobs,
    options: Arc<TranscodeOptions>,
    pool: TranscodePool,
    waker: OutboxWaker,
    track_cache: TrackCache,
}

impl Ingest {
    /// A pipeline writing to `store` and `blobs`, transcoding on `pool`; a track stored
    /// anew is dropped from `track_cache`, so its new audio plays at once.
    pub(crate) fn new(
        store: Arc<dyn CatalogStore>,
        blobs: Blobs,
        options: TranscodeOptions,
        pool: TranscodePool,
        waker: OutboxWaker,
        track_cache: TrackCache,
    ) -> Self {
        Self {
            store,
            blobs,
            options: Arc::new(options),
            pool,
            waker,
            track_cache,
        }
    }

    /// Transcoding threads.
    pub(crate) fn workers(&self) -> usize {
        self.pool.threads()
    }

    /// Largest source accepted.
    pub(crate) fn max_file_bytes(&self) -> u64 {
        self.options.limits.max_file_bytes
    }

    /// Ingests the file at `path` (the source is its path, so a changed file keeps its id).
    pub(crate) async fn ingest_path(&self, path: &Path) -> Outcome {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let source = format!("file:{}", path.display());
        self.ingest_file(source, name, path.to_owned(), None).await
    }

    /// Ingests the file at `path` as `source`, with `name` as its format hint and untagged
    /// title; `digest` when the caller already hashed the bytes (an upload).
    pub(crate) async fn ingest_file(
        &self,
        source: String,
        name: String,
        path: PathBuf,
        digest: Option<[u8; 32]>,
    ) -> Outcome {
        let max = self.options.limits.max_file_bytes;
        let len = match tokio::fs::metadata(&path).await {
            Ok(meta) => meta.len(),
            Err(error) => {
                return Outcome::failed(Reason::Internal, format!("cannot read file: {error}"));
            }
        };
        if len == 0 {
            return media_outcome(&MediaError::Empty);
        }
        if len > max {
            return Outcome::failed(
                Reason::TooLarge,
                format!("file too large: {len} bytes (at most {max})"),
            );
        }
        let digest = match digest {
            Some(d) => d,
            None => {
                let owned = path.clone();
                match tokio::task::spawn_blocking(move || hash_file(&owned)).await {
                    Ok(Ok(d)) => d,
                    Ok(Err(error)) => {
                        return Outcome::failed(
                            Reason::Internal,
                            format!("cannot read file: {error}"),
                        );
                    }
                    Err(error) => return Outcome::internal(error),
                }
            }
        };
        let hash = content_hash(&digest);
        match self.store.track_id_by_hash(&hash).await {
            Ok(Some(id)) => {
                return Outcome::Skipped {
                    reason: Reason::Duplicate,
                    track_id: Some(id),
                    detail: "already in the catalogue".to_owned(),
                };
            }
            Ok(None) => {}
            Err(error) => return Outcome::internal(tunemesh_runtime::error::DisplayChain(&error)),
        }
        // Library files may keep their cover beside them; an upload's folder is a spool.
        let folder = source
            .starts_with("file:")
            .then(|| path.parent().map(Path::to_owned))
            .flatten();
        let bundle = match self.transcode(path, name.clone(), folder).await {
            Ok(bundle) => bundle,
            Err(outcome) => return outcome,
        };
        if bundle.duration < MIN_DURATION {
            return Outcome::failed(Reason::Empty, "under the minimum duration of 1 s");
        }
        // The bytes transcoded are the truth: a library file may change after it was hashed.
        let hash = content_hash(&bundle.content_hash);
        match self.store_track(&source, &name, &hash, &bundle).await {
            Ok(outcome) => outcome,
            Err(error) => Outcome::internal(format!("{error:#}")),
        }
    }

    /// Reads and transcodes `path` on the pool, waiting for a free thread; without a cover in
    /// its tags, takes one from `folder` (`cover.jpg`, `folder.jpg`, ...) when given.
    async fn transcode(
        &self,
        path: PathBuf,
        name: String,
        folder: Option<PathBuf>,
    ) -> Result<MediaBundle, Outcome> {
        let options = self.options.clone();
        let started = std::time::Instant::now();
        let result = self
            .pool
            .run(move || {
                let mut bundle = media::transcode_file(&path, &name, &options)?;
                if bundle.cover.is_none() {
                    bundle.cover = folder
                        .and_then(|dir| folder_cover::find(&dir, options.limits.max_cover_bytes));
                }
                Ok(bundle)
            })
            .await
            .map_err(Outcome::internal)?;
        metrics::histogram!("tunemesh_player_transcode_seconds")
            .record(started.elapsed().as_secs_f64());
        result.map_err(|e| media_outcome(&e))
    }

    /// Blobs first, then the row and its event in one transaction.
    async fn store_track(
        &self,
        source: &str,
        name: &str,
        hash: &str,
        bundle: &MediaBundle,
    ) -> anyhow::Result<Outcome> {
        let existing = self.store.track_by_source(source).await?;
        let id = existing
            .as_ref()
            .map_or_else(|| ids::track_id(source), |t| t.id.clone());
        let prefix = format!("tracks/{id}/{}", &hash["sha256:".len()..][..16]);
        let mut renditions = Vec::with_capacity(bundle.renditions.len());
        let mut ladder: Vec<_> = bundle.renditions.iter().collect();
        ladder.sort_by_key(|r| r.quality);
        for r in ladder {
            let index = seek::index(&r.ogg).ok_or_else(|| {
                anyhow::anyhow!("our own ogg output of {} is malformed", r.quality)
            })?;
            let mut webm = BytesMut::with_capacity(
                r.init.len() + r.segments.iter().map(|s| s.bytes.len()).sum::<usize>(),
            );
            webm.extend_from_slice(&r.init);
            let mut segments = Vec::with_capacity(r.segments.len());
            for s in &r.segments {
                segments.push(SegmentEntry {
                    offset: webm.len() as u64,
                    size: s.bytes.len() as u64,
                    start_us: micros(s.start),
                    duration_us: micros(s.duration),
                });
                webm.extend_from_slice(&s.bytes);
            }
            let dir = format!("{prefix}/{}", r.quality);
            self.blobs
                .put(&format!("{dir}/audio.ogg"), r.ogg.clone())
                .await?;
            self.blobs
                .put(&format!("{dir}/audio.webm"), webm.freeze())
                .await?;
            renditions.push(RenditionManifest {
                quality: r.quality.as_str().to_owned(),
                bitrate_bps: r.bitrate,
                ogg_size: r.ogg.len() as u64,
                ogg_header_size: index.header_size,
                ogg_pages: index.pages,
                webm_init_size: r.init.len() as u64,
                webm_segments: segments,
            });
        }
        let cover = match &bundle.cover {
            Some(art) => {
                let id = covers::image_id(&art.data);
                self.blobs
                    .put(&covers::blob_path(&id), art.data.clone())
                    .await?;
                Some(Cover {
                    id,
                    media_type: art.mime_type.clone(),
                })
            }
            None => None,
        };
        let now = now_ms();
        let record = record(RecordParts {
            id: id.clone(),
            source,
            name,
            hash,
            bundle,
            manifest: TrackManifest {
                blob_prefix: prefix,
                channels: u32::try_from(bundle.source_channels.clamp(1, 2)).unwrap_or(2),
                renditions,
            },
            cover,
            create_ms: existing.as_ref().map_or(now, |t| t.create_ms),
            update_ms: now,
        });
        let updated = existing.is_some();
        let event = catalog_event(&record, updated)?;
        self.store.put_track(&record, &event).await?;
        self.track_cache.forget(&id).await;
        self.waker.wake();
        tracing::info!(track = %id, %source, updated, "track ingested");
        Ok(Outcome::Ingested {
            track_id: id,
            updated,
        })
    }
}

/// The SHA-256 of a file, read in pieces (never whole into memory).
fn hash_file(path: &Path) -> std::io::Result<[u8; 32]> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            return Ok(hasher.finalize().into());
        }
        hasher.update(&buffer[..n]);
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

//! What the audio route must know of a track before its first byte: each quality's file
//! size (for `Range`, `Content-Length` and 416), MIME type and blob key (for direct reads),
//! and the audio's version (for the `ETag`). It comes from `PlayerService.GetAudioManifest`, whose answer is big (every
//! segment of every quality, the init segments): fetching it for each byte range doubled the
//! calls to player-svc and most of the work per listener. So it is kept here.
//!
//! Entries are bounded in number and live at most `ttl`; concurrent misses on one track make
//! one call. A kept entry can be outdated after the track is re-ingested: every
//! `ReadAudioRange` answer carries the file's size and version, the route compares them with
//! the entry before it sends a header, and on a mismatch it forgets the entry and asks again
//! (see `super::audio`). So no response ever promises bytes of another version.

use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;
use moka::future::Cache;
use tunemesh_proto::player::v1 as pb;
use tunemesh_runtime::ErrorCode;
use tunemesh_runtime::identity::Caller;

use super::segments::fetch_manifest;
use crate::error::ApiError;
use crate::upstream::Upstreams;

/// The progressive files of one version of a track's audio.
#[derive(Debug)]
pub struct AudioInfo {
    /// `AudioManifest.version`.
    pub version: String,
    files: Vec<FileInfo>,
}

/// One quality's progressive file.
#[derive(Debug, Clone)]
pub struct FileInfo {
    /// The `AudioQuality` number.
    pub quality: i32,
    /// Bytes in the file.
    pub size: u64,
    /// Its `Content-Type`.
    pub mime: HeaderValue,
    /// Its key in player-svc's blob store, for direct reads (empty if player-svc gave none).
    pub blob: String,
}

impl AudioInfo {
    /// The file of `quality`, if the track has one.
    pub fn file(&self, quality: i32) -> Option<&FileInfo> {
        self.files.iter().find(|f| f.quality == quality)
    }

    /// The `AudioQuality` numbers of the files the track has.
    pub fn qualities(&self) -> impl Iterator<Item = i32> + '_ {
        self.files.iter().map(|f| f.quality)
    }

    fn from_manifest(manifest: &pb::AudioManifest) -> Self {
        let files = manifest
            .renditions
            .iter()
            .map(|r| FileInfo {
                quality: r.quality,
                size: r.progressive_size_bytes,
                mime: HeaderValue::from_str(&r.progressive_mime_type)
                    .unwrap_or(HeaderValue::from_static("audio/ogg")),
                blob: r.progressive_blob.clone(),
            })
            .collect();
        Self {
            version: manifest.version.clone(),
            files,
        }
    }
}

/// Audio facts by track id.
#[derive(Debug, Clone)]
pub struct AudioInfos {
    cache: Cache<String, Arc<AudioInfo>>,
}

impl AudioInfos {
    /// At most `capacity` tracks, each kept at most `ttl`.
    pub fn new(capacity: u64, ttl: Duration) -> Self {
        Self {
            cache: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build(),
        }
    }

    /// The facts of track `id`, asking player-svc (as `caller`) when they are not kept.
    pub async fn get(
        &self,
        upstreams: &Upstreams,
        caller: &Caller,
        id: &str,
    ) -> Result<Arc<AudioInfo>, ApiError> {
        self.cache
            .try_get_with_by_ref(id, async {
                let manifest = fetch_manifest(upstreams.player(), caller, id).await?;
                if manifest.version.is_empty() {
                    tracing::error!(track = id, "player-svc sent a manifest without a version");
                    return Err(ApiError::new(ErrorCode::Internal, "internal error"));
                }
                Ok(Arc::new(AudioInfo::from_manifest(&manifest)))
            })
            .await
            .map_err(|shared: Arc<ApiError>| (*shared).clone())
    }

    /// Drops what is kept of `id`, found outdated.
    pub async fn forget(&self, id: &str) {
        self.cache.invalidate(id).await;
    }
}

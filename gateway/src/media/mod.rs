//! Audio delivery: the progressive file with HTTP Range, the MSE manifest and segments, the
//! edge cache of audio bytes, what is kept of each track, signed media links and the guard
//! that takes them, and the per-account cap on open streams.
//!
//! It depends on nothing that holds it: its handlers take [`Media`] (`State<Media>`, which
//! `AppState` hands out), and player-svc is reached through [`crate::upstream`].
//!
//! # Layout
//! - [`audio`]: `GET /v1/tracks/{id}/audio`, the progressive Ogg Opus file.
//! - [`offset`]: that file from a time offset, with an exact length (Subsonic `stream`).
//! - [`segments`]: the manifest, its WebM segments, and `audio-url` links.
//! - [`range`]: `Range` header resolution; [`edge_cache`]: blocks of popular files in memory.
//! - [`facts`]: each track's file sizes, blob keys and audio version, kept.
//! - [`direct`]: ranges read straight from player-svc's blob store, when the gateway has it.
//! - [`links`]: signed media links; [`guard`]: the layer taking a bearer token or a link.
//! - [`streams`]: open audio streams per account (shared with the gRPC proxy).

pub mod audio;
pub mod direct;
pub mod edge_cache;
pub mod facts;
pub mod guard;
pub mod links;
pub mod offset;
pub mod range;
pub mod segments;
pub mod streams;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use tunemesh_runtime::blobs::Blobs;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::settings::GatewaySettings;
use crate::upstream::Upstreams;

pub use guard::{MediaCaller, MediaGuard, require_media_caller};
pub use links::MediaTokens;

use edge_cache::AudioCache;
use facts::AudioInfos;
use streams::StreamPermits;

/// The media routes that take a bearer token only: the manifest and `audio-url` links.
pub fn bearer_routes<S>() -> OpenApiRouter<S>
where
    Media: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    OpenApiRouter::default()
        .routes(routes!(segments::manifest))
        .routes(routes!(segments::audio_url))
}

/// The media routes that take a bearer token or a media link (behind [`require_media_caller`]):
/// the audio file and the segments.
pub fn linked_routes<S>() -> OpenApiRouter<S>
where
    Media: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    OpenApiRouter::default()
        .routes(routes!(audio::audio))
        .routes(routes!(segments::segment))
}

/// What the media routes share; cheap to clone.
#[derive(Debug, Clone)]
pub struct Media {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    upstreams: Upstreams,
    links: MediaTokens,
    facts: AudioInfos,
    cache: AudioCache,
    streams: StreamPermits,
    audio_timeout: Duration,
    blobs: Option<Blobs>,
}

impl Media {
    /// Media delivery from player-svc (through `upstreams`, or for progressive files from its
    /// blob store `blobs` when the gateway reads it), minting links with `links`.
    pub fn new(
        upstreams: Upstreams,
        links: MediaTokens,
        blobs: Option<Blobs>,
        settings: &GatewaySettings,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                upstreams,
                links,
                facts: AudioInfos::new(settings.audio_info_capacity, settings.audio_info_ttl),
                cache: AudioCache::new(settings.audio_cache_bytes),
                streams: StreamPermits::new(settings.http.max_streams_per_user),
                audio_timeout: settings.http.audio_timeout,
                blobs: blobs.map(|b| b.counted_as(direct::READ_BYTES)),
            }),
        }
    }

    /// Signed media links.
    pub fn links(&self) -> &MediaTokens {
        &self.inner.links
    }

    /// Open audio streams per account (shared with the gRPC proxy's `StreamAudio`).
    pub fn streams(&self) -> &StreamPermits {
        &self.inner.streams
    }

    /// The rungs track `id` can be served at now (its progressive files), lowest first, as
    /// `caller` sees them; NOT_FOUND for an unknown track.
    pub async fn qualities(
        &self,
        caller: &tunemesh_runtime::identity::Caller,
        id: &str,
    ) -> Result<Vec<tunemesh_proto::quality::Quality>, crate::error::ApiError> {
        let info = self.facts().get(self.upstreams(), caller, id).await?;
        let mut rungs: Vec<_> = info
            .qualities()
            .filter_map(tunemesh_proto::quality::Quality::from_proto)
            .collect();
        rungs.sort_unstable();
        rungs.dedup();
        Ok(rungs)
    }

    fn upstreams(&self) -> &Upstreams {
        &self.inner.upstreams
    }

    fn facts(&self) -> &AudioInfos {
        &self.inner.facts
    }

    fn cache(&self) -> &AudioCache {
        &self.inner.cache
    }

    /// player-svc's blob store, when the gateway reads audio from it directly.
    fn blobs(&self) -> Option<&Blobs> {
        self.inner.blobs.as_ref()
    }

    /// Longest an audio body may stream.
    fn audio_timeout(&self) -> Duration {
        self.inner.audio_timeout
    }
}

//! Cover images at the edge: the stored bytes from player-svc (`CatalogService.GetImage`,
//! through the mesh), resized to a few sizes on a bounded number of blocking threads, and
//! kept in a cache bounded by bytes. The route is `crate::routes::images`.
//!
//! Images go through player-svc rather than the blob store directly: the gateway never
//! touches a service's storage (`docs/architecture.md`), and the cache here means player-svc
//! is asked once per image and size while it stays in memory.
//!
//! # Layout
//! - `settings.rs`: `[gateway.images]`.
//! - `render.rs`: sizes, decoding under limits, resizing, encoding (pure, blocking).
//! - `mosaic.rs`: mosaic ids, which covers make a playlist's, composing one (pure, blocking).
//! - `derived.rs`: the covers of playlists without their own, looked up in the catalogue.

pub(crate) mod derived;
pub(crate) mod mosaic;
pub(crate) mod render;
pub(crate) mod settings;

use std::sync::Arc;

use axum::extract::FromRef;
use bytes::Bytes;
use moka::future::Cache;
use tokio::sync::Semaphore;
use tunemesh_proto::catalog::v1::GetImageRequest;
use tunemesh_runtime::identity::Caller;

use crate::error::ApiError;
use crate::state::AppState;
use crate::upstream::Upstreams;
use render::{Bounds, Format, Resized};
use settings::ImageSettings;

/// Length of an image id: player-svc's hex SHA-256 of the bytes.
const ID_LEN: usize = 64;

/// Whether `id` has the shape of a stored image's id; checked before anything is fetched.
pub(crate) fn valid_id(id: &str) -> bool {
    id.len() == ID_LEN && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Whether `id` names an image the route serves: a stored one, or a mosaic of four.
pub(crate) fn servable_id(id: &str) -> bool {
    valid_id(id) || mosaic::parts(id).is_some()
}

/// The path clients fetch the image `id` from: the one place the edge's URL scheme for
/// images is decided (services hand out ids only).
pub(crate) fn url(id: &str) -> String {
    format!("/v1/images/{id}")
}

/// Which rendering of an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variant {
    /// The stored bytes, as ingested.
    Original,
    /// Fitted in a square of this many pixels (one of [`render::SIZES`]), in this format.
    Sized(u32, Format),
}

impl Variant {
    /// A strong validator: the id is a hash of the source (a mosaic's, its parts' hashes),
    /// and a variant of it is the same bytes every time for one rendering version (bump the
    /// `r1` when resizing changes, the `m1` when composing mosaics does).
    pub fn etag(self, id: &str) -> String {
        let mosaic = if mosaic::parts(id).is_some() {
            "-m1"
        } else {
            ""
        };
        match self {
            Self::Original => format!("\"{id}{mosaic}\""),
            Self::Sized(size, format) => {
                format!("\"{id}-{size}-{}-r1{mosaic}\"", format.name())
            }
        }
    }
}

/// Bytes to answer with and their media type.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The encoded image.
    pub bytes: Bytes,
    /// Its IANA media type.
    pub media_type: Arc<str>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    id: Arc<str>,
    variant: Variant,
}

/// The images of the edge; cheap to clone.
#[derive(Debug, Clone)]
pub struct Images {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    upstreams: Upstreams,
    cache: Cache<Key, Rendered>,
    /// Resizes under way at once: each holds a decoded image and a CPU.
    resizes: Arc<Semaphore>,
    bounds: Bounds,
    webp: bool,
}

/// Who the gateway says it is when it fetches an image: the route is public, so there is no
/// user, and the catalogue answers every verified caller alike.
fn edge_caller() -> Caller {
    Caller::new("gateway-images".to_owned(), Vec::new())
}

impl Images {
    /// Images fetched through `upstreams`, rendered and cached as `settings` say.
    pub fn new(upstreams: Upstreams, settings: &ImageSettings) -> Self {
        let cache = Cache::builder()
            .max_capacity(settings.cache_bytes)
            .weigher(|key: &Key, value: &Rendered| {
                let bytes = value.bytes.len() + key.id.len() + 64;
                u32::try_from(bytes).unwrap_or(u32::MAX)
            })
            .build();
        Self {
            inner: Arc::new(Inner {
                upstreams,
                cache,
                resizes: Arc::new(Semaphore::new(settings.max_concurrent_resizes.max(1))),
                bounds: Bounds {
                    max_dimension: settings.max_source_dimension,
                    max_alloc: settings.max_decode_bytes,
                    jpeg_quality: settings.jpeg_quality,
                },
                webp: settings.webp,
            }),
        }
    }

    /// The format to resize into for a client sending `accept`.
    pub fn negotiate(&self, accept: &str) -> Format {
        let wants_webp = accept
            .split(',')
            .filter_map(|range| {
                let mut parts = range.split(';').map(str::trim);
                let media = parts.next()?;
                // `q=0` says "not this one".
                let refused = parts.any(|p| p.replace(' ', "").eq_ignore_ascii_case("q=0"));
                Some((media, refused))
            })
            .any(|(media, refused)| media.eq_ignore_ascii_case("image/webp") && !refused);
        if self.inner.webp && wants_webp {
            Format::WebP
        } else {
            Format::Jpeg
        }
    }

    /// The image `id` as `variant`: from the cache, or fetched (and resized) once however
    /// many requests ask at the same time. NOT_FOUND for an unknown id.
    pub async fn get(&self, id: &str, variant: Variant) -> Result<Rendered, ApiError> {
        let key = Key {
            id: Arc::from(id),
            variant,
        };
        let init = async {
            match (mosaic::parts(id), variant) {
                // A mosaic has no stored form: without a size, the largest rendering.
                (Some(parts), Variant::Original) => {
                    self.mosaic(parts, render::LARGEST, Format::Jpeg).await
                }
                (Some(parts), Variant::Sized(size, format)) => {
                    self.mosaic(parts, size, format).await
                }
                (None, Variant::Original) => self.fetch(id).await,
                (None, Variant::Sized(size, format)) => self.render(id, size, format).await,
            }
        };
        self.inner
            .cache
            .try_get_with(key, init)
            .await
            .map_err(|e| ApiError::clone(&e))
    }

    async fn fetch(&self, id: &str) -> Result<Rendered, ApiError> {
        let request = GetImageRequest {
            image_id: id.to_owned(),
        };
        let image = self
            .inner
            .upstreams
            .catalog()
            .call(&edge_caller(), request, async |c, r| c.get_image(r).await)
            .await?;
        Ok(Rendered {
            bytes: image.data,
            media_type: Arc::from(image.media_type),
        })
    }

    async fn render(&self, id: &str, size: u32, format: Format) -> Result<Rendered, ApiError> {
        // Through the cache too: the sizes of one image share one fetch.
        let original = Box::pin(self.get(id, Variant::Original)).await?;
        let permit = Arc::clone(&self.inner.resizes)
            .acquire_owned()
            .await
            .map_err(|e| ApiError::internal(&e))?;
        let (source, bounds) = (original.bytes.clone(), self.inner.bounds);
        // The permit moves into the blocking task: a client that gives up does not free a
        // slot while its resize still runs.
        let resized = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            render::resize(&source, size, format, bounds)
        })
        .await
        .map_err(|e| ApiError::internal(&e))?;
        Ok(match resized {
            Resized::Encoded(bytes) => Rendered {
                bytes: Bytes::from(bytes),
                media_type: Arc::from(format.media_type()),
            },
            Resized::Fits => original,
            Resized::Undecodable(reason) => {
                tracing::warn!(image = id, %reason, "serving an image unresized");
                original
            }
        })
    }
}

impl Images {
    /// The mosaic of `parts`, `size` pixels square. Each part comes through the cache at the
    /// served size of its quarter (JPEG), the rendering a cover shown alone at that size uses
    /// too, so a mosaic decodes four small images, and its parts' fetches and resizes are
    /// shared with every other use of those covers.
    async fn mosaic(
        &self,
        parts: [&str; mosaic::PARTS],
        size: u32,
        format: Format,
    ) -> Result<Rendered, ApiError> {
        let quarter = Variant::Sized(render::snap(size / 2).unwrap_or(size), Format::Jpeg);
        let [a, b, c, d] = parts.map(|id| Box::pin(self.get(id, quarter)));
        let (a, b, c, d) = tokio::try_join!(a, b, c, d)?;
        let permit = Arc::clone(&self.inner.resizes)
            .acquire_owned()
            .await
            .map_err(|e| ApiError::internal(&e))?;
        let bounds = self.inner.bounds;
        let composed = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            mosaic::compose(
                [&a.bytes, &b.bytes, &c.bytes, &d.bytes],
                size,
                format,
                bounds,
            )
        })
        .await
        .map_err(|e| ApiError::internal(&e))?
        .map_err(|e| ApiError::internal(&e))?;
        Ok(Rendered {
            bytes: Bytes::from(composed),
            media_type: Arc::from(format.media_type()),
        })
    }
}

/// The image route takes only this state, so it never names `AppState`'s other parts.
impl FromRef<AppState> for Images {
    fn from_ref(state: &AppState) -> Self {
        state.images().clone()
    }
}

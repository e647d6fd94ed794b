//! Settings of the image route (`[gateway.images]`, `TUNEMESH_GATEWAY__IMAGES__*`).

use serde::Deserialize;

/// How covers are resized, encoded and cached at the edge.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImageSettings {
    /// Memory for resized images (and the originals they come from), in bytes; 0 keeps none.
    pub cache_bytes: u64,
    /// Resizes running at once; more wait. Each holds a decoded image (at most
    /// `max_decode_bytes`), so this times that bounds their memory.
    pub max_concurrent_resizes: usize,
    /// Widest or tallest source image decoded, in pixels; a larger one is served unresized.
    pub max_source_dimension: u32,
    /// Most memory one decode may allocate, in bytes: a small file that claims a huge
    /// picture (a decompression bomb) is refused before it is decoded.
    pub max_decode_bytes: u64,
    /// JPEG quality of resized images, 1 to 100.
    pub jpeg_quality: u8,
    /// Answer WebP to clients that accept it. Off by default: the encoder at hand is
    /// lossless only, and its files were several times larger than JPEG's at quality 82.
    pub webp: bool,
}

impl Default for ImageSettings {
    fn default() -> Self {
        Self {
            cache_bytes: 64 << 20,
            max_concurrent_resizes: 2,
            max_source_dimension: 8192,
            max_decode_bytes: 128 << 20,
            jpeg_quality: 82,
            webp: false,
        }
    }
}

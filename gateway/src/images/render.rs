//! The pure image work, run on a blocking thread: the sizes served, decoding under limits,
//! resizing, encoding. Nothing here is async or touches the network.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::webp::WebPEncoder;
use image::imageops::FilterType;
use image::{DynamicImage, ExtendedColorType, ImageEncoder as _, ImageReader, Limits};

/// The sizes served, in pixels of the longest side. Requests are rounded up to one of them,
/// so every cache (ours, the browser's, a CDN's) holds a handful of variants per image.
pub(crate) const SIZES: [u32; 5] = [64, 128, 256, 512, 1024];

/// The largest size served.
pub(crate) const LARGEST: u32 = SIZES[SIZES.len() - 1];

/// Largest size a request may name; anything above the largest served size gets that.
pub(crate) const MAX_REQUESTED: u32 = 4096;

/// The served size for a requested one; `None` for 0 or more than [`MAX_REQUESTED`].
pub(crate) fn snap(requested: u32) -> Option<u32> {
    if requested == 0 || requested > MAX_REQUESTED {
        return None;
    }
    Some(
        SIZES
            .into_iter()
            .find(|s| *s >= requested)
            .unwrap_or(LARGEST),
    )
}

/// An output encoding of a resized image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// JPEG: small, understood everywhere; the default.
    Jpeg,
    /// Lossless WebP, only when enabled and accepted.
    WebP,
}

impl Format {
    /// The IANA media type.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::WebP => "image/webp",
        }
    }

    /// A short name, for ETags.
    pub fn name(self) -> &'static str {
        match self {
            Self::Jpeg => "jpeg",
            Self::WebP => "webp",
        }
    }
}

/// How a source may be decoded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bounds {
    /// Widest or tallest source decoded.
    pub max_dimension: u32,
    /// Most bytes one decode may allocate.
    pub max_alloc: u64,
    /// JPEG quality, 1 to 100.
    pub jpeg_quality: u8,
}

/// What became of a resize.
#[derive(Debug)]
pub(crate) enum Resized {
    /// The encoded, smaller image.
    Encoded(Vec<u8>),
    /// The source already fits the size: serve it as it is.
    Fits,
    /// The source could not be decoded within the bounds (an unknown format, a corrupt file,
    /// one too large): serve it as it is, and let the client scale it.
    Undecodable(String),
}

/// A reader of `source` that refuses, from its header, pictures larger than `bounds` allow.
fn reader(source: &[u8], bounds: Bounds) -> image::ImageResult<ImageReader<Cursor<&[u8]>>> {
    let mut limits = Limits::default();
    limits.max_image_width = Some(bounds.max_dimension);
    limits.max_image_height = Some(bounds.max_dimension);
    limits.max_alloc = Some(bounds.max_alloc);
    let mut reader = ImageReader::new(Cursor::new(source)).with_guessed_format()?;
    reader.limits(limits);
    Ok(reader)
}

/// `source` decoded within `bounds`.
pub(crate) fn decode(source: &[u8], bounds: Bounds) -> image::ImageResult<DynamicImage> {
    reader(source, bounds)?.decode()
}

/// `image` shrunk to fit in `size`×`size`, aspect kept.
pub(crate) fn shrink(image: &DynamicImage, size: u32) -> DynamicImage {
    // Far larger sources are sampled down by area averaging (integer, one pass, no buffer
    // beside the result); a filter's float intermediate image would be as large as the
    // source's height times the target's width. Near the size, where averaging aliases,
    // the filter is cheap anyway.
    if image.width().max(image.height()) > size.saturating_mul(2) {
        image.thumbnail(size, size)
    } else {
        image.resize(size, size, FilterType::CatmullRom)
    }
}

/// `source` made to fit in `size`×`size` (aspect kept, never enlarged), encoded as `format`.
pub(crate) fn resize(source: &[u8], size: u32, format: Format, bounds: Bounds) -> Resized {
    // The header alone says whether there is anything to do, before any pixel is decoded.
    let dimensions = reader(source, bounds).and_then(ImageReader::into_dimensions);
    match dimensions {
        Ok((w, h)) if w <= size && h <= size => return Resized::Fits,
        Ok(_) => {}
        Err(e) => return Resized::Undecodable(e.to_string()),
    }
    let decoded = match decode(source, bounds) {
        Ok(decoded) => decoded,
        Err(e) => return Resized::Undecodable(e.to_string()),
    };
    match encode(&shrink(&decoded, size), format, bounds.jpeg_quality) {
        Ok(bytes) => Resized::Encoded(bytes),
        Err(e) => Resized::Undecodable(e.to_string()),
    }
}

/// `image` encoded as `format` (JPEG at `quality`, over white where it is transparent).
pub(crate) fn encode(
    image: &DynamicImage,
    format: Format,
    quality: u8,
) -> image::ImageResult<Vec<u8>> {
    let mut out = Vec::new();
    let (w, h) = (image.width(), image.height());
    match format {
        Format::Jpeg => {
            let rgb = on_white(image);
            JpegEncoder::new_with_quality(&mut out, quality.clamp(1, 100)).write_image(
                rgb.as_raw(),
                w,
                h,
                ExtendedColorType::Rgb8,
            )?;
        }
        Format::WebP => {
            let rgba = image.to_rgba8();
            WebPEncoder::new_lossless(&mut out).write_image(
                rgba.as_raw(),
                w,
                h,
                ExtendedColorType::Rgba8,
            )?;
        }
    }
    Ok(out)
}

/// The image over a white background: JPEG has no alpha, and dropping it would turn
/// transparent pixels into whatever colour they happen to hold (often black).
pub(super) fn on_white(image: &DynamicImage) -> image::RgbImage {
    if !image.color().has_alpha() {
        return image.to_rgb8();
    }
    let rgba = image.to_rgba8();
    image::RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let blend = |c: u8| {
            let (c, a) = (u16::from(c), u16::from(a));
            // c·a + 255·(255 − a), over 255, rounded; at most 255.
            u8::try_from((c * a + 255 * (255 - a) + 127) / 255).unwrap_or(u8::MAX)
        };
        image::Rgb([blend(r), blend(g), blend(b)])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNDS: Bounds = Bounds {
        max_dimension: 4096,
        max_alloc: 64 << 20,
        jpeg_quality: 82,
    };

    fn png(w: u32, h: u32) -> Vec<u8> {
        let image = image::RgbaImage::from_fn(w, h, |x, y| {
            image::Rgba([(x % 256) as u8, (y % 256) as u8, 90, 255])
        });
        let mut out = Vec::new();
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(image.as_raw(), w, h, ExtendedColorType::Rgba8)
            .unwrap_or_else(|e| panic!("png: {e}"));
        out
    }

    #[test]
    fn sizes_snap_up_to_the_served_ones_and_refuse_nonsense() {
        assert_eq!(snap(1), Some(64));
        assert_eq!(snap(64), Some(64));
        assert_eq!(snap(65), Some(128));
        assert_eq!(snap(300), Some(512));
        assert_eq!(snap(1024), Some(1024));
        assert_eq!(snap(4096), Some(1024));
        assert_eq!(snap(0), None);
        assert_eq!(snap(4097), None);
    }

    #[test]
    fn a_large_image_shrinks_to_fit_keeping_its_aspect() {
        let Resized::Encoded(jpeg) = resize(&png(600, 300), 128, Format::Jpeg, BOUNDS) else {
            panic!("not resized");
        };
        let decoded = image::load_from_memory(&jpeg).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((decoded.width(), decoded.height()), (128, 64));
        assert_eq!(&jpeg[..3], &[0xFF, 0xD8, 0xFF]);
    }

    #[test]
    fn a_small_image_is_never_enlarged() {
        assert!(matches!(
            resize(&png(40, 40), 64, Format::Jpeg, BOUNDS),
            Resized::Fits
        ));
    }

    #[test]
    fn garbage_and_oversized_sources_are_undecodable_not_a_panic() {
        assert!(matches!(
            resize(b"not an image", 64, Format::Jpeg, BOUNDS),
            Resized::Undecodable(_)
        ));
        let tight = Bounds {
            max_dimension: 100,
            ..BOUNDS
        };
        assert!(matches!(
            resize(&png(200, 200), 64, Format::Jpeg, tight),
            Resized::Undecodable(_)
        ));
    }

    #[test]
    fn transparency_becomes_white_in_jpeg() {
        let clear = image::DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(
            2,
            2,
            image::Rgba([0, 0, 0, 0]),
        ));
        assert_eq!(on_white(&clear).get_pixel(0, 0).0, [255, 255, 255]);
    }
}

//! Mosaics: the picture of a playlist without a cover of its own, four covers in a 2×2 grid.
//!
//! A mosaic's id is its four image ids joined by `.`, so it is derived from its parts alone:
//! equal parts make one mosaic, cached once, with one strong ETag, and it never changes under
//! its id because none of its parts does. Clients fetch it like any image
//! (`/v1/images/{a}.{b}.{c}.{d}?size=N`); which covers make it is [`derive`]'s rule, the one
//! `Playlist.first_track_ids` documents in the contract.

use image::{DynamicImage, Rgb, RgbImage, imageops};
use tunemesh_proto::common::v1::Image as PbImage;

use super::render::{self, Bounds, Format};
use super::valid_id;

/// Pictures in a mosaic.
pub(crate) const PARTS: usize = 4;

/// Between the parts' ids in a mosaic's id: never in an id itself (hexadecimal), and safe in
/// a URL path segment.
const SEPARATOR: char = '.';

/// The colour of a part that cannot be decoded: the mosaic still shows the other three.
const MISSING: Rgb<u8> = Rgb([0x8a, 0x8a, 0x8a]);

/// The image ids of the mosaic `id`, in reading order; `None` when `id` is not a mosaic's
/// (a plain image id, or anything malformed: other counts, ids that are not 64 hex digits).
pub(crate) fn parts(id: &str) -> Option<[&str; PARTS]> {
    // Cheap refusal before splitting: a mosaic id has exactly this length.
    if id.len() != PARTS * 65 - 1 {
        return None;
    }
    let mut split = id.split(SEPARATOR);
    let parts = [split.next()?, split.next()?, split.next()?, split.next()?];
    (split.next().is_none() && parts.iter().all(|p| valid_id(p))).then_some(parts)
}

/// The id of the mosaic of `parts`.
pub(crate) fn id(parts: [&str; PARTS]) -> String {
    parts.join(".")
}

/// The cover of a playlist without one of its own, from the covers of its first tracks in
/// order (tracks without one left out by the caller): the distinct covers, repeats skipped;
/// with four or more, the mosaic of the first four; with one to three, the first (a grid
/// with a hole or a repeat looks broken, one whole cover does not); with none, none.
pub(crate) fn derive<'a>(covers: impl IntoIterator<Item = &'a PbImage>) -> Option<PbImage> {
    let mut distinct: Vec<&PbImage> = Vec::with_capacity(PARTS);
    for cover in covers {
        // Only ids a mosaic can carry; anything else from upstream is ignored, not passed on.
        if valid_id(&cover.id) && !distinct.iter().any(|d| d.id == cover.id) {
            distinct.push(cover);
            if distinct.len() == PARTS {
                break;
            }
        }
    }
    match distinct.as_slice() {
        [] => None,
        [a, b, c, d] => Some(PbImage {
            id: id([&a.id, &b.id, &c.id, &d.id]),
            // Mosaics are rendered, always as JPEG unless WebP is negotiated.
            media_type: Format::Jpeg.media_type().to_owned(),
            ..PbImage::default()
        }),
        [first, ..] => Some((*first).clone()),
    }
}

/// The mosaic of `parts` (encoded images, in reading order), `size`×`size` pixels, encoded
/// as `format`: each part cropped to its centre square and scaled into its quarter. Blocking.
pub(crate) fn compose(
    parts: [&[u8]; PARTS],
    size: u32,
    format: Format,
    bounds: Bounds,
) -> image::ImageResult<Vec<u8>> {
    let half = size / 2;
    let mut canvas = RgbImage::from_pixel(size, size, MISSING);
    for (index, part) in (0_u32..).zip(parts) {
        let (x, y) = (index % 2 * half, index / 2 * half);
        match render::decode(part, bounds) {
            Ok(image) => imageops::replace(&mut canvas, &fill(&image, half), x.into(), y.into()),
            Err(error) => tracing::warn!(index, %error, "a mosaic part is undecodable"),
        }
    }
    render::encode(
        &DynamicImage::ImageRgb8(canvas),
        format,
        bounds.jpeg_quality,
    )
}

/// `image`'s centre square scaled to `side`×`side`, over white where it is transparent.
fn fill(image: &DynamicImage, side: u32) -> RgbImage {
    let square = image.width().min(image.height());
    let cropped = image.crop_imm(
        (image.width() - square) / 2,
        (image.height() - square) / 2,
        square,
        square,
    );
    let scaled = if square > side.saturating_mul(2) {
        cropped.thumbnail_exact(side, side)
    } else {
        cropped.resize_exact(side, side, imageops::FilterType::CatmullRom)
    };
    render::on_white(&scaled)
}

#[cfg(test)]
mod tests {
    use image::{ExtendedColorType, ImageEncoder as _};

    use super::*;

    const BOUNDS: Bounds = Bounds {
        max_dimension: 4096,
        max_alloc: 64 << 20,
        jpeg_quality: 90,
    };

    fn hex(n: u8) -> String {
        format!("{n:x}").repeat(64)
    }

    fn cover(n: u8) -> PbImage {
        PbImage {
            id: hex(n),
            media_type: "image/png".to_owned(),
            ..PbImage::default()
        }
    }

    fn png(w: u32, h: u32, colour: [u8; 3]) -> Vec<u8> {
        let image = RgbImage::from_pixel(w, h, Rgb(colour));
        let mut out = Vec::new();
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(image.as_raw(), w, h, ExtendedColorType::Rgb8)
            .unwrap_or_else(|e| panic!("png: {e}"));
        out
    }

    #[test]
    fn a_mosaic_id_is_four_image_ids_and_nothing_else() {
        let ids = [hex(10), hex(2), hex(3), hex(4)];
        let four = id([&ids[0], &ids[1], &ids[2], &ids[3]]);
        let expected: [&str; PARTS] = [&ids[0], &ids[1], &ids[2], &ids[3]];
        assert_eq!(parts(&four), Some(expected));
        let three = ids[..3].join(".");
        let five = [&four, &ids[0]].map(String::as_str).join(".");
        let upper = four.to_uppercase();
        let shifted = format!("{}.", &four[..four.len() - 1]);
        for bad in [&hex(1), &three, &five, &upper, &shifted, "", "...."] {
            assert_eq!(parts(bad), None, "{bad}");
        }
    }

    #[test]
    fn four_distinct_covers_make_a_mosaic_fewer_the_first_one() {
        let covers = [
            cover(1),
            cover(1),
            cover(2),
            cover(3),
            cover(2),
            cover(4),
            cover(5),
        ];
        let mosaic = derive(&covers).unwrap_or_default();
        assert_eq!(mosaic.id, id([&hex(1), &hex(2), &hex(3), &hex(4)]));
        assert_eq!(mosaic.media_type, "image/jpeg");
        assert_eq!(derive(&covers[..4]), Some(cover(1)), "three distinct");
        assert_eq!(derive(&[]), None);
        let bad = PbImage {
            id: "../etc".to_owned(),
            ..PbImage::default()
        };
        assert_eq!(derive([&bad]), None, "upstream ids are checked too");
    }

    #[test]
    fn each_part_fills_its_quarter_cropped_to_its_centre() {
        let (red, green, blue) = ([250, 0, 0], [0, 250, 0], [0, 0, 250]);
        // A wide part: its centre square is green, its sides red.
        let mut wide = RgbImage::from_pixel(300, 100, Rgb(red));
        for x in 100..200 {
            for y in 0..100 {
                wide.put_pixel(x, y, Rgb(green));
            }
        }
        let mut wide_png = Vec::new();
        image::codecs::png::PngEncoder::new(&mut wide_png)
            .write_image(wide.as_raw(), 300, 100, ExtendedColorType::Rgb8)
            .unwrap_or_else(|e| panic!("png: {e}"));
        // A small part is enlarged, a large one sampled down, a broken one left grey.
        let (small, large) = (png(20, 20, red), png(500, 500, blue));
        let parts = [&small[..], &wide_png[..], b"not an image", &large[..]];
        let jpeg = compose(parts, 128, Format::Jpeg, BOUNDS).unwrap_or_else(|e| panic!("{e}"));
        let out = image::load_from_memory(&jpeg)
            .unwrap_or_else(|e| panic!("{e}"))
            .to_rgb8();
        assert_eq!(out.dimensions(), (128, 128));
        let near = |at: (u32, u32), want: [u8; 3]| {
            let got = out.get_pixel(at.0, at.1).0;
            let close = got.iter().zip(want).all(|(g, w)| g.abs_diff(w) < 40);
            assert!(close, "{at:?}: {got:?} is not {want:?}");
        };
        near((32, 32), red);
        near((96, 32), green);
        near((32, 96), MISSING.0);
        near((96, 96), blue);
    }
}

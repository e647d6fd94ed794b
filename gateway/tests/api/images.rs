//! `GET /v1/images/{id}`: real encoded images (made with the `image` crate) served by the
//! fake player-svc's `GetImage`, resized at the edge, cached, and validated by ETag; a
//! hostile image that claims a huge picture is never decoded.

use image::{ExtendedColorType, ImageEncoder as _};
use reqwest::Method;
use sha2::{Digest as _, Sha256};

use crate::support::{self, TestGateway, error_code, header, status_and_json};

/// A 900×600 photo-like JPEG: smooth gradients under fine noise, as a scanned cover has.
fn photo_jpeg() -> Vec<u8> {
    let image = image::RgbImage::from_fn(900, 600, |x, y| {
        let noise = (x.wrapping_mul(7919) ^ y.wrapping_mul(104_729)) % 23;
        image::Rgb([
            ((x * 255 / 900 + noise) % 256) as u8,
            ((y * 255 / 600 + noise) % 256) as u8,
            ((x + y) % 256) as u8,
        ])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .write_image(image.as_raw(), 900, 600, ExtendedColorType::Rgb8)
        .unwrap_or_else(|e| panic!("jpeg: {e}"));
    out
}

/// A `w`×`h` PNG with transparency.
pub fn png(w: u32, h: u32) -> Vec<u8> {
    let image = image::RgbaImage::from_fn(w, h, |x, y| {
        image::Rgba([(x % 256) as u8, (y % 256) as u8, 200, (x % 256) as u8])
    });
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(image.as_raw(), w, h, ExtendedColorType::Rgba8)
        .unwrap_or_else(|e| panic!("png: {e}"));
    out
}

/// A real 1×1 PNG whose header then claims 100,000×100,000 pixels (40 GB decoded): a
/// decompression bomb's shape, without its bulk.
fn bomb_png() -> Vec<u8> {
    let mut bytes = png(1, 1);
    // IHDR's data starts after the signature (8), the length (4) and the type (4).
    bytes[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    bytes[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let crc = crc32(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    bytes
}

/// The CRC-32 PNG chunks carry (over type and data).
fn crc32(data: &[u8]) -> u32 {
    let mut crc = u32::MAX;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Makes the fake player-svc serve `bytes`; their id.
fn store(gateway: &TestGateway, bytes: Vec<u8>) -> String {
    let id = hex::encode(Sha256::digest(&bytes));
    let mut seen = gateway
        .upstream
        .seen
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    seen.images.insert(id.clone(), bytes);
    id
}

fn fetches(gateway: &TestGateway) -> usize {
    let seen = gateway
        .upstream
        .seen
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    seen.image_fetches
}

async fn get(gateway: &TestGateway, path: &str) -> anyhow::Result<reqwest::Response> {
    Ok(gateway.request(Method::GET, path).send().await?)
}

#[tokio::test]
async fn an_image_is_served_without_a_token_resized_to_the_snapped_size_as_jpeg()
-> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let id = store(&gateway, photo_jpeg());
    let response = get(&gateway, &format!("/v1/images/{id}?size=100")).await?;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), "image/jpeg");
    assert_eq!(
        header(&response, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(header(&response, "vary"), "Accept");
    let etag = header(&response, "etag");
    assert!(etag.starts_with(&format!("\"{id}-128-")), "{etag}");
    let bytes = response.bytes().await?;
    let image = image::load_from_memory(&bytes)?;
    // 100 snaps up to 128; 900×600 keeps its aspect inside 128×128.
    assert_eq!((image.width(), image.height()), (128, 85));
    Ok(())
}

#[tokio::test]
async fn each_size_is_fetched_and_resized_once_then_served_from_the_cache() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let id = store(&gateway, photo_jpeg());
    let first = get(&gateway, &format!("/v1/images/{id}?size=200")).await?;
    let first = first.bytes().await?;
    // 200 and 256 are the same rendering; 64 is another, made from the same fetch.
    let again = get(&gateway, &format!("/v1/images/{id}?size=256")).await?;
    assert_eq!(again.bytes().await?, first);
    let small = get(&gateway, &format!("/v1/images/{id}?size=64")).await?;
    assert_eq!(small.status(), 200);
    assert_eq!(fetches(&gateway), 1, "player-svc asked once");
    Ok(())
}

#[tokio::test]
async fn if_none_match_with_the_etag_answers_304_without_a_body() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let id = store(&gateway, photo_jpeg());
    let path = format!("/v1/images/{id}?size=64");
    let etag = header(&get(&gateway, &path).await?, "etag");
    let response = gateway
        .request(Method::GET, &path)
        .header("if-none-match", &etag)
        .send()
        .await?;
    assert_eq!(response.status(), 304);
    assert_eq!(header(&response, "etag"), etag);
    assert!(response.bytes().await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn without_a_size_or_when_smaller_the_stored_bytes_are_served_as_they_are()
-> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let small = png(40, 30);
    let id = store(&gateway, small.clone());
    for path in [
        format!("/v1/images/{id}"),
        format!("/v1/images/{id}?size=64"),
    ] {
        let response = get(&gateway, &path).await?;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(header(&response, "content-type"), "image/png", "{path}");
        assert_eq!(&response.bytes().await?[..], &small[..], "{path}");
    }
    Ok(())
}

#[tokio::test]
async fn transparent_images_become_jpeg_on_white() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let id = store(&gateway, png(300, 300));
    let response = get(&gateway, &format!("/v1/images/{id}?size=64")).await?;
    assert_eq!(header(&response, "content-type"), "image/jpeg");
    let image = image::load_from_memory(&response.bytes().await?)?.to_rgb8();
    assert_eq!(image.dimensions(), (64, 64));
    // The top-left corner is fully transparent in the source.
    let [r, g, b] = image.get_pixel(0, 0).0;
    assert!(r > 230 && g > 230 && b > 230, "{:?}", [r, g, b]);
    Ok(())
}

#[tokio::test]
async fn unknown_ids_answer_404_and_malformed_ids_or_sizes_400() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let id = store(&gateway, photo_jpeg());
    let unknown = "0".repeat(64);
    let (status, body) =
        status_and_json(get(&gateway, &format!("/v1/images/{unknown}")).await?).await?;
    assert_eq!(status, 404);
    error_code(&body, "not_found");
    for path in [
        "/v1/images/abc".to_owned(),
        format!("/v1/images/{}", "A".repeat(64)),
        format!("/v1/images/{id}?size=0"),
        format!("/v1/images/{id}?size=5000"),
        format!("/v1/images/{id}?size=-1"),
        format!("/v1/images/{id}?size=big"),
    ] {
        let (status, body) = status_and_json(get(&gateway, &path).await?).await?;
        assert_eq!(status, 400, "{path}: {body}");
        error_code(&body, "invalid_argument");
    }
    Ok(())
}

#[tokio::test]
async fn an_image_claiming_a_huge_picture_is_served_unresized_and_never_decoded()
-> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let bomb = bomb_png();
    let id = store(&gateway, bomb.clone());
    let response = get(&gateway, &format!("/v1/images/{id}?size=64")).await?;
    assert_eq!(response.status(), 200);
    assert_eq!(&response.bytes().await?[..], &bomb[..]);
    // The gateway is still here and still resizing.
    let photo = store(&gateway, photo_jpeg());
    let response = get(&gateway, &format!("/v1/images/{photo}?size=64")).await?;
    assert_eq!(header(&response, "content-type"), "image/jpeg");
    Ok(())
}

#[tokio::test]
async fn webp_is_answered_only_when_enabled_and_accepted() -> anyhow::Result<()> {
    let mut settings = support::settings();
    settings.images.webp = true;
    let gateway = support::spawn_with(settings).await?;
    let id = store(&gateway, photo_jpeg());
    let path = format!("/v1/images/{id}?size=128");
    let webp = gateway
        .request(Method::GET, &path)
        .header("accept", "image/avif,image/webp,*/*;q=0.8")
        .send()
        .await?;
    assert_eq!(header(&webp, "content-type"), "image/webp");
    let webp_etag = header(&webp, "etag");
    let image = image::load_from_memory(&webp.bytes().await?)?;
    assert_eq!((image.width(), image.height()), (128, 85));
    let jpeg = gateway
        .request(Method::GET, &path)
        .header("accept", "image/webp;q=0, */*")
        .send()
        .await?;
    assert_eq!(header(&jpeg, "content-type"), "image/jpeg");
    assert_ne!(
        header(&jpeg, "etag"),
        webp_etag,
        "each rendering its own tag"
    );

    // Off (the default): JPEG whatever the client accepts.
    let gateway = support::spawn().await?;
    let id = store(&gateway, photo_jpeg());
    let response = gateway
        .request(Method::GET, &format!("/v1/images/{id}?size=128"))
        .header("accept", "image/webp")
        .send()
        .await?;
    assert_eq!(header(&response, "content-type"), "image/jpeg");
    Ok(())
}

/// A `size`×`size` PNG of one colour, stored under the id `digit` × 64 (the fake player-svc
/// serves any id it is given).
fn store_colour(gateway: &TestGateway, digit: char, colour: [u8; 3]) -> String {
    let image = image::RgbImage::from_pixel(300, 300, image::Rgb(colour));
    let mut bytes = Vec::new();
    image::codecs::png::PngEncoder::new(&mut bytes)
        .write_image(image.as_raw(), 300, 300, ExtendedColorType::Rgb8)
        .unwrap_or_else(|e| panic!("png: {e}"));
    let id = digit.to_string().repeat(64);
    let mut seen = gateway
        .upstream
        .seen
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    seen.images.insert(id.clone(), bytes);
    id
}

#[tokio::test]
async fn four_ids_joined_by_dots_are_served_as_their_mosaic() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let colours = [[250, 0, 0], [0, 250, 0], [0, 0, 250], [250, 250, 0]];
    let ids: Vec<String> = ['a', 'b', 'c', 'd']
        .into_iter()
        .zip(colours)
        .map(|(digit, colour)| store_colour(&gateway, digit, colour))
        .collect();
    let mosaic = ids.join(".");
    let path = format!("/v1/images/{mosaic}?size=100");
    let response = get(&gateway, &path).await?;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), "image/jpeg");
    assert_eq!(
        header(&response, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    let etag = header(&response, "etag");
    assert_eq!(etag, format!("\"{mosaic}-128-jpeg-r1-m1\""));
    let image = image::load_from_memory(&response.bytes().await?)?.to_rgb8();
    assert_eq!(image.dimensions(), (128, 128));
    for (at, colour) in [(32, 32), (96, 32), (32, 96), (96, 96)]
        .into_iter()
        .zip(colours)
    {
        let got = image.get_pixel(at.0, at.1).0;
        let close = got.iter().zip(colour).all(|(g, w)| g.abs_diff(w) < 40);
        assert!(close, "{at:?}: {got:?} is not {colour:?}");
    }
    // Each part was fetched once, and a second rendering reuses them.
    let again = get(&gateway, &format!("/v1/images/{mosaic}?size=256")).await?;
    assert_eq!(again.status(), 200);
    assert_eq!(fetches(&gateway), 4);
    let response = gateway
        .request(Method::GET, &path)
        .header("if-none-match", &etag)
        .send()
        .await?;
    assert_eq!(response.status(), 304);
    // Without a size, the largest rendering.
    let whole = get(&gateway, &format!("/v1/images/{mosaic}")).await?;
    let whole = image::load_from_memory(&whole.bytes().await?)?;
    assert_eq!((whole.width(), whole.height()), (1024, 1024));
    Ok(())
}

#[tokio::test]
async fn a_mosaic_of_an_unknown_part_is_404_and_malformed_ones_400() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let ids: Vec<String> = ['a', 'b', 'c']
        .into_iter()
        .map(|digit| store_colour(&gateway, digit, [9, 9, 9]))
        .collect();
    let unknown = format!("{}.{}", ids.join("."), "0".repeat(64));
    let (status, body) =
        status_and_json(get(&gateway, &format!("/v1/images/{unknown}?size=64")).await?).await?;
    assert_eq!(status, 404, "{body}");
    error_code(&body, "not_found");
    let four = format!("{}.{}", ids.join("."), ids[0]);
    for path in [
        format!("/v1/images/{}", ids.join(".")),
        format!("/v1/images/{four}.{}", ids[1]),
        format!("/v1/images/{}", four.replace('.', "-")),
        format!("/v1/images/{}..{}", ids.join("."), "a".repeat(63)),
        format!("/v1/images/{}", four.to_uppercase()),
        format!("/v1/images/{four}?size=0"),
    ] {
        let (status, body) = status_and_json(get(&gateway, &path).await?).await?;
        assert_eq!(status, 400, "{path}: {body}");
        error_code(&body, "invalid_argument");
    }
    Ok(())
}

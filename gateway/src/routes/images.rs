//! `GET /v1/images/{id}?size=N`: cover images, resized to a few sizes, cacheable for ever;
//! an id of four image ids joined by `.` is their 2×2 mosaic (`crate::images::mosaic`).
//!
//! Public, without a token: `<img src>` and the OS media controls (`MediaSession` artwork)
//! cannot send one, and an id is the hash of the picture's bytes, learnt only from the
//! catalogue's answers to a signed-in caller. The per-address rate limit still applies.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH, VARY};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiQuery;
use crate::images::{Images, Variant, render, servable_id};
use crate::state::AppState;

/// An image never changes under its id (a content hash): caches may keep it a year, and
/// need not revalidate.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The image route, for anyone.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default().routes(routes!(get_image))
}

/// Query of `GET /v1/images/{id}`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImageQuery {
    /// Longest side wanted, in pixels, 1 to 4096; rounded up to 64, 128, 256, 512 or 1024
    /// (the sizes served). Absent: the image as stored.
    pub size: Option<u32>,
}

/// Returns an image (album cover, artist picture, playlist mosaic), resized to fit
/// `size`×`size` when given. Resized images are JPEG (WebP when the gateway enables it and
/// `Accept` allows it); smaller originals are never enlarged. A mosaic is always rendered:
/// at `size`, or at 1024 pixels without one.
#[utoipa::path(
    get, path = "/v1/images/{id}", tag = "catalog",
    params(("id" = String, Path, description = "the image's id, from a cover or image: 64 \
        hexadecimal digits, or four such ids joined by `.` for their mosaic"), ImageQuery),
    responses(
        (status = 200, description = "the image; cacheable for ever (`immutable`)",
            content_type = "image/jpeg"),
        (status = 304, description = "`If-None-Match` names this rendering"),
        (status = 400, description = "a malformed id or size", body = ErrorBody),
        (status = 404, description = "no image has the id", body = ErrorBody),
    )
)]
pub async fn get_image(
    State(images): State<Images>,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ImageQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if !servable_id(&id) {
        return Err(ApiError::invalid(
            "id must be 64 lowercase hexadecimal characters, or four such ids joined by '.'",
        ));
    }
    let variant = match query.size {
        None => Variant::Original,
        Some(size) => {
            let snapped = render::snap(size).ok_or_else(|| {
                ApiError::invalid(format!("size must be 1 to {}", render::MAX_REQUESTED))
            })?;
            let accept = headers
                .get(ACCEPT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            Variant::Sized(snapped, images.negotiate(accept))
        }
    };
    answer(&images, &id, variant, &headers).await
}

/// Image `id` as `variant`, for a request with `headers`: 304 when `If-None-Match` names it,
/// else the bytes, with the validator and immutable caching. Subsonic's `getCoverArt` answers
/// with it too.
pub(crate) async fn answer(
    images: &Images,
    id: &str,
    variant: Variant,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let etag = variant.etag(id);
    // Known without fetching anything: the validator depends on the request alone.
    if matches(headers, &etag) {
        return Ok((StatusCode::NOT_MODIFIED, cache_headers(&etag)).into_response());
    }
    let image = images.get(id, variant).await?;
    let mut response = (cache_headers(&etag), image.bytes).into_response();
    if let Ok(media_type) = HeaderValue::from_str(&image.media_type) {
        response.headers_mut().insert(CONTENT_TYPE, media_type);
    }
    Ok(response)
}

fn cache_headers(etag: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(ETAG, value);
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
    // The format of a resized image may follow `Accept`.
    headers.insert(VARY, HeaderValue::from_static("Accept"));
    headers
}

/// Whether `If-None-Match` names `etag` (or `*`); weak comparison, as RFC 9110 asks of it.
fn matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            IF_NONE_MATCH,
            HeaderValue::from_str(value).unwrap_or_else(|e| panic!("{e}")),
        );
        headers
    }

    #[test]
    fn if_none_match_compares_weakly_and_in_lists() {
        let etag = "\"abc-64-jpeg-r1\"";
        assert!(matches(&with(etag), etag));
        assert!(matches(&with("W/\"abc-64-jpeg-r1\""), etag));
        assert!(matches(&with("\"x\", \"abc-64-jpeg-r1\""), etag));
        assert!(matches(&with("*"), etag));
        assert!(!matches(&with("\"abc-128-jpeg-r1\""), etag));
        assert!(!matches(&HeaderMap::new(), etag));
    }
}

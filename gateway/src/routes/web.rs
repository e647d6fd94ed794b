//! The web player: the built files of `web/dist`, compiled into the binary so `tunemesh up`
//! serves a player on a machine that never ran npm.
//!
//! Mounted as the router's fallback, so every API route wins over it. Only `GET`/`HEAD` of
//! paths outside `/v1/` that are not gRPC calls reach the files; they need no token.
//! `index.html` is served for `/` and for any other page-like path (the player's views are
//! client-side), always revalidated; the bundle under `assets/` carries a content hash in its
//! name, so it is cached forever.

use std::borrow::Cow;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, HeaderValue, IF_NONE_MATCH,
};
use http::{HeaderMap, Method, StatusCode, Uri};
use rust_embed::Embed;
use tunemesh_runtime::ErrorCode;

use crate::error::ApiError;

/// The output of `scripts/web.sh` (committed, checked current by `scripts/web.sh --check`).
#[derive(Embed)]
#[folder = "../web/dist"]
struct Dist;

/// The page loads only its own files; MSE plays from `blob:` URLs the page creates.
const PAGE_POLICY: &str = "default-src 'self'; media-src 'self' blob:; img-src 'self' data:; \
     object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Names under this folder embed their content hash (see `web/build.mjs`).
const HASHED_PREFIX: &str = "assets/";

/// The fallback handler: a file of the player, the player's page, or the API's 404.
pub async fn serve(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path();
    if !(method == Method::GET || method == Method::HEAD) || is_api(path, &headers) {
        return not_found();
    }
    let name = path.trim_start_matches('/');
    if name.split('/').any(|part| part == ".." || part == ".") || name.contains('\\') {
        return not_found();
    }
    let (name, file) = match Dist::get(name) {
        Some(file) if !name.is_empty() => (name, file),
        // A missing file with an extension is a broken link, not a page: say so.
        _ if last_segment_has_extension(name) => return not_found(),
        _ => match Dist::get("index.html") {
            Some(file) => ("index.html", file),
            None => return not_found(),
        },
    };
    file_response(name, file, &headers)
}

/// API paths keep the API's JSON 404 instead of the player's page.
fn is_api(path: &str, headers: &HeaderMap) -> bool {
    let grpc = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/grpc"));
    // gRPC paths are `/package.Service/Method`: a dot in the first segment.
    let rest = path.trim_start_matches('/');
    let rpc = rest
        .split_once('/')
        .is_some_and(|(service, _)| service.contains('.'));
    grpc || path == "/v1" || path.starts_with("/v1/") || rpc
}

fn last_segment_has_extension(name: &str) -> bool {
    name.rsplit('/')
        .next()
        .is_some_and(|last| last.contains('.'))
}

fn file_response(name: &str, file: rust_embed::EmbeddedFile, headers: &HeaderMap) -> Response {
    let etag = format!("\"{}\"", hex::encode(file.metadata.sha256_hash()));
    let cache = if name.starts_with(HASHED_PREFIX) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let content_type: Cow<'static, str> = match file.metadata.mimetype() {
        "text/html" | "text/css" | "text/javascript" | "application/javascript" => {
            format!("{}; charset=utf-8", file.metadata.mimetype()).into()
        }
        other => other.to_owned().into(),
    };
    let mut response = if matches_etag(headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = Response::new(Body::from(file.data.into_owned()));
        if let Ok(value) = HeaderValue::from_str(&content_type) {
            response.headers_mut().insert(CONTENT_TYPE, value);
        }
        response
    };
    let response_headers = response.headers_mut();
    response_headers.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    response_headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_POLICY),
    );
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response_headers.insert(ETAG, value);
    }
    response
}

/// `If-None-Match` with this entity tag or `*` (weak comparison, as RFC 9110 asks for GET).
fn matches_etag(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == "*" || tag == etag)
}

fn not_found() -> Response {
    ApiError::new(ErrorCode::NotFound, "no such route").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_and_grpc_paths_are_not_pages() {
        let none = HeaderMap::new();
        assert!(is_api("/v1/tracks", &none));
        assert!(is_api("/v1", &none));
        assert!(is_api(
            "/tunemesh.player.v1.PlayerService/GetAudioManifest",
            &none
        ));
        assert!(!is_api("/", &none));
        assert!(!is_api("/library/artists", &none));
        assert!(!is_api("/favicon.svg", &none));
        let mut grpc = HeaderMap::new();
        grpc.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/grpc-web+proto"),
        );
        assert!(is_api("/anything", &grpc));
    }

    #[test]
    fn etags_match_weakly_and_in_lists() {
        let mut headers = HeaderMap::new();
        headers.insert(IF_NONE_MATCH, HeaderValue::from_static("\"a\", W/\"b\""));
        assert!(matches_etag(&headers, "\"b\""));
        assert!(!matches_etag(&headers, "\"c\""));
    }
}

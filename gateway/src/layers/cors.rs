//! CORS for the configured origins only; with none configured, no CORS headers are sent and
//! browsers keep other sites out. `/rest` (the Subsonic API) is the exception: any origin,
//! without credentials ([`subsonic`]).

use std::time::Duration;

use http::header::{
    ACCEPT_RANGES, AUTHORIZATION, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, HeaderValue,
    IF_RANGE, RANGE, RETRY_AFTER, WWW_AUTHENTICATE,
};
use http::{HeaderName, Method};
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

/// Why the CORS settings were refused.
#[derive(Debug, thiserror::Error)]
#[error("invalid cors origin {0:?}: expected scheme://host[:port]")]
pub struct InvalidOrigin(pub String);

/// The layer for `origins`, or `None` when there are none.
pub(crate) fn layer(origins: &[String]) -> Result<Option<CorsLayer>, InvalidOrigin> {
    if origins.is_empty() {
        return Ok(None);
    }
    let origins = origins
        .iter()
        .map(|origin| {
            let well_formed = (origin.starts_with("https://") || origin.starts_with("http://"))
                && !origin.ends_with('/');
            HeaderValue::from_str(origin)
                .ok()
                .filter(|_| well_formed)
                .ok_or_else(|| InvalidOrigin(origin.clone()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let layer = CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        // The last four are what gRPC-web clients send (connect-web, grpc-web).
        .allow_headers([
            AUTHORIZATION,
            CONTENT_TYPE,
            RANGE,
            IF_RANGE,
            HeaderName::from_static("x-grpc-web"),
            HeaderName::from_static("x-user-agent"),
            HeaderName::from_static("grpc-timeout"),
            HeaderName::from_static("connect-protocol-version"),
        ])
        // gRPC-web answers without a body carry their status in headers a script must read.
        .expose_headers([
            CONTENT_RANGE,
            ACCEPT_RANGES,
            ETAG,
            RETRY_AFTER,
            WWW_AUTHENTICATE,
            HeaderName::from_static("grpc-status"),
            HeaderName::from_static("grpc-message"),
            HeaderName::from_static("grpc-status-details-bin"),
        ])
        // Preflights are cached an hour, so a browser does not send one per request.
        .max_age(Duration::from_secs(3600));
    Ok(Some(layer))
}

/// Whether `path` is the Subsonic API's, which [`subsonic`] covers instead of [`layer`].
pub(crate) fn is_subsonic(path: &str) -> bool {
    path == "/rest" || path.starts_with("/rest/")
}

/// CORS for `/rest`: `Access-Control-Allow-Origin: *`, never credentials. Subsonic apps send
/// their credentials as parameters, never as cookies or ambient authority, so a page on
/// another origin can only make calls it holds the credentials for; web clients (Airsonic
/// Refix, Feishin's web build) are served from their own origins and need it. Preflights are
/// answered here; scripts may read the headers seeking and resuming need.
pub(crate) fn subsonic() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::any())
        .allow_methods([Method::GET, Method::HEAD, Method::POST])
        // `*` (allowed without credentials): clients send Range, form content types, and
        // whatever their HTTP library adds.
        .allow_headers(AllowHeaders::any())
        .expose_headers([
            CONTENT_LENGTH,
            CONTENT_RANGE,
            ACCEPT_RANGES,
            ETAG,
            RETRY_AFTER,
        ])
        .max_age(Duration::from_secs(3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_must_be_bare_scheme_and_host() {
        assert!(matches!(layer(&[]), Ok(None)));
        assert!(matches!(
            layer(&["https://app.example.com".into()]),
            Ok(Some(_))
        ));
        assert!(layer(&["app.example.com".into()]).is_err());
        assert!(layer(&["https://app.example.com/".into()]).is_err());
    }

    #[test]
    fn only_rest_paths_are_subsonic() {
        assert!(is_subsonic("/rest/ping.view"));
        assert!(is_subsonic("/rest"));
        assert!(!is_subsonic("/restore"));
        assert!(!is_subsonic("/v1/rest/ping"));
    }
}

//! CORS for the configured origins only; with none configured, no CORS headers are sent and
//! browsers keep other sites out.

use std::time::Duration;

use http::header::{
    ACCEPT_RANGES, AUTHORIZATION, CONTENT_RANGE, CONTENT_TYPE, ETAG, HeaderValue, IF_RANGE, RANGE,
    RETRY_AFTER, WWW_AUTHENTICATE,
};
use http::{HeaderName, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

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
}

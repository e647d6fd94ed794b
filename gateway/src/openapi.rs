//! The OpenAPI document of the REST API, served at `/openapi.json`: what is said once here
//! (title, description, tags, the bearer scheme), and each route's entry, which the router
//! takes from the handler's `#[utoipa::path]` as it registers the route (`crate::router`).

use std::sync::Arc;

use axum::Json;
use axum::response::IntoResponse;
use axum::routing::{MethodRouter, get};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The document without its paths.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "tunemesh",
        description = "The tunemesh REST API: accounts, the music catalogue, playback, \
            playlists, search, recommendations and listening history. The same port serves native gRPC and \
            gRPC-web for the public services (see the gateway's `grpc` module). \
            Every route except sign-up, login, refresh, images, health, metrics and this \
            document needs `Authorization: Bearer <access_token>`. Errors answer \
            `{\"error\": {\"code\": \"...\", \"message\": \"...\"}}`."
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Accounts and sessions"),
        (name = "catalog", description = "Tracks, albums and artists"),
        (name = "playback", description = "Audio delivery and play reports"),
        (name = "playlists", description = "Playlists and liked songs"),
        (name = "discover", description = "Search and recommendations"),
        (name = "history", description = "What the caller played, and what everyone plays most"),
        (name = "library", description = "Adding music to the catalogue (the admin)"),
        (name = "subsonic", description = "App passwords for Subsonic apps (the /rest API)"),
    )
)]
pub(crate) struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// `GET /openapi.json`, answering `document`.
pub(crate) fn route<S: Clone + Send + Sync + 'static>(
    document: utoipa::openapi::OpenApi,
) -> MethodRouter<S> {
    let document = Arc::new(document);
    get(move || {
        let document = Arc::clone(&document);
        async move { Json(&*document).into_response() }
    })
}

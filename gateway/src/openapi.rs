//! The OpenAPI document of the REST API, generated from the handlers and JSON shapes, served
//! at `/openapi.json`.

use std::sync::LazyLock;

use axum::Json;
use axum::response::IntoResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes;

/// The document.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "tunemesh",
        description = "The tunemesh REST API: accounts, the music catalogue and playback. \
            Every route except sign-up, login, refresh, health, metrics and this document \
            needs `Authorization: Bearer <access_token>`. Errors answer \
            `{\"error\": {\"code\": \"...\", \"message\": \"...\"}}`."
    ),
    paths(
        routes::auth::signup,
        routes::auth::login,
        routes::auth::refresh,
        routes::auth::logout,
        routes::catalog::list_tracks,
        routes::catalog::get_track,
        routes::catalog::list_albums,
        routes::catalog::get_album,
        routes::catalog::list_artists,
        routes::catalog::get_artist,
        routes::playback::report,
        routes::audio::audio,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Accounts and sessions"),
        (name = "catalog", description = "Tracks, albums and artists"),
        (name = "playback", description = "Play reports"),
    )
)]
pub struct ApiDoc;

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

/// `GET /openapi.json`; generated once.
pub async fn document() -> impl IntoResponse {
    static DOCUMENT: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(ApiDoc::openapi);
    Json(&*DOCUMENT)
}

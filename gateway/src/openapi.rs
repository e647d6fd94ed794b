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
        description = "The tunemesh REST API: accounts, the music catalogue, playback, \
            playlists, search and recommendations. The same port serves native gRPC and \
            gRPC-web for the public services (see the gateway's `grpc` module). \
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
        crate::media::audio::audio,
        crate::media::segments::manifest,
        crate::media::segments::segment,
        crate::media::segments::audio_url,
        routes::playlists::create,
        routes::playlists::list_mine,
        routes::playlists::get,
        routes::playlists::update,
        routes::playlists::delete,
        routes::playlists::add_items,
        routes::playlists::remove_item,
        routes::playlists::move_items,
        routes::library::add_collaborator,
        routes::library::remove_collaborator,
        routes::library::follow,
        routes::library::unfollow,
        routes::library::list_liked,
        routes::library::like,
        routes::library::unlike,
        routes::library::check_liked,
        routes::discover::search,
        routes::discover::recommendations,
        routes::discover::radio,
        routes::discover::similar,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Accounts and sessions"),
        (name = "catalog", description = "Tracks, albums and artists"),
        (name = "playback", description = "Audio delivery and play reports"),
        (name = "playlists", description = "Playlists and liked songs"),
        (name = "discover", description = "Search and recommendations"),
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

//! The routes of the edge and the layers around them, composed in one place.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use tower::ServiceBuilder;
use tunemesh_runtime::admin::{self, Readiness};

use crate::auth::require_caller;
use crate::layers;
use crate::ratelimit::{Limits, limit_auth_by_ip, limit_by_ip, limit_by_user};
use crate::routes::{audio, auth, catalog, playback, web};
use crate::settings::HttpSettings;
use crate::state::AppState;

/// Every route of the gateway with its layers.
pub fn router(
    state: AppState,
    limits: Arc<Limits>,
    readiness: Arc<dyn Readiness>,
    http: &HttpSettings,
) -> Result<Router, layers::cors::InvalidOrigin> {
    // Password guessing goes through these three: they get the strict per-address limit.
    let public = Router::new()
        .route("/v1/auth/signup", post(auth::signup))
        .route("/v1/auth/login", post(auth::login))
        .route("/v1/auth/refresh", post(auth::refresh))
        .route_layer(from_fn_with_state(limits.clone(), limit_auth_by_ip));

    // Route layers run bottom-up: the token is checked first, then the user's quota.
    let protected = Router::new()
        .route("/v1/auth/logout", post(auth::logout))
        .route("/v1/tracks", get(catalog::list_tracks))
        .route("/v1/tracks/{id}", get(catalog::get_track))
        .route("/v1/tracks/{id}/audio", get(audio::audio))
        .route("/v1/albums", get(catalog::list_albums))
        .route("/v1/albums/{id}", get(catalog::get_album))
        .route("/v1/artists", get(catalog::list_artists))
        .route("/v1/artists/{id}", get(catalog::get_artist))
        .route("/v1/playback/report", post(playback::report))
        .route_layer(from_fn_with_state(limits.clone(), limit_by_user))
        .route_layer(from_fn_with_state(
            state.auth().tokens().clone(),
            require_caller,
        ));

    let mut router = public
        .merge(protected)
        .with_state(state)
        .route("/openapi.json", get(crate::openapi::document))
        .merge(admin::router(readiness))
        // The web player's files and page: only what no route above answers.
        .fallback(web::serve)
        .layer(
            ServiceBuilder::new()
                // Outermost, so every answer (errors and 429s included) carries them.
                .layer(layers::security_headers::layer())
                // Before the work starts: a flood from one address is refused cheaply.
                .layer(from_fn_with_state(limits, limit_by_ip))
                // Nothing waits forever on a slow service or a slow client.
                .layer(layers::timeout::layer(http.request_timeout))
                // Bodies are read into memory by the JSON extractor: bound them.
                .layer(DefaultBodyLimit::max(http.max_body_bytes)),
        );
    // CORS answers preflights itself, so it wraps everything, security headers included.
    if let Some(cors) = layers::cors::layer(&http.cors_allowed_origins)? {
        router = router.layer(cors);
    }
    Ok(router)
}

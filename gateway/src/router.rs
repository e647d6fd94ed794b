//! The routes of the edge and the layers around them, composed in one place: REST routes
//! and the gRPC edge behind one listener.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware::from_fn_with_state;
use axum::response::Response;
use axum::routing::{delete, get, post, put};
use tower::ServiceBuilder;
use tower::util::BoxCloneService;
use tunemesh_runtime::admin::{self, Readiness};

use crate::auth::require_caller;
use crate::grpc::GrpcEdge;
use crate::layers;
use crate::layers::grpc_switch::GrpcSwitchLayer;
use crate::media::{MediaGuard, audio, require_media_caller, segments};
use crate::ratelimit::{Limits, limit_auth_by_ip, limit_by_ip, limit_by_user};
use crate::routes::{auth, catalog, discover, library, playback, playlists, web};
use crate::settings::HttpSettings;
use crate::state::AppState;

/// The whole edge as one service, ready for `axum::serve`.
pub type App = BoxCloneService<Request, Response, Infallible>;

/// Every route of the gateway, REST and gRPC, with its layers.
pub fn app(
    state: AppState,
    limits: Arc<Limits>,
    readiness: Arc<dyn Readiness>,
    http: &HttpSettings,
    grpc: GrpcEdge,
) -> Result<App, layers::cors::InvalidOrigin> {
    let rest = router(state, limits, readiness, http);
    let cors = layers::cors::layer(&http.cors_allowed_origins)?;
    let app = ServiceBuilder::new()
        // Outermost: one span (continuing the client's trace) and one count per request,
        // whatever answers it.
        .layer(layers::observe::ObserveLayer)
        // CORS answers preflights itself, so it wraps everything, security headers included.
        .option_layer(cors)
        // So every answer (errors, 429s and gRPC included) carries them.
        .layer(layers::security_headers::layer())
        // gRPC by content-type; the REST layers (timeout, JSON errors) do not fit streams.
        .layer(GrpcSwitchLayer::new(grpc))
        .service(rest);
    Ok(BoxCloneService::new(app))
}

/// The REST routes with their layers.
pub fn router(
    state: AppState,
    limits: Arc<Limits>,
    readiness: Arc<dyn Readiness>,
    http: &HttpSettings,
) -> Router {
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
        .route("/v1/tracks/{id}/manifest", get(segments::manifest))
        .route("/v1/tracks/{id}/audio-url", get(segments::audio_url))
        .route("/v1/albums", get(catalog::list_albums))
        .route("/v1/albums/{id}", get(catalog::get_album))
        .route("/v1/artists", get(catalog::list_artists))
        .route("/v1/artists/{id}", get(catalog::get_artist))
        .route("/v1/playback/report", post(playback::report))
        .route(
            "/v1/playlists",
            post(playlists::create).get(playlists::list_mine),
        )
        .route("/v1/me/playlists", get(playlists::list_mine))
        .route(
            "/v1/playlists/{id}",
            get(playlists::get)
                .patch(playlists::update)
                .delete(playlists::delete),
        )
        .route("/v1/playlists/{id}/items", post(playlists::add_items))
        .route("/v1/playlists/{id}/items/move", post(playlists::move_items))
        .route(
            "/v1/playlists/{id}/items/{item_id}",
            delete(playlists::remove_item),
        )
        .route(
            "/v1/playlists/{id}/collaborators/{user_id}",
            put(library::add_collaborator).delete(library::remove_collaborator),
        )
        .route(
            "/v1/playlists/{id}/follow",
            put(library::follow).delete(library::unfollow),
        )
        .route("/v1/me/liked", get(library::list_liked))
        .route("/v1/me/liked/contains", get(library::check_liked))
        .route(
            "/v1/me/liked/{track_id}",
            put(library::like).delete(library::unlike),
        )
        .route("/v1/search", get(discover::search))
        .route("/v1/recommendations", get(discover::recommendations))
        .route("/v1/radio/{track_id}", get(discover::radio))
        .route("/v1/tracks/{id}/similar", get(discover::similar))
        .route_layer(from_fn_with_state(limits.clone(), limit_by_user))
        .route_layer(from_fn_with_state(
            state.auth().tokens().clone(),
            require_caller,
        ));

    // Audio takes a bearer token or, for `<audio src>`, a signed media link.
    let media_guard = MediaGuard {
        access: state.auth().tokens().clone(),
        media: state.media().links().clone(),
    };
    let media = Router::new()
        .route("/v1/tracks/{id}/audio", get(audio::audio))
        .route(
            "/v1/tracks/{id}/segments/{quality}/{segment}",
            get(segments::segment),
        )
        .route_layer(from_fn_with_state(limits.clone(), limit_by_user))
        .route_layer(from_fn_with_state(media_guard, require_media_caller));

    public
        .merge(protected)
        .merge(media)
        .with_state(state)
        .route("/openapi.json", get(crate::openapi::document))
        // The probes only: `/metrics` is on the admin listener, never on the public port.
        .merge(admin::probes(readiness))
        // The web player's files and page: only what no route above answers.
        .fallback(web::serve)
        .layer(
            ServiceBuilder::new()
                // Before the work starts: a flood from one address is refused cheaply.
                .layer(from_fn_with_state(limits, limit_by_ip))
                // Nothing waits forever on a slow service or a slow client.
                .layer(layers::timeout::layer(http.request_timeout))
                // Bodies are read into memory by the JSON extractor: bound them.
                .layer(DefaultBodyLimit::max(http.max_body_bytes)),
        )
}

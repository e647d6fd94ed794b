//! The routes of the edge and the layers around them, composed in one place: REST routes
//! and the gRPC edge behind one listener. Each area's file lists its own routes
//! (`routes::catalog::routes`, ...); here they are grouped by the guard in front of them.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::Response;
use tower::steer::Steer;
use tower::util::{BoxCloneService, Either};
use tower::{Layer as _, ServiceBuilder};
use tunemesh_runtime::admin::{self, Readiness};
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;

use crate::auth::require_caller;
use crate::grpc::GrpcEdge;
use crate::layers;
use crate::layers::grpc_switch::GrpcSwitchLayer;
use crate::media::{self, MediaGuard, require_media_caller};
use crate::openapi::{self, ApiDoc};
use crate::ratelimit::{Limits, limit_auth_by_ip, limit_by_ip, limit_by_user};
use crate::routes::{
    auth, catalog, discover, history, images, library, play_queue, playback, playlists,
    subsonic_passwords, uploads, web,
};
use crate::settings::HttpSettings;
use crate::state::AppState;
use crate::subsonic;

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
    let inner = ServiceBuilder::new()
        // So every answer (errors, 429s and gRPC included) carries them.
        .layer(layers::security_headers::layer())
        // gRPC by content-type; the REST layers (timeout, JSON errors) do not fit streams.
        .layer(GrpcSwitchLayer::new(grpc))
        .service(rest);
    // CORS answers preflights itself, so it wraps everything, security headers included:
    // the configured origins' policy, except on `/rest`, whose own (any origin, no
    // credentials) also covers the edge's refusals there (429, timeouts, body limit).
    let configured = match cors {
        Some(cors) => Either::Left(cors.layer(inner.clone())),
        None => Either::Right(inner.clone()),
    };
    let subsonic = Either::Left(layers::cors::subsonic().layer(inner));
    let by_path = Steer::new(vec![configured, subsonic], |request: &Request, _: &[_]| {
        usize::from(layers::cors::is_subsonic(request.uri().path()))
    });
    let app = ServiceBuilder::new()
        // Outermost: one span (continuing the client's trace) and one count per request,
        // whatever answers it.
        .layer(layers::observe::ObserveLayer)
        .service(by_path);
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
    let public = auth::public().route_layer(from_fn_with_state(limits.clone(), limit_auth_by_ip));

    // Route layers run bottom-up: the token is checked first, then the user's quota.
    let protected = OpenApiRouter::default()
        .merge(auth::protected())
        .merge(catalog::routes())
        .merge(media::bearer_routes())
        .merge(playback::routes())
        .merge(playlists::routes())
        .merge(library::routes())
        .merge(discover::routes())
        .merge(history::routes())
        .merge(subsonic_passwords::routes())
        .merge(play_queue::routes())
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
    let linked = media::linked_routes()
        .route_layer(from_fn_with_state(limits.clone(), limit_by_user))
        .route_layer(from_fn_with_state(media_guard, require_media_caller));

    // An upload answers when its file is transcoded: minutes, not the request timeout. Its
    // own bound is `gateway.uploads.timeout`; the body is streamed, so the body limit (for
    // bodies read into memory) does not apply.
    let long = uploads::routes()
        .route_layer(from_fn_with_state(limits.clone(), limit_by_user))
        .route_layer(from_fn_with_state(
            state.auth().tokens().clone(),
            require_caller,
        ));

    // Each route brought its OpenAPI entry from its handler's annotation.
    let (api, document) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(public)
        .merge(protected)
        .merge(linked)
        // No token: `<img src>` and OS media controls cannot send one (`routes::images`).
        .merge(images::routes())
        .split_for_parts();
    let (long, long_document) = long.split_for_parts();
    let mut document = document;
    document.merge(long_document);
    let long = long.layer(
        ServiceBuilder::new()
            .layer(from_fn_with_state(limits.clone(), limit_by_ip))
            .layer(layers::timeout::layer(state.uploads().timeout)),
    );
    api
        // Subsonic apps send credentials as parameters, checked by `subsonic::auth` (which
        // counts only failures against the strict per-address limit); before the web
        // player's fallback.
        .merge(subsonic::routes())
        .with_state(state.clone())
        .route("/openapi.json", openapi::route(document))
        // The probes only: `/metrics` is on the admin listener, never on the public port.
        .merge(admin::probes(readiness))
        // The web player's files and page: only what no route above answers.
        .fallback(web::serve)
        .layer(
            ServiceBuilder::new()
                // Subsonic apps read their errors from a 200's body: the refusals below, of a
                // `/rest` call, are rewritten so (`subsonic::edge`).
                .layer(from_fn(subsonic::edge::refusals_as_subsonic))
                // Before the work starts: a flood from one address is refused cheaply.
                .layer(from_fn_with_state(limits, limit_by_ip))
                // Nothing waits forever on a slow service or a slow client.
                .layer(layers::timeout::layer(http.request_timeout))
                // Bodies are read into memory by the JSON extractor: bound them.
                .layer(DefaultBodyLimit::max(http.max_body_bytes)),
        )
        .merge(long.with_state(state))
}

//! The edge of tunemesh: the only door from the outside. It checks who you are, sends you to
//! the right service through the mesh, and gets audio to browsers.
//!
//! # Layout
//! - [`settings`]: the `[gateway]` settings.
//! - [`app`]: opens the account store, binds the listener, serves until shutdown.
//! - `listener`: the accept loop with connection caps, header and idle timeouts.
//! - [`router`]: every route and the layers around them; `layers`: CORS, security
//!   headers, timeout, the REST/gRPC switch, one per file.
//! - `grpc`: native gRPC and gRPC-web on the same port, proxied to the services.
//! - [`accounts`]: the account store port with its PostgreSQL and SQLite adapters.
//! - [`auth`]: passwords (argon2id), access and refresh tokens, the guard of protected routes.
//! - `ratelimit`: per-address, per-user and login limits.
//! - [`media`]: audio delivery: the audio file with Range, MSE segments, the edge cache, track
//!   facts, signed media links and their guard, stream caps.
//! - `images`: cover images fetched from player-svc, resized, cached.
//! - [`routes`]: the REST handlers; [`model`]: their JSON shapes; `openapi`: the document.
//! - `state`: what handlers share; `upstream`: the services as typed clients and the one
//!   call helper (caller identity, deadline, error classification).
//! - `error`: the JSON error body and the mapping of downstream gRPC errors.
//! - `readiness`: `/readyz` over the gRPC health of every upstream service.
//! - `subsonic`: the Subsonic/OpenSubsonic API at `/rest`, and app passwords.
//!
//! Modules without a link are private. The public ones are what other crates use: the binary
//! (`Gateway`, settings, the accounts' migrations), the fuzz targets (`app::service`, the
//! routes' query types, `media`'s ranges and links, `auth`'s tokens) and the integration tests.

#![warn(missing_docs, unreachable_pub)]

pub mod accounts;
pub mod app;
pub mod auth;
mod error;
mod extract;
mod grpc;
mod images;
mod layers;
mod listener;
pub mod media;
pub mod model;
mod openapi;
mod ratelimit;
mod readiness;
pub mod router;
pub mod routes;
pub mod settings;
mod state;
mod subsonic;
mod upstream;

pub use app::{BuildError, Gateway, GatewayContext};
pub use settings::{AuthSettings, GatewaySettings};

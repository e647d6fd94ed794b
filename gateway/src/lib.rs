//! The edge of tunemesh: the only door from the outside. It checks who you are, sends you to
//! the right service through the mesh, and gets audio to browsers.
//!
//! # Layout
//! - [`settings`]: the `[gateway]` settings.
//! - [`app`]: opens the account store, binds the listener, serves until shutdown.
//! - [`listener`]: the accept loop with connection caps, header and idle timeouts.
//! - [`router`]: every route and the layers around them; [`layers`]: CORS, security
//!   headers, timeout, the REST/gRPC switch, one per file.
//! - [`grpc`]: native gRPC and gRPC-web on the same port, proxied to the services.
//! - [`accounts`]: the account store port with its PostgreSQL and SQLite adapters.
//! - [`auth`]: passwords (argon2id), access and refresh tokens, the guard of protected routes.
//! - [`ratelimit`]: per-address, per-user and login limits.
//! - [`media`]: audio delivery: the audio file with Range, MSE segments, the edge cache, track
//!   facts, signed media links and their guard, stream caps.
//! - [`images`]: cover images fetched from player-svc, resized, cached.
//! - [`routes`]: the REST handlers; [`model`]: their JSON shapes; [`openapi`]: the document.
//! - [`state`]: what handlers share; [`upstream`]: the services as typed clients and the one
//!   call helper (caller identity, deadline, error classification).
//! - [`error`]: the JSON error body and the mapping of downstream gRPC errors.
//! - [`readiness`]: `/readyz` over the gRPC health of every upstream service.

pub mod accounts;
pub mod app;
pub mod auth;
pub mod error;
pub mod extract;
pub mod grpc;
pub mod images;
pub mod layers;
pub mod listener;
pub mod media;
pub mod model;
pub mod openapi;
pub mod ratelimit;
pub mod readiness;
pub mod router;
pub mod routes;
pub mod settings;
pub mod state;
pub mod upstream;

pub use app::{BuildError, Gateway, GatewayContext};
pub use settings::{AuthSettings, GatewaySettings};

//! playlist-svc: playlists in PostgreSQL with a Redis cache, collaborative editing and outbox events.
//!
//! # Layout
//! - [`settings`]: the `[playlist]` settings.
//! - `app`: builds the service: adapters, gRPC server, background tasks.
//! - `service`: the domain trait `Playlists` and its implementation.
//! - `grpc`: the thin adapter from the generated server trait.
//! - [`error`]: the one error enum and its codes.
//! - [`model`]: domain values and the rules every store checks; `rank`: item ordering.
//! - [`library`]: liked albums and artists and play queues, as values and limits.
//! - [`store`]: the store port, PostgreSQL and SQLite adapters.
//! - [`cache`]: the cache port, Redis and moka adapters, read-through with single-flight.
//! - `catalog`: the track catalogue port and its gRPC adapter.
//! - `durations`: the background backfill of items' durations through the catalogue.
//! - `events`: the events written to the outbox.
//!
//! Modules without a link are private. The public ones are what other crates use: the binary
//! (`build`, settings, the PostgreSQL migrations in `store`), the benches (`cache`, `model`,
//! `store`), the fuzz targets (`validate`'s page tokens) and the integration tests.

#![warn(missing_docs, unreachable_pub)]

mod app;
pub mod cache;
mod catalog;
mod convert;
mod durations;
pub mod error;
mod events;
mod grpc;
pub mod library;
pub mod model;
mod rank;
mod service;
pub mod settings;
pub mod store;
pub mod validate;

pub use app::build;
pub use settings::PlaylistSettings;

/// The service's name in discovery.
pub const SERVICE_NAME: &str = "playlist";

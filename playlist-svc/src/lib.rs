//! playlist-svc: playlists in PostgreSQL with a Redis cache, collaborative editing and outbox events.
//!
//! # Layout
//! - [`settings`]: the `[playlist]` settings.
//! - [`app`]: builds the service: adapters, gRPC server, background tasks.
//! - [`grpc`]: thin adapters from the generated server traits.

pub mod app;
pub mod grpc;
pub mod settings;

pub use app::build;
pub use settings::PlaylistSettings;

/// The service's name in discovery.
pub const SERVICE_NAME: &str = "playlist";

//! player-svc: the catalogue, media ingest and transcoding, chunked audio streaming and play reports.
//!
//! # Layout
//! - [`settings`]: the `[player]` settings.
//! - [`app`]: builds the service: adapters, gRPC server, background tasks.
//! - [`grpc`]: thin adapters from the generated server traits.

pub mod app;
pub mod grpc;
pub mod media;
pub mod settings;

pub use app::build;
pub use settings::PlayerSettings;

/// The service's name in discovery.
pub const SERVICE_NAME: &str = "player";

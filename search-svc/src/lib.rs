//! search-svc: typo-tolerant full-text search over the catalogue, fed by catalogue events.
//!
//! # Layout
//! - [`settings`]: the `[search]` settings.
//! - [`app`]: builds the service: adapters, gRPC server, background tasks.
//! - [`grpc`]: thin adapters from the generated server traits.

pub mod app;
pub mod grpc;
pub mod settings;

pub use app::build;
pub use settings::SearchSettings;

/// The service's name in discovery.
pub const SERVICE_NAME: &str = "search";

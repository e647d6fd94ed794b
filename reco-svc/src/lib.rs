//! reco-svc: recommendations that learn from play events in near real time.
//!
//! # Layout
//! - [`settings`]: the `[reco]` settings.
//! - [`app`]: builds the service: adapters, gRPC server, background tasks.
//! - [`grpc`]: thin adapters from the generated server traits.

pub mod app;
pub mod grpc;
pub mod settings;

pub use app::build;
pub use settings::RecoSettings;

/// The service's name in discovery.
pub const SERVICE_NAME: &str = "reco";

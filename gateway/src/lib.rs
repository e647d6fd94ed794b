//! The edge of tunemesh: the only door from the outside. It checks who you are, sends you to
//! the right service through the mesh, and gets audio to browsers.
//!
//! # Layout
//! - [`settings`]: the `[gateway]` settings.
//! - [`app`]: binds the listener, assembles the routes, serves until shutdown.
//! - [`readiness`]: `/readyz` over the gRPC health of every upstream service.

pub mod app;
pub mod readiness;
pub mod settings;

pub use app::Gateway;
pub use settings::GatewaySettings;

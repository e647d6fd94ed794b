//! The standard gRPC server and the layers every service runs behind.
//!
//! # Layout
//! - [`server`]: bind, serve, register, drain.
//! - [`settings`]: `[grpc]` settings; [`limits`]: the message sizes every service gets.
//! - [`health`]: serving status shared by gRPC health and readiness endpoints.
//! - [`trace`], [`metrics`], [`authorize`], [`method`]: one tower layer each.

pub mod authorize;
pub mod health;
pub mod limits;
pub mod method;
pub mod metrics;
pub mod server;
pub mod settings;
pub mod trace;

pub use health::ServiceHealth;
pub use limits::{LimitMessages, MessageLimits};
pub use server::{GrpcServer, ServerError};
pub use settings::GrpcServerSettings;

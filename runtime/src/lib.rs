//! The standard service runtime of tunemesh: what every service process has in common.
//!
//! # Layout
//! - [`settings`]: defaults → `tunemesh.toml` → `TUNEMESH_*` variables, passed in.
//! - [`telemetry`], [`trace_context`]: logs, OTLP spans, W3C context across hops.
//! - [`metrics`]: the Prometheus recorder; [`admin`]: `/metrics`, `/healthz`, `/readyz`.
//! - [`grpc`]: the standard gRPC server with health, reflection, layers and drain.
//! - [`error`]: the one error-code table (domain code → gRPC code and HTTP status).
//! - [`blobs`]: media blobs in a local folder or an S3-compatible bucket.
//! - [`clock`]: wall-clock time in epoch milliseconds or seconds, saturating.
//! - [`ids`]: the one shape check for ids from outside (nothing that can climb a path).
//! - [`memory`]: transparent huge pages off (the start burst of audio streams).
//! - [`process`]: one process skeleton: its parts started and stopped together.
//! - [`shutdown`]: SIGTERM/SIGINT as a cancellation token, and the bounded drain.
//! - [`postgres`], [`redis`]: connection pools for the production adapters.
//! - [`tls`]: the rustls client configuration of those links (CA file, verification level).
//! - [`migrate`]: the one migration runner (refinery) for PostgreSQL and SQLite stores.
//! - [`secret`]: signing secrets from values or files, rotation, and `up`'s generated ones.

#![warn(missing_docs, unreachable_pub)]

pub mod admin;
pub mod app;
pub mod blobs;
pub mod clock;
pub mod context;
pub mod error;
pub mod grpc;
pub mod identity;
pub mod ids;
pub mod listen;
pub mod memory;
pub mod metrics;
pub mod migrate;
pub mod postgres;
pub mod process;
pub mod redis;
pub mod secret;
pub mod settings;
pub mod shutdown;
pub mod telemetry;
pub mod tls;
pub mod trace_context;

pub use app::App;
pub use context::{ServiceContext, Storage};
pub use error::{ErrorCode, ServiceError, SharedError};
pub use settings::{SettingsError, SettingsSource};
pub use tokio_util::sync::CancellationToken;
/// Mutual TLS between services (identities, policy, connectors), for services that call out.
pub use tunemesh_discovery::connect;

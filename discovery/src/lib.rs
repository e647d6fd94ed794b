//! Service registration and discovery, and the balanced resilient mesh channel.
//!
//! # Layout
//! - [`Registry`]: the port, with [`ConsulRegistry`] (production) and [`EmbeddedRegistry`]
//!   (`tunemesh up`), both held to one contract test suite.
//! - [`Mesh`] / [`MeshChannel`]: one p2c/PeakEWMA-balanced channel per service with a
//!   per-endpoint breaker, fail-fast timeout, canary split, retries ([`RetryChannel`]),
//!   deadline propagation ([`Deadline`], [`DeadlineLayer`]) and trace context injection.
//! - [`lifecycle`]: register once ready, deregister and drain on shutdown.
//! - `testsuite` (feature `testsuite`, tests and the mesh bench only): a replica with
//!   switchable behaviour, served in-process or as the `tunemesh-test-replica` child process.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
//! use tunemesh_discovery::{ConsulRegistry, ConsulSettings, Mesh, MeshSettings};
//!
//! let registry = Arc::new(ConsulRegistry::new(ConsulSettings::default())?);
//! let mesh = Mesh::new(registry, MeshSettings::default());
//! // Any generated client works; opt in to retries for idempotent RPCs only.
//! let channel = mesh.channel("player").retrying(["/grpc.health.v1.Health/Check"]);
//! let answer = HealthClient::new(channel).check(HealthCheckRequest::default()).await?;
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs, unreachable_pub)]

pub mod connect;
mod consul;
pub mod deadline;
mod embedded;
mod instance;
pub mod lifecycle;
pub mod mesh;
mod registry;
mod settings;
#[cfg(feature = "testsuite")]
pub mod testsuite;

pub use connect::{MeshTls, PeerService};
pub use consul::{ConsulConnect, ConsulRegistry, ConsulSettings, service_policy_rules};
pub use deadline::{Deadline, DeadlineLayer};
pub use embedded::EmbeddedRegistry;
pub use instance::{CANARY_TAG, HealthCheck, Registration, ServiceInstance};
pub use mesh::{
    Idempotent, LongCall, Mesh, MeshChannel, MeshError, MeshErrorKind, RetryChannel, Streaming,
};
pub use registry::{InstanceSet, Registry, RegistryError};
pub use settings::{BreakerSettings, MeshSettings, PerTrySettings, RetrySettings};

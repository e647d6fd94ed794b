//! Service registration and discovery, and the balanced resilient mesh channel.
//!
//! # Layout
//! - [`Registry`]: the port, with [`ConsulRegistry`] (production) and [`EmbeddedRegistry`]
//!   (`tunemesh up`), both held to one contract test suite.
//! - [`Mesh`] / [`MeshChannel`]: one p2c/PeakEWMA-balanced channel per service with a
//!   per-endpoint breaker, fail-fast timeout, canary split, retries ([`RetryChannel`]),
//!   deadline propagation ([`Deadline`], [`DeadlineLayer`]) and trace context injection.
//! - [`lifecycle`]: register once ready, deregister and drain on shutdown.

mod consul;
pub mod deadline;
mod embedded;
mod instance;
pub mod lifecycle;
pub mod mesh;
mod registry;
mod settings;

pub use consul::{ConsulRegistry, ConsulSettings};
pub use deadline::{Deadline, DeadlineLayer};
pub use embedded::EmbeddedRegistry;
pub use instance::{CANARY_TAG, HealthCheck, Registration, ServiceInstance};
pub use mesh::{Mesh, MeshChannel, MeshError, MeshErrorKind, RetryChannel};
pub use registry::{InstanceSet, Registry, RegistryError};
pub use settings::{BreakerSettings, MeshSettings, RetrySettings};

//! test harness: real servers with per-test isolation, services on port 0, assert_eventually
//!
//! Tests talk to real PostgreSQL, Redis, NATS JetStream and Consul, started or reused by
//! `scripts/servers.sh`; this crate finds them ([`servers`]) and isolates each test on them:
//! a fresh database ([`test_database`]), a unique name for keys, streams, subjects and services
//! ([`unique_prefix`]) and cleanup helpers. Waiting is done by polling
//! ([`assert_eventually!`], [`eventually`]), never by sleeping.
//!
//! # Layout
//!
//! - `servers.rs`: where the servers listen (env vars, `.servers/env`, defaults)
//! - `postgres.rs`: per-test databases and their cleanup
//! - `redis.rs`, `nats.rs`: clients for the shared servers and prefix cleanup
//! - `names.rs`: unique, sanitised name prefixes
//! - `eventually.rs`: `assert_eventually!` and `eventually`
//! - `telemetry.rs`: `init_tracing`
//!
//! - `spawn.rs`: run a built service on port 0 for the length of a test
//! - `tls.rs`: a CA of the test's own and the server certificates it signs
//! - `mesh.rs`: mutual TLS as the mesh runs it: leaves of an embedded CA, channels calling as
//!   a service, stand-ins served as the runtime serves
//! - `private.rs`: servers of one test only (TLS PostgreSQL and Redis, NATS with users,
//!   Consul with ACLs), stopped when dropped
//! - `accounts.rs`: a listener's account through a gateway (sign up, log in)

#![warn(missing_docs, unreachable_pub)]

pub mod accounts;
mod eventually;
pub mod mesh;
mod names;
mod nats;
mod postgres;
pub mod private;
mod redis;
mod servers;
mod spawn;
mod stalling_bus;
mod telemetry;
pub mod tls;

pub use eventually::{DEFAULT_TIMEOUT, POLL_INTERVAL, eventually};
pub use names::unique_prefix;
pub use nats::{delete_nats_streams, nats_client};
pub use postgres::{TestDatabase, test_database};
pub use private::PrivateConsul;
pub use redis::{delete_redis_keys, redis_client};
pub use servers::{TestServers, servers};
pub use spawn::{SpawnedApp, grpc_settings, spawn_app};
pub use stalling_bus::StallingBus;
pub use telemetry::init_tracing;

/// What [`assert_eventually!`] expands to; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use tokio::time::{Instant, sleep, timeout};
}

//! The runtime's integration tests, one binary (each test binary is another full link):
//! the edge's sampling decision (`edge_sampling`), the standard gRPC server against real
//! clients (`grpc_server`), and the migration runner (`migrate`) and the PostgreSQL and Redis
//! adapters against the real servers (`postgres`, `redis`), and TLS to both against private
//! servers with certificates the test's own CA signed (`tls`); the Consul client against a
//! private agent with ACLs on (`consul_acl`).
//!
//! `edge_sampling` sets process-global state (the text-map propagator and the edge sample
//! ratio); no other module reads it, so they can share a process under `cargo test` too.

mod consul_acl;
mod edge_sampling;
mod grpc_server;
mod migrate;
mod mtls;
mod mtls_consul;
mod postgres;
mod redis;
mod tls;

//! playlist-svc's integration tests, one binary (each test binary is another full link): the
//! service through its gRPC API in both storage modes (`service`), the events it publishes
//! (`events`), and Redis and PostgreSQL outages (`outage`). `support` is the shared harness.

mod events;
mod outage;
mod service;
mod support;

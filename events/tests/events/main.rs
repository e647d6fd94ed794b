//! The event crate's integration tests, one binary (each test binary is another full link):
//! the adapters against real NATS and SQLite (`adapters`, `nats`), the consumer loop
//! (`consumer`), one contract suite run against every bus adapter (`contract`), and the
//! transactional outbox and its relay (`outbox`), and the per-service NATS users on a private
//! nats-server run with the generated permissions (`access`).

mod access;
mod adapters;
mod consumer;
mod contract;
mod nats;
mod outbox;

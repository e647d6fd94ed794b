//! The transactional outbox and its relay against real PostgreSQL and NATS JetStream (and
//! SQLite with the embedded bus): rollbacks publish nothing, commits publish once, a relay
//! killed between publishing and marking publishes again without a double effect, restarts
//! and outages lose nothing, and order is kept.

mod postgres;
mod sqlite;
mod support;

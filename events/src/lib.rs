//! the event bus port: JetStream and embedded adapters, outbox relay, idempotent consumer
//!
//! Producers write an [`Envelope`] into their outbox in the same transaction as their state
//! change; an [`OutboxRelay`](outbox::OutboxRelay) publishes it on the [`EventBus`];
//! consumers pull from a durable [`Subscription`] and settle each [`Delivery`], deduplicating
//! by event id because delivery is at least once.
//!
//! # Layout
//!
//! - `envelope.rs`: [`Envelope`], the [`Event`] trait of the contract messages
//! - `bus.rs`: the [`EventBus`] port, consumer specs, subscriptions and deliveries
//! - `jetstream/`: the NATS JetStream adapter; `nats.rs`: connecting to NATS
//! - `embedded/`: the SQLite adapter for `tunemesh up`
//! - `outbox/`: the transactional outbox (PostgreSQL, SQLite) and its relay
//! - `consumer.rs`: [`run_consumer`](consumer::run_consumer), the ack / nak / term loop
//! - `dedup.rs`: processed-event tables and a bounded in-memory set, to handle each id once

pub mod bus;
pub mod consumer;
pub mod dedup;
pub mod embedded;
pub mod envelope;
pub mod jetstream;
pub mod nats;
pub mod outbox;
mod retry;

pub use bus::{
    BusError, ConsumerSpec, ConsumerState, Delivery, EventBus, Published, StartFrom, Subscription,
};
pub use envelope::{Envelope, EnvelopeError, Event, new_event_id};

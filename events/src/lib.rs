//! the event bus port: JetStream and embedded adapters, outbox relay, idempotent consumer
//!
//! Producers write an [`Envelope`] into their outbox in the same transaction as their state
//! change; an [`OutboxRelay`](outbox::OutboxRelay) publishes it on the [`EventBus`];
//! consumers pull from a durable [`Subscription`] and settle each [`Delivery`], deduplicating
//! by event id because delivery is at least once.
//!
//! # How a service uses it
//!
//! - Producer: add [`outbox::postgres::MIGRATION`] (or [`outbox::sqlite::MIGRATION`]) to the
//!   service's migrations as a versioned step (a `V<n>__event_outbox.rs` returning it, as in
//!   `player-svc/migrations/`); in the request's transaction call
//!   `outbox::postgres::append(&tx, &Envelope::from_event(&event)?)`, commit, then
//!   `waker.wake()` (who wakes: [`outbox::OutboxWaker`]). At start, spawn
//!   `OutboxRelay::new(source, bus, settings, waker).run(shutdown)`.
//! - Consumer: `bus.subscribe(ConsumerSpec::new("reco", &[subjects::PLAY]))`, then
//!   [`run_consumer`](consumer::run_consumer) with a [`Handler`](consumer::Handler) that
//!   decodes with [`Envelope::decode`] (a malformed payload becomes a permanent error) and
//!   records the id with [`dedup::PostgresProcessed`] in the same transaction as its effect.
//! - Bus: [`jetstream::JetStreamBus::connect`] in production, [`embedded::EmbeddedBus::open`]
//!   for `tunemesh up`; both behind `Arc<dyn EventBus>`.
//!
//! # Layout
//!
//! - `envelope.rs`: [`Envelope`], the [`Event`] trait of the contract messages
//! - `bus.rs`: the [`EventBus`] port, consumer specs, subscriptions and deliveries
//! - `jetstream/`: the NATS JetStream adapter; `nats.rs`: connecting to NATS (credentials)
//! - `access.rs`: one NATS user per service and the subjects it may use; the nats-server
//!   `authorization` block built from them
//! - `embedded/`: the SQLite adapter for `tunemesh up`
//! - `outbox/`: the transactional outbox (PostgreSQL, SQLite) and its relay
//! - `consumer.rs`: [`run_consumer`](consumer::run_consumer), the ack / nak / term loop
//! - `projection.rs`: what a read model rebuilt by replay runs on: consumer names,
//!   resubscribing after failures, readiness once caught up
//! - `dedup.rs`: processed-event tables and a bounded in-memory set, to handle each id once
//! - `retry.rs`: jittered backoff shared by the relay and the consumer loop
//!
//! # Metrics
//!
//! `tunemesh_outbox_published_total`, `tunemesh_outbox_failures_total`,
//! `tunemesh_outbox_rejected_total`, `tunemesh_outbox_pending_age_seconds` (label `outbox`);
//! `tunemesh_consumer_events_total` (labels `consumer`, `outcome`), `tunemesh_consumer_lag`,
//! `tunemesh_consumer_in_flight` (label `consumer`).

#![warn(missing_docs, unreachable_pub)]

pub mod access;
pub mod bus;
pub mod consumer;
pub mod dedup;
pub mod embedded;
pub mod envelope;
pub mod jetstream;
pub mod nats;
pub mod outbox;
pub mod projection;
mod retry;

pub use bus::{
    BusError, ConsumerSpec, ConsumerState, Delivery, EventBus, Published, StartFrom, Subscription,
};
pub use envelope::{Envelope, EnvelopeError, Event, new_event_id};

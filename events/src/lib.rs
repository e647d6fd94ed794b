//! the event bus port: JetStream and embedded adapters, outbox relay, idempotent consumer

pub mod nats;

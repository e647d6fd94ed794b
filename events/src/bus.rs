//! The event-bus port: publish with dedup by id, durable pull consumers, settled deliveries.
//!
//! Two adapters implement it, [`JetStreamBus`](crate::jetstream::JetStreamBus) for production
//! and [`EmbeddedBus`](crate::embedded::EmbeddedBus) for `tunemesh up`; one contract suite
//! (`events/tests/events/contract/`) runs against both so they cannot drift apart.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

use crate::envelope::Envelope;

/// Boxed cause of a bus error, whatever the adapter.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The event bus: at-least-once publish with dedup by envelope id, durable pull consumers.
///
/// Object-safe: services hold an `Arc<dyn EventBus>` and never name the adapter.
#[async_trait]
pub trait EventBus: Send + Sync + fmt::Debug {
    /// Stores the event durably before returning. Publishing the same id again within the
    /// dedup window stores nothing and answers `duplicate: true`.
    async fn publish(&self, envelope: &Envelope) -> Result<Published, BusError>;

    /// Publishes `envelopes` in order, as [`publish`](Self::publish) would one by one: one
    /// answer per envelope, up to and including the first that failed for another reason
    /// than its own envelope (`InvalidEnvelope`); the rest were not attempted. Adapters that
    /// can store a batch in one write override it (the embedded bus: one durable commit per
    /// batch instead of one per event); the default publishes one at a time.
    async fn publish_batch(&self, envelopes: &[Envelope]) -> Vec<Result<Published, BusError>> {
        let mut answers = Vec::with_capacity(envelopes.len());
        for envelope in envelopes {
            let answer = self.publish(envelope).await;
            let stop = matches!(&answer, Err(e) if !matches!(e, BusError::InvalidEnvelope { .. }));
            answers.push(answer);
            if stop {
                break;
            }
        }
        answers
    }

    /// Creates the durable consumer `spec.name` (or attaches to it, resuming where it left
    /// off) and starts pulling from it.
    async fn subscribe(&self, spec: ConsumerSpec) -> Result<Subscription, BusError>;

    /// How far behind the durable consumer `name` is.
    async fn consumer_state(&self, name: &str) -> Result<ConsumerState, BusError>;

    /// Deletes the durable consumer `name` and its position; false when there was none. The
    /// next subscribe under that name starts afresh, e.g. a replica that lost its local state
    /// and must replay under its stable name. Buses that cannot delete refuse (the default).
    async fn delete_consumer(&self, name: &str) -> Result<bool, BusError> {
        Err(BusError::Consumer {
            consumer: name.to_owned(),
            source: "this bus cannot delete consumers".into(),
        })
    }
}

/// What the bus answered to a publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    /// True when the id was already stored (within the dedup window): nothing new was stored.
    pub duplicate: bool,
}

/// Where a new durable consumer starts; an existing one always resumes where it left off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartFrom {
    /// Every stored event (replay), e.g. a fresh search replica rebuilding its index.
    Beginning,
    /// Only events published after the consumer was created.
    NewOnly,
}

/// A durable consumer: its name, what it reads and how deliveries are retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerSpec {
    /// Durable name (`a-z`, `0-9`, `_`, `-`); the same name resumes the same position.
    pub name: String,
    /// Logical subjects to deliver (`events.play`; `*` matches one token, `>` the rest).
    pub subjects: Vec<String>,
    /// Where a new consumer starts.
    pub start: StartFrom,
    /// Deliveries of one event at most (first one included); then it is dropped.
    pub max_deliver: u32,
    /// How long a delivery may stay unsettled before it is delivered again.
    pub ack_wait: Duration,
    /// Events pulled from the bus per request.
    pub batch_size: usize,
    /// Events delivered but not yet settled, at most: a consumer that stops settling stops
    /// receiving (backpressure) instead of buffering without bound.
    pub max_in_flight: usize,
}

impl ConsumerSpec {
    /// A consumer of `subjects` from the beginning, with production defaults: 5 deliveries,
    /// 30 s ack wait, batches of 32, at most 256 in flight.
    pub fn new(name: impl Into<String>, subjects: &[&str]) -> Self {
        Self {
            name: name.into(),
            subjects: subjects.iter().map(|s| (*s).to_owned()).collect(),
            start: StartFrom::Beginning,
            max_deliver: 5,
            ack_wait: Duration::from_secs(30),
            batch_size: 32,
            max_in_flight: 256,
        }
    }

    /// Checks what both adapters rely on; the message says which field is wrong.
    pub fn validate(&self) -> Result<(), BusError> {
        let invalid = |why: &str| Err(BusError::InvalidSpec(why.to_owned()));
        let name_ok = !self.name.is_empty()
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !name_ok {
            return invalid("consumer name must be non-empty and use only a-z, 0-9, _ and -");
        }
        if self.subjects.is_empty() || self.subjects.iter().any(|s| !valid_filter(s)) {
            return invalid("subjects must be non-empty dot-separated tokens");
        }
        if self.max_deliver == 0 || self.batch_size == 0 || self.ack_wait.is_zero() {
            return invalid("max_deliver, batch_size and ack_wait must be positive");
        }
        if self.max_in_flight < self.batch_size {
            return invalid("max_in_flight must be at least batch_size");
        }
        Ok(())
    }
}

/// Checks an envelope before an adapter publishes it.
pub(crate) fn check_envelope(envelope: &Envelope) -> Result<(), BusError> {
    envelope
        .validate()
        .map_err(|source| BusError::InvalidEnvelope {
            id: envelope.id.clone(),
            source,
        })
}

/// True when `filter` is a valid subject filter: non-empty tokens, `>` only last.
fn valid_filter(filter: &str) -> bool {
    let tokens: Vec<&str> = filter.split('.').collect();
    tokens.iter().enumerate().all(|(i, token)| {
        let wildcard_ok = *token != ">" || i == tokens.len() - 1;
        !token.is_empty() && wildcard_ok && !token.contains(char::is_whitespace)
    })
}

/// True when `subject` matches `filter` under NATS rules (`*` one token, `>` one or more).
pub fn subject_matches(filter: &str, subject: &str) -> bool {
    let mut subject_tokens = subject.split('.');
    for token in filter.split('.') {
        match (token, subject_tokens.next()) {
            (">", Some(_)) => return true,
            ("*", Some(_)) => {}
            (want, Some(got)) if want == got => {}
            _ => return false,
        }
    }
    subject_tokens.next().is_none()
}

/// The state of a durable consumer, for lag metrics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConsumerState {
    /// Events matching the consumer that were never delivered to it.
    pub pending: u64,
    /// Events delivered and not yet settled (including those waiting for a NAK delay).
    pub in_flight: u64,
}

/// A stream of deliveries from one durable consumer, pulled on demand.
///
/// Dropping it stops pulling; unsettled deliveries come back after their ack wait.
#[derive(Debug)]
pub struct Subscription {
    name: String,
    max_deliver: u32,
    source: Box<dyn DeliverySource>,
}

impl Subscription {
    /// Wraps an adapter's source of deliveries for the consumer `spec` (for adapters).
    pub fn new(spec: &ConsumerSpec, source: Box<dyn DeliverySource>) -> Self {
        Self {
            name: spec.name.clone(),
            max_deliver: spec.max_deliver,
            source,
        }
    }

    /// The durable consumer's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Deliveries of one event at most; the delivery with this attempt number is the last.
    pub fn max_deliver(&self) -> u32 {
        self.max_deliver
    }

    /// Waits for the next delivery. After [`BusError::Closed`] no more deliveries come; other
    /// errors are transient and the caller may call again.
    ///
    /// Cancel-safe: dropping the future (in a `select!`, a timeout) loses no delivery.
    pub async fn next(&mut self) -> Result<Delivery, BusError> {
        self.source.next().await
    }
}

/// What an adapter implements to feed a [`Subscription`].
#[async_trait]
pub trait DeliverySource: Send + fmt::Debug {
    /// The next delivery, waiting as long as needed. Must be cancel-safe.
    async fn next(&mut self) -> Result<Delivery, BusError>;
}

/// One delivery of an event. Settle it exactly once with [`ack`](Self::ack),
/// [`nak`](Self::nak) or [`term`](Self::term); dropped unsettled, it comes back after the
/// consumer's ack wait.
#[derive(Debug)]
pub struct Delivery {
    envelope: Envelope,
    attempt: u32,
    settle: Box<dyn Settle>,
}

impl Delivery {
    /// Builds a delivery (for adapters).
    pub fn new(envelope: Envelope, attempt: u32, settle: Box<dyn Settle>) -> Self {
        Self {
            envelope,
            attempt,
            settle,
        }
    }

    /// The event.
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    /// Which delivery of this event this is: 1 for the first.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The event was handled: never deliver it again to this consumer.
    pub async fn ack(self) -> Result<(), BusError> {
        self.settle.settle(Outcome::Ack).await
    }

    /// The event could not be handled now (a transient error): deliver it again after
    /// `delay`, counting towards `max_deliver`.
    pub async fn nak(self, delay: Duration) -> Result<(), BusError> {
        self.settle.settle(Outcome::Nak(delay)).await
    }

    /// The event can never be handled (a poison message): stop delivering it.
    pub async fn term(self) -> Result<(), BusError> {
        self.settle.settle(Outcome::Term).await
    }
}

/// How a delivery was settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Handled.
    Ack,
    /// Retry after the delay.
    Nak(Duration),
    /// Never retry.
    Term,
}

/// What an adapter implements to settle one delivery.
#[async_trait]
pub trait Settle: Send + Sync + fmt::Debug {
    /// Tells the bus the outcome; consumes the settle handle so it happens once.
    async fn settle(self: Box<Self>, outcome: Outcome) -> Result<(), BusError>;
}

/// Why the bus failed. Messages name the event or consumer; causes are kept as sources.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The bus could not be set up (stream, store, connection).
    #[error("event bus setup failed")]
    Setup(#[source] BoxError),
    /// The event was not stored: publish again (same id) later.
    #[error("publish of event {id} failed")]
    Publish {
        /// The event id.
        id: String,
        /// Why.
        #[source]
        source: BoxError,
    },
    /// The envelope can never be published (see [`Envelope::validate`]); do not retry.
    #[error("event {id} cannot be published")]
    InvalidEnvelope {
        /// The event id (possibly the invalid part).
        id: String,
        /// What is wrong.
        #[source]
        source: crate::envelope::EnvelopeError,
    },
    /// The consumer spec is not valid for this bus.
    #[error("invalid consumer spec: {0}")]
    InvalidSpec(String),
    /// Creating, reading or settling on a consumer failed.
    #[error("consumer {consumer} failed")]
    Consumer {
        /// The durable name.
        consumer: String,
        /// Why.
        #[source]
        source: BoxError,
    },
    /// No such durable consumer.
    #[error("consumer {0} not found")]
    UnknownConsumer(String),
    /// The subscription ended (bus shut down or connection closed for good).
    #[error("subscription closed")]
    Closed,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_filters_follow_nats_wildcards() {
        assert!(subject_matches("events.play", "events.play"));
        assert!(!subject_matches("events.play", "events.playlist"));
        assert!(subject_matches("events.*", "events.play"));
        assert!(!subject_matches("events.*", "events.play.x"));
        assert!(subject_matches("events.>", "events.play.x"));
        assert!(!subject_matches("events.>", "events"));
        assert!(!subject_matches("events.play.x", "events.play"));
    }

    #[test]
    fn specs_are_checked_before_any_adapter_sees_them() {
        let ok = ConsumerSpec::new("reco", &["events.play"]);
        assert!(ok.validate().is_ok());
        let bad_name = ConsumerSpec::new("reco.v1", &["events.play"]);
        assert!(bad_name.validate().is_err());
        let bad_subject = ConsumerSpec::new("reco", &["events..play"]);
        assert!(bad_subject.validate().is_err());
        let early_tail = ConsumerSpec::new("reco", &["events.>.play"]);
        assert!(early_tail.validate().is_err());
        let small = ConsumerSpec {
            max_in_flight: 1,
            ..ok
        };
        assert!(small.validate().is_err());
    }
}

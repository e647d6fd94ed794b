//! Deliveries from a durable JetStream pull consumer, and how they are settled.

use std::collections::BTreeMap;

use async_nats::jetstream::{self, AckKind, consumer::PullConsumer, message::Acker};
use async_trait::async_trait;
use futures::StreamExt as _;

use super::OCCURRED_AT;
use crate::bus::{BusError, ConsumerSpec, Delivery, DeliverySource, Outcome, Settle};
use crate::envelope::{Envelope, millis_to_system_time};

/// Pulls from one durable consumer. The async-nats stream asks the server for at most
/// `batch_size` messages at a time and only asks again as they are taken, so a subscriber that
/// stops calling `next` stops the flow (the server also caps unsettled ones at
/// `max_ack_pending`).
pub(super) struct JetStreamSource {
    consumer: String,
    prefix: String,
    messages: jetstream::consumer::pull::Stream,
}

impl std::fmt::Debug for JetStreamSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JetStreamSource")
            .field("consumer", &self.consumer)
            .finish_non_exhaustive()
    }
}

impl JetStreamSource {
    /// Starts the pull stream on `consumer`.
    pub(super) async fn start(
        consumer: PullConsumer,
        spec: &ConsumerSpec,
        prefix: String,
    ) -> Result<Self, BusError> {
        let messages = consumer
            .stream()
            .max_messages_per_batch(spec.batch_size)
            .messages()
            .await
            .map_err(|e| BusError::Consumer {
                consumer: spec.name.clone(),
                source: Box::new(e),
            })?;
        Ok(Self {
            consumer: spec.name.clone(),
            prefix,
            messages,
        })
    }

    /// Turns a JetStream message into a delivery. A message someone published without our
    /// headers still becomes a delivery (with a sequence-based id), so the handler can
    /// reject it and it gets terminated instead of stalling the consumer.
    fn delivery(&self, message: jetstream::Message) -> Delivery {
        let (attempt, sequence) = message.info().map_or((1, 0), |info| {
            let attempt = u32::try_from(info.delivered).unwrap_or(1).max(1);
            (attempt, info.stream_sequence)
        });
        let (message, acker) = message.split();
        let mut headers = BTreeMap::new();
        let mut id = None;
        let mut occurred_at = None;
        for (name, values) in message.headers.iter().flat_map(|h| h.iter()) {
            let Some(value) = values.last() else { continue };
            match name.as_ref() {
                "Nats-Msg-Id" => id = Some(value.as_str().to_owned()),
                OCCURRED_AT => occurred_at = value.as_str().parse::<i64>().ok(),
                other if other.starts_with("Nats-") => {}
                other => {
                    headers.insert(other.to_owned(), value.as_str().to_owned());
                }
            }
        }
        let subject = message.subject.as_str();
        let subject = subject
            .strip_prefix(&self.prefix)
            .and_then(|s| s.strip_prefix('.'))
            .unwrap_or(subject);
        let envelope = Envelope {
            id: id.unwrap_or_else(|| format!("seq-{sequence}")),
            subject: subject.to_owned(),
            payload: message.payload,
            headers,
            occurred_at: millis_to_system_time(occurred_at.unwrap_or(0)),
        };
        let settle = JetStreamSettle {
            consumer: self.consumer.clone(),
            acker,
        };
        Delivery::new(envelope, attempt, Box::new(settle))
    }
}

#[async_trait]
impl DeliverySource for JetStreamSource {
    async fn next(&mut self) -> Result<Delivery, BusError> {
        match self.messages.next().await {
            None => Err(BusError::Closed),
            Some(Err(error)) => Err(BusError::Consumer {
                consumer: self.consumer.clone(),
                source: Box::new(error),
            }),
            Some(Ok(message)) => Ok(self.delivery(message)),
        }
    }
}

/// Settles one message through its reply subject.
struct JetStreamSettle {
    consumer: String,
    acker: Acker,
}

impl std::fmt::Debug for JetStreamSettle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JetStreamSettle")
            .field("consumer", &self.consumer)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Settle for JetStreamSettle {
    async fn settle(self: Box<Self>, outcome: Outcome) -> Result<(), BusError> {
        let result = match outcome {
            // Acks wait for the server's confirmation: an ack lost on the way would mean a
            // redelivery of an event the caller believes is done.
            Outcome::Ack => self.acker.double_ack().await,
            Outcome::Nak(delay) => self.acker.ack_with(AckKind::Nak(Some(delay))).await,
            Outcome::Term => self.acker.ack_with(AckKind::Term).await,
        };
        result.map_err(|source| BusError::Consumer {
            consumer: self.consumer,
            source,
        })
    }
}

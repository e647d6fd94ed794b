//! The production event-bus adapter: NATS JetStream through async-nats.
//!
//! One stream per deployment, `<prefix>_events`, captures every subject under `<prefix>.`;
//! logical subjects (`events.play`) are published as `<prefix>.events.play`, so deployments
//! and tests sharing a server never see each other's events.

mod consumer;

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, consumer::pull, message::PublishMessage, stream};
use async_trait::async_trait;
use serde::Deserialize;

use crate::bus::{
    BoxError, BusError, ConsumerSpec, ConsumerState, EventBus, Published, Subscription,
};
use crate::envelope::Envelope;
use crate::nats::{NatsSettings, connect};

/// Header carrying [`Envelope::occurred_at`] (milliseconds since the epoch) across the bus.
pub(crate) const OCCURRED_AT: &str = "Tunemesh-Occurred-At";

/// How the deployment's stream is configured (`[jetstream]` in settings, `TUNEMESH_JETSTREAM__*`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JetStreamSettings {
    /// Events older than this are discarded (zero keeps them forever).
    #[serde(with = "crate::nats::duration_text")]
    pub max_age: Duration,
    /// Bytes kept at most; the oldest events go first (-1: unlimited).
    pub max_bytes: i64,
    /// Events kept at most; the oldest go first (-1: unlimited).
    pub max_messages: i64,
    /// How long JetStream remembers event ids to drop duplicates.
    #[serde(with = "crate::nats::duration_text")]
    pub duplicate_window: Duration,
    /// Replicas of the stream (3 in production clusters).
    pub replicas: usize,
}

impl Default for JetStreamSettings {
    fn default() -> Self {
        Self {
            max_age: Duration::from_secs(30 * 24 * 3600),
            max_bytes: -1,
            max_messages: -1,
            duplicate_window: Duration::from_secs(120),
            replicas: 1,
        }
    }
}

/// The event bus on NATS JetStream.
#[derive(Debug, Clone)]
pub struct JetStreamBus {
    context: jetstream::Context,
    stream: jetstream::stream::Stream,
    prefix: String,
}

impl JetStreamBus {
    /// Connects, then creates or updates the deployment's stream.
    pub async fn connect(
        nats: &NatsSettings,
        settings: &JetStreamSettings,
    ) -> Result<Self, BusError> {
        let (_client, context) = connect(nats)
            .await
            .map_err(|e| BusError::Setup(Box::new(e)))?;
        Self::new(context, &nats.stream_prefix, settings).await
    }

    /// Creates or updates the stream `<prefix>_events` on an existing connection.
    /// Idempotent: every process of a deployment calls it at start.
    pub async fn new(
        context: jetstream::Context,
        prefix: &str,
        settings: &JetStreamSettings,
    ) -> Result<Self, BusError> {
        let config = stream::Config {
            name: format!("{prefix}_events"),
            subjects: vec![format!("{prefix}.>")],
            storage: stream::StorageType::File,
            max_age: settings.max_age,
            max_bytes: settings.max_bytes,
            max_messages: settings.max_messages,
            duplicate_window: settings.duplicate_window,
            num_replicas: settings.replicas,
            ..stream::Config::default()
        };
        let name = config.name.clone();
        context
            .create_or_update_stream(config)
            .await
            .map_err(|e| BusError::Setup(Box::new(e)))?;
        let stream = context
            .get_stream(&name)
            .await
            .map_err(|e| BusError::Setup(Box::new(e)))?;
        Ok(Self {
            context,
            stream,
            prefix: prefix.to_owned(),
        })
    }

    /// The stream's name, `<prefix>_events`.
    pub fn stream_name(&self) -> &str {
        &self.stream.cached_info().config.name
    }

    /// The NATS subject of a logical subject.
    fn nats_subject(&self, subject: &str) -> String {
        format!("{}.{subject}", self.prefix)
    }

    /// The pull-consumer config for `spec`, with subjects prefixed.
    fn consumer_config(&self, spec: &ConsumerSpec) -> pull::Config {
        let mut filters: Vec<String> = spec.subjects.iter().map(|s| self.nats_subject(s)).collect();
        let (filter_subject, filter_subjects) = match filters.len() {
            1 => (filters.remove(0), Vec::new()),
            _ => (String::new(), filters),
        };
        pull::Config {
            durable_name: Some(spec.name.clone()),
            deliver_policy: match spec.start {
                crate::bus::StartFrom::Beginning => jetstream::consumer::DeliverPolicy::All,
                crate::bus::StartFrom::NewOnly => jetstream::consumer::DeliverPolicy::New,
            },
            ack_policy: jetstream::consumer::AckPolicy::Explicit,
            ack_wait: spec.ack_wait,
            max_deliver: i64::from(spec.max_deliver),
            filter_subject,
            filter_subjects,
            max_ack_pending: i64::try_from(spec.max_in_flight).unwrap_or(i64::MAX),
            ..pull::Config::default()
        }
    }
}

#[async_trait]
impl EventBus for JetStreamBus {
    async fn publish(&self, envelope: &Envelope) -> Result<Published, BusError> {
        crate::bus::check_envelope(envelope)?;
        let failed = |source: BoxError| BusError::Publish {
            id: envelope.id.clone(),
            source,
        };
        let mut headers = HeaderMap::new();
        for (name, value) in &envelope.headers {
            headers.insert(name.as_str(), value.as_str());
        }
        headers.insert(OCCURRED_AT, envelope.occurred_at_millis().to_string());
        // `headers` replaces the whole map, so it must come before `message_id` (infra.md).
        let message = PublishMessage::build()
            .payload(envelope.payload.clone())
            .headers(headers)
            .message_id(&envelope.id);
        let subject = self.nats_subject(&envelope.subject);
        let ack = self
            .context
            .send_publish(subject, message)
            .await
            .map_err(|e| failed(Box::new(e)))?
            .await
            .map_err(|e| failed(Box::new(e)))?;
        Ok(Published {
            duplicate: ack.duplicate,
        })
    }

    async fn subscribe(&self, spec: ConsumerSpec) -> Result<Subscription, BusError> {
        spec.validate()?;
        let config = self.consumer_config(&spec);
        let failed = |source: BoxError| BusError::Consumer {
            consumer: spec.name.clone(),
            source,
        };
        // Create-or-update: the same durable name attaches to the existing consumer.
        let pull_consumer = self
            .stream
            .create_consumer(config.clone())
            .await
            .map_err(|e| failed(Box::new(e)))?;
        // A server before 2.10 ignores `filter_subjects` and would deliver everything.
        if pull_consumer.cached_info().config.filter_subjects != config.filter_subjects {
            // The server made a consumer of everything: remove it before anyone pulls from it.
            if let Err(error) = self.stream.delete_consumer(&spec.name).await {
                tracing::warn!(consumer = %spec.name, %error, "could not delete the unfiltered consumer");
            }
            return Err(BusError::InvalidSpec(
                "several subject filters need nats 2.10 or later".to_owned(),
            ));
        }
        let source =
            consumer::JetStreamSource::start(pull_consumer, &spec, self.prefix.clone()).await?;
        Ok(Subscription::new(&spec, Box::new(source)))
    }

    async fn consumer_state(&self, name: &str) -> Result<ConsumerState, BusError> {
        let mut pull_consumer: jetstream::consumer::PullConsumer = self
            .stream
            .get_consumer(name)
            .await
            .map_err(|_| BusError::UnknownConsumer(name.to_owned()))?;
        let info = pull_consumer.info().await.map_err(|e| BusError::Consumer {
            consumer: name.to_owned(),
            source: Box::new(e),
        })?;
        Ok(ConsumerState {
            pending: info.num_pending,
            in_flight: u64::try_from(info.num_ack_pending).unwrap_or(0),
        })
    }

    async fn delete_consumer(&self, name: &str) -> Result<bool, BusError> {
        match self.stream.delete_consumer(name).await {
            Ok(_) => Ok(true),
            Err(error)
                if matches!(
                    error.kind(),
                    jetstream::stream::ConsumerErrorKind::JetStream(ref e)
                        if e.error_code() == jetstream::ErrorCode::CONSUMER_NOT_FOUND
                ) =>
            {
                Ok(false)
            }
            Err(error) => Err(BusError::Consumer {
                consumer: name.to_owned(),
                source: Box::new(error),
            }),
        }
    }
}

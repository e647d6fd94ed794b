//! The envelope every event travels in: id, subject, protobuf payload, trace headers, time.
//!
//! The envelope id is also the deduplication id (`Nats-Msg-Id` on JetStream, the unique key
//! of the embedded store and of the outbox), so a retried publish of the same event is
//! recognised everywhere along the way.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::TraceContextExt as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tunemesh_proto::events::v1::{
    CatalogEvent, EventMeta, PlayEvent, PlaylistEvent, catalog_event, playlist_event,
};
use tunemesh_proto::prost::Message;
use uuid::Uuid;

/// W3C trace-context header carrying the trace and parent span ids.
pub const TRACEPARENT: &str = "traceparent";

/// W3C trace-context header carrying vendor-specific trace state.
pub const TRACESTATE: &str = "tracestate";

/// Longest id, subject or header name accepted, in bytes.
const MAX_TOKEN: usize = 256;

/// One event on the bus. Cheap to clone: the payload is reference-counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// Unique id of the event (a UUID, v7 for new facts); also its deduplication id.
    pub id: String,
    /// Logical subject, e.g. [`tunemesh_proto::subjects::PLAY`]; adapters add their prefix.
    pub subject: String,
    /// The protobuf-encoded message.
    pub payload: Bytes,
    /// Headers carried with the event: at least the trace context when there was one.
    pub headers: BTreeMap<String, String>,
    /// When the fact the event reports happened.
    pub occurred_at: SystemTime,
}

/// Why an event could not be put in an envelope or read back from one.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    /// The event's `meta.event_id` is missing or empty: it could not be deduplicated.
    #[error("event has no meta.event_id")]
    MissingEventId,
    /// The envelope cannot travel on the bus (bad id, subject or header); nothing retries it.
    #[error("invalid envelope: {0}")]
    Invalid(&'static str),
    /// The payload is not a valid encoding of the expected message (a poison message).
    #[error("malformed {message} payload in event {id}")]
    Malformed {
        /// The event id.
        id: String,
        /// The protobuf message name expected.
        message: &'static str,
        /// The decoding error.
        #[source]
        source: tunemesh_proto::prost::DecodeError,
    },
}

/// A fresh event id: a time-ordered UUID v7, as text.
pub fn new_event_id() -> String {
    Uuid::now_v7().to_string()
}

impl Envelope {
    /// Wraps `message` with a fresh id, the current trace context and the current time.
    pub fn new<M: Message>(subject: &str, message: &M) -> Self {
        Self::with_id(new_event_id(), subject, message, SystemTime::now())
    }

    /// Wraps `message` under a given id (e.g. one derived from a play session), with the
    /// current trace context.
    pub fn with_id<M: Message>(
        id: String,
        subject: &str,
        message: &M,
        occurred_at: SystemTime,
    ) -> Self {
        let mut headers = BTreeMap::new();
        inject_current_trace(&mut headers);
        Self {
            id,
            subject: subject.to_owned(),
            payload: Bytes::from(message.encode_to_vec()),
            headers,
            occurred_at,
        }
    }

    /// Wraps a tunemesh event on its contract subject, with the id and time of its
    /// [`EventMeta`], so the envelope and the message can never disagree.
    pub fn from_event<E: Event>(event: &E) -> Result<Self, EnvelopeError> {
        let meta = event
            .meta()
            .filter(|meta| !meta.event_id.is_empty())
            .ok_or(EnvelopeError::MissingEventId)?;
        let occurred_at = meta
            .occurred_at
            .as_ref()
            .and_then(|t| SystemTime::try_from(*t).ok())
            .unwrap_or_else(SystemTime::now);
        Ok(Self::with_id(
            meta.event_id.clone(),
            E::SUBJECT,
            event,
            occurred_at,
        ))
    }

    /// Checks what every bus and outbox relies on: a printable id, a concrete subject of
    /// dot-separated tokens (no wildcards), header names without `:` and values without line
    /// breaks. Appends and publishes call it, so a bad envelope fails at its writer instead
    /// of blocking an outbox later.
    pub fn validate(&self) -> Result<(), EnvelopeError> {
        let printable = |s: &str| {
            !s.is_empty() && s.len() <= MAX_TOKEN && s.chars().all(|c| c.is_ascii_graphic())
        };
        if !printable(&self.id) {
            return Err(EnvelopeError::Invalid(
                "id must be 1-256 printable ascii characters",
            ));
        }
        let subject_ok = printable(&self.subject)
            && self
                .subject
                .split('.')
                .all(|token| !token.is_empty() && token != "*" && token != ">");
        if !subject_ok {
            return Err(EnvelopeError::Invalid(
                "subject must be dot-separated tokens without wildcards",
            ));
        }
        let headers_ok = self.headers.iter().all(|(name, value)| {
            printable(name) && !name.contains(':') && !value.contains(['\r', '\n'])
        });
        if !headers_ok {
            return Err(EnvelopeError::Invalid(
                "header names must be printable ascii without ':', values one line",
            ));
        }
        Ok(())
    }

    /// Decodes the payload as `M`; a failure names the event and is a permanent error.
    pub fn decode<M: Message + Default>(&self) -> Result<M, EnvelopeError> {
        M::decode(self.payload.as_ref()).map_err(|source| EnvelopeError::Malformed {
            id: self.id.clone(),
            message: std::any::type_name::<M>(),
            source,
        })
    }

    /// The trace context the event was published under, to continue the trace in a consumer
    /// (`span.set_parent(envelope.trace_context())`).
    pub fn trace_context(&self) -> opentelemetry::Context {
        opentelemetry::global::get_text_map_propagator(|propagator| {
            propagator.extract(&HeaderMap(&self.headers))
        })
    }

    /// `occurred_at` as milliseconds since the Unix epoch (0 before it), for storage.
    pub fn occurred_at_millis(&self) -> i64 {
        system_time_to_millis(self.occurred_at)
    }
}

/// A tunemesh event message: knows its contract subject and carries an [`EventMeta`].
pub trait Event: Message + Default {
    /// The subject this message type is published on.
    const SUBJECT: &'static str;
    /// The event's metadata, if set.
    fn meta(&self) -> Option<&EventMeta>;
}

impl Event for PlayEvent {
    const SUBJECT: &'static str = tunemesh_proto::subjects::PLAY;
    fn meta(&self) -> Option<&EventMeta> {
        self.meta.as_ref()
    }
}

impl Event for CatalogEvent {
    const SUBJECT: &'static str = tunemesh_proto::subjects::CATALOG;
    fn meta(&self) -> Option<&EventMeta> {
        match self.event.as_ref()? {
            catalog_event::Event::TrackAdded(e) => e.meta.as_ref(),
            catalog_event::Event::TrackUpdated(e) => e.meta.as_ref(),
        }
    }
}

impl Event for PlaylistEvent {
    const SUBJECT: &'static str = tunemesh_proto::subjects::PLAYLIST;
    fn meta(&self) -> Option<&EventMeta> {
        match self.event.as_ref()? {
            playlist_event::Event::PlaylistChanged(e) => e.meta.as_ref(),
            playlist_event::Event::LikedTracksChanged(e) => e.meta.as_ref(),
            playlist_event::Event::LikedItemsChanged(e) => e.meta.as_ref(),
        }
    }
}

/// Milliseconds since the Unix epoch, saturating (0 before it, `i64::MAX` far after).
pub(crate) fn system_time_to_millis(time: SystemTime) -> i64 {
    let millis = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
    i64::try_from(millis).unwrap_or(i64::MAX)
}

/// The inverse of [`system_time_to_millis`]; negative values give the epoch.
pub(crate) fn millis_to_system_time(millis: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(millis).unwrap_or(0))
}

/// Writes the current trace context (through the global propagator) into `headers`: the
/// current `tracing` span's when the OpenTelemetry layer tracks it, else OpenTelemetry's own
/// current context (code that attached one without `tracing`).
fn inject_current_trace(headers: &mut BTreeMap<String, String>) {
    let from_span = tracing::Span::current().context();
    let context = if from_span.span().span_context().is_valid() {
        from_span
    } else {
        opentelemetry::Context::current()
    };
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, &mut HeaderMapMut(headers));
    });
}

/// Lets the propagator write into the envelope's headers.
struct HeaderMapMut<'a>(&'a mut BTreeMap<String, String>);

impl Injector for HeaderMapMut<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
}

/// Lets the propagator read the envelope's headers.
struct HeaderMap<'a>(&'a BTreeMap<String, String>);

impl Extractor for HeaderMap<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tunemesh_proto::prost_types::Timestamp;

    fn play(id: &str) -> PlayEvent {
        PlayEvent {
            meta: Some(EventMeta {
                event_id: id.to_owned(),
                occurred_at: Some(Timestamp {
                    seconds: 1_700_000_000,
                    nanos: 0,
                }),
                ..EventMeta::default()
            }),
            track_id: "track-1".to_owned(),
            ..PlayEvent::default()
        }
    }

    #[test]
    fn events_go_on_their_contract_subject_under_their_own_id() -> anyhow::Result<()> {
        let envelope = Envelope::from_event(&play("evt-1"))?;
        assert_eq!(envelope.id, "evt-1");
        assert_eq!(envelope.subject, "events.play");
        assert_eq!(envelope.occurred_at_millis(), 1_700_000_000_000);
        assert_eq!(envelope.decode::<PlayEvent>()?.track_id, "track-1");
        Ok(())
    }

    #[test]
    fn an_event_without_an_id_is_refused() {
        assert!(matches!(
            Envelope::from_event(&play("")),
            Err(EnvelopeError::MissingEventId)
        ));
        assert!(matches!(
            Envelope::from_event(&CatalogEvent::default()),
            Err(EnvelopeError::MissingEventId)
        ));
    }

    #[test]
    fn new_envelopes_get_time_ordered_ids() -> anyhow::Result<()> {
        let first = Envelope::new("events.play", &play("x"));
        let id = Uuid::parse_str(&first.id)?;
        assert_eq!(id.get_version_num(), 7);
        Ok(())
    }

    #[test]
    fn the_current_trace_travels_in_the_headers_and_comes_back_out() -> anyhow::Result<()> {
        use opentelemetry::trace::{
            SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
        };
        opentelemetry::global::set_text_map_propagator(
            opentelemetry_sdk::propagation::TraceContextPropagator::new(),
        );
        let trace_id = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736")?;
        let span_id = SpanId::from_hex("00f067aa0ba902b7")?;
        let remote = SpanContext::new(
            trace_id,
            span_id,
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        );
        let envelope = {
            let _attached = opentelemetry::Context::current()
                .with_remote_span_context(remote)
                .attach();
            Envelope::new("events.play", &play("x"))
        };
        assert_eq!(
            envelope.headers.get(TRACEPARENT).map(String::as_str),
            Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        );
        let continued = envelope.trace_context();
        assert_eq!(continued.span().span_context().trace_id(), trace_id);
        Ok(())
    }

    #[test]
    fn envelopes_that_could_not_travel_are_refused() {
        let good = Envelope::new("events.play", &play("x"));
        assert!(good.validate().is_ok());
        let broken = [
            Envelope {
                id: String::new(),
                ..good.clone()
            },
            Envelope {
                id: "a b".into(),
                ..good.clone()
            },
            Envelope {
                subject: "events.*".into(),
                ..good.clone()
            },
            Envelope {
                subject: "events..play".into(),
                ..good.clone()
            },
            Envelope {
                subject: "events play".into(),
                ..good.clone()
            },
            Envelope {
                headers: [("bad:name".into(), "v".into())].into(),
                ..good.clone()
            },
            Envelope {
                headers: [("x".into(), "two\nlines".into())].into(),
                ..good.clone()
            },
        ];
        for envelope in broken {
            assert!(
                matches!(envelope.validate(), Err(EnvelopeError::Invalid(_))),
                "{envelope:?}"
            );
        }
    }

    #[test]
    fn garbage_payloads_are_reported_not_panicked_on() {
        let mut envelope = Envelope::new("events.play", &play("x"));
        envelope.payload = Bytes::from_static(&[0xff, 0xff, 0xff]);
        assert!(matches!(
            envelope.decode::<PlayEvent>(),
            Err(EnvelopeError::Malformed { .. })
        ));
    }
}

//! The embedded event-bus adapter for `tunemesh up`: in-process, at-least-once, durable.
//!
//! Events live in a SQLite file (an append-only log with per-consumer positions and
//! unsettled deliveries), reached only through tokio-rusqlite so no async thread ever blocks.
//! Subscribers sleep on a [`Notify`] that publishes and settlements poke, or until the next
//! redelivery is due: no polling. Semantics follow JetStream: dedup by id within a window,
//! ack / nak(delay) / term, `max_deliver`, `max_in_flight`, replay from the start.

mod source;
mod store;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use tokio::sync::Notify;

use crate::bus::{BusError, ConsumerSpec, ConsumerState, EventBus, Published, Subscription};
use crate::envelope::{Envelope, system_time_to_millis};

/// Where and how the embedded bus keeps events.
#[derive(Debug, Clone)]
pub struct EmbeddedSettings {
    /// The SQLite file (created if missing).
    pub path: PathBuf,
    /// How long an event id is remembered to drop duplicates (JetStream's default: 2 min).
    pub duplicate_window: Duration,
    /// Events older than this are deleted; `None` keeps them forever.
    pub max_age: Option<Duration>,
}

impl EmbeddedSettings {
    /// Settings for a file at `path`, with a 2-minute dedup window and 30 days of events.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            duplicate_window: Duration::from_secs(120),
            max_age: Some(Duration::from_secs(30 * 24 * 3600)),
        }
    }
}

/// The embedded event bus. Clones share the file handle and the wake-up signal.
#[derive(Clone)]
pub struct EmbeddedBus {
    shared: Arc<Shared>,
}

/// What every clone, subscription and delivery of one bus shares.
pub(crate) struct Shared {
    /// One SQLite connection on its own thread; it serialises every statement.
    pub(crate) db: tokio_rusqlite::Connection,
    /// Poked on every publish and settlement so waiting subscribers look again; they also
    /// wake by themselves when their next redelivery is due.
    pub(crate) wake: Notify,
    /// Settlements waiting for the database thread: the first call to run takes them all
    /// into one transaction (group commit), so deliveries settled together, e.g. a batch
    /// after an index commit, cost one write instead of one each.
    pub(crate) settles: std::sync::Mutex<Vec<store::Settlement>>,
    settings: EmbeddedSettings,
    /// When retention last ran (ms since the epoch); publishes run it at most once a minute.
    last_prune_ms: AtomicI64,
}

/// How often publishes apply the retention settings.
const PRUNE_EVERY_MS: i64 = 60_000;

impl std::fmt::Debug for EmbeddedBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedBus")
            .field("path", &self.shared.settings.path)
            .finish_non_exhaustive()
    }
}

impl EmbeddedBus {
    /// Opens (or creates) the event file and prunes what the retention settings expired.
    pub async fn open(settings: &EmbeddedSettings) -> Result<Self, BusError> {
        let setup = |e: tokio_rusqlite::Error| BusError::Setup(Box::new(e));
        let db = tokio_rusqlite::Connection::open(&settings.path)
            .await
            .map_err(|e| BusError::Setup(Box::new(e)))?;
        db.call(store::init).await.map_err(setup)?;
        let bus = Self {
            shared: Arc::new(Shared {
                db,
                wake: Notify::new(),
                settles: std::sync::Mutex::default(),
                settings: settings.clone(),
                last_prune_ms: AtomicI64::new(0),
            }),
        };
        bus.prune().await.map_err(setup)?;
        Ok(bus)
    }

    /// Applies retention if it has not run for a minute (a long-running `tunemesh up` would
    /// otherwise keep every event and id forever).
    async fn prune_if_due(&self) -> Result<(), tokio_rusqlite::Error> {
        let last = self.shared.last_prune_ms.load(Ordering::Relaxed);
        if now_ms() - last < PRUNE_EVERY_MS {
            return Ok(());
        }
        self.prune().await
    }

    async fn prune(&self) -> Result<(), tokio_rusqlite::Error> {
        let settings = &self.shared.settings;
        let window = millis(settings.duplicate_window);
        let max_age = settings.max_age.map(millis);
        let now = now_ms();
        self.shared.last_prune_ms.store(now, Ordering::Relaxed);
        self.shared
            .db
            .call(move |conn| store::prune(conn, now, window, max_age))
            .await
    }
}

#[async_trait]
impl EventBus for EmbeddedBus {
    async fn publish(&self, envelope: &Envelope) -> Result<Published, BusError> {
        crate::bus::check_envelope(envelope)?;
        let failed = |source: Box<dyn std::error::Error + Send + Sync>| BusError::Publish {
            id: envelope.id.clone(),
            source,
        };
        let headers = serde_json::to_string(&envelope.headers).map_err(|e| failed(Box::new(e)))?;
        let window = millis(self.shared.settings.duplicate_window);
        let owned = envelope.clone();
        let now = now_ms();
        let fresh = self
            .shared
            .db
            .call(move |conn| store::append(conn, &owned, &headers, now, window))
            .await
            .map_err(|e| failed(Box::new(e)))?;
        if fresh {
            self.shared.wake.notify_waiters();
        }
        if let Err(error) = self.prune_if_due().await {
            // Retention is housekeeping: the event is stored, so the publish succeeded.
            tracing::warn!(%error, "embedded bus retention failed");
        }
        Ok(Published { duplicate: !fresh })
    }

    async fn publish_batch(&self, envelopes: &[Envelope]) -> Vec<Result<Published, BusError>> {
        // Invalid envelopes are answered alone; the others are stored in one transaction.
        let mut answers: Vec<Option<Result<Published, BusError>>> = Vec::new();
        let mut valid = Vec::new();
        for envelope in envelopes {
            let checked = crate::bus::check_envelope(envelope).and_then(|()| {
                serde_json::to_string(&envelope.headers)
                    .map_err(|e| publish_failed(envelope, Box::new(e)))
            });
            match checked {
                Ok(headers) => {
                    answers.push(None);
                    valid.push((envelope.clone(), headers));
                }
                Err(error) => answers.push(Some(Err(error))),
            }
        }
        let window = millis(self.shared.settings.duplicate_window);
        let now = now_ms();
        let first_id = valid.first().map(|(e, _)| e.id.clone());
        let stored = self
            .shared
            .db
            .call(move |conn| {
                let events: Vec<(&Envelope, &str)> =
                    valid.iter().map(|(e, h)| (e, h.as_str())).collect();
                store::append_batch(conn, &events, now, window)
            })
            .await;
        let fresh = match stored {
            Ok(fresh) => fresh,
            Err(error) => {
                // Nothing of the batch was stored: the first valid event failed, and the
                // ones after it were not attempted.
                let mut out = Vec::new();
                for answer in answers {
                    match answer {
                        Some(invalid) => out.push(invalid),
                        None => {
                            out.push(Err(BusError::Publish {
                                id: first_id.unwrap_or_default(),
                                source: Box::new(error),
                            }));
                            break;
                        }
                    }
                }
                return out;
            }
        };
        if fresh.iter().any(|new| *new) {
            self.shared.wake.notify_waiters();
        }
        let mut fresh = fresh.into_iter();
        if let Err(error) = self.prune_if_due().await {
            tracing::warn!(%error, "embedded bus retention failed");
        }
        answers
            .into_iter()
            .map(|answer| {
                answer.unwrap_or_else(|| {
                    let new = fresh.next().unwrap_or(false);
                    Ok(Published { duplicate: !new })
                })
            })
            .collect()
    }

    async fn subscribe(&self, spec: ConsumerSpec) -> Result<Subscription, BusError> {
        spec.validate()?;
        let owned = spec.clone();
        self.shared
            .db
            .call(move |conn| store::ensure_consumer(conn, &owned))
            .await
            .map_err(|e| BusError::Consumer {
                consumer: spec.name.clone(),
                source: Box::new(e),
            })?;
        let subscription_spec = spec.clone();
        let source = source::EmbeddedSource::new(Arc::clone(&self.shared), spec);
        Ok(Subscription::new(&subscription_spec, Box::new(source)))
    }

    async fn consumer_state(&self, name: &str) -> Result<ConsumerState, BusError> {
        let owned = name.to_owned();
        self.shared
            .db
            .call(move |conn| store::state(conn, &owned))
            .await
            .map_err(|e| BusError::Consumer {
                consumer: name.to_owned(),
                source: Box::new(e),
            })?
            .ok_or_else(|| BusError::UnknownConsumer(name.to_owned()))
    }

    async fn delete_consumer(&self, name: &str) -> Result<bool, BusError> {
        let owned = name.to_owned();
        self.shared
            .db
            .call(move |conn| store::delete_consumer(conn, &owned))
            .await
            .map_err(|e| BusError::Consumer {
                consumer: name.to_owned(),
                source: Box::new(e),
            })
    }
}

fn publish_failed(
    envelope: &Envelope,
    source: Box<dyn std::error::Error + Send + Sync>,
) -> BusError {
    BusError::Publish {
        id: envelope.id.clone(),
        source,
    }
}

/// Now, in milliseconds since the epoch: the embedded bus's clock for dues and windows.
pub(crate) fn now_ms() -> i64 {
    system_time_to_millis(SystemTime::now())
}

/// A duration in whole milliseconds, saturating.
pub(crate) fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

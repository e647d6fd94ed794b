//! The watch loop: blocking health queries with index handling, rate limit and backoff.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::ConsulSettings;
use super::api::AgentApi;
use crate::registry::{InstanceSet, publish};

/// One sender per watched service, shared by all its subscribers.
pub(super) type Watches = Arc<Mutex<HashMap<String, watch::Sender<InstanceSet>>>>;

fn lock(watches: &Watches) -> MutexGuard<'_, HashMap<String, watch::Sender<InstanceSet>>> {
    // The map only holds senders: still consistent after a panic elsewhere.
    watches.lock().unwrap_or_else(|p| p.into_inner())
}

/// Subscribes to `service`, starting its loop if nobody watches it yet.
pub(super) fn subscribe(
    watches: &Watches,
    api: &Arc<AgentApi>,
    settings: &Arc<ConsulSettings>,
    service: &str,
) -> watch::Receiver<InstanceSet> {
    let mut map = lock(watches);
    if let Some(tx) = map.get(service) {
        return tx.subscribe();
    }
    let (tx, rx) = watch::channel::<InstanceSet>(Arc::from([]));
    map.insert(service.to_owned(), tx.clone());
    let looper = Loop {
        api: api.clone(),
        settings: settings.clone(),
        service: service.to_owned(),
        watches: watches.clone(),
        tx,
    };
    tokio::spawn(looper.run());
    rx
}

struct Loop {
    api: Arc<AgentApi>,
    settings: Arc<ConsulSettings>,
    service: String,
    watches: Watches,
    tx: watch::Sender<InstanceSet>,
}

impl Loop {
    async fn run(self) {
        let mut index = 0;
        let mut failures = 0u32;
        loop {
            let started = Instant::now();
            let query = self.api.healthy(&self.service, index, self.settings.wait);
            let result = tokio::select! {
                result = query => result,
                () = self.tx.closed() => {
                    if self.stop_if_unwatched() { return; }
                    continue;
                }
            };
            let pause = match result {
                Ok(healthy) => {
                    failures = 0;
                    // A lower index means Consul restarted or its state was rebuilt: start over.
                    index = if healthy.index < index {
                        0
                    } else {
                        healthy.index
                    };
                    publish(&self.tx, healthy.instances);
                    self.settings.min_interval.saturating_sub(started.elapsed())
                }
                Err(error) => {
                    failures += 1;
                    // The agent may have restarted with a fresh index: ask without blocking.
                    index = 0;
                    let delay = self.backoff(failures);
                    tracing::warn!(service = %self.service, %error, ?delay, "consul watch failed, keeping last endpoints");
                    delay
                }
            };
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = self.tx.closed() => if self.stop_if_unwatched() { return; },
            }
        }
    }

    /// Ends the loop when its last subscriber left; checked under the map lock so a
    /// concurrent `subscribe` either sees the entry gone or keeps this loop alive.
    fn stop_if_unwatched(&self) -> bool {
        let mut map = lock(&self.watches);
        if self.tx.receiver_count() > 0 {
            return false;
        }
        map.remove(&self.service);
        true
    }

    fn backoff(&self, failures: u32) -> Duration {
        self.settings.backoff(failures)
    }
}

//! Turns a registry watch into the balancer's stream of `Change`s by diffing whole sets.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::Stream;
use tokio::sync::watch;
use tokio_stream::wrappers::WatchStream;
use tower::discover::Change;

use crate::ServiceInstance;
use crate::registry::InstanceSet;

/// Which of a service's instances a pool balances over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Selector {
    /// Every instance.
    All,
    /// Instances tagged `canary`.
    Canary,
    /// Instances not tagged `canary`.
    Stable,
}

impl Selector {
    pub(crate) fn matches(self, instance: &ServiceInstance) -> bool {
        match self {
            Selector::All => true,
            Selector::Canary => instance.is_canary(),
            Selector::Stable => !instance.is_canary(),
        }
    }
}

/// A `tower::discover::Discover` over one registry watch, building endpoint services with
/// `make`. A set with no matching instance is ignored: the balancer keeps its last endpoints.
pub(crate) struct WatchDiscover<F, S> {
    service: Arc<str>,
    sets: WatchStream<InstanceSet>,
    selector: Selector,
    make: F,
    known: HashMap<String, SocketAddr>,
    pending: VecDeque<Change<String, S>>,
}

impl<F, S> WatchDiscover<F, S>
where
    F: FnMut(&ServiceInstance) -> Option<S>,
{
    pub(crate) fn new(
        service: Arc<str>,
        rx: watch::Receiver<InstanceSet>,
        selector: Selector,
        make: F,
    ) -> Self {
        Self {
            service,
            sets: WatchStream::new(rx),
            selector,
            make,
            known: HashMap::new(),
            pending: VecDeque::new(),
        }
    }

    fn diff(&mut self, set: &[ServiceInstance]) {
        let next: HashMap<&str, &ServiceInstance> = set
            .iter()
            .filter(|i| self.selector.matches(i))
            .map(|i| (i.id.as_str(), i))
            .collect();
        if next.is_empty() {
            return;
        }
        let gone: Vec<String> = self
            .known
            .keys()
            .filter(|id| !next.contains_key(id.as_str()))
            .cloned()
            .collect();
        for id in gone {
            if let Some(addr) = self.known.remove(&id) {
                tracing::info!(service = %self.service, %id, %addr, "endpoint removed");
            }
            self.pending.push_back(Change::Remove(id));
        }
        for (id, instance) in next {
            if self.known.get(id) == Some(&instance.addr) {
                continue;
            }
            // Same id at a new address replaces the old endpoint (the balancer swaps by key).
            if let Some(service) = (self.make)(instance) {
                tracing::info!(service = %self.service, %id, addr = %instance.addr, "endpoint added");
                self.known.insert(id.to_owned(), instance.addr);
                self.pending
                    .push_back(Change::Insert(id.to_owned(), service));
            }
        }
    }
}

impl<F, S> Stream for WatchDiscover<F, S>
where
    F: FnMut(&ServiceInstance) -> Option<S> + Unpin,
    S: Unpin,
{
    type Item = Result<Change<String, S>, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if let Some(change) = self.pending.pop_front() {
                return Poll::Ready(Some(Ok(change)));
            }
            match Pin::new(&mut self.sets).poll_next(cx) {
                Poll::Ready(Some(set)) => self.diff(&set),
                // The registry is gone: keep the endpoints we have rather than ending discovery.
                Poll::Ready(None) | Poll::Pending => return Poll::Pending,
            }
        }
    }
}

//! The registry port: register, deregister and watch the healthy instances of a service.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::watch;

use crate::{Registration, ServiceInstance};

/// A whole set of healthy instances, as a watch publishes it.
pub type InstanceSet = Arc<[ServiceInstance]>;

/// Why a registry call failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The registry could not be reached or did not answer in time.
    #[error("registry unreachable")]
    Unreachable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The registry answered with an error.
    #[error("registry rejected the request: status {status}: {body}")]
    Rejected {
        /// HTTP status of the answer.
        status: u16,
        /// The body of the answer, as the registry wrote it.
        body: String,
    },
    /// The registration itself is unusable.
    #[error("invalid registration: {0}")]
    Invalid(String),
}

/// Where instances register and where callers discover them.
#[async_trait]
pub trait Registry: Send + Sync + fmt::Debug + 'static {
    /// Registers (or re-registers, replacing) an instance with its health check.
    async fn register(&self, registration: &Registration) -> Result<(), RegistryError>;

    /// Removes an instance; removing an unknown instance succeeds.
    async fn deregister(&self, instance_id: &str) -> Result<(), RegistryError>;

    /// Healthy instances of `service`, as a watch of whole sets; never replaced by an empty set
    /// because the registry is unreachable (last non-empty set kept).
    ///
    /// Must be called inside a tokio runtime: an adapter may spawn its watch loop here.
    fn watch(&self, service: &str) -> watch::Receiver<InstanceSet>;
}

/// Publishes `next` unless it is empty or equal to what the watch holds: an empty answer
/// never replaces a known set (registry down is not an outage).
pub(crate) fn publish(tx: &watch::Sender<InstanceSet>, mut next: Vec<ServiceInstance>) {
    if next.is_empty() {
        return;
    }
    // Sorted so that equal sets compare equal whatever order the registry answered in.
    next.sort();
    tx.send_if_modified(|current| {
        if current[..] == next[..] {
            return false;
        }
        *current = next.into();
        true
    });
}

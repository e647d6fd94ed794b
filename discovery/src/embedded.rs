//! The in-process registry used by `tunemesh up`: every registered instance counts as healthy.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use tokio::sync::watch;

use crate::registry::{InstanceSet, publish};
use crate::{Registration, Registry, RegistryError, ServiceInstance};

/// An in-process registry; clones share state.
///
/// It runs no health checks: in one process an instance is healthy from registration until
/// deregistration.
#[derive(Debug, Clone, Default)]
pub struct EmbeddedRegistry {
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    instances: HashMap<String, ServiceInstance>,
    // One sender per watched service; created on first watch or registration.
    watches: HashMap<String, watch::Sender<InstanceSet>>,
}

impl State {
    fn sender(&mut self, service: &str) -> &watch::Sender<InstanceSet> {
        self.watches
            .entry(service.to_owned())
            .or_insert_with(|| watch::Sender::new(Arc::from([])))
    }

    fn republish(&mut self, service: &str) {
        let set: Vec<ServiceInstance> = self
            .instances
            .values()
            .filter(|i| i.service == service)
            .cloned()
            .collect();
        publish(self.sender(service), set);
    }
}

impl EmbeddedRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock leaves plain maps behind, still consistent.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl Registry for EmbeddedRegistry {
    async fn register(&self, registration: &Registration) -> Result<(), RegistryError> {
        let instance = &registration.instance;
        if instance.id.is_empty() || instance.service.is_empty() {
            return Err(RegistryError::Invalid(
                "empty instance id or service name".into(),
            ));
        }
        let mut state = self.lock();
        let previous = state
            .instances
            .insert(instance.id.clone(), instance.clone());
        if let Some(previous) = previous.filter(|p| p.service != instance.service) {
            state.republish(&previous.service);
        }
        state.republish(&instance.service);
        Ok(())
    }

    async fn deregister(&self, instance_id: &str) -> Result<(), RegistryError> {
        let mut state = self.lock();
        if let Some(removed) = state.instances.remove(instance_id) {
            state.republish(&removed.service);
        }
        Ok(())
    }

    fn watch(&self, service: &str) -> watch::Receiver<InstanceSet> {
        self.lock().sender(service).subscribe()
    }
}

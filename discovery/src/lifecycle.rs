//! Registration lifecycle: register once ready; on shutdown turn NOT_SERVING, deregister, give
//! callers' watches time to drop the instance, then let the server drain.

use std::sync::Arc;
use std::time::Duration;

use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::{Registration, Registry, RegistryError, ServiceInstance};

/// An instance registered in a registry; call [`Registered::leave`] on shutdown.
#[derive(Debug)]
pub struct Registered {
    registry: Arc<dyn Registry>,
    registration: Registration,
}

impl Registered {
    /// Registers `registration`; call once the server answers health checks.
    pub async fn register(
        registry: Arc<dyn Registry>,
        registration: Registration,
    ) -> Result<Self, RegistryError> {
        registry.register(&registration).await?;
        Ok(Self {
            registry,
            registration,
        })
    }

    /// The registered instance.
    pub fn instance(&self) -> &ServiceInstance {
        &self.registration.instance
    }

    /// Registers the same instance again, e.g. after the agent lost its state.
    pub async fn refresh(&self) -> Result<(), RegistryError> {
        self.registry.register(&self.registration).await
    }

    /// Leaves the mesh without failing calls: reports NOT_SERVING on the server's overall
    /// health (so health checks fail even if deregistration does not reach the registry),
    /// deregisters, then waits `settle` so callers stop picking this instance before the
    /// server stops accepting calls. The caller drains in-flight calls afterwards.
    pub async fn leave(self, health: Option<&HealthReporter>, settle: Duration) {
        if let Some(health) = health {
            health
                .set_service_status("", ServingStatus::NotServing)
                .await;
        }
        let id = &self.registration.instance.id;
        if let Err(error) = self.registry.deregister(id).await {
            // The failing health check removes the instance anyway, only later.
            tracing::warn!(%id, %error, "deregistration failed, relying on the health check");
        }
        tokio::time::sleep(settle).await;
    }
}

//! A service process's moving parts in one value: its gRPC server plus the background tasks
//! (relays, consumers) that live and stop with it. Services return an [`App`] from `build`;
//! `tunemesh up`, `tunemesh serve` and tests all run it the same way.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tunemesh_discovery::Registry;

use crate::grpc::{GrpcServer, ServerError, ServiceHealth};

/// A background task: runs until the token is cancelled, then finishes its current work.
pub type BackgroundTask =
    Box<dyn FnOnce(CancellationToken) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// A built service, bound and ready to run.
pub struct App {
    server: GrpcServer,
    tasks: Vec<(&'static str, BackgroundTask)>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tasks: Vec<_> = self.tasks.iter().map(|(name, _)| *name).collect();
        f.debug_struct("App")
            .field("server", &self.server)
            .field("tasks", &tasks)
            .finish()
    }
}

impl App {
    /// An app around a bound server.
    pub fn new(server: GrpcServer) -> Self {
        Self {
            server,
            tasks: Vec::new(),
        }
    }

    /// Adds a background task, named for logs, started when the app runs.
    pub fn with_task<F, Fut>(mut self, name: &'static str, task: F) -> Self
    where
        F: FnOnce(CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.tasks
            .push((name, Box::new(move |token| Box::pin(task(token)))));
        self
    }

    /// Where the gRPC server listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// The serving status of the app's gRPC services.
    pub fn health(&self) -> ServiceHealth {
        self.server.health()
    }

    /// Runs the server and the tasks until `shutdown` is cancelled, then drains the server and
    /// waits for the tasks to finish.
    pub async fn run_until(
        self,
        registry: Option<Arc<dyn Registry>>,
        shutdown: CancellationToken,
    ) -> Result<(), ServerError> {
        let mut tasks = JoinSet::new();
        for (name, task) in self.tasks {
            let token = shutdown.child_token();
            tasks.spawn(async move {
                task(token).await;
                tracing::debug!(task = name, "background task stopped");
            });
        }
        let result = self.server.run(registry, shutdown.clone()).await;
        // A server that failed on its own takes its tasks down with it.
        shutdown.cancel();
        while tasks.join_next().await.is_some() {}
        result
    }
}

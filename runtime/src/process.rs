//! One process skeleton for `tunemesh up`, `tunemesh serve` and the gateway: the parts a
//! process runs (service apps, the gateway, the admin endpoint) started together and stopped
//! together, on the shutdown signal or as soon as one part stops on its own (a process missing
//! a part must not look alive). Each part drains itself within its own grace period
//! ([`crate::shutdown::drain`]); the process waits for all of them and returns the first
//! failure, named after its part.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use anyhow::Context as _;
use futures::future::BoxFuture;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tunemesh_discovery::Registry;

use crate::App;
use crate::admin::{AdminServer, Readiness};

/// A part's run: serves until the token is cancelled, then drains.
type Run = Box<dyn FnOnce(CancellationToken) -> BoxFuture<'static, anyhow::Result<()>> + Send>;

/// The parts of one process, built and bound, not yet running.
pub struct Process {
    registry: Option<Arc<dyn Registry>>,
    parts: Vec<(String, Run)>,
}

impl std::fmt::Debug for Process {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<_> = self.parts.iter().map(|(name, _)| name).collect();
        f.debug_struct("Process").field("parts", &parts).finish()
    }
}

impl Process {
    /// A process whose services register in `registry` once ready (none: never discoverable).
    pub fn new(registry: Option<Arc<dyn Registry>>) -> Self {
        Self {
            registry,
            parts: Vec::new(),
        }
    }

    /// Runs a service `app` too, registered under its own name once ready.
    pub fn service(&mut self, name: &str, app: App) -> &mut Self {
        let registry = self.registry.clone();
        self.part(name, move |shutdown| app.run_until(registry, shutdown))
    }

    /// Runs the admin endpoint too (`/metrics`, and the probes answering from `readiness`).
    pub fn admin(&mut self, admin: AdminServer, readiness: Arc<dyn Readiness>) -> &mut Self {
        self.part("admin endpoint", move |shutdown| {
            admin.run_until(readiness, shutdown)
        })
    }

    /// Runs any other part (the gateway): `run` serves until its token is cancelled, then
    /// drains and returns.
    pub fn part<F, Fut, E>(&mut self, name: &str, run: F) -> &mut Self
    where
        F: FnOnce(CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<anyhow::Error>,
    {
        let run: Run = Box::new(move |shutdown| {
            Box::pin(async move { run(shutdown).await.map_err(Into::into) })
        });
        self.parts.push((name.to_owned(), run));
        self
    }

    /// Runs every part until `shutdown` is cancelled, then waits for each to drain. If a part
    /// stops on its own, fails or panics, `shutdown` is cancelled so the rest drain too; the
    /// first failure is returned, saying which part it was.
    pub async fn run_until(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut running = JoinSet::new();
        let mut names = HashMap::new();
        for (name, run) in self.parts {
            let token = shutdown.clone();
            let label = name.clone();
            let handle = running
                .spawn(async move { run(token).await.with_context(|| format!("{label} failed")) });
            names.insert(handle.id(), name);
        }
        let mut first_error = None;
        while let Some(joined) = running.join_next_with_id().await {
            let result = match joined {
                Ok((_, result)) => result,
                Err(error) => {
                    let name = names.get(&error.id()).map_or("a part", String::as_str);
                    Err(anyhow::anyhow!("{name} panicked"))
                }
            };
            shutdown.cancel();
            if let Err(error) = result {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use tunemesh_discovery::{EmbeddedRegistry, Registration};

    use super::*;
    use crate::grpc::{GrpcServer, GrpcServerSettings};

    fn counting(
        stopped: &Arc<AtomicUsize>,
    ) -> impl FnOnce(CancellationToken) -> BoxFuture<'static, anyhow::Result<()>> + Send + 'static
    {
        let stopped = stopped.clone();
        move |token| {
            Box::pin(async move {
                token.cancelled().await;
                stopped.fetch_add(1, Ordering::SeqCst);
                Ok(())
            })
        }
    }

    #[tokio::test]
    async fn every_part_runs_until_shutdown_and_then_stops() {
        let stopped = Arc::new(AtomicUsize::new(0));
        let mut process = Process::new(None);
        process
            .part("one", counting(&stopped))
            .part("two", counting(&stopped));
        let shutdown = CancellationToken::new();
        let running = tokio::spawn(process.run_until(shutdown.clone()));
        tokio::task::yield_now().await;
        assert!(!running.is_finished());
        shutdown.cancel();
        running.await.expect("joins").expect("stops cleanly");
        assert_eq!(stopped.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_failing_part_stops_the_others_and_is_named() {
        let stopped = Arc::new(AtomicUsize::new(0));
        let mut process = Process::new(None);
        process
            .part("steady", counting(&stopped))
            .part("broken", |_| async { Err(anyhow::anyhow!("disk full")) });
        let shutdown = CancellationToken::new();
        let error = process
            .run_until(shutdown.clone())
            .await
            .expect_err("fails");
        assert!(shutdown.is_cancelled());
        assert_eq!(stopped.load(Ordering::SeqCst), 1);
        assert_eq!(format!("{error:#}"), "broken failed: disk full");
    }

    #[tokio::test]
    async fn a_part_that_stops_on_its_own_stops_the_others() {
        let stopped = Arc::new(AtomicUsize::new(0));
        let mut process = Process::new(None);
        process
            .part("steady", counting(&stopped))
            .part("brief", |_| async { Ok::<(), anyhow::Error>(()) });
        let shutdown = CancellationToken::new();
        process
            .run_until(shutdown.clone())
            .await
            .expect("no failure");
        assert!(shutdown.is_cancelled());
        assert_eq!(stopped.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_panicking_part_is_an_error_naming_it() {
        let stopped = Arc::new(AtomicUsize::new(0));
        let mut process = Process::new(None);
        process
            .part("steady", counting(&stopped))
            .part("buggy", |_| async {
                let parts: Vec<u8> = Vec::new();
                // An index out of bounds, the kind of bug a part could have.
                let _ = parts[usize::from(parts.is_empty())];
                Ok::<(), anyhow::Error>(())
            });
        let error = process
            .run_until(CancellationToken::new())
            .await
            .expect_err("fails");
        assert_eq!(error.to_string(), "buggy panicked");
        assert_eq!(stopped.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_service_registers_while_it_runs_and_deregisters_on_shutdown() {
        let settings = GrpcServerSettings {
            addr: "127.0.0.1:0".parse().expect("an address"),
            drain_grace: Duration::from_secs(5),
            ..GrpcServerSettings::default()
        };
        let server = GrpcServer::bind("jukebox", &settings).await.expect("binds");
        let registry = Arc::new(EmbeddedRegistry::default());
        // Another replica stays: a watch never publishes an empty set (registry down is not
        // an outage), so what is left after the shutdown is what shows the deregistration.
        let other = Registration::for_service("jukebox", "127.0.0.1:1".parse().expect("addr"), "1");
        registry.register(&other).await.expect("registers");
        let mut process = Process::new(Some(registry.clone()));
        process.service("jukebox", App::new(server));
        let shutdown = CancellationToken::new();
        let running = tokio::spawn(process.run_until(shutdown.clone()));
        let mut instances = registry.watch("jukebox");
        instances
            .wait_for(|list| list.len() == 2)
            .await
            .expect("registered");
        shutdown.cancel();
        running.await.expect("joins").expect("drains cleanly");
        let left: Vec<String> = registry
            .watch("jukebox")
            .borrow()
            .iter()
            .map(|i| i.id.clone())
            .collect();
        assert_eq!(left, [other.instance.id]);
    }
}

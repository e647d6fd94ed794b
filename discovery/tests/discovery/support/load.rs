//! A steady load of idempotent calls through a client, counting answers per replica.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinSet;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use super::{REPLICA_HEADER, TRAFFIC};

/// What a load saw so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub ok: u64,
    pub failed: u64,
    pub by_replica: BTreeMap<String, u64>,
    pub errors: Vec<String>,
}

impl Stats {
    /// Calls answered by `id`.
    pub fn of(&self, id: &str) -> u64 {
        self.by_replica.get(id).copied().unwrap_or(0)
    }

    /// What happened between `earlier` and this snapshot.
    pub fn since(&self, earlier: &Stats) -> Stats {
        let by_replica = self
            .by_replica
            .iter()
            .map(|(id, n)| (id.clone(), n - earlier.of(id)))
            .collect();
        Stats {
            ok: self.ok - earlier.ok,
            failed: self.failed - earlier.failed,
            by_replica,
            errors: self.errors[earlier.errors.len()..].to_vec(),
        }
    }

    fn record<T>(&mut self, result: Result<tonic::Response<T>, tonic::Status>) {
        match result {
            Ok(response) => {
                self.ok += 1;
                let id = response
                    .metadata()
                    .get(REPLICA_HEADER)
                    .and_then(|v| v.to_str().ok());
                *self
                    .by_replica
                    .entry(id.unwrap_or("?").to_owned())
                    .or_default() += 1;
            }
            Err(status) => {
                self.failed += 1;
                if self.errors.len() < 20 {
                    self.errors
                        .push(format!("{:?}: {}", status.code(), status.message()));
                }
            }
        }
    }
}

/// `workers` callers, each making one call every `pace`, until stopped.
#[derive(Debug)]
pub struct Load {
    stats: Arc<Mutex<Stats>>,
    stop: Arc<AtomicBool>,
    tasks: JoinSet<()>,
}

impl Load {
    /// Starts the load through clones of `client`.
    pub fn start<C>(client: HealthClient<C>, workers: usize, pace: Duration) -> Load
    where
        HealthClient<C>: Clone + Send + 'static,
        C: tonic::client::GrpcService<tonic::body::Body> + Send + 'static,
        C::Future: Send,
        C::Error: Into<tonic::codegen::StdError>,
        C::ResponseBody: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        <C::ResponseBody as http_body::Body>::Error: Into<tonic::codegen::StdError> + Send,
    {
        let stats = Arc::new(Mutex::new(Stats::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = JoinSet::new();
        for _ in 0..workers {
            let (mut client, stats, stop) = (client.clone(), stats.clone(), stop.clone());
            tasks.spawn(async move {
                let mut tick = tokio::time::interval(pace);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                while !stop.load(Ordering::SeqCst) {
                    tick.tick().await;
                    let request = HealthCheckRequest {
                        service: TRAFFIC.into(),
                    };
                    let result = client.check(request).await;
                    stats
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .record(result);
                }
            });
        }
        Load { stats, stop, tasks }
    }

    /// The counts so far.
    pub fn snapshot(&self) -> Stats {
        self.stats.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Stops the callers, lets in-flight calls finish, and returns the final counts.
    pub async fn stop(mut self) -> Stats {
        self.stop.store(true, Ordering::SeqCst);
        while self.tasks.join_next().await.is_some() {}
        self.snapshot()
    }
}

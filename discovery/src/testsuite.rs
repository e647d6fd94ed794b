//! A tonic health server with switchable behaviour, used in-process by the integration tests
//! and the mesh bench, and as the `tunemesh-test-replica` child process. Behind the
//! `testsuite` feature: production builds never compile it.
//!
//! The overall health (`service: ""`) is what the registry checks; any other `service` is
//! "traffic", answered according to the mode (ok, slow, unavailable), so a replica can fail its
//! callers while passing its health check. Answers carry `x-replica: <id>`.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{Stream, StreamExt as _};
use tonic::metadata::MetadataValue;
use tonic::{Request, Response, Status};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_server::Health;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

/// The metadata key naming the replica that answered.
pub const REPLICA_HEADER: &str = "x-replica";

/// The `service` field tests send as traffic.
pub const TRAFFIC: &str = "traffic";

/// Switchable behaviour of a replica, shared with the test that drives it.
#[derive(Debug, Default)]
pub struct Behaviour {
    unavailable: AtomicBool,
    delay_ms: AtomicU64,
    not_serving: AtomicBool,
    calls: AtomicU64,
    last_headers: Mutex<http::HeaderMap>,
}

impl Behaviour {
    /// Answer traffic with UNAVAILABLE (or heal).
    pub fn set_unavailable(&self, on: bool) {
        self.unavailable.store(on, Ordering::SeqCst);
    }

    /// Delay every traffic answer.
    pub fn set_delay(&self, delay: Duration) {
        self.delay_ms
            .store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    /// Report NOT_SERVING on the overall health.
    pub fn set_not_serving(&self) {
        self.not_serving.store(true, Ordering::SeqCst);
    }

    /// A header of the last traffic call.
    pub fn last_header(&self, name: &str) -> Option<String> {
        let headers = self.last_headers.lock().unwrap_or_else(|p| p.into_inner());
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// Traffic calls received so far.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }
}

/// The replica's `grpc.health.v1.Health` implementation.
#[derive(Debug, Clone)]
pub struct Replica {
    id: MetadataValue<tonic::metadata::Ascii>,
    behaviour: Arc<Behaviour>,
}

impl Replica {
    /// A replica answering as `id`; fails on an id that is not valid metadata.
    pub fn new(id: &str, behaviour: Arc<Behaviour>) -> Result<Self, Status> {
        let id = id
            .parse()
            .map_err(|_| Status::invalid_argument("replica id is not ascii"))?;
        Ok(Self { id, behaviour })
    }

    fn answer(&self, status: ServingStatus) -> Response<HealthCheckResponse> {
        let mut response = Response::new(HealthCheckResponse {
            status: status as i32,
        });
        response
            .metadata_mut()
            .insert(REPLICA_HEADER, self.id.clone());
        response
    }
}

#[tonic::async_trait]
impl Health for Replica {
    async fn check(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        let b = &self.behaviour;
        if request.get_ref().service.is_empty() {
            let serving = !b.not_serving.load(Ordering::SeqCst);
            let status = if serving {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            return Ok(self.answer(status));
        }
        b.calls.fetch_add(1, Ordering::SeqCst);
        let headers = request.metadata().clone().into_headers();
        *b.last_headers.lock().unwrap_or_else(|p| p.into_inner()) = headers;
        let delay = b.delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        if b.unavailable.load(Ordering::SeqCst) {
            return Err(Status::unavailable("replica switched to unavailable"));
        }
        Ok(self.answer(ServingStatus::Serving))
    }

    type WatchStream =
        Pin<Box<dyn Stream<Item = Result<HealthCheckResponse, Status>> + Send + 'static>>;

    /// For [`TRAFFIC`], answers SERVING once, then stays open: a long stream, as an audio
    /// stream is. For anything else UNIMPLEMENTED (an application error, for the breaker's tests).
    async fn watch(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        if request.get_ref().service != TRAFFIC {
            return Err(Status::unimplemented(
                "watch streams only the traffic service",
            ));
        }
        let serving = HealthCheckResponse {
            status: ServingStatus::Serving as i32,
        };
        let stream =
            futures::stream::once(async move { Ok(serving) }).chain(futures::stream::pending());
        Ok(Response::new(Box::pin(stream)))
    }
}

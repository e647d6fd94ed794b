//! A replica that dies between a unary answer's headers and its message (the window a
//! SIGKILL under load hits now and then): a retried call is retried, not failed, because the
//! retry layer reads the whole answer inside the try.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt as _;
use futures::future::BoxFuture;
use http_body::Frame;
use http_body_util::StreamBody;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::Status;
use tonic::body::Body;
use tonic_health::pb::health_server::HealthServer;
use tower::Service;
use tunemesh_discovery::testsuite::{Behaviour, Replica};
use tunemesh_discovery::{Mesh, MeshSettings};

use super::{client, mesh_at, retrying_client, traffic};
use crate::support::harness::unique_prefix;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_call_whose_answer_is_cut_after_its_headers_is_retried() -> anyhow::Result<()> {
    let service = unique_prefix("cut");
    let cuts = Arc::new(AtomicUsize::new(1));
    let (behaviour, mesh) = cutting_replica(&service, cuts.clone()).await?;

    retrying_client(&mesh, &service).check(traffic()).await?;
    anyhow::ensure!(cuts.load(Ordering::SeqCst) == 0, "no answer was cut");
    // The cut try and the retry both reached the replica.
    anyhow::ensure!(behaviour.calls() == 2, "{} calls", behaviour.calls());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_is_not_retried_sees_its_answer_cut() -> anyhow::Result<()> {
    let service = unique_prefix("cut-once");
    let (behaviour, mesh) = cutting_replica(&service, Arc::new(AtomicUsize::new(1))).await?;

    let result = client(mesh.channel(&service)).check(traffic()).await;
    anyhow::ensure!(result.is_err(), "a cut answer read as {result:?}");
    anyhow::ensure!(behaviour.calls() == 1, "{} calls", behaviour.calls());
    Ok(())
}

/// One replica of `service` whose next `cuts` answers lose everything after their headers,
/// in a fresh embedded registry, and a mesh over it.
async fn cutting_replica(
    service: &str,
    cuts: Arc<AtomicUsize>,
) -> anyhow::Result<(Arc<Behaviour>, Mesh)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let behaviour = Arc::new(Behaviour::default());
    let replica = Replica::new(&format!("{service}-0"), behaviour.clone())?;
    let server = tonic::transport::Server::builder()
        .layer(tower::layer::layer_fn(move |inner| Cut {
            inner,
            cuts: cuts.clone(),
        }))
        .add_service(HealthServer::new(replica))
        .serve_with_incoming(TcpListenerStream::new(listener));
    tokio::spawn(server);
    Ok((
        behaviour,
        mesh_at(service, addr, MeshSettings::default()).await?,
    ))
}

/// Sends an answer's headers and the start of its message, then resets the stream.
#[derive(Clone)]
struct Cut<S> {
    inner: S,
    cuts: Arc<AtomicUsize>,
}

impl<S> Service<http::Request<Body>> for Cut<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<http::Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let answer = self.inner.call(request);
        let cut = self
            .cuts
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        Box::pin(async move {
            let response = answer.await?;
            if !cut {
                return Ok(response);
            }
            let (head, _) = response.into_parts();
            // The start of a message (its 5-byte prefix announces 100 bytes), then, once the
            // caller surely has the headers, a reset.
            let start = Frame::data(Bytes::from_static(&[0, 0, 0, 0, 100, 8]));
            let reset = futures::stream::iter([Ok(start)]).chain(futures::stream::once(async {
                tokio::time::sleep(Duration::from_millis(100)).await;
                Err(Status::internal("cut"))
            }));
            Ok(http::Response::from_parts(
                head,
                Body::new(StreamBody::new(reset)),
            ))
        })
    }
}

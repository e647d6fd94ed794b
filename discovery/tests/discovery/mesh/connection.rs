//! The mesh opens its own connections to an endpoint (`mesh/conn.rs`): lazily, one for every
//! call that arrives while it connects, again after the endpoint restarts on its address, and
//! as many for long streams as the server's cap on streams per connection needs.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt as _;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_stream::wrappers::TcpListenerStream;
use tonic_health::pb::health_server::HealthServer;
use tunemesh_discovery::testsuite::{Behaviour, Replica};
use tunemesh_discovery::{Mesh, MeshSettings, Streaming};

use super::{client, mesh_at, traffic};
use crate::support::harness::{eventually, unique_prefix};

/// A replica at `addr` that counts the connections it accepts; stops when `stop` fires.
async fn counting_replica(
    listener: TcpListener,
    id: &str,
) -> anyhow::Result<(Arc<AtomicUsize>, oneshot::Sender<()>)> {
    capped_replica(listener, id, None).await
}

/// [`counting_replica`], allowing at most `streams` streams open on one connection.
async fn capped_replica(
    listener: TcpListener,
    id: &str,
    streams: Option<u32>,
) -> anyhow::Result<(Arc<AtomicUsize>, oneshot::Sender<()>)> {
    let accepted = Arc::new(AtomicUsize::new(0));
    let counted = accepted.clone();
    let incoming = TcpListenerStream::new(listener).inspect(move |connection| {
        if connection.is_ok() {
            counted.fetch_add(1, Ordering::SeqCst);
        }
    });
    let replica = Replica::new(id, Arc::new(Behaviour::default()))?;
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tonic::transport::Server::builder()
        .max_concurrent_streams(streams)
        .add_service(HealthServer::new(replica))
        .serve_with_incoming_shutdown(incoming, async {
            let _ = stopped.await;
        });
    tokio::spawn(server);
    Ok((accepted, stop))
}

async fn mesh_over(service: &str, addr: SocketAddr) -> anyhow::Result<Mesh> {
    mesh_at(service, addr, MeshSettings::default()).await
}

/// A `Watch` of the traffic service through `mesh`, on the endpoint's streaming connections.
async fn watch(
    mesh: &Mesh,
    service: &str,
) -> anyhow::Result<tonic::Streaming<tonic_health::pb::HealthCheckResponse>> {
    let mut request = tonic::Request::new(traffic());
    request.extensions_mut().insert(Streaming);
    Ok(client(mesh.channel(service))
        .watch(request)
        .await?
        .into_inner())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_that_arrive_while_the_endpoint_connects_share_one_connection() -> anyhow::Result<()>
{
    let service = unique_prefix("conn-shared");
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (accepted, _stop) = counting_replica(listener, &format!("{service}-0")).await?;
    let mesh = mesh_over(&service, addr).await?;
    anyhow::ensure!(
        accepted.load(Ordering::SeqCst) == 0,
        "connected before any call"
    );

    let calls = (0..64).map(|_| {
        let mut client = client(mesh.channel(&service));
        async move { client.check(traffic()).await }
    });
    for answer in futures::future::join_all(calls).await {
        answer?;
    }
    let opened = accepted.load(Ordering::SeqCst);
    anyhow::ensure!(opened == 1, "64 first calls opened {opened} connections");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_restarted_on_its_address_is_called_over_a_new_connection() -> anyhow::Result<()>
{
    let service = unique_prefix("conn-restart");
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (first, stop) = counting_replica(listener, &format!("{service}-0")).await?;
    let mesh = mesh_over(&service, addr).await?;
    let mut client = client(mesh.channel(&service));
    client.check(traffic()).await?;
    anyhow::ensure!(first.load(Ordering::SeqCst) == 1);

    // Graceful stop: the server says GOAWAY and closes the connection.
    let _ = stop.send(());
    let listener = eventually(Duration::from_secs(5), || async {
        Ok(TcpListener::bind(addr).await?)
    })
    .await?;
    let (second, _stop) = counting_replica(listener, &format!("{service}-0")).await?;

    // A call or two may fail while the old connection is found dead; then calls go through
    // on one new connection.
    eventually(Duration::from_secs(10), || {
        let mut client = client.clone();
        async move { Ok(client.check(traffic()).await?) }
    })
    .await?;
    for _ in 0..10 {
        client.check(traffic()).await?;
    }
    let reopened = second.load(Ordering::SeqCst);
    anyhow::ensure!(
        reopened == 1,
        "{reopened} connections to the restarted endpoint"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connect_fails_the_call_as_unavailable_and_the_next_call_tries_again()
-> anyhow::Result<()> {
    let service = unique_prefix("conn-refused");
    // An address nothing listens on (bound, then closed).
    let addr = TcpListener::bind("127.0.0.1:0").await?.local_addr()?;
    let mesh = mesh_over(&service, addr).await?;
    let mut client = client(mesh.channel(&service));
    let Err(refused) = client.check(traffic()).await else {
        anyhow::bail!("a call to an address nothing listens on was answered");
    };
    anyhow::ensure!(
        refused.code() == tonic::Code::Unavailable,
        "a refused connect answered {refused:?}"
    );

    let listener = TcpListener::bind(addr).await?;
    let (accepted, _stop) = counting_replica(listener, &format!("{service}-0")).await?;
    // The breaker may hold the endpoint out for a moment after the refusal; then it connects.
    eventually(Duration::from_secs(10), || {
        let mut client = client.clone();
        async move { Ok(client.check(traffic()).await?) }
    })
    .await?;
    anyhow::ensure!(accepted.load(Ordering::SeqCst) == 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_streams_past_the_servers_cap_open_more_connections_instead_of_waiting()
-> anyhow::Result<()> {
    let service = unique_prefix("conn-streams");
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    // The server lets 4 streams be open on one connection; the mesh puts 4 on each.
    let (accepted, _stop) = capped_replica(listener, &format!("{service}-0"), Some(4)).await?;
    let settings = MeshSettings {
        streams_per_connection: 4,
        ..MeshSettings::default()
    };
    let mesh = mesh_at(&service, addr, settings).await?;

    // Twelve streams that stay open, as twelve listeners' audio does: each gets its first
    // message within the mesh's timeout (on one connection, the last eight would wait for
    // one of the first four to end, and fail).
    let mut open = Vec::new();
    for _ in 0..12 {
        let mut stream = watch(&mesh, &service).await?;
        let first = tokio::time::timeout(Duration::from_secs(2), stream.message()).await;
        anyhow::ensure!(
            matches!(first, Ok(Ok(Some(_)))),
            "stream {} got {first:?}",
            open.len()
        );
        open.push(stream);
    }
    let opened = accepted.load(Ordering::SeqCst);
    anyhow::ensure!(
        opened == 3,
        "12 streams at 4 a connection opened {opened} connections"
    );

    // Once they end, a new stream reuses the first connection.
    drop(open);
    let mut stream = watch(&mesh, &service).await?;
    anyhow::ensure!(stream.message().await?.is_some());
    let opened = accepted.load(Ordering::SeqCst);
    anyhow::ensure!(opened == 3, "{opened} connections after the streams ended");
    Ok(())
}

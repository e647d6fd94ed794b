//! Deadlines: the earlier of the caller's deadline and the mesh timeout bounds each call and
//! travels downstream as `grpc-timeout`.

use std::time::Duration;

use crate::support::harness::unique_prefix;
use tunemesh_discovery::deadline::parse_grpc_timeout;
use tunemesh_discovery::{Deadline, LongCall, MeshSettings};

use super::{client, embedded_mesh, traffic};

#[tokio::test]
async fn caller_deadline_bounds_the_call_and_travels_downstream() -> anyhow::Result<()> {
    let service = unique_prefix("deadline");
    let (servers, _registry, mesh) = embedded_mesh(&service, 1, MeshSettings::default()).await?;
    servers[0].behaviour.set_delay(Duration::from_millis(500));
    let mut client = client(mesh.channel(&service));

    let call = client.check(traffic());
    let status = Deadline::scope(Deadline::after(Duration::from_millis(150)), call)
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::DeadlineExceeded, "{status:?}");
    let sent = servers[0]
        .behaviour
        .last_header("grpc-timeout")
        .and_then(|t| parse_grpc_timeout(&t));
    assert!(
        sent.is_some_and(|t| t <= Duration::from_millis(150)),
        "downstream saw {sent:?}"
    );
    Ok(())
}

#[tokio::test]
async fn grpc_timeout_set_by_the_client_wins_over_the_longer_mesh_timeout() -> anyhow::Result<()> {
    let service = unique_prefix("client-timeout");
    let (servers, _registry, mesh) = embedded_mesh(&service, 1, MeshSettings::default()).await?;
    servers[0].behaviour.set_delay(Duration::from_millis(500));
    let mut request = tonic::Request::new(traffic());
    request.set_timeout(Duration::from_millis(100));

    let status = client(mesh.channel(&service))
        .check(request)
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::DeadlineExceeded, "{status:?}");
    Ok(())
}

#[tokio::test]
async fn without_a_caller_deadline_the_mesh_timeout_travels_downstream() -> anyhow::Result<()> {
    let service = unique_prefix("mesh-timeout");
    let (servers, _registry, mesh) = embedded_mesh(&service, 1, MeshSettings::default()).await?;
    client(mesh.channel(&service)).check(traffic()).await?;
    let sent = servers[0]
        .behaviour
        .last_header("grpc-timeout")
        .and_then(|t| parse_grpc_timeout(&t));
    let mesh_timeout = MeshSettings::default().timeout;
    assert!(
        sent.is_some_and(|t| t <= mesh_timeout && t > mesh_timeout / 2),
        "downstream saw {sent:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_long_call_waits_past_the_mesh_timeout_for_its_callers_deadline() -> anyhow::Result<()> {
    let service = unique_prefix("long-call");
    let settings = MeshSettings {
        timeout: Duration::from_millis(200),
        ..MeshSettings::default()
    };
    let (servers, _registry, mesh) = embedded_mesh(&service, 1, settings).await?;
    servers[0].behaviour.set_delay(Duration::from_millis(600));
    let long = |marked: bool| {
        let mut request = tonic::Request::new(traffic());
        request.set_timeout(Duration::from_secs(5));
        if marked {
            request.extensions_mut().insert(LongCall);
        }
        request
    };

    // An ordinary call fails fast at the mesh timeout, whatever its caller allowed.
    let status = client(mesh.channel(&service))
        .check(long(false))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::DeadlineExceeded, "{status:?}");
    // A long call (an upload answered after its transcoding) is bounded by its caller alone.
    client(mesh.channel(&service)).check(long(true)).await?;
    let sent = servers[0]
        .behaviour
        .last_header("grpc-timeout")
        .and_then(|t| parse_grpc_timeout(&t));
    assert!(
        sent.is_some_and(|t| t > Duration::from_secs(4)),
        "downstream saw {sent:?}"
    );
    Ok(())
}

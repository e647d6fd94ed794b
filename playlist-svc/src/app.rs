//! Builds the playlist service: binds its gRPC server and mounts its APIs.

use std::sync::Arc;

use tunemesh_events::EventBus;
use tunemesh_runtime::grpc::GrpcServer;
use tunemesh_runtime::{App, ServiceContext};

use crate::grpc::PlaylistApi;
use crate::{PlaylistSettings, SERVICE_NAME};
use tunemesh_proto::playlist::v1::playlist_service_server::PlaylistServiceServer;

/// Binds the service on `ctx.grpc.addr` and returns it ready to run.
pub async fn build(
    _settings: &PlaylistSettings,
    ctx: &ServiceContext,
    _bus: Arc<dyn EventBus>,
) -> anyhow::Result<App> {
    let mut server = GrpcServer::bind(SERVICE_NAME, &ctx.grpc).await?;
    let limit = ctx.grpc.max_message_bytes;
    server.add_service(
        PlaylistServiceServer::new(PlaylistApi)
            .max_decoding_message_size(limit)
            .max_encoding_message_size(limit),
    );
    Ok(App::new(server))
}

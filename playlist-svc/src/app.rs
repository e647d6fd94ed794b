//! Builds the playlist service: binds its gRPC server and mounts its APIs.

use tunemesh_runtime::App;
use tunemesh_runtime::grpc::{GrpcServer, GrpcServerSettings, ServerError};

use crate::grpc::PlaylistApi;
use crate::{PlaylistSettings, SERVICE_NAME};
use tunemesh_proto::playlist::v1::playlist_service_server::PlaylistServiceServer;

/// Binds the service on `grpc.addr` and returns it ready to run.
pub async fn build(
    _settings: &PlaylistSettings,
    grpc: &GrpcServerSettings,
) -> Result<App, ServerError> {
    let mut server = GrpcServer::bind(SERVICE_NAME, grpc).await?;
    let limit = grpc.max_message_bytes;
    server.add_service(
        PlaylistServiceServer::new(PlaylistApi)
            .max_decoding_message_size(limit)
            .max_encoding_message_size(limit),
    );
    Ok(App::new(server))
}

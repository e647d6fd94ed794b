//! Builds the player service: binds its gRPC server and mounts its APIs.

use std::sync::Arc;

use tunemesh_events::EventBus;
use tunemesh_runtime::grpc::GrpcServer;
use tunemesh_runtime::{App, ServiceContext};

use crate::grpc::{CatalogApi, IngestApi, PlayerApi};
use crate::{PlayerSettings, SERVICE_NAME};
use tunemesh_proto::catalog::v1::catalog_service_server::CatalogServiceServer;
use tunemesh_proto::catalog::v1::ingest_service_server::IngestServiceServer;
use tunemesh_proto::player::v1::player_service_server::PlayerServiceServer;

/// Binds the service on `ctx.grpc.addr` and returns it ready to run.
pub async fn build(
    _settings: &PlayerSettings,
    ctx: &ServiceContext,
    _bus: Arc<dyn EventBus>,
) -> anyhow::Result<App> {
    let mut server = GrpcServer::bind(SERVICE_NAME, &ctx.grpc).await?;
    let limit = ctx.grpc.max_message_bytes;
    server.add_service(
        CatalogServiceServer::new(CatalogApi)
            .max_decoding_message_size(limit)
            .max_encoding_message_size(limit),
    );
    server.add_service(
        IngestServiceServer::new(IngestApi)
            .max_decoding_message_size(limit)
            .max_encoding_message_size(limit),
    );
    server.add_service(
        PlayerServiceServer::new(PlayerApi)
            .max_decoding_message_size(limit)
            .max_encoding_message_size(limit),
    );
    Ok(App::new(server))
}

//! Builds the reco service: binds its gRPC server and mounts its APIs.

use std::sync::Arc;

use tunemesh_events::EventBus;
use tunemesh_runtime::grpc::GrpcServer;
use tunemesh_runtime::{App, ServiceContext};

use crate::grpc::RecommendationApi;
use crate::{RecoSettings, SERVICE_NAME};
use tunemesh_proto::reco::v1::recommendation_service_server::RecommendationServiceServer;

/// Binds the service on `ctx.grpc.addr` and returns it ready to run.
pub async fn build(
    _settings: &RecoSettings,
    ctx: &ServiceContext,
    _bus: Arc<dyn EventBus>,
) -> anyhow::Result<App> {
    let mut server = GrpcServer::bind(SERVICE_NAME, &ctx.grpc).await?;
    let limit = ctx.grpc.max_message_bytes;
    server.add_service(
        RecommendationServiceServer::new(RecommendationApi)
            .max_decoding_message_size(limit)
            .max_encoding_message_size(limit),
    );
    Ok(App::new(server))
}

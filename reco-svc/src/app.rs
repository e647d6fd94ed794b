//! Builds the reco service: binds its gRPC server and mounts its APIs.

use tunemesh_runtime::App;
use tunemesh_runtime::grpc::{GrpcServer, GrpcServerSettings, ServerError};

use crate::grpc::RecommendationApi;
use crate::{RecoSettings, SERVICE_NAME};
use tunemesh_proto::reco::v1::recommendation_service_server::RecommendationServiceServer;

/// Binds the service on `grpc.addr` and returns it ready to run.
pub async fn build(
    _settings: &RecoSettings,
    grpc: &GrpcServerSettings,
) -> Result<App, ServerError> {
    let mut server = GrpcServer::bind(SERVICE_NAME, grpc).await?;
    let limit = grpc.max_message_bytes;
    server.add_service(
        RecommendationServiceServer::new(RecommendationApi)
            .max_decoding_message_size(limit)
            .max_encoding_message_size(limit),
    );
    Ok(App::new(server))
}

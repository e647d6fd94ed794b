//! Builds the search service: binds its gRPC server and mounts its APIs.

use tunemesh_runtime::App;
use tunemesh_runtime::grpc::{GrpcServer, GrpcServerSettings, ServerError};

use crate::grpc::SearchApi;
use crate::{SERVICE_NAME, SearchSettings};
use tunemesh_proto::search::v1::search_service_server::SearchServiceServer;

/// Binds the service on `grpc.addr` and returns it ready to run.
pub async fn build(
    _settings: &SearchSettings,
    grpc: &GrpcServerSettings,
) -> Result<App, ServerError> {
    let mut server = GrpcServer::bind(SERVICE_NAME, grpc).await?;
    let limit = grpc.max_message_bytes;
    server.add_service(
        SearchServiceServer::new(SearchApi)
            .max_decoding_message_size(limit)
            .max_encoding_message_size(limit),
    );
    Ok(App::new(server))
}

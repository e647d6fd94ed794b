//! Builds the search service: binds its gRPC server and mounts its APIs.

use std::sync::Arc;

use tunemesh_events::EventBus;
use tunemesh_runtime::grpc::GrpcServer;
use tunemesh_runtime::{App, ServiceContext};

use crate::grpc::SearchApi;
use crate::{SERVICE_NAME, SearchSettings};
use tunemesh_proto::search::v1::search_service_server::SearchServiceServer;

/// Binds the service on `ctx.grpc.addr` and returns it ready to run.
pub async fn build(
    _settings: &SearchSettings,
    ctx: &ServiceContext,
    _bus: Arc<dyn EventBus>,
) -> anyhow::Result<App> {
    let mut server = GrpcServer::bind(SERVICE_NAME, &ctx.grpc).await?;
    let limit = ctx.grpc.max_message_bytes;
    server.add_service(
        SearchServiceServer::new(SearchApi)
            .max_decoding_message_size(limit)
            .max_encoding_message_size(limit),
    );
    Ok(App::new(server))
}

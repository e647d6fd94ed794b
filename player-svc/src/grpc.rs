//! Thin gRPC adapters: each method turns a request into a call on the domain and the result
//! into a response. Until a method is written, tonic's default answers UNIMPLEMENTED.

use tunemesh_proto::catalog::v1::catalog_service_server::CatalogService;
use tunemesh_proto::catalog::v1::ingest_service_server::IngestService;
use tunemesh_proto::player::v1::player_service_server::PlayerService;
use tunemesh_proto::tonic;

/// `catalog.v1.CatalogService`; every RPC answers UNIMPLEMENTED until its behaviour lands.
#[derive(Debug, Clone, Default)]
pub struct CatalogApi;

#[tonic::async_trait]
impl CatalogService for CatalogApi {}

/// `catalog.v1.IngestService`; every RPC answers UNIMPLEMENTED until its behaviour lands.
#[derive(Debug, Clone, Default)]
pub struct IngestApi;

#[tonic::async_trait]
impl IngestService for IngestApi {}

/// `player.v1.PlayerService`; every RPC answers UNIMPLEMENTED until its behaviour lands.
#[derive(Debug, Clone, Default)]
pub struct PlayerApi;

#[tonic::async_trait]
impl PlayerService for PlayerApi {}

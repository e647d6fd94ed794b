//! Thin gRPC adapters: each method turns a request into a call on the domain and the result
//! into a response. Until a method is written, tonic's default answers UNIMPLEMENTED.

use tunemesh_proto::search::v1::search_service_server::SearchService;
use tunemesh_proto::tonic;

/// `search.v1.SearchService`; every RPC answers UNIMPLEMENTED until its behaviour lands.
#[derive(Debug, Clone, Default)]
pub struct SearchApi;

#[tonic::async_trait]
impl SearchService for SearchApi {}

//! Thin gRPC adapters: each method turns a request into a call on the domain and the result
//! into a response. Until a method is written, tonic's default answers UNIMPLEMENTED.

use tunemesh_proto::reco::v1::recommendation_service_server::RecommendationService;
use tunemesh_proto::tonic;

/// `reco.v1.RecommendationService`; every RPC answers UNIMPLEMENTED until its behaviour lands.
#[derive(Debug, Clone, Default)]
pub struct RecommendationApi;

#[tonic::async_trait]
impl RecommendationService for RecommendationApi {}

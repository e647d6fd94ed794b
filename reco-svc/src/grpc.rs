//! Thin gRPC adapter: each method verifies the caller, calls the domain and maps its errors
//! through the one error table.

use std::sync::Arc;

use tunemesh_proto::reco::v1::recommendation_service_server::RecommendationService;
use tunemesh_proto::reco::v1::{
    RadioRequest, RadioResponse, RecommendRequest, RecommendResponse, SimilarTracksRequest,
    SimilarTracksResponse,
};
use tunemesh_proto::tonic::{self, Request, Response, Status};
use tunemesh_runtime::error::to_status;
use tunemesh_runtime::identity::MeshIdentity;

use crate::service::Recommender;

/// `reco.v1.RecommendationService` over a [`Recommender`].
#[derive(Debug, Clone)]
pub(crate) struct RecommendationApi {
    domain: Arc<dyn Recommender>,
    identity: MeshIdentity,
}

impl RecommendationApi {
    /// Serves `domain` to callers carrying an identity `identity` verifies.
    pub(crate) fn new(domain: Arc<dyn Recommender>, identity: MeshIdentity) -> Self {
        Self { domain, identity }
    }
}

#[tonic::async_trait]
impl RecommendationService for RecommendationApi {
    #[tracing::instrument(skip_all, fields(limit = request.get_ref().limit))]
    async fn recommend(
        &self,
        request: Request<RecommendRequest>,
    ) -> Result<Response<RecommendResponse>, Status> {
        let caller = self.identity.caller(&request)?;
        let response = self
            .domain
            .recommend(&caller.user_id, request.into_inner())
            .await
            .map_err(|e| to_status(&e))?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all, fields(limit = request.get_ref().limit))]
    async fn radio(
        &self,
        request: Request<RadioRequest>,
    ) -> Result<Response<RadioResponse>, Status> {
        let caller = self.identity.caller(&request)?;
        let response = self
            .domain
            .radio(&caller.user_id, request.into_inner())
            .await
            .map_err(|e| to_status(&e))?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all, fields(limit = request.get_ref().limit))]
    async fn similar_tracks(
        &self,
        request: Request<SimilarTracksRequest>,
    ) -> Result<Response<SimilarTracksResponse>, Status> {
        self.identity.caller(&request)?;
        let response = self
            .domain
            .similar(request.into_inner())
            .await
            .map_err(|e| to_status(&e))?;
        Ok(Response::new(response))
    }
}

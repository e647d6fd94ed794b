//! Thin gRPC adapter: each method verifies the caller, calls the domain and maps its errors
//! through the one error table.

use std::sync::Arc;

use tunemesh_proto::reco::v1::recommendation_service_server::RecommendationService;
use tunemesh_proto::reco::v1::{
    MostPlayedAlbumsRequest, MostPlayedAlbumsResponse, RadioRequest, RadioResponse,
    RecentlyPlayedRequest, RecentlyPlayedResponse, RecommendRequest, RecommendResponse,
    SimilarTracksRequest, SimilarTracksResponse, TopTracksRequest, TopTracksResponse,
};
use tunemesh_proto::tonic::{self, Request, Response, Status};
use tunemesh_runtime::error::to_status;
use tunemesh_runtime::identity::Verifier;

use crate::service::Recommender;

/// `reco.v1.RecommendationService` over a [`Recommender`].
#[derive(Debug, Clone)]
pub(crate) struct RecommendationApi {
    domain: Arc<dyn Recommender>,
    identity: Verifier,
}

impl RecommendationApi {
    /// Serves `domain` to callers carrying an identity `identity` verifies.
    pub(crate) fn new(domain: Arc<dyn Recommender>, identity: Verifier) -> Self {
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
        let caller = self.identity.user(&request)?;
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
        let caller = self.identity.user(&request)?;
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

    #[tracing::instrument(skip_all, fields(limit = request.get_ref().limit))]
    async fn recently_played(
        &self,
        request: Request<RecentlyPlayedRequest>,
    ) -> Result<Response<RecentlyPlayedResponse>, Status> {
        // The history read is always the verified caller's own: no request names a user.
        let caller = self.identity.user(&request)?;
        let response = self
            .domain
            .recently_played(&caller.user_id, request.into_inner())
            .await
            .map_err(|e| to_status(&e))?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all, fields(limit = request.get_ref().limit))]
    async fn most_played_albums(
        &self,
        request: Request<MostPlayedAlbumsRequest>,
    ) -> Result<Response<MostPlayedAlbumsResponse>, Status> {
        let caller = self.identity.user(&request)?;
        let response = self
            .domain
            .most_played_albums(&caller.user_id, request.into_inner())
            .await
            .map_err(|e| to_status(&e))?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all, fields(limit = request.get_ref().limit))]
    async fn top_tracks(
        &self,
        request: Request<TopTracksRequest>,
    ) -> Result<Response<TopTracksResponse>, Status> {
        self.identity.caller(&request)?;
        let response = self
            .domain
            .top_tracks(request.into_inner())
            .await
            .map_err(|e| to_status(&e))?;
        Ok(Response::new(response))
    }
}

//! Thin gRPC adapter: checks the caller's identity, hands the request to the domain, and
//! maps its errors through the one error table.

use std::sync::Arc;

use tunemesh_proto::search::v1::search_service_server::SearchService;
use tunemesh_proto::search::v1::{SearchRequest, SearchResponse};
use tunemesh_proto::tonic::{self, Request, Response, Status};
use tunemesh_runtime::error::to_status;
use tunemesh_runtime::identity::Verifier;

use crate::service::Search;

/// `search.v1.SearchService` over a [`Search`] domain.
#[derive(Debug, Clone)]
pub struct SearchApi {
    search: Arc<dyn Search>,
    identity: Verifier,
}

impl SearchApi {
    /// Serves `search` to callers carrying an identity `identity` verifies.
    pub fn new(search: Arc<dyn Search>, identity: Verifier) -> Self {
        Self { search, identity }
    }
}

#[tonic::async_trait]
impl SearchService for SearchApi {
    #[tracing::instrument(skip_all, fields(query_chars = request.get_ref().query.chars().count()))]
    async fn search(
        &self,
        request: Request<SearchRequest>,
    ) -> Result<Response<SearchResponse>, Status> {
        self.identity.caller(&request)?;
        let response = self
            .search
            .search(request.into_inner())
            .await
            .map_err(|e| to_status(&e))?;
        Ok(Response::new(response))
    }
}

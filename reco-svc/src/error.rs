//! The service's errors and their codes in the one error table.

use tunemesh_runtime::error::{ErrorCode, ServiceError};

use crate::store::StoreError;

/// Why a recommendation request failed.
#[derive(Debug, thiserror::Error)]
pub enum RecoError {
    /// The request is malformed (an id, a limit, a page token).
    #[error("{0}")]
    InvalidArgument(String),
    /// The track asked about is unknown to the model.
    #[error("track {0} not found")]
    TrackNotFound(String),
    /// The model is still being built from the event stream; retry shortly.
    #[error("the recommendation model is still loading")]
    NotReady,
    /// The model's store did not answer; retry shortly.
    #[error("the recommendation store is unavailable")]
    Store(#[source] StoreError),
}

impl RecoError {
    /// An invalid-argument error with `message` (lowercase, no trailing punctuation).
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidArgument(message.into())
    }
}

impl From<StoreError> for RecoError {
    fn from(error: StoreError) -> Self {
        tracing::warn!(error = %tunemesh_runtime::error::DisplayChain(&error), "reco store failed");
        Self::Store(error)
    }
}

impl ServiceError for RecoError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidArgument(_) => ErrorCode::InvalidArgument,
            Self::TrackNotFound(_) => ErrorCode::NotFound,
            Self::NotReady | Self::Store(_) => ErrorCode::Unavailable,
        }
    }
}

//! The service's errors and their codes in the one error table.

use tunemesh_runtime::error::{ErrorCode, ServiceError};

/// Why a search failed.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The request is malformed (query length, page size, foreign page token).
    #[error("{0}")]
    InvalidArgument(String),
    /// The index is still being built by replaying the catalogue; retry shortly.
    #[error("the search index is still being built")]
    NotReady,
    /// Anything callers cannot act on; logged, never sent.
    #[error("unexpected search failure")]
    Unexpected(#[source] anyhow::Error),
}

impl SearchError {
    /// An invalid-argument error with `message` (lowercase, no trailing punctuation).
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidArgument(message.into())
    }
}

impl ServiceError for SearchError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidArgument(_) => ErrorCode::InvalidArgument,
            Self::NotReady => ErrorCode::Unavailable,
            Self::Unexpected(_) => ErrorCode::Internal,
        }
    }
}

//! The service's errors and their codes (the one table lives in `tunemesh_runtime::error`).

use tunemesh_runtime::{ErrorCode, ServiceError, SharedError};

/// Everything a player-svc RPC can fail with.
#[derive(Debug, thiserror::Error)]
pub enum PlayerError {
    /// A malformed request field.
    #[error("invalid {field}: {reason}")]
    InvalidArgument {
        /// The request field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A position or byte offset at or past the end (OUT_OF_RANGE).
    #[error("{what} is past the end ({limit})")]
    OutOfRange {
        /// What was out of range.
        what: &'static str,
        /// The end it passed.
        limit: String,
    },
    /// No such resource.
    #[error("{kind} not found: {id}")]
    NotFound {
        /// `track`, `album`, `artist`, `quality`.
        kind: &'static str,
        /// The id asked for.
        id: String,
    },
    /// The caller lacks a role.
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// The state forbids the request.
    #[error("{0}")]
    FailedPrecondition(String),
    /// A size limit was exceeded.
    #[error("{0}")]
    ResourceExhausted(String),
    /// The catalogue store or the blob store is unreachable.
    #[error("storage unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// A bug or an unexpected failure.
    #[error("unexpected error")]
    Unexpected(#[source] anyhow::Error),
    /// A copy of an error other callers of one coalesced read got too.
    #[error(transparent)]
    Shared(#[from] SharedError),
}

impl PlayerError {
    /// An INVALID_ARGUMENT on `field`.
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidArgument {
            field,
            reason: reason.into(),
        }
    }

    /// A NOT_FOUND for a `kind` with `id`.
    pub fn not_found(kind: &'static str, id: impl Into<String>) -> Self {
        Self::NotFound {
            kind,
            id: id.into(),
        }
    }
}

impl ServiceError for PlayerError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidArgument { .. } => ErrorCode::InvalidArgument,
            Self::OutOfRange { .. } => ErrorCode::OutOfRange,
            Self::NotFound { .. } => ErrorCode::NotFound,
            Self::PermissionDenied(_) => ErrorCode::PermissionDenied,
            Self::FailedPrecondition(_) => ErrorCode::FailedPrecondition,
            Self::ResourceExhausted(_) => ErrorCode::ResourceExhausted,
            Self::Unavailable(_) => ErrorCode::Unavailable,
            Self::Unexpected(_) => ErrorCode::Internal,
            Self::Shared(shared) => shared.code(),
        }
    }
}

impl From<crate::store::StoreError> for PlayerError {
    fn from(error: crate::store::StoreError) -> Self {
        match error {
            crate::store::StoreError::Domain(e) => e,
            other => Self::Unavailable(anyhow::Error::new(other)),
        }
    }
}

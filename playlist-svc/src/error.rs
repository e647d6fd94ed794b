//! The service's one error enum and its codes (see `tunemesh_runtime::error`).

use tunemesh_runtime::{ErrorCode, ServiceError, SharedError};

/// Everything a playlist operation can fail with. Messages are for people: lowercase, no
/// trailing punctuation, naming the offending value.
#[derive(Debug, thiserror::Error)]
pub enum PlaylistError {
    /// The request is malformed whatever the state.
    #[error("{0}")]
    InvalidArgument(String),
    /// No such playlist, or one the caller may not see.
    #[error("playlist {0} not found")]
    PlaylistNotFound(String),
    /// Another resource (an item) does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The caller sees the playlist but may not make this change.
    #[error("{0}")]
    PermissionDenied(String),
    /// The write carried a version that is no longer current.
    #[error("playlist {id} is at version {current}, not the expected version {expected}")]
    VersionMismatch {
        /// The playlist (or `liked songs`).
        id: String,
        /// The version the caller expected.
        expected: u64,
        /// The version it is at.
        current: u64,
    },
    /// The state forbids the change now.
    #[error("{0}")]
    FailedPrecondition(String),
    /// A paged read saw the playlist change since its first page.
    #[error(
        "playlist {id} changed since the first page was read (version {was} → {now}); restart from the first page"
    )]
    PageStale {
        /// The playlist.
        id: String,
        /// The version the token was issued at.
        was: u64,
        /// The version now.
        now: u64,
    },
    /// The store (or the catalog) cannot be reached; retrying later may succeed.
    #[error("{what} is unavailable, retry later")]
    Unavailable {
        /// What is down, for people: `playlist store`, `track catalog`.
        what: &'static str,
        /// Why, for the log.
        #[source]
        source: anyhow::Error,
    },
    /// A bug or an unexpected failure; logged, never sent.
    #[error("unexpected failure")]
    Internal(#[source] anyhow::Error),
    /// A copy of an error other readers of one coalesced load got too.
    #[error(transparent)]
    Shared(#[from] SharedError),
}

impl PlaylistError {
    /// Shorthand for [`PlaylistError::InvalidArgument`].
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidArgument(message.into())
    }

    /// The store failed: unreachable (UNAVAILABLE) or otherwise (internal).
    pub fn store(source: impl Into<anyhow::Error>, reachable: bool) -> Self {
        let source = source.into();
        if reachable {
            Self::Internal(source)
        } else {
            Self::Unavailable {
                what: "playlist store",
                source,
            }
        }
    }
}

impl ServiceError for PlaylistError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidArgument(_) => ErrorCode::InvalidArgument,
            Self::PlaylistNotFound(_) | Self::NotFound(_) => ErrorCode::NotFound,
            Self::PermissionDenied(_) => ErrorCode::PermissionDenied,
            Self::VersionMismatch { .. } | Self::FailedPrecondition(_) => {
                ErrorCode::FailedPrecondition
            }
            // The contract promises ABORTED for a page token of a playlist that changed.
            Self::PageStale { .. } => ErrorCode::Aborted,
            Self::Unavailable { .. } => ErrorCode::Unavailable,
            Self::Internal(_) => ErrorCode::Internal,
            Self::Shared(shared) => shared.code(),
        }
    }
}

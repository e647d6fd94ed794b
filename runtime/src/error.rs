//! The one error-code table: every domain error in tunemesh maps to one [`ErrorCode`], and each
//! code maps once to a gRPC code and once to an HTTP status.
//!
//! Services define their own `thiserror` enums and implement [`ServiceError`]; the gRPC adapter
//! turns them into a [`tonic::Status`] with [`to_status`], the gateway turns a downstream status
//! back into a code with [`ErrorCode::from_grpc`] and into an HTTP status with
//! [`ErrorCode::http_status`]. What callers cannot act on is [`ErrorCode::Internal`]: logged with
//! its cause, sent to clients only as "internal error".

use http::StatusCode;
use tonic::Code;

/// The closed set of error codes callers branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The request is malformed or a value is out of range; retrying the same request fails again.
    InvalidArgument,
    /// The caller has no valid credentials.
    Unauthenticated,
    /// The caller is known but may not do this.
    PermissionDenied,
    /// The resource does not exist, or the caller may not know that it does.
    NotFound,
    /// The resource to create exists already.
    AlreadyExists,
    /// A position or offset at or past the end of what exists (a byte offset past the file's
    /// end, a segment past the last): unlike [`Self::InvalidArgument`], the same request may
    /// pass once there is more.
    OutOfRange,
    /// The system is not in the state the request expects (e.g. a stale version): re-read, retry.
    FailedPrecondition,
    /// A read or write raced a change and was abandoned (e.g. a page token of a list that
    /// changed since the first page): redo the whole operation from its start.
    Aborted,
    /// A quota or rate limit is used up; retry later.
    ResourceExhausted,
    /// The caller gave up, or went away.
    Cancelled,
    /// The deadline passed before the work finished.
    DeadlineExceeded,
    /// The operation is not implemented (yet) by this server.
    Unimplemented,
    /// A dependency is down or overloaded; retrying later may succeed.
    Unavailable,
    /// A bug or an unexpected failure; details are in the server's log only.
    Internal,
}

/// Every code, in table order; the round-trip test walks it.
pub const ALL_CODES: [ErrorCode; 14] = [
    ErrorCode::InvalidArgument,
    ErrorCode::Unauthenticated,
    ErrorCode::PermissionDenied,
    ErrorCode::NotFound,
    ErrorCode::AlreadyExists,
    ErrorCode::OutOfRange,
    ErrorCode::FailedPrecondition,
    ErrorCode::Aborted,
    ErrorCode::ResourceExhausted,
    ErrorCode::Cancelled,
    ErrorCode::DeadlineExceeded,
    ErrorCode::Unimplemented,
    ErrorCode::Unavailable,
    ErrorCode::Internal,
];

/// The status nginx and others use for "client closed request"; http has no constant for it.
const CLIENT_CLOSED_REQUEST: u16 = 499;

impl ErrorCode {
    /// The table itself: (code, gRPC code, HTTP status, wire name).
    fn row(self) -> (Code, u16, &'static str) {
        match self {
            Self::InvalidArgument => (Code::InvalidArgument, 400, "invalid_argument"),
            Self::Unauthenticated => (Code::Unauthenticated, 401, "unauthenticated"),
            Self::PermissionDenied => (Code::PermissionDenied, 403, "permission_denied"),
            Self::NotFound => (Code::NotFound, 404, "not_found"),
            Self::AlreadyExists => (Code::AlreadyExists, 409, "already_exists"),
            // As google.rpc.Code maps them: 416 is for Range headers (the audio routes answer
            // it themselves), a JSON API's position past the end is a 400.
            Self::OutOfRange => (Code::OutOfRange, 400, "out_of_range"),
            Self::FailedPrecondition => (Code::FailedPrecondition, 412, "failed_precondition"),
            Self::Aborted => (Code::Aborted, 409, "aborted"),
            Self::ResourceExhausted => (Code::ResourceExhausted, 429, "resource_exhausted"),
            Self::Cancelled => (Code::Cancelled, CLIENT_CLOSED_REQUEST, "cancelled"),
            Self::DeadlineExceeded => (Code::DeadlineExceeded, 504, "deadline_exceeded"),
            Self::Unimplemented => (Code::Unimplemented, 501, "unimplemented"),
            Self::Unavailable => (Code::Unavailable, 503, "unavailable"),
            Self::Internal => (Code::Internal, 500, "internal"),
        }
    }

    /// The gRPC status code sent for this error.
    pub fn grpc_code(self) -> Code {
        self.row().0
    }

    /// The HTTP status the gateway answers with for this error.
    pub fn http_status(self) -> StatusCode {
        StatusCode::from_u16(self.row().1).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The stable snake_case name used in JSON error bodies and metrics labels.
    pub fn as_str(self) -> &'static str {
        self.row().2
    }

    /// The code for a gRPC status received from another service. Codes outside the table fold
    /// into the nearest one: a downstream `UNKNOWN` or `DATA_LOSS` is our internal error.
    pub fn from_grpc(code: Code) -> Option<Self> {
        let folded = match code {
            Code::Ok => return None,
            Code::Unknown | Code::DataLoss => Self::Internal,
            other => return ALL_CODES.into_iter().find(|c| c.grpc_code() == other),
        };
        Some(folded)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A domain error that knows its code. Implemented by every service's error enum.
pub trait ServiceError: std::error::Error {
    /// The code this error is reported with.
    fn code(&self) -> ErrorCode;

    /// The gRPC status of this error ([`to_status`]).
    fn to_status(&self) -> tonic::Status {
        to_status(self)
    }
}

/// The gRPC status for a domain error. Internal errors are logged here, with their whole cause
/// chain, and leave the process only as "internal error" so no detail leaks to clients; an
/// unavailable dependency is logged with its cause as a warning and keeps its message.
pub fn to_status<E: ServiceError + ?Sized>(error: &E) -> tonic::Status {
    let code = error.code();
    match code {
        ErrorCode::Internal => {
            tracing::error!(error = %DisplayChain(error), "internal error");
            return tonic::Status::internal("internal error");
        }
        ErrorCode::Unavailable => {
            tracing::warn!(error = %DisplayChain(error), "dependency unavailable");
        }
        _ => {}
    }
    tonic::Status::new(code.grpc_code(), error.to_string())
}

/// An equal copy of an error that several callers waited on (one coalesced load, many
/// waiters, as with moka's `try_get_with`, which hands each an `Arc` of the one error): its
/// code and message, with its causes kept as text for the log. The one way a service turns a
/// shared error into one of its own (`From<SharedError>` for its error enum).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct SharedError {
    code: ErrorCode,
    message: String,
    #[source]
    causes: Option<SharedCauses>,
}

/// The causes of a [`SharedError`], as the text [`DisplayChain`] writes.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct SharedCauses(String);

impl SharedError {
    /// A copy of `error`.
    pub fn of<E: ServiceError + ?Sized>(error: &E) -> Self {
        let causes = error
            .source()
            .map(|cause| SharedCauses(DisplayChain(cause).to_string()));
        Self {
            code: error.code(),
            message: error.to_string(),
            causes,
        }
    }
}

impl ServiceError for SharedError {
    fn code(&self) -> ErrorCode {
        self.code
    }
}

/// Formats an error with its sources, `a: b: c`, for logs.
#[derive(Debug)]
pub struct DisplayChain<'a, E: ?Sized>(pub &'a E);

impl<E: std::error::Error + ?Sized> std::fmt::Display for DisplayChain<'_, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_code_round_trips_through_grpc() {
        for code in ALL_CODES {
            assert_eq!(
                ErrorCode::from_grpc(code.grpc_code()),
                Some(code),
                "{code} via grpc"
            );
        }
    }

    /// HTTP statuses may repeat (OUT_OF_RANGE and INVALID_ARGUMENT are both 400): the body's
    /// code name tells them apart, so the names and gRPC codes must not.
    #[test]
    fn grpc_codes_and_names_are_unique() {
        let grpc: HashSet<_> = ALL_CODES.iter().map(|c| c.grpc_code()).collect();
        let names: HashSet<_> = ALL_CODES.iter().map(|c| c.as_str()).collect();
        assert_eq!(grpc.len(), ALL_CODES.len());
        assert_eq!(names.len(), ALL_CODES.len());
    }

    #[test]
    fn every_grpc_error_code_has_a_place_in_the_table() {
        for raw in 1..=16 {
            let code = Code::from_i32(raw);
            assert!(
                ErrorCode::from_grpc(code).is_some(),
                "{code:?} is not mapped"
            );
        }
        assert_eq!(ErrorCode::from_grpc(Code::Ok), None);
    }

    #[derive(Debug, thiserror::Error)]
    enum SampleError {
        #[error("track {0} not found")]
        Missing(String),
        #[error("database failed")]
        Db(#[source] std::io::Error),
    }

    impl ServiceError for SampleError {
        fn code(&self) -> ErrorCode {
            match self {
                Self::Missing(_) => ErrorCode::NotFound,
                Self::Db(_) => ErrorCode::Internal,
            }
        }
    }

    #[test]
    fn domain_errors_keep_their_message_but_internal_ones_hide_it() {
        let status = to_status(&SampleError::Missing("t1".into()));
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(status.message(), "track t1 not found");

        let status = to_status(&SampleError::Db(std::io::Error::other("password=hunter2")));
        assert_eq!(status.code(), Code::Internal);
        assert_eq!(status.message(), "internal error");
    }

    #[test]
    fn a_shared_copy_keeps_the_code_the_message_and_the_causes() {
        let original = SharedError::of(&SampleError::Db(std::io::Error::other("disk full")));
        assert_eq!(original.code(), ErrorCode::Internal);
        assert_eq!(original.to_string(), "database failed");
        assert_eq!(
            DisplayChain(&original).to_string(),
            "database failed: disk full"
        );
        let missing = SharedError::of(&SampleError::Missing("t1".into()));
        assert_eq!(to_status(&missing).code(), Code::NotFound);
        assert_eq!(to_status(&missing).message(), "track t1 not found");
    }
}

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
    /// The system is not in the state the request expects (e.g. a stale version): re-read, retry.
    FailedPrecondition,
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
pub const ALL_CODES: [ErrorCode; 12] = [
    ErrorCode::InvalidArgument,
    ErrorCode::Unauthenticated,
    ErrorCode::PermissionDenied,
    ErrorCode::NotFound,
    ErrorCode::AlreadyExists,
    ErrorCode::FailedPrecondition,
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
            Self::FailedPrecondition => (Code::FailedPrecondition, 412, "failed_precondition"),
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
            Code::OutOfRange => Self::InvalidArgument,
            // ABORTED asks the client to redo its read-modify-write, as a stale version does.
            Code::Aborted => Self::FailedPrecondition,
            Code::Unknown | Code::DataLoss => Self::Internal,
            other => return ALL_CODES.into_iter().find(|c| c.grpc_code() == other),
        };
        Some(folded)
    }

    /// The code for an HTTP status, for clients of the REST edge; only statuses in the table.
    pub fn from_http(status: StatusCode) -> Option<Self> {
        ALL_CODES.into_iter().find(|c| c.http_status() == status)
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
}

/// The gRPC status for a domain error. Internal errors are logged here, with their whole cause
/// chain, and leave the process only as "internal error" so no detail leaks to clients.
pub fn to_status<E: ServiceError + ?Sized>(error: &E) -> tonic::Status {
    let code = error.code();
    if code == ErrorCode::Internal {
        tracing::error!(error = %DisplayChain(error), "internal error");
        return tonic::Status::internal("internal error");
    }
    tonic::Status::new(code.grpc_code(), error.to_string())
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
    fn every_code_round_trips_through_grpc_and_http() {
        for code in ALL_CODES {
            assert_eq!(
                ErrorCode::from_grpc(code.grpc_code()),
                Some(code),
                "{code} via grpc"
            );
            assert_eq!(
                ErrorCode::from_http(code.http_status()),
                Some(code),
                "{code} via http"
            );
        }
    }

    #[test]
    fn table_columns_are_unique() {
        let grpc: HashSet<_> = ALL_CODES.iter().map(|c| c.grpc_code()).collect();
        let http: HashSet<_> = ALL_CODES.iter().map(|c| c.http_status()).collect();
        let names: HashSet<_> = ALL_CODES.iter().map(|c| c.as_str()).collect();
        assert_eq!(grpc.len(), ALL_CODES.len());
        assert_eq!(http.len(), ALL_CODES.len());
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
}

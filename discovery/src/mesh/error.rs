//! The one concrete error of the mesh channel, carrying the gRPC status callers see.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tonic::{Code, Status};

/// A boxed error, as tower middleware produces them.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong with a mesh call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeshErrorKind {
    /// The fail-fast timeout or the caller's deadline passed; retrying would not help.
    DeadlineExceeded,
    /// No endpoint could take the call, or the connection failed; retrying may help.
    Unavailable,
}

/// The error of a mesh call.
///
/// A concrete type (not a bare `BoxError`) so spawned futures of generated clients compile.
/// Its source is a [`tonic::Status`], which is how generated clients pick the code up.
#[derive(Debug)]
pub struct MeshError {
    kind: MeshErrorKind,
    service: Arc<str>,
    status: Status,
}

impl MeshError {
    /// The call ran out of time after `after`.
    pub fn deadline_exceeded(service: Arc<str>, after: Duration) -> Self {
        let status =
            Status::deadline_exceeded(format!("no answer from {service} within {after:?}"));
        Self {
            kind: MeshErrorKind::DeadlineExceeded,
            service,
            status,
        }
    }

    /// The call failed below the balancer (transport, connection, worker gone).
    pub fn unavailable(service: Arc<str>, source: BoxError) -> Self {
        let mut status = Status::unavailable(format!("{service} unavailable: {source}"));
        status.set_source(Arc::from(source));
        Self {
            kind: MeshErrorKind::Unavailable,
            service,
            status,
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> MeshErrorKind {
        self.kind
    }

    /// The service that was called.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The gRPC code a client sees.
    pub fn code(&self) -> Code {
        self.status.code()
    }
}

impl fmt::Display for MeshError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            MeshErrorKind::DeadlineExceeded => write!(f, "call to {} timed out", self.service),
            MeshErrorKind::Unavailable => write!(f, "call to {} failed", self.service),
        }
    }
}

impl std::error::Error for MeshError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.status)
    }
}

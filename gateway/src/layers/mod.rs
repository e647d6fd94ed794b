//! The HTTP layers of the edge, one per file, composed in [`crate::router`].

pub(crate) mod cors;
pub(crate) mod grpc_switch;
pub(crate) mod observe;
pub(crate) mod security_headers;
pub(crate) mod timeout;

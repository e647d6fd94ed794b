//! The HTTP layers of the edge, one per file, composed in [`crate::router`].

pub mod cors;
pub mod grpc_switch;
pub mod observe;
pub mod security_headers;
pub mod timeout;

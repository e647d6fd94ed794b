//! gRPC and gRPC-web at the edge, on the same port as REST.
//!
//! Apps call the services' gRPC methods natively over HTTP/2; browsers call them over
//! gRPC-web, which [`tonic_web`] translates to gRPC in front of the same proxy. Every call
//! needs `authorization: Bearer <access token>` (UNAUTHENTICATED otherwise), counts against
//! the caller's per-address and per-user quotas (RESOURCE_EXHAUSTED), as does a request
//! message over the size limit or a stream over the account's share, and reaches the
//! service with a freshly signed identity, never one the client sent. Methods not listed in
//! [`routes`] answer UNIMPLEMENTED without leaving the gateway.
//!
//! # Layout
//! - [`routes`]: the exposed methods and the service behind each.
//! - [`proxy`]: authentication, quotas, identity swap and forwarding.
//! - [`status`]: server errors of the services classified as the REST routes do.
//! - [`deadline`]: the bound on how long a proxied stream may last.

pub(crate) mod deadline;
pub(crate) mod proxy;
pub(crate) mod routes;
pub(crate) mod status;

pub(crate) use proxy::{GrpcProxy, ProxyParts};
pub(crate) use routes::GrpcRoutes;

/// The gRPC edge: gRPC-web translated to gRPC, in front of the proxy.
pub(crate) type GrpcEdge = tonic_web::GrpcWebService<GrpcProxy>;

/// The edge over `parts`.
pub(crate) fn edge(parts: ProxyParts) -> GrpcEdge {
    tower::Layer::layer(&tonic_web::GrpcWebLayer::new(), GrpcProxy::new(parts))
}

//! The transparent gRPC proxy: checks who is calling, swaps the listener's token for a signed
//! mesh identity, and forwards the HTTP/2 request body as-is through the mesh channel of the
//! service behind the method. Streams and HTTP/2 flow control pass straight through (a slow
//! reader slows the service), with no code per method.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use http::header::{AUTHORIZATION, COOKIE, HOST, TE};
use http::{HeaderMap, HeaderValue, Request, Response, Uri, Version};
use http_body_util::{BodyStream, Limited, StreamBody};
use tonic::Status;
use tonic::body::Body;
use tonic::metadata::MetadataMap;
use tower::{Service, ServiceExt as _};
use tunemesh_discovery::{Mesh, MeshError, MeshErrorKind};
use tunemesh_runtime::identity::MeshIdentity;

use super::routes::GrpcRoutes;
use super::status::{Scrubbed, scrub, status_of};
use crate::auth::AccessTokens;
use crate::auth::require::caller_of;
use crate::ratelimit::Limits;

/// Headers a client may not pass to a service: its credentials (the service gets the signed
/// identity instead), anything in the mesh's reserved `tunemesh-` namespace, and HTTP/1
/// connection headers, which HTTP/2 forbids.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
];

/// What the proxy needs; see [`GrpcProxy::new`].
#[derive(Debug)]
pub struct ProxyParts {
    /// Which methods exist and who serves them.
    pub routes: GrpcRoutes,
    /// Verifies the listener's access token.
    pub tokens: AccessTokens,
    /// Signs the identity sent downstream.
    pub identity: MeshIdentity,
    /// Channels to the services.
    pub mesh: Mesh,
    /// Per-address and per-user quotas, shared with the REST routes.
    pub limits: Arc<Limits>,
    /// Largest request body; every exposed method takes one small message.
    pub max_request_bytes: usize,
}

/// The proxy as a tower service over HTTP/2 gRPC requests; it never fails, errors are gRPC
/// statuses.
#[derive(Debug, Clone)]
pub struct GrpcProxy {
    parts: Arc<ProxyParts>,
}

impl GrpcProxy {
    /// A proxy over `parts`.
    pub fn new(parts: ProxyParts) -> Self {
        Self {
            parts: Arc::new(parts),
        }
    }
}

impl Service<Request<Body>> for GrpcProxy {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // Readiness is the mesh channel's, awaited per call so one busy service does not
        // hold up calls to the others.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let parts = self.parts.clone();
        Box::pin(async move {
            Ok(forward(&parts, request)
                .await
                .unwrap_or_else(Status::into_http))
        })
    }
}

async fn forward(proxy: &ProxyParts, request: Request<Body>) -> Result<Response<Body>, Status> {
    let limits = &proxy.limits;
    limits
        .per_ip
        .check(&limits.client(&request))
        .map_err(|e| status_of(&e))?;
    let upstream = proxy
        .routes
        .upstream(request.uri().path())
        .ok_or_else(|| Status::unimplemented("the gateway does not serve this method"))?;
    let caller = caller_of(request.headers(), &proxy.tokens).map_err(|e| status_of(&e))?;
    limits
        .per_user
        .check(&caller.user_id)
        .map_err(|e| status_of(&e))?;

    let (mut head, body) = request.into_parts();
    strip_client_headers(&mut head.headers);
    let mut identity = MetadataMap::new();
    proxy
        .identity
        .attach(&caller, &mut identity)
        .map_err(|error| {
            tracing::error!(%error, "cannot mint a mesh identity");
            Status::internal("internal error")
        })?;
    head.headers.extend(identity.into_headers());
    head.headers
        .insert(TE, HeaderValue::from_static("trailers"));
    // The channel adds the endpoint's scheme and authority to the path.
    head.uri = head
        .uri
        .path_and_query()
        .map_or_else(Uri::default, |path| Uri::from(path.clone()));
    // gRPC-web may arrive over HTTP/1.1; the mesh speaks HTTP/2.
    head.version = Version::HTTP_2;
    // Nothing the connection attached (peer address, matched routes) concerns the service.
    head.extensions = http::Extensions::new();
    // Re-streamed so the body reports no size: tonic-web passes on the size of the base64
    // text of a grpc-web-text request, which hyper would send as a `content-length` the
    // decoded body does not match (the service then resets the stream).
    let limited = Limited::new(body, proxy.max_request_bytes);
    let body = Body::new(StreamBody::new(BodyStream::new(limited)));

    let channel = proxy.mesh.channel(upstream);
    let response = channel
        .oneshot(Request::from_parts(head, body))
        .await
        .map_err(|error| mesh_status(&error))?;
    let (mut head, body) = response.into_parts();
    scrub(&mut head.headers);
    Ok(Response::from_parts(head, Body::new(Scrubbed::new(body))))
}

fn strip_client_headers(headers: &mut HeaderMap) {
    headers.remove(AUTHORIZATION);
    headers.remove(COOKIE);
    headers.remove(HOST);
    for name in HOP_BY_HOP {
        headers.remove(*name);
    }
    let reserved: Vec<_> = headers
        .keys()
        .filter(|name| name.as_str().starts_with("tunemesh-"))
        .cloned()
        .collect();
    for name in reserved {
        headers.remove(name);
    }
}

fn mesh_status(error: &MeshError) -> Status {
    match error.kind() {
        MeshErrorKind::DeadlineExceeded => {
            Status::deadline_exceeded("the service did not answer in time")
        }
        MeshErrorKind::Unavailable => {
            tracing::warn!(
                service = error.service(),
                error = %tunemesh_runtime::error::DisplayChain(error),
                "grpc upstream unavailable"
            );
            Status::unavailable("the service is unavailable, retry later")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_credentials_and_reserved_metadata_are_stripped() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("authorization", "Bearer x"),
            ("tunemesh-identity", "forged"),
            ("tunemesh-identity-bin", "Zm9v"),
            ("cookie", "a=b"),
            ("connection", "keep-alive"),
            ("x-user-agent", "connect-es"),
            ("grpc-timeout", "5S"),
        ] {
            headers.append(
                http::HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        strip_client_headers(&mut headers);
        let mut left: Vec<_> = headers.keys().map(|k| k.as_str()).collect();
        left.sort_unstable();
        assert_eq!(left, ["grpc-timeout", "x-user-agent"]);
    }
}

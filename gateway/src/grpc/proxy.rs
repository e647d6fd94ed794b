//! The transparent gRPC proxy: checks who is calling, swaps the listener's token for an
//! assertion signed for the service and method called, and forwards the HTTP/2 request body
//! as-is through the mesh channel of the service behind the method. Streams and HTTP/2 flow
//! control pass straight through (a slow reader slows the service), with no code per method.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::BoxFuture;
use http::header::{AUTHORIZATION, CONTENT_LENGTH, COOKIE, HOST, TE};
use http::{HeaderMap, HeaderValue, Request, Response, Uri, Version};
use http_body_util::{BodyExt as _, Full, LengthLimitError, Limited};
use tonic::Status;
use tonic::body::Body;
use tonic::metadata::MetadataMap;
use tower::{Service, ServiceExt as _};
use tunemesh_discovery::{Mesh, MeshError, MeshErrorKind, Streaming};
use tunemesh_runtime::identity::AssertionSigner;

use super::deadline::Deadlined;
use super::routes::GrpcRoutes;
use super::status::{Scrubbed, scrub, status_of};
use crate::auth::AccessTokens;
use crate::auth::require::caller_of;
use crate::media::streams::{Held, StreamPermits};
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
    /// Signs the assertion sent downstream.
    pub signer: AssertionSigner,
    /// Channels to the services.
    pub mesh: Mesh,
    /// Per-address and per-user quotas, shared with the REST routes.
    pub limits: Arc<Limits>,
    /// Largest request body; every exposed method takes one small message.
    pub max_request_bytes: usize,
    /// Longest wait for the whole request body.
    pub body_timeout: Duration,
    /// Open streams per account, shared with the REST audio routes.
    pub streams: StreamPermits,
    /// Longest a streaming response (`StreamAudio`) may last.
    pub audio_timeout: Duration,
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
    let (upstream, audience) = proxy
        .routes
        .route(request.uri().path())
        .ok_or_else(|| Status::unimplemented("the gateway does not serve this method"))?;
    let caller = caller_of(request.headers(), &proxy.tokens).map_err(|e| status_of(&e))?;
    limits
        .per_user
        .check(&caller.user_id)
        .map_err(|e| status_of(&e))?;
    let streaming = GrpcRoutes::streams(request.uri().path());
    // A stream holds one of the account's stream permits until its body is dropped.
    let permit = streaming
        .then(|| proxy.streams.acquire(&caller.user_id))
        .transpose()
        .map_err(|e| status_of(&e))?;

    let (mut head, body) = request.into_parts();
    // The whole (small) request message is read here, before a service is chosen: a body
    // too large, malformed or cut off is the client's doing and is answered here, never
    // sent on to fail mid-call where it would count against the service's health.
    let message = read_message(body, proxy.max_request_bytes, proxy.body_timeout).await?;
    strip_client_headers(&mut head.headers);
    let mut identity = MetadataMap::new();
    // Bound to the service and the exposed method called: useless anywhere else.
    proxy
        .signer
        .attach(&caller, audience, head.uri.path(), &mut identity)
        .map_err(|error| {
            tracing::error!(%error, "cannot mint a caller assertion");
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
    if streaming {
        // Over the endpoint's streaming connection: a stalled stream never blocks unary calls.
        head.extensions.insert(Streaming);
    }
    // A grpc-web-text request's length is that of its base64 text: the decoded message's
    // own (exact) size is what hyper sends.
    head.headers.remove(CONTENT_LENGTH);
    let body = Body::new(Full::new(message));

    let channel = proxy.mesh.channel(upstream);
    let response = channel
        .oneshot(Request::from_parts(head, body))
        .await
        .map_err(|error| mesh_status(&error))?;
    let (mut head, body) = response.into_parts();
    scrub(&mut head.headers);
    let body = Scrubbed::new(body);
    let body = match permit {
        Some(permit) => {
            let deadline = Instant::now() + proxy.audio_timeout;
            Body::new(Held::new(Deadlined::new(body, deadline), permit))
        }
        None => Body::new(body),
    };
    Ok(Response::from_parts(head, body))
}

/// The request body, whole, if it is at most `max` bytes and arrives within `timeout`.
async fn read_message(body: Body, max: usize, timeout: Duration) -> Result<Bytes, Status> {
    let read = tokio::time::timeout(timeout, Limited::new(body, max).collect()).await;
    match read {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(error)) if error.is::<LengthLimitError>() => Err(Status::resource_exhausted(
            format!("the request message is larger than {max} bytes"),
        )),
        Ok(Err(error)) => {
            tracing::debug!(%error, "cannot read a grpc request body");
            Err(Status::invalid_argument(
                "the request body could not be read",
            ))
        }
        Err(_elapsed) => Err(Status::deadline_exceeded(
            "the request body did not arrive in time",
        )),
    }
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

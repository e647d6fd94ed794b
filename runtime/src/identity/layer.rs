//! A client layer that mints the gateway's assertion at send time, when the method is known:
//! a request carrying [`ActAs`] in its extensions leaves with an assertion for that caller,
//! bound to the layer's service and the request's path. Requests without [`ActAs`] pass
//! untouched (a service calling for itself, or one forwarding an assertion it received),
//! unless the layer acts for one caller throughout ([`Asserting::acting_as`], for tools and
//! tests that stand in for the gateway).

use std::task::{Context, Poll};

use http::{HeaderValue, Request};
use tower::{Layer, Service};

use super::signer::AssertionSigner;
use super::{Caller, IDENTITY_METADATA};

/// Put in a `tonic::Request`'s extensions: the user the call acts for.
#[derive(Debug, Clone)]
pub struct ActAs(pub Caller);

/// Signs requests to service `audience` with `signer`.
#[derive(Debug, Clone)]
pub struct AssertLayer {
    signer: AssertionSigner,
    audience: &'static str,
}

impl AssertLayer {
    /// Signs for calls to `audience` (`player`, `playlist`, `search`, `reco`).
    pub fn new(signer: AssertionSigner, audience: &'static str) -> Self {
        Self { signer, audience }
    }
}

impl<S> Layer<S> for AssertLayer {
    type Service = Asserting<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Asserting {
            inner,
            signer: self.signer.clone(),
            audience: self.audience,
            default: None,
        }
    }
}

/// The service made by [`AssertLayer`].
#[derive(Debug, Clone)]
pub struct Asserting<S> {
    inner: S,
    signer: AssertionSigner,
    audience: &'static str,
    /// Who requests without [`ActAs`] act for, if anyone.
    default: Option<Caller>,
}

impl<S> Asserting<S> {
    /// `inner`, signing for calls to `audience`.
    pub fn new(inner: S, signer: AssertionSigner, audience: &'static str) -> Self {
        AssertLayer::new(signer, audience).layer(inner)
    }

    /// `inner`, signing every request without [`ActAs`] as `caller`.
    pub fn acting_as(
        inner: S,
        signer: AssertionSigner,
        audience: &'static str,
        caller: Caller,
    ) -> Self {
        Self {
            default: Some(caller),
            ..Self::new(inner, signer, audience)
        }
    }
}

impl<S, B> Service<Request<B>> for Asserting<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let caller = request
            .extensions_mut()
            .remove::<ActAs>()
            .map(|ActAs(caller)| caller)
            .or_else(|| self.default.clone());
        if let Some(caller) = caller {
            let token = self
                .signer
                .mint(&caller, self.audience, request.uri().path())
                .ok()
                .and_then(|token| HeaderValue::try_from(token).ok());
            match token {
                Some(token) => {
                    request.headers_mut().insert(IDENTITY_METADATA, token);
                }
                // Ed25519 signing of a small JSON does not fail; if it did, the call goes
                // without an assertion and the service answers UNAUTHENTICATED.
                None => tracing::error!("cannot mint a caller assertion"),
            }
        }
        self.inner.call(request)
    }
}

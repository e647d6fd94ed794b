//! The layer in front of every protected route: a valid access token or 401.
//!
//! The verified [`Caller`] is put in the request's extensions, where [`Authenticated`] finds
//! it; a handler that takes [`Authenticated`] on a route mounted without this layer answers
//! 401 rather than running unauthenticated.

use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::header::AUTHORIZATION;
use http::request::Parts;
use tunemesh_runtime::identity::Caller;

use super::tokens::{AccessTokens, MAX_TOKEN_BYTES};
use crate::error::ApiError;

/// Verifies `Authorization: Bearer <token>` and records the caller (use with
/// `axum::middleware::from_fn_with_state`).
pub async fn require_caller(
    State(tokens): State<AccessTokens>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let caller = caller_of(request.headers(), &tokens)?;
    request.extensions_mut().insert(caller);
    Ok(next.run(request).await)
}

/// The caller named by the `authorization` header's bearer token; 401 when it is missing,
/// malformed, repeated or not valid.
pub fn caller_of(headers: &http::HeaderMap, tokens: &AccessTokens) -> Result<Caller, ApiError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let value = match (values.next(), values.next()) {
        (Some(value), None) => value,
        (None, _) => return Err(ApiError::unauthenticated("an access token is required")),
        (Some(_), Some(_)) => {
            return Err(ApiError::unauthenticated(
                "more than one authorization header",
            ));
        }
    };
    let malformed = || ApiError::unauthenticated("expected 'authorization: bearer <token>'");
    if value.len() > MAX_TOKEN_BYTES + 16 {
        return Err(malformed());
    }
    let value = value.to_str().map_err(|_| malformed())?;
    let (scheme, token) = value.split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(malformed());
    }
    tokens
        .verify(token.trim())
        .map_err(|error| ApiError::unauthenticated(error.to_string()))
}

/// The caller verified by [`require_caller`].
#[derive(Debug, Clone)]
pub struct Authenticated(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .map(Self)
            .ok_or_else(|| ApiError::unauthenticated("an access token is required"))
    }
}

//! The guard of the media routes (audio file, MSE segments): a bearer token as everywhere,
//! or, for `<audio src>` which cannot send headers, a signed media token in `?token=`.

use axum::extract::{FromRequestParts, Query, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::header::AUTHORIZATION;
use http::request::Parts;
use tunemesh_runtime::identity::Caller;

use super::links::{MediaGrant, MediaTokens};
use crate::auth::AccessTokens;
use crate::auth::require::caller_of;
use crate::auth::tokens::TokenError;
use crate::error::ApiError;
use crate::model::catalog::Quality;

/// The keys the guard checks with.
#[derive(Debug, Clone)]
pub struct MediaGuard {
    /// Access tokens, from the `authorization` header.
    pub access: AccessTokens,
    /// Media tokens, from the `token` query parameter.
    pub media: MediaTokens,
}

/// Verifies the bearer header or the media token and records the caller (use with
/// `axum::middleware::from_fn_with_state`); a media token also records its [`MediaGrant`],
/// which the handler checks with [`MediaCaller::allow`].
pub async fn require_media_caller(
    State(guard): State<MediaGuard>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if request.headers().contains_key(AUTHORIZATION) {
        let caller = caller_of(request.headers(), &guard.access)?;
        request.extensions_mut().insert(caller);
        return Ok(next.run(request).await);
    }
    let token = Query::<TokenQuery>::try_from_uri(request.uri())
        .ok()
        .and_then(|Query(query)| query.token)
        .ok_or_else(|| ApiError::unauthenticated("an access token or a media link is required"))?;
    let grant = guard.media.verify(&token).map_err(|error| match error {
        TokenError::Expired => ApiError::unauthenticated("the media link has expired"),
        _ => ApiError::unauthenticated("the media link is not valid"),
    })?;
    request.extensions_mut().insert(grant.caller.clone());
    request.extensions_mut().insert(grant);
    Ok(next.run(request).await)
}

#[derive(Debug, serde::Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// The caller of a media route, and what a media link limits it to.
#[derive(Debug, Clone)]
pub struct MediaCaller {
    /// Who is calling.
    pub caller: Caller,
    grant: Option<MediaGrant>,
}

impl MediaCaller {
    /// Whether the caller may fetch `track_id` at `quality`: always with a bearer token, only
    /// the linked track and quality with a media link.
    pub fn allow(&self, track_id: &str, quality: Quality) -> Result<(), ApiError> {
        match &self.grant {
            Some(grant) if grant.track_id != track_id || grant.quality != quality => Err(
                ApiError::unauthenticated("the media link is for another track or quality"),
            ),
            _ => Ok(()),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for MediaCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let caller = parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::unauthenticated("an access token is required"))?;
        Ok(Self {
            caller,
            grant: parts.extensions.get::<MediaGrant>().cloned(),
        })
    }
}

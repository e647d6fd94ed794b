//! The rate-limit middleware, one function per limiter (use with
//! `axum::middleware::from_fn_with_state`).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use tunemesh_runtime::identity::Caller;

use super::{ClientAddr, Limits};
use crate::error::ApiError;

/// Every request, by client address.
pub(crate) async fn limit_by_ip(
    State(limits): State<Arc<Limits>>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    limits.per_ip.check(&limits.client(&request))?;
    Ok(next.run(request).await)
}

/// Sign-up, login and refresh, by client address; records the address for the login limits.
pub(crate) async fn limit_auth_by_ip(
    State(limits): State<Arc<Limits>>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let client = limits.client(&request);
    limits.auth_per_ip.check(&client)?;
    request.extensions_mut().insert(ClientAddr(client));
    Ok(next.run(request).await)
}

/// Authenticated requests, by user; must run after `require_caller`.
pub(crate) async fn limit_by_user(
    State(limits): State<Arc<Limits>>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if let Some(caller) = request.extensions().get::<Caller>() {
        limits.per_user.check(&caller.user_id)?;
    }
    Ok(next.run(request).await)
}

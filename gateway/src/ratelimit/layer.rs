//! The rate-limit middleware, one function per limiter (use with
//! `axum::middleware::from_fn_with_state`).

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use tunemesh_runtime::identity::Caller;

use super::{Limits, client_key};
use crate::error::ApiError;

/// Every request, by client address.
pub async fn limit_by_ip(
    State(limits): State<Arc<Limits>>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    limits.per_ip.check(&client_of(&request))?;
    Ok(next.run(request).await)
}

/// Sign-up, login and refresh, by client address.
pub async fn limit_auth_by_ip(
    State(limits): State<Arc<Limits>>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    limits.auth_per_ip.check(&client_of(&request))?;
    Ok(next.run(request).await)
}

/// Authenticated requests, by user; must run after `require_caller`.
pub async fn limit_by_user(
    State(limits): State<Arc<Limits>>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if let Some(caller) = request.extensions().get::<Caller>() {
        limits.per_user.check(&caller.user_id)?;
    }
    Ok(next.run(request).await)
}

/// The peer address of the connection. Forwarded-for headers are not trusted: any client
/// can write them.
fn client_of(request: &Request) -> std::net::IpAddr {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)), |info| info.0);
    client_key(peer)
}

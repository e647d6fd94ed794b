//! `/v1/auth/*`: sign-up, login, refresh, logout.

use std::net::{IpAddr, Ipv4Addr};

use axum::extract::State;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use http::StatusCode;
use http::header::{CACHE_CONTROL, HeaderValue};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Authenticated;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiJson;
use crate::model::auth::{LoginRequest, RefreshRequest, Session, SignupAccepted, SignupRequest};
use crate::ratelimit::ClientAddr;
use crate::state::AppState;

/// The routes anyone may call; each registers its path and OpenAPI entry from its annotation.
pub fn public() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(signup))
        .routes(routes!(login))
        .routes(routes!(refresh))
}

/// The routes of a signed-in caller.
pub fn protected() -> OpenApiRouter<AppState> {
    OpenApiRouter::default().routes(routes!(logout))
}

/// Token responses must not be cached by any intermediary (RFC 6749 §5.1).
fn no_store(status: StatusCode, session: Session) -> impl IntoResponse {
    (
        status,
        [(CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(session),
    )
}

/// Creates an account if its email and user name are free. The answer is the same either way
/// (a taken name or email is never revealed); log in next.
#[utoipa::path(
    post, path = "/v1/auth/signup", tag = "auth",
    request_body = SignupRequest,
    responses(
        (status = 202, description = "accepted: the account exists now unless its email or \
            user name was taken; log in next", body = SignupAccepted),
        (status = 400, description = "malformed email, username or password", body = ErrorBody),
        (status = 429, description = "too many attempts", body = ErrorBody),
    )
)]
pub async fn signup(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<SignupRequest>,
) -> Result<impl IntoResponse, ApiError> {
    state.auth().signup(request).await?;
    Ok((
        StatusCode::ACCEPTED,
        [(CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(SignupAccepted::new()),
    ))
}

/// Signs in with an email or username and a password.
#[utoipa::path(
    post, path = "/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "signed in", body = Session),
        (status = 400, description = "malformed body", body = ErrorBody),
        (status = 401, description = "wrong login or password", body = ErrorBody),
        (status = 429, description = "too many attempts", body = ErrorBody),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    client: Option<Extension<ClientAddr>>,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<impl IntoResponse, ApiError> {
    // Mounted behind `limit_auth_by_ip`, which records the address; unspecified otherwise.
    let client = client.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |Extension(c)| c.0);
    let session = state.auth().login(request, client).await?;
    Ok(no_store(StatusCode::OK, session))
}

/// Exchanges a refresh token for a new session. The token is used up; presenting it again
/// ends every session of that login.
#[utoipa::path(
    post, path = "/v1/auth/refresh", tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "a new session", body = Session),
        (status = 401, description = "unknown, expired, revoked or reused token", body = ErrorBody),
        (status = 429, description = "too many attempts", body = ErrorBody),
    )
)]
pub async fn refresh(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<RefreshRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let session = state.auth().refresh(&request.refresh_token).await?;
    Ok(no_store(StatusCode::OK, session))
}

/// Ends the session the refresh token belongs to: its refresh token and every access token
/// minted for it are refused from now on (by every gateway replica within one revocation
/// poll).
#[utoipa::path(
    post, path = "/v1/auth/logout", tag = "auth",
    request_body = RefreshRequest,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "signed out"),
        (status = 401, description = "no valid access token, or a refresh token of someone else", body = ErrorBody),
    )
)]
pub async fn logout(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiJson(request): ApiJson<RefreshRequest>,
) -> Result<StatusCode, ApiError> {
    state.auth().logout(&caller, &request.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}

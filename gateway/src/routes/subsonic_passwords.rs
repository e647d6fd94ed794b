//! The caller's Subsonic app passwords (`/v1/me/subsonic-passwords`): create (the secret is
//! shown once), list with last use and client, revoke. What apps send on `/rest` as `apiKey`
//! or `p` (`crate::subsonic`).

use axum::Json;
use axum::extract::{Path, State};
use http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Authenticated;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, check_id};
use crate::model::subsonic::{
    CreatedSubsonicPassword, NewSubsonicPassword, SubsonicPassword, SubsonicPasswords,
};
use crate::state::AppState;

/// The app-password routes, for a signed-in caller.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(create, list))
        .routes(routes!(revoke))
}

/// Creates an app password for a Subsonic app; the answer holds its secret, shown only here.
#[utoipa::path(
    post, path = "/v1/me/subsonic-passwords", tag = "subsonic", request_body = NewSubsonicPassword,
    security(("bearer" = [])),
    responses(
        (status = 201, body = CreatedSubsonicPassword),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiJson(body): ApiJson<NewSubsonicPassword>,
) -> Result<(StatusCode, Json<CreatedSubsonicPassword>), ApiError> {
    let created = state
        .subsonic()
        .passwords()
        .create(&caller.user_id, &body.name, body.legacy_token_auth)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedSubsonicPassword {
            password: created.secret,
            listed: created.password.into(),
        }),
    ))
}

/// Lists the caller's app passwords (never their secrets), newest first.
#[utoipa::path(
    get, path = "/v1/me/subsonic-passwords", tag = "subsonic",
    security(("bearer" = [])),
    responses((status = 200, body = SubsonicPasswords), (status = 401, body = ErrorBody))
)]
pub async fn list(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
) -> Result<Json<SubsonicPasswords>, ApiError> {
    let passwords = state.subsonic().passwords().list(&caller.user_id).await?;
    Ok(Json(SubsonicPasswords {
        passwords: passwords.into_iter().map(SubsonicPassword::from).collect(),
    }))
}

/// Revokes one of the caller's app passwords: refused at once by this gateway replica, by the
/// others within `gateway.subsonic.auth_cache_ttl`.
#[utoipa::path(
    delete, path = "/v1/me/subsonic-passwords/{id}", tag = "subsonic",
    params(("id" = String, Path, description = "the app password's id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "revoked"),
        (status = 401, body = ErrorBody),
        (status = 404, description = "no such app password", body = ErrorBody),
    )
)]
pub async fn revoke(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    check_id("id", &id)?;
    state.subsonic().revoke(&caller.user_id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

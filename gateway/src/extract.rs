//! Request extractors whose rejections are [`ApiError`]s, so a malformed body or query gets the
//! same JSON error body as every other failure instead of axum's plain-text one; and the check
//! of ids taken from a path or query ([`check_id`]).

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Ids in the contracts are at most 64 ASCII characters; checked here so a hostile path
/// segment never travels further than the gateway.
const ID_MAX: usize = 64;

/// A JSON body; any rejection is a 400 with a message that never echoes the body (it may hold a
/// password).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(&rejection)),
        }
    }
}

fn json_rejection(rejection: &JsonRejection) -> ApiError {
    let message = match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            "expected a body with content-type application/json"
        }
        JsonRejection::JsonSyntaxError(_) => "the request body is not valid json",
        JsonRejection::JsonDataError(error) => return data_error(error),
        JsonRejection::BytesRejection(_) => "the request body is too large or could not be read",
        _ => "the request body could not be read",
    };
    ApiError::invalid(message)
}

/// Names a missing or unknown field, which helps a client fix its request; anything else
/// (a wrong type, say) is reported without the offending value, which could be a password.
fn data_error(error: &axum::extract::rejection::JsonDataError) -> ApiError {
    let detail = std::error::Error::source(error).map(ToString::to_string);
    let safe = detail
        .as_deref()
        .and_then(|d| d.split(" at line ").next())
        .filter(|d| d.starts_with("missing field") || d.starts_with("unknown field `"))
        .map(|d| match d.split_once(", expected") {
            Some((field, _)) => field.to_owned(),
            None => d.to_owned(),
        });
    match safe {
        Some(detail) => ApiError::invalid(format!("invalid request body: {detail}")),
        None => ApiError::invalid("invalid request body: a field has the wrong type or value"),
    }
}

/// Query parameters; a rejection is a 400 naming what did not parse.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(QueryRejection::FailedToDeserializeQueryString(error)) => {
                // Query values are not secrets; serde_urlencoded's message names the parameter.
                let detail = std::error::Error::source(&error)
                    .map_or_else(|| error.body_text(), ToString::to_string);
                Err(ApiError::invalid(format!("invalid query: {detail}")))
            }
            Err(_) => Err(ApiError::invalid("invalid query")),
        }
    }
}

/// Checks that `value`, the `name` parameter, has the shape of an id.
pub(crate) fn check_id(name: &str, value: &str) -> Result<(), ApiError> {
    // The shared rule (no `..`, no leading `.`) on top of the edge's narrower alphabet.
    let ok = tunemesh_runtime::ids::is_valid(value)
        && value.len() <= ID_MAX
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "{name} must be 1 to {ID_MAX} letters, digits, '-', '_', '.' or ':', without '..' or a leading '.'"
        )))
    }
}

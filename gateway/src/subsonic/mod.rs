//! The Subsonic/OpenSubsonic API at `/rest/<method>` (and `/rest/<method>.view`), for the apps
//! people already use (DSub, Symfonium, Feishin, Supersonic, Sublime Music…).
//!
//! Wire conventions, as clients really send them: GET with a query, or a form POST whose body
//! is merged after the query (bounded by `gateway.subsonic.max_body_bytes`); `f=xml` (the
//! default, `text/xml`), `f=json`, `f=jsonp` with a validated `callback`; every failure is
//! HTTP 200 with a Subsonic error code ([`error`]), in the requested format; any `v` is
//! accepted (DSub sends 1.2.0) and 1.16.1 answered.
//!
//! # Layout
//! - `settings`: `[gateway.subsonic]`.
//! - [`params`]: query + form parameters, repeated names, booleans.
//! - [`response`]: the one response model, serialised to XML and JSON from the same structs.
//! - [`error`]: the error-code table.
//! - [`methods`]: the tables of methods and what a handler is given; add an endpoint there.
//! - [`model`]: songs, albums and artists as Subsonic clients read them.
//! - [`browse`]: the music folder, songs, albums and artists.
//! - [`playlists`]: playlists, edited by position as Subsonic apps do.
//! - [`scan`]: the music folder's scan status.
//! - [`similar`]: similar songs and an artist's top songs, from reco-svc.
//! - [`stream`]: `stream` and `download`; [`covers`]: `getCoverArt`.
//! - [`scrobble`]: `scrobble`, `getNowPlaying`, `reportPlayback`, over [`playing`]: what
//!   each app plays now and its play session.
//! - [`auth`]: credential checks (app passwords as `apiKey` or `u`+`p`), cache, failure limit.
//! - [`passwords`]: app passwords: generation, lookup HMAC, create/list/revoke.
//! - [`edge`]: the edge's refusals of `/rest` calls (rate limit, timeout, body limit) as
//!   Subsonic errors.
//! - [`stars`]: `star`/`unstar`, `getStarred`/`getStarred2`.
//! - [`hydrate`]: songs, albums and artists for lists of ids, batched; songs' `starred`.
//! - [`queue`]: the play queue, by id and by index (`indexBasedQueue`).
//! - [`seal`]: sealed secrets of app passwords for legacy clients (AES-256-GCM, versioned
//!   keys), so [`auth`] also checks `u`+`t`+`s` tokens.
//! - [`failures`]: failed sign-ins per user name, [`auth`]'s second failure limit.
//! - [`folders`]: `getIndexes`, `getArtists`, `getMusicDirectory`, empty infos and lyrics;
//!   [`lists`]: album lists, random songs, genres; [`search`]: `search2`/`search3` and the
//!   empty-query sync; [`library`]: their payloads.

pub(crate) mod auth;
pub(crate) mod browse;
pub(crate) mod covers;
pub(crate) mod edge;
pub(crate) mod error;
pub(crate) mod failures;
pub(crate) mod folders;
pub(crate) mod hydrate;
pub(crate) mod library;
pub(crate) mod lists;
pub(crate) mod methods;
pub(crate) mod model;
pub(crate) mod params;
pub(crate) mod passwords;
pub(crate) mod playing;
pub(crate) mod playlists;
pub(crate) mod queue;
pub(crate) mod response;
pub(crate) mod scan;
pub(crate) mod scrobble;
pub(crate) mod seal;
pub(crate) mod search;
pub(crate) mod settings;
pub(crate) mod similar;
pub(crate) mod stars;
pub(crate) mod stream;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse as _, Response};
use axum::routing::get;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, StatusCode};

use self::auth::Verifier;
use self::error::SubsonicError;
use self::methods::{Method, Reply};
use self::params::Params;
use self::passwords::AppPasswords;
use self::response::Envelope;
use crate::ratelimit::Limits;
use crate::settings::SubsonicSettings;
use crate::state::AppState;

/// What `/rest` and the app-password routes share.
#[derive(Debug, Clone)]
pub(crate) struct Subsonic {
    passwords: AppPasswords,
    verifier: Verifier,
    limits: Arc<Limits>,
    max_body_bytes: usize,
    playing: playing::NowPlaying,
    covers: covers::CoverIds,
}

impl Subsonic {
    /// The API over `passwords`, failures counted in `limits`.
    pub(crate) fn new(
        passwords: AppPasswords,
        limits: Arc<Limits>,
        settings: &SubsonicSettings,
    ) -> Self {
        Self {
            verifier: Verifier::new(passwords.clone(), limits.clone(), settings),
            passwords,
            limits,
            max_body_bytes: settings.max_body_bytes,
            playing: playing::NowPlaying::default(),
            covers: covers::CoverIds::default(),
        }
    }

    /// The accounts store: user names for the ids services answer with.
    pub(crate) fn accounts(&self) -> &Arc<dyn crate::accounts::AccountStore> {
        self.passwords.store()
    }

    /// What each app plays now (this replica's).
    pub(crate) fn playing(&self) -> &playing::NowPlaying {
        &self.playing
    }

    /// Covers of songs, albums and artists, resolved lately.
    pub(crate) fn covers(&self) -> &covers::CoverIds {
        &self.covers
    }

    /// App passwords, for their REST routes.
    pub(crate) fn passwords(&self) -> &AppPasswords {
        &self.passwords
    }

    /// Revokes `user_id`'s app password `id`, and forgets it here at once.
    pub(crate) async fn revoke(
        &self,
        user_id: &str,
        id: &str,
    ) -> Result<(), crate::error::ApiError> {
        self.passwords.revoke(user_id, id).await?;
        self.verifier.forget(id);
        Ok(())
    }
}

/// One call as the methods see it.
#[derive(Debug)]
pub(crate) struct SubsonicCall {
    /// The method name without `.view`.
    pub(crate) method: String,
    /// Its parameters.
    pub(crate) params: Params,
}

/// The `/rest` routes: no bearer token (apps send credentials as parameters).
pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/rest/{method}", get(handle).post(handle))
}

/// The answer format, from `f`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Format {
    Xml,
    Json,
    Jsonp(String),
}

async fn handle(
    State(state): State<AppState>,
    Path(method): Path<String>,
    request: Request,
) -> Response {
    let subsonic = state.subsonic();
    let client = subsonic.limits.client(&request);
    let query = request.uri().query().map(str::to_owned);
    let headers = request.headers().clone();
    let (params, format) = match read_params(request, subsonic.max_body_bytes).await {
        Ok(params) => match format_of(&params) {
            Ok(format) => (params, format),
            // An unusable callback is never echoed: the error goes out as plain JSON.
            Err(error) => return failed(&error, &Format::Json),
        },
        Err(error) => {
            // The body was unusable: answer in the format the query asked for, if any.
            let format = Params::parse(query.as_deref(), None)
                .ok()
                .and_then(|params| format_of(&params).ok())
                .unwrap_or(Format::Xml);
            return failed(&error, &format);
        }
    };
    let name = method.strip_suffix(".view").unwrap_or(&method).to_owned();
    let call = SubsonicCall {
        method: name,
        params,
    };
    match answer(&state, &call, client, &headers).await {
        Ok(Reply::Envelope(payload)) => render(&Envelope::ok(payload), &format),
        Ok(Reply::Binary(response)) => response,
        Err(error) => {
            tracing::debug!(method = %call.method, code = error.code(), "subsonic call failed");
            failed(&error, &format)
        }
    }
}

fn failed(error: &SubsonicError, format: &Format) -> Response {
    render(&Envelope::failed(error.code(), error.to_string()), format)
}

async fn answer(
    state: &AppState,
    call: &SubsonicCall,
    client: std::net::IpAddr,
    headers: &http::HeaderMap,
) -> Result<Reply, SubsonicError> {
    let subsonic = state.subsonic();
    let Some(method) = Method::named(&call.method) else {
        return Err(SubsonicError::Generic(
            format!(
                "unknown method {:?}: tunemesh does not implement it",
                call.method
            )
            .into(),
        ));
    };
    let caller = if method.is_public() {
        None
    } else {
        Some(subsonic.verifier.verify(&call.params, client).await?)
    };
    methods::run(state, method, call, caller.as_ref(), headers).await
}

/// The query and, for a form POST, the body (at most `limit` bytes).
async fn read_params(request: Request, limit: usize) -> Result<Params, SubsonicError> {
    let (parts, body) = request.into_parts();
    let is_form = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let form = if is_form {
        let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
            SubsonicError::Generic(format!("the request body is larger than {limit} bytes").into())
        })?;
        Some(bytes)
    } else {
        None
    };
    Params::parse(parts.uri.query(), form.as_deref())
}

/// `f`: xml by default; jsonp needs a JavaScript identifier as `callback`.
fn format_of(params: &Params) -> Result<Format, SubsonicError> {
    match params.get("f") {
        Some("json") => Ok(Format::Json),
        Some("jsonp") => {
            let callback = params.get("callback").unwrap_or_default();
            if is_js_identifier(callback) {
                Ok(Format::Jsonp(callback.to_owned()))
            } else {
                Err(SubsonicError::missing(
                    "callback (f=jsonp needs a JavaScript identifier)",
                ))
            }
        }
        _ => Ok(Format::Xml),
    }
}

/// `^[a-zA-Z_$][a-zA-Z0-9_$.]*$`, at most 100 characters: nothing else reaches a script.
fn is_js_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 100
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '$' | '.'))
}

/// The envelope in `format`, always HTTP 200 (clients read the status from the body).
fn render(envelope: &Envelope, format: &Format) -> Response {
    let rendered = match format {
        Format::Xml => envelope
            .to_xml()
            .map(|xml| ("text/xml; charset=utf-8", xml))
            .map_err(|e| SubsonicError::internal(&e)),
        Format::Json => envelope
            .to_json()
            .map(|json| ("application/json", json.to_string()))
            .map_err(|e| SubsonicError::internal(&e)),
        Format::Jsonp(callback) => envelope
            .to_json()
            .map(|json| {
                (
                    "application/javascript; charset=utf-8",
                    format!("{callback}({json});"),
                )
            })
            .map_err(|e| SubsonicError::internal(&e)),
    };
    match rendered {
        Ok((content_type, body)) => {
            let mut response = Response::new(Body::from(body));
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
            response
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonp_callbacks_must_be_identifiers() {
        for good in ["cb", "_x", "$", "a.b1"] {
            assert!(is_js_identifier(good), "{good}");
        }
        for bad in ["", "1a", "a(b)", "a;alert(1)", "a b"] {
            assert!(!is_js_identifier(bad), "{bad}");
        }
    }
}

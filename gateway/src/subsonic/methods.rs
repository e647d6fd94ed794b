//! Every `/rest` method tunemesh answers: whether it needs credentials and what runs it.
//!
//! The handshake and the placeholders are this file's [`TABLE`]; each area of the API keeps
//! its own table of [`Method::Call`] rows next to its handlers (`browse`, `media`, …), listed
//! once in [`TABLES`]. Add an endpoint as a row in its area's table and, if it has a payload,
//! a variant in `response::Payload`.

use axum::response::Response;
use futures::future::BoxFuture;
use http::HeaderMap;

use super::SubsonicCall;
use super::auth::SubsonicCaller;
use super::error::SubsonicError;
use super::response::{Empty, Extension, License, Payload, User};
use crate::state::AppState;

/// What a handler is given: the gateway's state, the call, its verified caller and the
/// request's headers (`Range`, `If-None-Match` on binary endpoints).
#[derive(Debug)]
pub(crate) struct Ctx<'a> {
    /// The gateway's state: the services behind it, media, images.
    pub(crate) state: &'a AppState,
    /// The method and its parameters.
    pub(crate) call: &'a SubsonicCall,
    /// Who is calling.
    pub(crate) caller: &'a SubsonicCaller,
    /// The request's headers.
    pub(crate) headers: &'a HeaderMap,
}

impl Ctx<'_> {
    /// The identity passed to the services.
    pub(crate) fn identity(&self) -> &tunemesh_runtime::identity::Caller {
        &self.caller.caller
    }
}

/// What a handler answers: an envelope (with a payload, or none for `ping` and mutations),
/// or bytes (`stream`, `download`, `getCoverArt`).
#[derive(Debug)]
pub(crate) enum Reply {
    /// `subsonic-response`, status ok.
    Envelope(Option<Payload>),
    /// A binary answer, sent as it is.
    Binary(Response),
}

impl From<Payload> for Reply {
    fn from(payload: Payload) -> Self {
        Self::Envelope(Some(payload))
    }
}

impl From<()> for Reply {
    fn from((): ()) -> Self {
        Self::Envelope(None)
    }
}

/// A handler: an async function of the call.
pub(crate) type Handler = for<'a> fn(&'a Ctx<'a>) -> BoxFuture<'a, Result<Reply, SubsonicError>>;

/// A table row's handler from an `async fn(&Ctx) -> Result<impl Into<Reply>, SubsonicError>`.
macro_rules! handler {
    ($f:path) => {
        $crate::subsonic::methods::Method::Call(|ctx| {
            Box::pin(async move { $f(ctx).await.map(Into::into) })
        })
    };
}
pub(crate) use handler;

/// What a method does.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Method {
    /// `ping`: an empty ok (clients test their credentials with it).
    Ping,
    /// `getLicense`: always valid.
    GetLicense,
    /// `getOpenSubsonicExtensions`: what is implemented (public, as the spec requires).
    GetOpenSubsonicExtensions,
    /// `tokenInfo` (`apiKeyAuthentication`): whose key this is.
    TokenInfo,
    /// `getUser`: the caller's account and roles.
    GetUser,
    /// A listing tunemesh has nothing for: an empty list, so apps show no error.
    EmptyList(fn() -> Payload),
    /// A mutation of something tunemesh does not have: error 0.
    Unsupported,
    /// An endpoint of one of the areas.
    Call(Handler),
}

/// Every table, searched in order.
const TABLES: &[&[(&str, Method)]] = &[
    TABLE,
    super::browse::TABLE,
    super::playlists::TABLE,
    super::similar::TABLE,
    super::scan::TABLE,
    super::stream::TABLE,
    super::covers::TABLE,
    super::scrobble::TABLE,
    super::stars::TABLE,
    super::queue::TABLE,
    super::folders::TABLE,
    super::lists::TABLE,
    super::search::TABLE,
];

/// Method names and what they do. Names are matched exactly, as clients send them.
const TABLE: &[(&str, Method)] = &[
    ("ping", Method::Ping),
    ("getLicense", Method::GetLicense),
    (
        "getOpenSubsonicExtensions",
        Method::GetOpenSubsonicExtensions,
    ),
    ("tokenInfo", Method::TokenInfo),
    ("getUser", Method::GetUser),
    // Listings of features tunemesh does not have.
    (
        "getPodcasts",
        Method::EmptyList(|| Payload::Podcasts(Empty {})),
    ),
    (
        "getNewestPodcasts",
        Method::EmptyList(|| Payload::NewestPodcasts(Empty {})),
    ),
    (
        "getInternetRadioStations",
        Method::EmptyList(|| Payload::InternetRadioStations(Empty {})),
    ),
    ("getShares", Method::EmptyList(|| Payload::Shares(Empty {}))),
    (
        "getBookmarks",
        Method::EmptyList(|| Payload::Bookmarks(Empty {})),
    ),
    // Mutations of features tunemesh does not have.
    ("refreshPodcasts", Method::Unsupported),
    ("createPodcastChannel", Method::Unsupported),
    ("deletePodcastChannel", Method::Unsupported),
    ("downloadPodcastEpisode", Method::Unsupported),
    ("deletePodcastEpisode", Method::Unsupported),
    ("createInternetRadioStation", Method::Unsupported),
    ("updateInternetRadioStation", Method::Unsupported),
    ("deleteInternetRadioStation", Method::Unsupported),
    ("createShare", Method::Unsupported),
    ("updateShare", Method::Unsupported),
    ("deleteShare", Method::Unsupported),
    ("createBookmark", Method::Unsupported),
    ("deleteBookmark", Method::Unsupported),
    ("jukeboxControl", Method::Unsupported),
    ("addChatMessage", Method::Unsupported),
    ("createUser", Method::Unsupported),
    ("updateUser", Method::Unsupported),
    ("deleteUser", Method::Unsupported),
    ("changePassword", Method::Unsupported),
];

/// The OpenSubsonic extensions implemented, with their versions: only these are advertised.
const EXTENSIONS: &[(&str, u32)] = &[
    ("apiKeyAuthentication", 1),
    ("formPost", 1),
    ("transcodeOffset", 1),
    ("playbackReport", 1),
    ("indexBasedQueue", 1),
];

impl Method {
    /// The method called `name` (with or without `.view`).
    pub(crate) fn named(name: &str) -> Option<Self> {
        let name = name.strip_suffix(".view").unwrap_or(name);
        TABLES
            .iter()
            .flat_map(|table| table.iter())
            .find(|(known, _)| *known == name)
            .map(|(_, method)| *method)
    }

    /// Whether it answers without credentials.
    pub(crate) fn is_public(self) -> bool {
        matches!(self, Self::GetOpenSubsonicExtensions)
    }
}

/// Runs `method` for `caller` (`None` only for public methods).
pub(crate) async fn run(
    state: &AppState,
    method: Method,
    call: &SubsonicCall,
    caller: Option<&SubsonicCaller>,
    headers: &HeaderMap,
) -> Result<Reply, SubsonicError> {
    let caller = || caller.ok_or_else(|| SubsonicError::missing("authentication"));
    Ok(Reply::Envelope(match method {
        Method::Ping => None,
        Method::GetLicense => Some(Payload::License(License { valid: true })),
        Method::GetOpenSubsonicExtensions => Some(Payload::Extensions(
            EXTENSIONS
                .iter()
                .map(|&(name, version)| Extension {
                    name,
                    versions: vec![version],
                })
                .collect(),
        )),
        Method::TokenInfo => Some(Payload::TokenInfo(super::response::TokenInfo {
            username: caller()?.username.clone(),
        })),
        Method::GetUser => Some(get_user(call, caller()?)?),
        Method::EmptyList(payload) => Some(payload()),
        Method::Unsupported => {
            return Err(SubsonicError::Generic(
                format!("{} is not supported by tunemesh", call.method).into(),
            ));
        }
        Method::Call(handler) => {
            let ctx = Ctx {
                state,
                call,
                caller: caller()?,
                headers,
            };
            return handler(&ctx).await;
        }
    }))
}

/// `getUser`: the caller only (tunemesh has no Subsonic user administration).
fn get_user(call: &SubsonicCall, caller: &SubsonicCaller) -> Result<Payload, SubsonicError> {
    let asked = call.params.required("username")?;
    if !asked.eq_ignore_ascii_case(&caller.username) {
        return Err(SubsonicError::NotAuthorized(
            "getUser answers only for the signed-in user".into(),
        ));
    }
    let admin = caller.is_admin();
    Ok(Payload::User(Box::new(User {
        username: caller.username.clone(),
        email: caller.email.clone(),
        scrobbling_enabled: true,
        admin_role: admin,
        settings_role: true,
        download_role: true,
        upload_role: admin,
        playlist_role: true,
        cover_art_role: false,
        comment_role: false,
        podcast_role: false,
        stream_role: true,
        jukebox_role: false,
        share_role: false,
        video_conversion_role: false,
        folder: vec![1],
    })))
}

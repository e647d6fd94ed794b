//! Every `/rest` method tunemesh answers, in one table: whether it needs credentials and what
//! runs it. Add an endpoint here (a [`Method`] variant, a table row, an arm in [`run`]) and,
//! if it has a payload, a variant in `response::Payload`.

use super::SubsonicCall;
use super::auth::SubsonicCaller;
use super::error::SubsonicError;
use super::response::{Empty, Extension, License, Payload, User};

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
}

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
const EXTENSIONS: &[(&str, u32)] = &[("apiKeyAuthentication", 1), ("formPost", 1)];

impl Method {
    /// The method called `name` (with or without `.view`).
    pub(crate) fn named(name: &str) -> Option<Self> {
        let name = name.strip_suffix(".view").unwrap_or(name);
        TABLE
            .iter()
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
    method: Method,
    call: &SubsonicCall,
    caller: Option<&SubsonicCaller>,
) -> Result<Option<Payload>, SubsonicError> {
    let caller = || caller.ok_or_else(|| SubsonicError::missing("authentication"));
    Ok(match method {
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
    })
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

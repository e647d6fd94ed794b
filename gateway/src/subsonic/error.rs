//! The Subsonic error codes, written once: every failure on `/rest` is one of these, answered
//! as HTTP 200 with `status="failed"` and `error{code,message}` in the caller's format, binary
//! endpoints included (clients read the body, not the status).

use std::borrow::Cow;

/// Where a user who typed the account password into an app is sent.
pub(crate) const APP_PASSWORD_HELP: &str = "Subsonic apps sign in with an app password, not \
     your tunemesh password: create one in the web player (Settings, Subsonic apps) and enter \
     it in the app as the password";

/// A failed `/rest` call; the variant decides the code, the message is for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SubsonicError {
    /// 0: anything else (unsupported calls, unknown methods, failures behind the gateway).
    #[error("{0}")]
    Generic(Cow<'static, str>),
    /// 10: a required parameter is missing or malformed.
    #[error("required parameter is missing: {0}")]
    MissingParameter(Cow<'static, str>),
    /// 40: wrong user name or password.
    #[error("wrong user name or password; {APP_PASSWORD_HELP}")]
    WrongCredentials,
    /// 41: `t`+`s` token authentication is not available for this user.
    #[error(
        "token authentication (t and s) is not supported for this account: switch the app to \
         password authentication (often called legacy authentication) and use an app password \
         from the web player (Settings, Subsonic apps), or create one there marked for legacy \
         clients"
    )]
    TokenAuthNotSupported,
    /// 43: more than one authentication mechanism in one request.
    #[error("{0}")]
    ConflictingMechanisms(&'static str),
    /// 42: an authentication mechanism this deployment turned off.
    #[expect(
        dead_code,
        reason = "for the operator switches of the design (allow_password_param)"
    )]
    #[error("{0}")]
    MechanismNotSupported(&'static str),
    /// 44: the `apiKey` is unknown or revoked.
    #[error(
        "the API key is not valid (unknown or revoked): create an app password in the web \
         player (Settings, Subsonic apps)"
    )]
    InvalidApiKey,
    /// 50: the caller may not do this.
    #[error("{0}")]
    NotAuthorized(Cow<'static, str>),
    /// 70: what was asked for does not exist.
    #[error("{0}")]
    NotFound(Cow<'static, str>),
}

impl SubsonicError {
    /// The Subsonic error code of this failure.
    pub(crate) fn code(&self) -> u16 {
        match self {
            Self::Generic(_) => 0,
            Self::MissingParameter(_) => 10,
            Self::WrongCredentials => 40,
            Self::TokenAuthNotSupported => 41,
            Self::MechanismNotSupported(_) => 42,
            Self::ConflictingMechanisms(_) => 43,
            Self::InvalidApiKey => 44,
            Self::NotAuthorized(_) => 50,
            Self::NotFound(_) => 70,
        }
    }

    /// A failure of the gateway or a service: logged, never detailed to the client.
    pub(crate) fn internal(cause: &(dyn std::error::Error + 'static)) -> Self {
        tracing::error!(error = %tunemesh_runtime::error::DisplayChain(cause), "subsonic call failed");
        Self::Generic("the server failed to answer; try again later".into())
    }

    /// A required parameter `name` is missing.
    pub(crate) fn missing(name: &'static str) -> Self {
        Self::MissingParameter(name.into())
    }
}

/// A service's answer (through the gateway's error table) as a Subsonic code: the mapping of
/// the design notes (§1.3); what callers cannot act on is 0 with the gateway's own message.
impl From<crate::error::ApiError> for SubsonicError {
    fn from(error: crate::error::ApiError) -> Self {
        use tunemesh_runtime::ErrorCode;
        let message = || Cow::Owned(error.message().to_owned());
        match error.code() {
            ErrorCode::NotFound => Self::NotFound(message()),
            ErrorCode::InvalidArgument | ErrorCode::OutOfRange => Self::MissingParameter(message()),
            ErrorCode::PermissionDenied => Self::NotAuthorized(message()),
            ErrorCode::Unauthenticated => Self::WrongCredentials,
            _ => Self::Generic(message()),
        }
    }
}

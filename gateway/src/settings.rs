//! Settings of the gateway (`[gateway]`, `TUNEMESH_GATEWAY__*`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use crate::images::settings::ImageSettings;
pub use crate::subsonic::settings::SubsonicSettings;
use secrecy::SecretString;
use serde::Deserialize;
use tunemesh_runtime::blobs::BlobSettings;
use tunemesh_runtime::identity::AssertionSettings;
use tunemesh_runtime::secret::{KeyRing, SecretError, SecretSetting};

/// What the gateway can be configured with; the defaults serve `tunemesh up`, which also
/// provides the secret (see [`AuthSettings::jwt_secret`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewaySettings {
    /// Where listeners, apps and the web player reach tunemesh.
    pub addr: SocketAddr,
    /// The services behind the gateway, by discovery name; `/readyz` needs all of them.
    pub upstreams: Vec<String>,
    /// The discovery name of the service serving `CatalogService` and `PlayerService`.
    pub player_upstream: String,
    /// The discovery name of the service serving `PlaylistService`.
    pub playlist_upstream: String,
    /// The discovery name of the service serving `SearchService`.
    pub search_upstream: String,
    /// The discovery name of the service serving `RecommendationService`.
    pub reco_upstream: String,
    /// How long `/readyz` waits for one upstream's health answer.
    #[serde(with = "humantime_serde")]
    pub readiness_timeout: Duration,
    /// How long the gateway waits for in-flight requests on shutdown.
    #[serde(with = "humantime_serde")]
    pub drain_grace: Duration,
    /// Tracks whose file sizes and audio version the audio route keeps (`media/facts.rs`).
    pub audio_info_capacity: u64,
    /// Longest those are kept; outdated ones are noticed and refreshed on use anyway.
    #[serde(with = "humantime_serde")]
    pub audio_info_ttl: Duration,
    /// Memory for the edge cache of audio bytes (`media/edge_cache.rs`); 0 turns it off.
    pub audio_cache_bytes: u64,
    /// player-svc's media blob store, read here (read only) so that a byte range of audio is
    /// a read of the store instead of a `ReadAudioRange` call (`media/direct.rs`); player-svc
    /// still names the file and its version. Unset: every range goes through player-svc.
    pub blobs: BlobSettings,
    /// Limits and browser-facing headers of the HTTP edge.
    pub http: HttpSettings,
    /// Audio files an admin adds through the gateway (`PUT /v1/library/uploads/{sha256}`).
    pub uploads: UploadSettings,
    /// Caps and timeouts of client connections.
    pub connections: ConnectionSettings,
    /// Accounts, passwords and tokens.
    pub auth: AuthSettings,
    /// The Ed25519 key that signs the caller assertions sent to the services.
    pub assertion: AssertionSettings,
    /// Request rates per client address and per user.
    pub rate_limits: RateLimitSettings,
    /// Cover images: sizes, cache, decoding bounds (`crate::images`).
    pub images: ImageSettings,
    /// The Subsonic API at `/rest` (`crate::subsonic`).
    pub subsonic: SubsonicSettings,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            upstreams: ["player", "playlist", "search", "reco"]
                .map(str::to_owned)
                .to_vec(),
            player_upstream: "player".to_owned(),
            playlist_upstream: "playlist".to_owned(),
            search_upstream: "search".to_owned(),
            reco_upstream: "reco".to_owned(),
            readiness_timeout: Duration::from_secs(1),
            drain_grace: Duration::from_secs(20),
            audio_info_capacity: 100_000,
            audio_info_ttl: Duration::from_secs(300),
            audio_cache_bytes: 256 << 20,
            blobs: BlobSettings::default(),
            http: HttpSettings::default(),
            uploads: UploadSettings::default(),
            connections: ConnectionSettings::default(),
            auth: AuthSettings::default(),
            assertion: AssertionSettings::default(),
            rate_limits: RateLimitSettings::default(),
            images: ImageSettings::default(),
            subsonic: SubsonicSettings::default(),
        }
    }
}

/// Bounds of the HTTP edge (`[gateway.http]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSettings {
    /// Longest time from a request's arrival to its response headers; also the deadline sent
    /// to the services behind.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Longest an audio response may stream (HTTP audio and `StreamAudio`): its body
    /// outlives `request_timeout`, but a client that stops reading must not hold a stream to
    /// player-svc forever. A body still streaming then ends cut short.
    #[serde(with = "humantime_serde")]
    pub audio_timeout: Duration,
    /// Audio streams (HTTP audio, segments, `StreamAudio`) one account may have open at
    /// once; more answer 429 / RESOURCE_EXHAUSTED. 0 disables the cap.
    pub max_streams_per_user: usize,
    /// Largest request body accepted; every JSON request here is small.
    pub max_body_bytes: usize,
    /// Origins allowed to call the API from a browser (`https://app.example.com`); empty
    /// allows none, which is right when the web player is served by the gateway itself.
    pub cors_allowed_origins: Vec<String>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(15),
            audio_timeout: Duration::from_secs(10 * 60),
            max_streams_per_user: 16,
            max_body_bytes: 64 * 1024,
            cors_allowed_origins: Vec::new(),
        }
    }
}

/// Uploads of audio files by an admin (`[gateway.uploads]`): each is streamed to player-svc's
/// `IngestService` as it arrives, never held whole in memory.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UploadSettings {
    /// Largest file accepted, in bytes; a larger announced size is refused before any byte is
    /// read. player-svc has its own limit (its `max_upload_bytes`, 2 GiB).
    pub max_bytes: u64,
    /// Longest one upload may take from its first byte to its answer, transcoding included.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
}

impl Default for UploadSettings {
    fn default() -> Self {
        Self {
            max_bytes: 2 << 30,
            timeout: Duration::from_secs(30 * 60),
        }
    }
}

/// Caps and timeouts of client connections (`[gateway.connections]`), against slowloris and
/// connection floods (`crate::listener`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConnectionSettings {
    /// Open client connections at most; unset, three quarters of the process's open-file
    /// limit, so a flood is refused before accepting fails for everyone.
    pub max: Option<usize>,
    /// Open connections from one client address (IPv6 per /64) at most; trusted proxies are
    /// exempt. 0 disables the cap.
    pub max_per_ip: usize,
    /// Longest a connection may take to send a whole request head: the first one, and each
    /// next one on a kept-alive HTTP/1.1 connection (so it is also how long such a connection
    /// may sit idle between requests).
    #[serde(with = "humantime_serde")]
    pub header_read_timeout: Duration,
    /// A connection that neither reads nor writes a byte for this long is closed: idle
    /// kept-alive connections, and clients that stopped reading a response.
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
}

impl Default for ConnectionSettings {
    fn default() -> Self {
        Self {
            max: None,
            max_per_ip: 256,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// Accounts and tokens (`[gateway.auth]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// HS256 key of access tokens (and, derived, of media links): at least 32 random bytes,
    /// different from the mesh identity secret. There is no default: `tunemesh serve gateway`
    /// refuses to start without it; `tunemesh up` generates one in its data dir.
    pub jwt_secret: Option<SecretString>,
    /// A file holding `jwt_secret` instead (a mounted Kubernetes or Docker secret).
    pub jwt_secret_file: Option<PathBuf>,
    /// During a rotation, the key being replaced: still verified (never used to sign) for
    /// `rotation_overlap` after start.
    pub previous_jwt_secret: Option<SecretString>,
    /// A file holding `previous_jwt_secret` instead.
    pub previous_jwt_secret_file: Option<PathBuf>,
    /// How long after start `previous_jwt_secret` is still accepted; the default outlives an
    /// access token and a media link minted just before the rotation.
    #[serde(with = "humantime_serde")]
    pub rotation_overlap: Duration,
    /// Lifetime of an access token. Short: logout revokes it, but a stolen one works until
    /// its session is ended.
    #[serde(with = "humantime_serde")]
    pub access_ttl: Duration,
    /// Lifetime of a refresh token (each refresh issues a new one).
    #[serde(with = "humantime_serde")]
    pub refresh_ttl: Duration,
    /// Longest a login lasts however often it is refreshed; then the user logs in again.
    #[serde(with = "humantime_serde")]
    pub session_ttl: Duration,
    /// How often each gateway reads sessions ended elsewhere (logout on another replica), so
    /// their access tokens are refused here too.
    #[serde(with = "humantime_serde")]
    pub revocation_poll: Duration,
    /// Lifetime of a signed media link (`GET /v1/tracks/{id}/audio-link`): long enough to
    /// play a track with pauses and seeks, short enough that a leaked link soon dies.
    #[serde(with = "humantime_serde")]
    pub media_link_ttl: Duration,
    /// Argon2id memory cost in KiB (OWASP: 19 MiB with 2 passes).
    pub argon2_memory_kib: u32,
    /// Argon2id passes.
    pub argon2_iterations: u32,
    /// Password hashes computed at once; each takes a core and `argon2_memory_kib` of memory,
    /// so this bounds what a login flood can cost.
    pub max_concurrent_hashes: usize,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            jwt_secret: None,
            jwt_secret_file: None,
            previous_jwt_secret: None,
            previous_jwt_secret_file: None,
            rotation_overlap: Duration::from_secs(2 * 60 * 60),
            access_ttl: Duration::from_secs(15 * 60),
            refresh_ttl: Duration::from_secs(30 * 24 * 60 * 60),
            session_ttl: Duration::from_secs(90 * 24 * 60 * 60),
            revocation_poll: Duration::from_secs(1),
            media_link_ttl: Duration::from_secs(60 * 60),
            argon2_memory_kib: 19 * 1024,
            argon2_iterations: 2,
            max_concurrent_hashes: 2,
        }
    }
}

impl AuthSettings {
    /// The name of the secret setting, as errors say it.
    pub const SECRET_SETTING: &'static str = "gateway.auth.jwt_secret";

    /// Whether a secret (value or file) is configured.
    pub fn has_secret(&self) -> bool {
        self.jwt_secret.is_some() || self.jwt_secret_file.is_some()
    }

    /// The current and (during a rotation) previous key, read and checked.
    pub fn keys(&self) -> Result<KeyRing, SecretError> {
        KeyRing::new(
            SecretSetting {
                name: Self::SECRET_SETTING,
                env: "TUNEMESH_GATEWAY__AUTH__JWT_SECRET",
                value: self.jwt_secret.as_ref(),
                file: self.jwt_secret_file.as_deref(),
            },
            SecretSetting {
                name: "gateway.auth.previous_jwt_secret",
                env: "TUNEMESH_GATEWAY__AUTH__PREVIOUS_JWT_SECRET",
                value: self.previous_jwt_secret.as_ref(),
                file: self.previous_jwt_secret_file.as_deref(),
            },
            self.rotation_overlap,
        )
    }
}

/// A token bucket: `burst` requests at once, refilled at `per_minute`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Quota {
    /// Sustained rate, requests per minute.
    pub per_minute: u32,
    /// Requests allowed in a burst.
    pub burst: u32,
}

/// Request rates (`[gateway.rate_limits]`). A quota of 0 per minute disables that limit.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitSettings {
    /// Every request, per client address (IPv6 per /64, which one subscriber usually holds).
    pub per_ip: Quota,
    /// Authenticated requests, per user.
    pub per_user: Quota,
    /// Sign-up, login and refresh, per client address: strict, against password guessing.
    pub auth_per_ip: Quota,
    /// Logins per account and client address: one address cannot spend the account's budget
    /// below.
    pub login_per_account_ip: Quota,
    /// Failed logins per account, from every address that has not signed in to it before:
    /// against guessing one account's password from many addresses (see `ratelimit::login`).
    pub login_failures_per_account: Quota,
    /// Proxies in front of the gateway (`10.0.0.0/8`, `fd00::/8`, or single addresses)
    /// whose `X-Forwarded-For` names the client; from anyone else the header is ignored.
    pub trusted_proxies: Vec<String>,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            per_ip: Quota {
                per_minute: 1200,
                burst: 200,
            },
            per_user: Quota {
                per_minute: 600,
                burst: 100,
            },
            auth_per_ip: Quota {
                per_minute: 10,
                burst: 5,
            },
            login_per_account_ip: Quota {
                per_minute: 5,
                burst: 5,
            },
            login_failures_per_account: Quota {
                per_minute: 2,
                burst: 10,
            },
            trusted_proxies: Vec::new(),
        }
    }
}

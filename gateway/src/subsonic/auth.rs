//! Who is calling `/rest`: the credentials of a Subsonic call checked against app passwords,
//! in the order the design notes fix (docs/architecture.md, "Subsonic API"):
//!
//! | sent | answer |
//! |---|---|
//! | `apiKey` with any of `u`/`p`/`t`/`s`, or `p` with `t`/`s` | 43 |
//! | `apiKey` | its app password, else 44 |
//! | `u` + `p` (plain or `enc:` hex) | an app password of that user, else 40 |
//! | `u` + `t` + `s` | one of the user's app passwords marked for legacy clients with `t` = md5(secret + `s`), else 40; 41 when the user has none (or seal keys are not configured) |
//! | none of these | 10 |
//!
//! The account (argon2) password is never checked here: a user who types it gets 40 with a
//! message saying to create an app password. A token client with no legacy app password gets
//! 41, on which DSub and Sublime Music retry with `p=enc:`. Salts are not required to be
//! fresh: Feishin computes one (`t`, `s`) pair at login and sends it forever.
//!
//! Only failed attempts count, in two buckets: the client address's strict auth bucket
//! (`auth_per_ip`), and the user name's ([`super::failures`], against many addresses guessing
//! one user's secret; addresses that signed in as that user before skip it). While a bucket is
//! empty, sign-ins it covers are refused, right credentials or not, so no guess is confirmed.
//! Verified credentials are cached (keyed by an HMAC of the credential, never the secret) for
//! `gateway.subsonic.auth_cache_ttl`, so covers and streams do not each ask the store; last
//! use is written at most once a minute per app password.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::future::Cache;
use secrecy::ExposeSecret as _;
use tunemesh_runtime::clock::now_ms;
use tunemesh_runtime::identity::Caller;

use super::error::SubsonicError;
use super::failures::{MAX_NAME_CHARS, UserFailures};
use super::params::Params;
use super::passwords::{AppPasswords, MAX_LEGACY_PER_USER};
use super::seal::token_matches;
use crate::accounts::{ADMIN, AppPassword, User};
use crate::ratelimit::Limits;
use crate::settings::SubsonicSettings;

/// How often an app password's last use is written.
const RECORD_EVERY: Duration = Duration::from_secs(60);
/// Addresses remembered as over their failure budget.
const BLOCKED_CAPACITY: u64 = 100_000;
/// Longest an address stays refused after exhausting its budget.
const BLOCKED_MAX: Duration = Duration::from_secs(600);
/// Longest salt checked: clients send 6 to 32 characters; this bounds the hashing a request
/// can ask for.
const MAX_SALT_CHARS: usize = 256;

/// A verified `/rest` caller.
#[derive(Debug, Clone)]
pub(crate) struct SubsonicCaller {
    /// The identity passed to the services.
    pub(crate) caller: Caller,
    /// The account's user name.
    pub(crate) username: String,
    /// The account's email.
    pub(crate) email: String,
    /// The app password used.
    pub(crate) key_id: String,
}

impl SubsonicCaller {
    /// Whether the account is the deployment's admin.
    pub(crate) fn is_admin(&self) -> bool {
        self.caller.has_role(ADMIN)
    }
}

/// Cache key: the mechanism's user name (empty for `apiKey`) and the secret's lookup HMAC.
type CacheKey = (String, String);

/// The `/rest` credential check.
#[derive(Debug, Clone)]
pub(crate) struct Verifier {
    passwords: AppPasswords,
    limits: Arc<Limits>,
    verified: Cache<CacheKey, SubsonicCaller>,
    /// App passwords whose use was written lately, with the client name written.
    recorded: Cache<String, Option<String>>,
    blocked: moka::sync::Cache<IpAddr, Instant>,
    users: Arc<UserFailures>,
}

impl Verifier {
    /// A verifier over `passwords`, counting failures in `limits`.
    pub(crate) fn new(
        passwords: AppPasswords,
        limits: Arc<Limits>,
        settings: &SubsonicSettings,
    ) -> Self {
        Self {
            passwords,
            limits,
            verified: Cache::builder()
                .max_capacity(settings.auth_cache_capacity)
                .time_to_live(settings.auth_cache_ttl)
                .support_invalidation_closures()
                .build(),
            recorded: Cache::builder()
                .max_capacity(settings.auth_cache_capacity)
                .time_to_live(RECORD_EVERY)
                .build(),
            blocked: moka::sync::Cache::builder()
                .max_capacity(BLOCKED_CAPACITY)
                .time_to_live(BLOCKED_MAX)
                .build(),
            users: Arc::new(UserFailures::new(settings.failures_per_user)),
        }
    }

    /// Forgets the cached verifications of app password `key_id` (revoked here): this
    /// replica refuses it at once, others within `auth_cache_ttl`.
    pub(crate) fn forget(&self, key_id: &str) {
        let key_id = key_id.to_owned();
        if let Err(error) = self
            .verified
            .invalidate_entries_if(move |_, caller| caller.key_id == key_id)
        {
            tracing::warn!(%error, "cannot drop cached subsonic credentials");
        }
    }

    /// The caller named by `params`, sent from `client`.
    pub(crate) async fn verify(
        &self,
        params: &Params,
        client: IpAddr,
    ) -> Result<SubsonicCaller, SubsonicError> {
        if let Some(until) = self.blocked.get(&client) {
            let now = Instant::now();
            if until > now {
                return Err(too_many("from this address", until - now));
            }
        }
        // The user name a mechanism names (`apiKey` names none): its own failure bucket.
        let user = (!params.has("apiKey"))
            .then(|| params.get("u"))
            .flatten()
            .map(str::to_lowercase);
        if let Some(user) = &user
            && let Some(wait) = self.users.blocked(user, client)
        {
            return Err(too_many("for this user from new addresses", wait));
        }
        let outcome = self.check(params).await;
        match &outcome {
            Ok(caller) => {
                self.users.signed_in(&caller.username, client);
                self.record_use(caller, params.get("c")).await;
            }
            // Malformed requests (10, 43) cannot guess anything: only wrong secrets count.
            Err(SubsonicError::WrongCredentials | SubsonicError::InvalidApiKey) => {
                if let Some(user) = &user {
                    self.users.failed(user, client);
                }
                if let Err(refused) = self.limits.auth_per_ip.check(&client) {
                    let wait = refused.retry_after().unwrap_or(Duration::from_secs(1));
                    self.blocked
                        .insert(client, Instant::now() + wait.min(BLOCKED_MAX));
                    return Err(too_many("from this address", wait));
                }
            }
            Err(_) => {}
        }
        outcome
    }

    async fn check(&self, params: &Params) -> Result<SubsonicCaller, SubsonicError> {
        let has = |name| params.has(name);
        if has("apiKey") {
            if has("u") || has("p") || has("t") || has("s") {
                return Err(SubsonicError::ConflictingMechanisms(
                    "send apiKey alone: it must not be combined with u, p, t or s",
                ));
            }
            let key = params.required("apiKey")?;
            return self
                .lookup(String::new(), key)
                .await?
                .ok_or(SubsonicError::InvalidApiKey);
        }
        if has("p") && (has("t") || has("s")) {
            return Err(SubsonicError::ConflictingMechanisms(
                "send either p or t and s, not both",
            ));
        }
        if has("t") {
            let username = params.required("u")?.to_lowercase();
            let salt = params.required("s")?;
            if salt.chars().count() > MAX_SALT_CHARS {
                return Err(SubsonicError::MissingParameter(
                    format!("s: at most {MAX_SALT_CHARS} characters").into(),
                ));
            }
            return self.token(username, salt, params.required("t")?).await;
        }
        if !has("p") {
            return Err(SubsonicError::MissingParameter(
                "authentication: apiKey, or u with p".into(),
            ));
        }
        let username = params.required("u")?.to_lowercase();
        let password = decode_password(params.required("p")?)?;
        self.lookup(username, &password)
            .await?
            .ok_or(SubsonicError::WrongCredentials)
    }

    /// The caller owning secret `secret`; when `username` is not empty, only if it is theirs.
    async fn lookup(
        &self,
        username: String,
        secret: &str,
    ) -> Result<Option<SubsonicCaller>, SubsonicError> {
        let lookup = self.passwords.pepper().lookup(secret);
        let key = (username, lookup);
        if let Some(caller) = self.verified.get(&key).await {
            return Ok(Some(caller));
        }
        let found = self
            .passwords
            .store()
            .find_app_password(&key.1)
            .await
            .map_err(|e| SubsonicError::internal(&e))?;
        let Some((password, user)) = found else {
            return Ok(None);
        };
        if !key.0.is_empty() && key.0 != user.username {
            return Ok(None);
        }
        let caller = caller_of(password, user);
        self.verified.insert(key, caller.clone()).await;
        Ok(Some(caller))
    }

    /// `t`+`s` for `username`: each of their (at most [`MAX_LEGACY_PER_USER`]) legacy app
    /// passwords opened and checked; 41 when there is none (or no seal keys).
    async fn token(
        &self,
        username: String,
        salt: &str,
        token: &str,
    ) -> Result<SubsonicCaller, SubsonicError> {
        let Some(seal) = self.passwords.seal() else {
            return Err(SubsonicError::TokenAuthNotSupported);
        };
        if username.chars().count() > MAX_NAME_CHARS {
            // No account has such a name: answered as a user without legacy app passwords.
            return Err(SubsonicError::TokenAuthNotSupported);
        }
        // Cached under an HMAC of the token (its length first, so no other split of the same
        // bytes into token and salt matches) and salt; a secret never contains NUL.
        let material = format!("t\0{}\0{}\0{salt}", token.len(), token.to_ascii_lowercase());
        let key = (username, self.passwords.pepper().lookup(&material));
        if let Some(caller) = self.verified.get(&key).await {
            return Ok(caller);
        }
        let candidates = self
            .passwords
            .store()
            .legacy_app_passwords(&key.0, MAX_LEGACY_PER_USER)
            .await
            .map_err(|e| SubsonicError::internal(&e))?;
        if candidates.is_empty() {
            return Err(SubsonicError::TokenAuthNotSupported);
        }
        for (password, user) in candidates {
            let Some(sealed) = &password.sealed else {
                continue;
            };
            let secret = match seal.open(sealed, &password.id, &user.id) {
                Ok(secret) => secret,
                Err(error) => {
                    tracing::warn!(key_id = %password.id, %error, "cannot open a sealed app password");
                    continue;
                }
            };
            if !token_matches(secret.expose_secret(), salt, token) {
                continue;
            }
            if sealed.version != seal.current() {
                // Rotation: sealed under an older key, resealed under the current one.
                let resealed = seal.seal(secret.expose_secret(), &password.id, &user.id);
                if let Err(error) = self
                    .passwords
                    .store()
                    .reseal_app_password(&password.id, &resealed)
                    .await
                {
                    tracing::warn!(error = %tunemesh_runtime::error::DisplayChain(&error), "cannot reseal an app password");
                }
            }
            let caller = caller_of(password, user);
            self.verified.insert(key, caller.clone()).await;
            return Ok(caller);
        }
        Err(SubsonicError::WrongCredentials)
    }

    /// Writes last use and client, at most once per [`RECORD_EVERY`] per app password unless
    /// another client name shows up.
    async fn record_use(&self, caller: &SubsonicCaller, client: Option<&str>) {
        let client: Option<String> = client.map(|c| c.chars().take(64).collect());
        if let Some(recorded) = self.recorded.get(&caller.key_id).await
            && (client.is_none() || client == recorded)
        {
            return;
        }
        self.recorded
            .insert(caller.key_id.clone(), client.clone())
            .await;
        if let Err(error) = self
            .passwords
            .store()
            .record_app_password_use(&caller.key_id, now_ms(), client.as_deref())
            .await
        {
            tracing::warn!(error = %tunemesh_runtime::error::DisplayChain(&error), "cannot record app password use");
        }
    }
}

fn caller_of(password: AppPassword, user: User) -> SubsonicCaller {
    SubsonicCaller {
        caller: Caller::new(user.id, user.roles),
        username: user.username,
        email: user.email,
        key_id: password.id,
    }
}

fn too_many(whence: &str, wait: Duration) -> SubsonicError {
    SubsonicError::Generic(
        format!(
            "too many failed sign-ins {whence}: try again in {} s",
            wait.as_secs().max(1)
        )
        .into(),
    )
}

/// `p` as sent: plain, or `enc:` and the hex of its UTF-8 bytes (either case).
fn decode_password(p: &str) -> Result<String, SubsonicError> {
    let Some(hex) = p.strip_prefix("enc:") else {
        return Ok(p.to_owned());
    };
    hex::decode(hex)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| SubsonicError::MissingParameter("p: enc: must be followed by hex".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enc_passwords_decode_in_either_case() {
        assert_eq!(decode_password("tm_AB").as_deref(), Ok("tm_AB"));
        assert_eq!(decode_password("enc:746d5f4142").as_deref(), Ok("tm_AB"));
        assert_eq!(decode_password("enc:746D5F4142").as_deref(), Ok("tm_AB"));
        assert!(decode_password("enc:zz").is_err());
    }
}

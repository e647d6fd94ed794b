//! Login limits per account, on top of the per-address limit of every auth route.
//!
//! The per-address limit alone lets a botnet guess one account's password at that rate times
//! its number of addresses. A plain per-account limit stops that, but hands the attacker a
//! lock: flood an account with wrong passwords and its owner can no longer log in. So:
//!
//! - [`LoginLimits::per_account_ip`]: attempts per (account, address), so one address
//!   spends at most its own share on an account.
//! - [`LoginLimits::per_account`]: attempts per account from every address that has *not*
//!   signed in to it before (a slow bucket shared by all of them: after its burst, one guess
//!   per refill across the whole botnet). Addresses that signed in to the account before (kept
//!   [`KNOWN_FOR`]) skip it, so the owner at home or on their phone still logs in while the
//!   account is under attack; an attacker becomes "known" only by knowing the password.
//!
//! The cost: an owner on a new address during an attack waits for the bucket like the
//! attacker (the answer is 429 with `Retry-After`, never a permanent lock). Buckets and known
//! addresses live per replica, like every other limit here.

use std::net::IpAddr;
use std::time::Duration;

use super::Limiter;
use crate::error::ApiError;
use crate::settings::RateLimitSettings;

/// How long an address that signed in to an account stays trusted for it.
pub(crate) const KNOWN_FOR: Duration = Duration::from_secs(30 * 24 * 60 * 60);
/// Most (account, address) pairs remembered as known.
const KNOWN_CAPACITY: u64 = 200_000;

/// The per-account login limits.
#[derive(Debug)]
pub struct LoginLimits {
    per_account_ip: Limiter<(String, IpAddr)>,
    per_account: Limiter<String>,
    known: moka::sync::Cache<(String, IpAddr), ()>,
}

impl LoginLimits {
    /// Limits with the configured quotas.
    pub fn new(settings: &RateLimitSettings) -> Self {
        Self {
            per_account_ip: Limiter::new(settings.login_per_account_ip),
            per_account: Limiter::new(settings.login_failures_per_account),
            known: moka::sync::Cache::builder()
                .max_capacity(KNOWN_CAPACITY)
                .time_to_live(KNOWN_FOR)
                .build(),
        }
    }

    /// Takes an attempt on `login` (as typed) from `client`, before the account is looked up.
    pub fn per_account_ip(&self, login: &str, client: IpAddr) -> Result<(), ApiError> {
        self.per_account_ip.check(&(login.to_owned(), client))
    }

    /// Takes an attempt on `account` from `client` unless `client` signed in to it before.
    pub fn per_account(&self, account: &str, client: IpAddr) -> Result<(), ApiError> {
        if self.known.contains_key(&(account.to_owned(), client)) {
            return Ok(());
        }
        self.per_account.check(&account.to_owned())
    }

    /// Records that `client` signed in to `account` with the right password.
    pub fn signed_in(&self, account: &str, client: IpAddr) {
        self.known.insert((account.to_owned(), client), ());
    }

    /// Drops the buckets that are full again.
    pub fn prune(&self) {
        self.per_account_ip.prune();
        self.per_account.prune();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Quota;

    #[test]
    fn strangers_share_the_account_budget_but_the_owner_keeps_logging_in() {
        let settings = RateLimitSettings {
            login_failures_per_account: Quota {
                per_minute: 1,
                burst: 3,
            },
            ..RateLimitSettings::default()
        };
        let limits = LoginLimits::new(&settings);
        let owner: IpAddr = "192.0.2.1".parse().expect("ip");
        limits.signed_in("ann", owner);
        for n in 0..3u8 {
            let stranger = IpAddr::from([198, 51, 100, n]);
            assert!(limits.per_account("ann", stranger).is_ok());
        }
        let late = IpAddr::from([198, 51, 100, 9]);
        assert!(limits.per_account("ann", late).is_err(), "budget spent");
        assert!(
            limits.per_account("ann", owner).is_ok(),
            "the owner is known"
        );
        assert!(limits.per_account("bob", late).is_ok(), "per account");
    }
}

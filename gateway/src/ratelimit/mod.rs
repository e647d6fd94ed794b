//! Rate limits: token buckets per client address, per user, a strict one per address for
//! sign-up, login and refresh (password guessing), and per-account login limits ([`login`]).
//! A request over its limit gets 429 with a `Retry-After` saying when the bucket has a token
//! again.
//!
//! Buckets live in memory, per gateway replica: with N replicas a client gets up to N times
//! the quota, which is acceptable for abuse protection (exact global quotas would need Redis
//! on every request). Idle buckets are dropped by [`Limits::prune`], which the gateway runs
//! every minute, so memory follows the number of recently active clients.

pub(crate) mod client_ip;
mod layer;
pub(crate) mod login;

use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::ConnectInfo;
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, RateLimiter};

pub(crate) use client_ip::{Cidr, InvalidCidr};
pub(crate) use layer::{limit_auth_by_ip, limit_by_ip, limit_by_user};

use crate::error::ApiError;
use crate::settings::{Quota, RateLimitSettings};

/// The client address of an auth request (after trusted proxies), recorded by
/// [`limit_auth_by_ip`] for the per-account login limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// One keyed limiter, or none when its quota is 0 per minute.
#[derive(Debug)]
pub struct Limiter<K: Hash + Eq + Clone> {
    inner: Option<DefaultKeyedRateLimiter<K>>,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    fn new(quota: Quota) -> Self {
        let inner = NonZeroU32::new(quota.per_minute).map(|rate| {
            let burst = NonZeroU32::new(quota.burst).unwrap_or(rate);
            RateLimiter::keyed(governor::Quota::per_minute(rate).allow_burst(burst))
        });
        Self { inner }
    }

    /// Takes one token from `key`'s bucket, or says how long until one is there.
    pub fn check(&self, key: &K) -> Result<(), ApiError> {
        let Some(limiter) = &self.inner else {
            return Ok(());
        };
        limiter.check_key(key).map_err(|not_until| {
            ApiError::rate_limited(not_until.wait_time_from(DefaultClock::default().now()))
        })
    }

    fn prune(&self) {
        if let Some(limiter) = &self.inner {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    /// Number of buckets held.
    pub fn len(&self) -> usize {
        self.inner.as_ref().map_or(0, RateLimiter::len)
    }

    /// Whether no bucket is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Every limiter of the gateway.
#[derive(Debug)]
pub struct Limits {
    /// All requests, by client address.
    pub per_ip: Limiter<IpAddr>,
    /// Sign-up, login, refresh, by client address.
    pub auth_per_ip: Limiter<IpAddr>,
    /// Authenticated requests, by user id.
    pub per_user: Limiter<String>,
    /// Logins per account.
    pub login: Arc<login::LoginLimits>,
    /// Proxies whose `X-Forwarded-For` names the client.
    trusted_proxies: Vec<Cidr>,
}

impl Limits {
    /// Limiters with the configured quotas; fails on a malformed trusted proxy.
    pub fn new(settings: &RateLimitSettings) -> Result<Arc<Self>, InvalidCidr> {
        let trusted_proxies = settings
            .trusted_proxies
            .iter()
            .map(|cidr| Cidr::parse(cidr))
            .collect::<Result<_, _>>()?;
        Ok(Arc::new(Self {
            per_ip: Limiter::new(settings.per_ip),
            auth_per_ip: Limiter::new(settings.auth_per_ip),
            per_user: Limiter::new(settings.per_user),
            login: Arc::new(login::LoginLimits::new(settings)),
            trusted_proxies,
        }))
    }

    /// The rate-limit key of the client sending `request`: the peer address of the
    /// connection, or the address a trusted proxy reports (see [`client_ip`]).
    pub fn client<B>(&self, request: &http::Request<B>) -> IpAddr {
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)), |info| info.0);
        let forwarded = request
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok());
        let ip = client_ip::client_ip(peer.ip(), forwarded, &self.trusted_proxies);
        client_key(SocketAddr::new(ip, 0))
    }

    /// The proxies whose `X-Forwarded-For` names the client.
    pub fn trusted_proxies(&self) -> &[Cidr] {
        &self.trusted_proxies
    }

    /// Drops the buckets that are full again (their clients went quiet).
    pub fn prune(&self) {
        self.per_ip.prune();
        self.auth_per_ip.prune();
        self.per_user.prune();
        self.login.prune();
    }
}

/// The key of a client address. An IPv6 subscriber usually holds a whole /64 and can pick a
/// fresh address per request, so IPv6 clients are limited per /64; IPv4-mapped addresses count
/// as the IPv4 address they are.
pub(crate) fn client_key(addr: SocketAddr) -> IpAddr {
    match addr.ip() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_next_request_waits() {
        let limiter = Limiter::new(Quota {
            per_minute: 1,
            burst: 2,
        });
        assert!(limiter.check(&"a").is_ok());
        assert!(limiter.check(&"a").is_ok());
        let refused = limiter.check(&"a").expect_err("over the burst");
        assert_eq!(
            refused.code(),
            tunemesh_runtime::ErrorCode::ResourceExhausted
        );
        assert!(limiter.check(&"b").is_ok(), "buckets are per key");
    }

    #[test]
    fn a_zero_rate_disables_the_limit() {
        let limiter = Limiter::new(Quota {
            per_minute: 0,
            burst: 0,
        });
        assert!((0..1000).all(|_| limiter.check(&"a").is_ok()));
    }

    #[test]
    fn ipv6_clients_share_their_64() {
        let a: SocketAddr = "[2001:db8:1:2:aaaa::1]:1".parse().expect("addr");
        let b: SocketAddr = "[2001:db8:1:2:bbbb::2]:2".parse().expect("addr");
        let mapped: SocketAddr = "[::ffff:192.0.2.1]:3".parse().expect("addr");
        assert_eq!(client_key(a), client_key(b));
        assert_eq!(
            client_key(mapped),
            "192.0.2.1".parse::<IpAddr>().expect("ip")
        );
    }
}

//! Caps on open client connections, overall and per client address, checked when a
//! connection is accepted. Over a cap the connection is closed at once, with one warning a
//! second at most (a flood must not flood the log too).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::ratelimit::{Cidr, client_key};
use crate::settings::ConnectionSettings;

/// Which cap refused a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The gateway holds its maximum of open connections.
    Total,
    /// The client's address holds its maximum.
    PerIp,
}

impl Refused {
    fn as_str(self) -> &'static str {
        match self {
            Refused::Total => "total",
            Refused::PerIp => "per_ip",
        }
    }
}

/// Open connections per client address, shared by the caps and every admission.
type Counts = Arc<Mutex<HashMap<IpAddr, usize>>>;

/// The connection caps of one listener.
#[derive(Debug)]
pub(crate) struct Caps {
    total: Arc<Semaphore>,
    max: usize,
    max_per_ip: usize,
    per_ip: Counts,
    trusted_proxies: Vec<Cidr>,
    // Unix second of the last "limit reached" warning.
    warned_at: AtomicU64,
}

/// One admitted connection's share of the caps, given back when dropped.
#[derive(Debug)]
pub(crate) struct Admission {
    _total: OwnedSemaphorePermit,
    ip: Option<(IpAddr, Counts)>,
}

impl Drop for Admission {
    fn drop(&mut self) {
        if let Some((ip, counts)) = self.ip.take() {
            let mut counts = lock(&counts);
            if let Some(count) = counts.get_mut(&ip) {
                *count -= 1;
                if *count == 0 {
                    // So the map holds only addresses with open connections.
                    counts.remove(&ip);
                }
            }
        }
        metrics::gauge!("tunemesh_gateway_connections").decrement(1);
    }
}

fn lock(counts: &Mutex<HashMap<IpAddr, usize>>) -> MutexGuard<'_, HashMap<IpAddr, usize>> {
    // Plain counts: a poisoned lock still holds valid ones.
    counts.lock().unwrap_or_else(|p| p.into_inner())
}

impl Caps {
    /// Caps as configured; `trusted_proxies` (load balancers) are exempt from the per-address
    /// cap, since every client behind them shares their address.
    pub(crate) fn new(settings: &ConnectionSettings, trusted_proxies: Vec<Cidr>) -> Self {
        let max = settings.max.unwrap_or_else(default_max).max(1);
        Self {
            total: Arc::new(Semaphore::new(max)),
            max,
            max_per_ip: settings.max_per_ip,
            per_ip: Arc::default(),
            trusted_proxies,
            warned_at: AtomicU64::new(0),
        }
    }

    /// The overall cap in force.
    pub(crate) fn max(&self) -> usize {
        self.max
    }

    /// Admits a connection from `peer`, or says which cap is full.
    pub(crate) fn admit(&self, peer: IpAddr) -> Result<Admission, Refused> {
        let total = self
            .total
            .clone()
            .try_acquire_owned()
            .map_err(|_| self.refused(Refused::Total, peer))?;
        let exempt = self.max_per_ip == 0 || self.trusted_proxies.iter().any(|c| c.contains(peer));
        let ip = if exempt {
            None
        } else {
            let key = client_key(std::net::SocketAddr::new(peer, 0));
            let mut counts = lock(&self.per_ip);
            let count = counts.entry(key).or_insert(0);
            if *count >= self.max_per_ip {
                drop(counts);
                return Err(self.refused(Refused::PerIp, peer));
            }
            *count += 1;
            Some((key, self.per_ip.clone()))
        };
        metrics::gauge!("tunemesh_gateway_connections").increment(1);
        Ok(Admission { _total: total, ip })
    }

    fn refused(&self, cap: Refused, peer: IpAddr) -> Refused {
        metrics::counter!("tunemesh_gateway_connections_refused_total", "cap" => cap.as_str())
            .increment(1);
        let now = tunemesh_runtime::clock::now_secs();
        if self.warned_at.swap(now, Ordering::Relaxed) != now {
            let limit = match cap {
                Refused::Total => self.max,
                Refused::PerIp => self.max_per_ip,
            };
            tracing::warn!(cap = cap.as_str(), limit, %peer, "connection limit reached, refusing new connections");
        }
        cap
    }
}

/// Three quarters of the open-file limit: the rest stays for the gateway's own connections
/// to services and files, so accepting never fails with "too many open files".
fn default_max() -> usize {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(65_536);
    usize::try_from(limit / 4 * 3).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(max: usize, max_per_ip: usize, trusted: &[&str]) -> Caps {
        let settings = ConnectionSettings {
            max: Some(max),
            max_per_ip,
            ..ConnectionSettings::default()
        };
        let trusted = trusted
            .iter()
            .map(|c| Cidr::parse(c).expect("cidr"))
            .collect();
        Caps::new(&settings, trusted)
    }

    #[test]
    fn one_address_gets_its_share_and_gets_it_back_when_a_connection_closes() {
        let caps = caps(10, 2, &[]);
        let a: IpAddr = "192.0.2.1".parse().expect("ip");
        let b: IpAddr = "192.0.2.2".parse().expect("ip");
        let first = caps.admit(a).expect("first");
        let _second = caps.admit(a).expect("second");
        assert_eq!(caps.admit(a).unwrap_err(), Refused::PerIp);
        let _other = caps.admit(b).expect("another address has its own share");
        drop(first);
        let _again = caps.admit(a).expect("a closed connection frees its place");
    }

    #[test]
    fn the_total_cap_holds_across_addresses_and_proxies_are_exempt_per_address() {
        let caps = caps(3, 1, &["10.0.0.0/8"]);
        let proxy: IpAddr = "10.1.2.3".parse().expect("ip");
        let _p1 = caps.admit(proxy).expect("proxy");
        let _p2 = caps.admit(proxy).expect("proxy again: exempt per address");
        let _c = caps
            .admit("192.0.2.9".parse().expect("ip"))
            .expect("client");
        let refused = caps.admit("192.0.2.10".parse().expect("ip")).unwrap_err();
        assert_eq!(refused, Refused::Total);
    }

    #[test]
    fn the_default_total_stays_under_the_open_file_limit() {
        let caps = Caps::new(&ConnectionSettings::default(), Vec::new());
        let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
        if let Some(limit) = limit {
            assert!((caps.max() as u64) < limit);
        }
    }
}

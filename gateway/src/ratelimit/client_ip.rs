//! Who the client is, for per-address limits: the peer address of the connection, or, when
//! that peer is a configured trusted proxy (a load balancer in front of the gateway), the
//! address it reports in `X-Forwarded-For`.
//!
//! The header is read from the right, as nginx's `real_ip_recursive` does: each trusted hop
//! appended the address it saw, so the first address from the right that is not a trusted
//! proxy is the client. Anything left of it was written by the client and is ignored; a
//! malformed entry stops the walk at the last trusted hop. A peer that is not trusted is the
//! client whatever headers it sends.

use std::net::IpAddr;

/// A CIDR block such as `10.0.0.0/8` or `fd00::/8`; a bare address is a /32 or /128.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

/// Why a trusted-proxy entry was refused.
#[derive(Debug, thiserror::Error)]
#[error("invalid trusted proxy {0:?}: expected an address or address/prefix")]
pub struct InvalidCidr(pub String);

impl Cidr {
    /// Parses `addr` or `addr/prefix`.
    pub fn parse(text: &str) -> Result<Self, InvalidCidr> {
        let invalid = || InvalidCidr(text.to_owned());
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = addr.trim().parse().map_err(|_| invalid())?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.trim().parse::<u8>().map_err(|_| invalid())?,
            None => max,
        };
        if prefix > max {
            return Err(invalid());
        }
        Ok(Self { network, prefix })
    }

    /// Whether `ip` lies in this block (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The client address of a request from `peer` carrying `forwarded_for` (every
/// `X-Forwarded-For` value, in order), given the `trusted` proxies.
pub(crate) fn client_ip<'a>(
    peer: IpAddr,
    forwarded_for: impl Iterator<Item = &'a str>,
    trusted: &[Cidr],
) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|cidr| cidr.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let hops: Vec<&str> = forwarded_for.flat_map(|value| value.split(',')).collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Ok(ip) = hop.trim().parse::<IpAddr>() else {
            break;
        };
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("ip")
    }

    #[test]
    fn cidrs_parse_and_match() {
        let lan = Cidr::parse("10.0.0.0/8").expect("cidr");
        assert!(lan.contains(ip("10.1.2.3")));
        assert!(lan.contains(ip("::ffff:10.1.2.3")));
        assert!(!lan.contains(ip("11.0.0.1")));
        let one = Cidr::parse("192.0.2.7").expect("bare address");
        assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
        assert!(Cidr::parse("fd00::/8").expect("v6").contains(ip("fd12::1")));
        assert!(
            Cidr::parse("0.0.0.0/0")
                .expect("all")
                .contains(ip("8.8.8.8"))
        );
        for bad in ["", "10.0.0.0/33", "fd00::/129", "example.com", "10.0.0.0/x"] {
            assert!(Cidr::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_header_counts_only_behind_a_trusted_proxy() {
        let trusted = [Cidr::parse("10.0.0.0/8").expect("cidr")];
        let header = ["203.0.113.9, 10.0.0.5"];
        // Straight from the internet: the header is the client's own writing.
        assert_eq!(
            client_ip(ip("198.51.100.1"), header.into_iter(), &trusted),
            ip("198.51.100.1")
        );
        // Through two trusted hops: the first untrusted address from the right.
        assert_eq!(
            client_ip(ip("10.0.0.2"), header.into_iter(), &trusted),
            ip("203.0.113.9")
        );
        // A client prepending a fake address does not change who it is.
        let spoofed = ["1.2.3.4", "203.0.113.9, 10.0.0.5"];
        assert_eq!(
            client_ip(ip("10.0.0.2"), spoofed.into_iter(), &trusted),
            ip("203.0.113.9")
        );
        // Garbage stops the walk at the last trusted hop; no header leaves the peer.
        assert_eq!(
            client_ip(ip("10.0.0.2"), ["junk, 10.0.0.5"].into_iter(), &trusted),
            ip("10.0.0.5")
        );
        assert_eq!(
            client_ip(ip("10.0.0.2"), std::iter::empty(), &trusted),
            ip("10.0.0.2")
        );
    }
}

//! Rate limits: [`RateLimits`] (a field of [`Config`](crate::Config)), and which address a
//! request comes from for the per-address limit of `/connect`.

use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;

use crate::config::ConfigError;
use crate::store::RateLimit;

/// Token buckets kept in the store, so they hold however many instances share it (Redis):
/// one per session for what a session sends (`POST B/message`, `B/ack`, `B/disconnect`,
/// and each stream or long-poll it opens), and one per client address for `POST
/// B/connect`. A request past its bucket answers 429 `rate_limited` with `Retry-After`
/// (whole seconds); the clients wait that long and retry.
///
/// The client address is the TCP peer ([`serve`](crate::serve) and `axum::serve` with
/// `into_make_service_with_connect_info` know it; on AWS Lambda it is the event's source
/// IP). Behind proxies that append to `X-Forwarded-For` set [`trusted_proxy_hops`]
/// (`Self::trusted_proxy_hops`) to how many of them are yours: the address is then the
/// right-most entry no trusted proxy wrote. Without it the header is ignored (anyone can
/// write one). Vercel and Netlify set `X-Forwarded-For` to the client's address: use 1
/// there. A Lambda Function URL also sets it, but the source IP is already known: keep 0.
/// A request whose address is unknown is not limited per address.
///
/// ```
/// use socket_serve::{Config, RateLimits};
/// use socket_serve::store::RateLimit;
///
/// let config = Config {
///     rate_limits: RateLimits {
///         per_session: Some(RateLimit { per_second: 20, burst: 100 }),
///         trusted_proxy_hops: 1, // behind one load balancer
///         ..RateLimits::default()
///     },
///     ..Config::default()
/// };
/// assert_eq!(config.rate_limits.connect_per_address, RateLimits::default().connect_per_address);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    /// Requests of one session. `None`: unlimited. Default 100 a second, 500 at once.
    pub per_session: Option<RateLimit>,
    /// `POST B/connect`s from one client address (IPv6: one /64). `None`: unlimited.
    /// Default 20 a second, 200 at once.
    pub connect_per_address: Option<RateLimit>,
    /// How many proxies in front of the server append to `X-Forwarded-For` and are
    /// trusted. Default 0: the header is ignored.
    pub trusted_proxy_hops: usize,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            per_session: Some(RateLimit {
                per_second: 100,
                burst: 500,
            }),
            connect_per_address: Some(RateLimit {
                per_second: 20,
                burst: 200,
            }),
            trusted_proxy_hops: 0,
        }
    }
}

impl RateLimits {
    /// The defaults, overridden by `SOCKET_SERVE_SESSION_RATE` / `_SESSION_BURST`,
    /// `SOCKET_SERVE_CONNECT_RATE` / `_CONNECT_BURST` (per second, and at once; a rate of 0
    /// turns that limit off) and `SOCKET_SERVE_TRUSTED_PROXY_HOPS`.
    pub(crate) fn from_lookup(
        get: &impl Fn(&str) -> Option<String>,
    ) -> Result<RateLimits, ConfigError> {
        let number = |name: &'static str| -> Result<Option<u32>, ConfigError> {
            get(name)
                .map(|value| {
                    value.trim().parse::<u32>().map_err(|_| {
                        ConfigError::new(name, value.clone(), "expected a whole number")
                    })
                })
                .transpose()
        };
        let bucket = |current: Option<RateLimit>, rate: &'static str, burst: &'static str| {
            let (per_second, burst) = (number(rate)?, number(burst)?);
            let Some(default) = current else {
                return Ok(None);
            };
            Ok::<_, ConfigError>(match per_second.unwrap_or(default.per_second) {
                0 => None,
                per_second => Some(RateLimit {
                    per_second,
                    burst: burst.unwrap_or(default.burst).max(1),
                }),
            })
        };
        let defaults = RateLimits::default();
        Ok(RateLimits {
            per_session: bucket(
                defaults.per_session,
                "SOCKET_SERVE_SESSION_RATE",
                "SOCKET_SERVE_SESSION_BURST",
            )?,
            connect_per_address: bucket(
                defaults.connect_per_address,
                "SOCKET_SERVE_CONNECT_RATE",
                "SOCKET_SERVE_CONNECT_BURST",
            )?,
            trusted_proxy_hops: number("SOCKET_SERVE_TRUSTED_PROXY_HOPS")?.unwrap_or(0) as usize,
        })
    }

    /// The bucket of a client address: IPv4 as is, IPv6 by its /64 (one host's share).
    pub(crate) fn address_bucket(
        &self,
        headers: &HeaderMap,
        peer: Option<SocketAddr>,
    ) -> Option<String> {
        let address = client_address(headers, peer, self.trusted_proxy_hops)?;
        Some(match address {
            IpAddr::V4(v4) => format!("ip:{v4}"),
            IpAddr::V6(v6) => {
                let s = v6.segments();
                format!("ip:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        })
    }
}

/// The client's address: with `hops` trusted proxies, the entry of `X-Forwarded-For`
/// (all its headers, in order) that the outermost trusted proxy wrote, i.e. the
/// `hops`-th from the right; else the TCP peer. A header with fewer entries than trusted
/// hops, or an entry that is not an address, gives the left-most usable entry no
/// untrusted party could have placed, so a spoofed value never wins.
fn client_address(headers: &HeaderMap, peer: Option<SocketAddr>, hops: usize) -> Option<IpAddr> {
    let peer = peer.map(|p| p.ip());
    if hops == 0 {
        return peer;
    }
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    // Right to left: every entry up to the `hops`-th was written by a trusted proxy.
    let trusted = entries.iter().rev().take(hops);
    let mut address = peer;
    for entry in trusted {
        match parse_entry(entry) {
            Some(ip) => address = Some(ip),
            None => break,
        }
    }
    address
}

/// One `X-Forwarded-For` entry: an address, maybe with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append("x-forwarded-for", v.parse().unwrap());
        }
        headers
    }

    #[test]
    fn without_trusted_hops_the_header_is_ignored() {
        let peer: SocketAddr = "10.0.0.1:4000".parse().unwrap();
        let headers = forwarded(&["6.6.6.6"]);
        let ip = client_address(&headers, Some(peer), 0);
        assert_eq!(ip, Some("10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn trusted_hops_take_the_right_most_untrusted_entry() {
        let peer: SocketAddr = "10.0.0.1:4000".parse().unwrap();
        // The client spoofed 6.6.6.6; the one proxy appended the address it saw.
        let headers = forwarded(&["6.6.6.6, 1.2.3.4"]);
        assert_eq!(
            client_address(&headers, Some(peer), 1),
            Some("1.2.3.4".parse().unwrap())
        );
        let headers = forwarded(&["6.6.6.6, 1.2.3.4", "10.0.0.9"]);
        assert_eq!(
            client_address(&headers, Some(peer), 2),
            Some("1.2.3.4".parse().unwrap())
        );
        // Fewer entries than hops: the left-most one a trusted proxy wrote.
        assert_eq!(
            client_address(&forwarded(&["1.2.3.4"]), Some(peer), 3),
            Some("1.2.3.4".parse().unwrap())
        );
        // None at all: the peer.
        assert_eq!(
            client_address(&HeaderMap::new(), Some(peer), 1),
            Some("10.0.0.1".parse().unwrap())
        );
    }

    #[test]
    fn ipv6_clients_share_a_bucket_per_64() {
        let limits = RateLimits::default();
        let a: SocketAddr = "[2001:db8:1:2:aaaa::1]:1".parse().unwrap();
        let b: SocketAddr = "[2001:db8:1:2:bbbb::2]:1".parse().unwrap();
        let h = HeaderMap::new();
        assert_eq!(
            limits.address_bucket(&h, Some(a)),
            limits.address_bucket(&h, Some(b))
        );
    }

    #[test]
    fn rates_are_read_and_zero_turns_a_limit_off() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let limits = RateLimits::from_lookup(&env(&[
            ("SOCKET_SERVE_SESSION_RATE", "5"),
            ("SOCKET_SERVE_SESSION_BURST", "7"),
            ("SOCKET_SERVE_CONNECT_RATE", "0"),
            ("SOCKET_SERVE_TRUSTED_PROXY_HOPS", "1"),
        ]))
        .unwrap();
        assert_eq!(
            limits.per_session,
            Some(RateLimit {
                per_second: 5,
                burst: 7
            })
        );
        assert_eq!(limits.connect_per_address, None);
        assert_eq!(limits.trusted_proxy_hops, 1);
        assert!(RateLimits::from_lookup(&env(&[("SOCKET_SERVE_CONNECT_RATE", "fast")])).is_err());
    }
}

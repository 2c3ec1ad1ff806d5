//! Which port the runtime listens on, and knowing when it does.
//!
//! `vercel_runtime::run` binds `127.0.0.1:$VERCEL_DEV_PORT` (3000 when unset or not a
//! number) and tells nobody the port when it is 0. The examples' contract (tests,
//! benchmarks, the JS suite) is `PORT` (0 for a free one) and a stdout line printed once
//! the server listens. [`choose`] turns one into the other before the runtime starts;
//! [`wait_until_accepting`] holds the line back until a connection is really accepted.

use std::net::{Ipv4Addr, TcpListener};
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::Error;

/// The port when neither `VERCEL_DEV_PORT` nor `PORT` is set (the runtime's own default).
pub const DEFAULT_PORT: u16 = 3000;

/// The port to serve on: `VERCEL_DEV_PORT` (as `vercel dev` sets it), else `PORT`, else
/// 3000. `0` picks a free loopback port (bound, read, released). `get` reads the
/// environment (`|name| std::env::var(name).ok()`).
///
/// ```
/// let env = |name: &str| (name == "PORT").then(|| "8123".to_string());
/// assert_eq!(entry_points::vercel::port::choose(env).unwrap(), 8123);
/// assert_eq!(entry_points::vercel::port::choose(|_| None).unwrap(), 3000);
/// let bad = |name: &str| (name == "PORT").then(|| "http".to_string());
/// assert!(entry_points::vercel::port::choose(bad).unwrap_err().to_string().contains("PORT"));
/// ```
pub fn choose(get: impl Fn(&str) -> Option<String>) -> Result<u16, Error> {
    let set = |name: &'static str| {
        get(name)
            .filter(|v| !v.trim().is_empty())
            .map(|v| (name, v))
    };
    let Some((name, value)) = set("VERCEL_DEV_PORT").or_else(|| set("PORT")) else {
        return Ok(DEFAULT_PORT);
    };
    let port: u16 = value
        .trim()
        .parse()
        .map_err(|_| format!("{name}={value:?} is not a port number"))?;
    if port != 0 {
        return Ok(port);
    }
    // The runtime would bind port 0 and never say which port it got: pick one for it.
    // Another process may take it before the runtime binds it; then the bind fails loudly.
    let free = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map_err(|e| format!("no free port on 127.0.0.1: {e}"))?;
    Ok(free.port())
}

/// Waits until `127.0.0.1:port` accepts a connection, trying every 10 ms for at most
/// `timeout`. The probe connection is closed at once (the server sees an empty
/// connection, nothing else).
pub async fn wait_until_accepting(port: u16, timeout: Duration) -> Result<(), Error> {
    let deadline = Instant::now() + timeout;
    loop {
        match TcpStream::connect((Ipv4Addr::LOCALHOST, port)).await {
            Ok(_) => return Ok(()),
            Err(e) if Instant::now() >= deadline => {
                return Err(format!(
                    "127.0.0.1:{port} accepted no connection within {timeout:?} ({e})"
                )
                .into())
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn vercel_dev_port_wins_over_port() {
        let port = choose(env(&[("VERCEL_DEV_PORT", "4100"), ("PORT", "4200")]));
        assert_eq!(port.unwrap(), 4100);
    }

    #[test]
    fn port_zero_picks_a_free_port() {
        let port = choose(env(&[("PORT", "0")])).unwrap();
        assert_ne!(port, 0);
        assert!(TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok());
    }

    #[test]
    fn empty_values_count_as_unset_and_bad_ones_are_named() {
        assert_eq!(choose(env(&[("PORT", " ")])).unwrap(), DEFAULT_PORT);
        let err = choose(env(&[("VERCEL_DEV_PORT", "70000")])).unwrap_err();
        assert!(err.to_string().contains("VERCEL_DEV_PORT"), "{err}");
    }

    #[tokio::test]
    async fn a_listening_port_is_seen_and_a_closed_one_times_out() {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        wait_until_accepting(port, Duration::from_secs(5))
            .await
            .unwrap();
        drop(listener);
        let err = wait_until_accepting(port, Duration::from_millis(50))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("accepted no connection"), "{err}");
    }
}

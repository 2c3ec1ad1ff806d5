//! Which web origins may call the endpoints: [`CorsConfig`] (a field of
//! [`Config`](crate::Config)). The default allows the server's own origin only.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Cross-origin access to every endpoint (connect, message, disconnect, the stream, the
/// long-poll, `client.js`, `openapi.json`).
///
/// A request whose `Origin` header names an origin that is neither the server's own (the
/// `Host` it was sent to) nor allowed here answers 403 `origin_forbidden` before anything
/// runs, so a page on another site cannot create a session, not even with a "simple"
/// `text/plain` POST that browsers send without a preflight. Requests without `Origin`
/// (curl, Node, the Rust client, same-origin `GET`s) are not affected. Allowed origins get
/// the CORS headers, from tower-http's `CorsLayer`, on every answer including the stream,
/// and their preflights are answered.
///
/// ```
/// use std::time::Duration;
/// use socket_serve::{AllowedOrigins, Config, CorsConfig};
///
/// let config = Config {
///     cors: CorsConfig {
///         allowed_origins: AllowedOrigins::list(["https://app.example.com"]).unwrap(),
///         allow_credentials: true, // cookies for the app's `authorize`
///         ..CorsConfig::default()
///     },
///     ..Config::default()
/// };
/// assert!(config.cors.allowed_origins.allows("https://app.example.com".parse().unwrap()));
/// assert_eq!(CorsConfig::default().max_age, Duration::from_secs(600));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsConfig {
    /// Which other origins may call. Default [`AllowedOrigins::SameOrigin`].
    pub allowed_origins: AllowedOrigins,
    /// Whether allowed origins may send cookies and HTTP auth
    /// (`Access-Control-Allow-Credentials: true`). Ignored with [`AllowedOrigins::Any`]:
    /// browsers never send credentials to `*`. Default `false`.
    pub allow_credentials: bool,
    /// How long browsers may cache a preflight answer. Default 600 s.
    pub max_age: Duration,
}

impl Default for CorsConfig {
    fn default() -> Self {
        CorsConfig {
            allowed_origins: AllowedOrigins::SameOrigin,
            allow_credentials: false,
            max_age: Duration::from_secs(600),
        }
    }
}

/// The origins besides the server's own that may call it.
///
/// ```
/// use socket_serve::AllowedOrigins;
///
/// let list = AllowedOrigins::list(["https://a.example", "http://localhost:5173"]).unwrap();
/// assert!(list.allows("http://localhost:5173".parse().unwrap()));
/// assert!(!list.allows("https://evil.example".parse().unwrap()));
/// assert!(AllowedOrigins::list(["not an origin"]).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AllowedOrigins {
    /// None: only requests from the server's own origin (or with no `Origin`).
    #[default]
    SameOrigin,
    /// These, and the server's own.
    List(Vec<Origin>),
    /// Every origin (`Access-Control-Allow-Origin: *`, no credentials). For a public API
    /// whose sessions carry no cookies.
    Any,
}

impl AllowedOrigins {
    /// A list from origin strings such as `https://app.example.com`.
    pub fn list<I, S>(origins: I) -> Result<AllowedOrigins, InvalidOrigin>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let parsed = origins
            .into_iter()
            .map(|o| o.as_ref().parse())
            .collect::<Result<Vec<Origin>, _>>()?;
        Ok(AllowedOrigins::List(parsed))
    }

    /// Whether `origin` is allowed (the server's own origin is always allowed besides).
    pub fn allows(&self, origin: Origin) -> bool {
        match self {
            AllowedOrigins::SameOrigin => false,
            AllowedOrigins::List(list) => list.contains(&origin),
            AllowedOrigins::Any => true,
        }
    }
}

/// A web origin: scheme, host and port, as browsers send it in `Origin`
/// (`https://app.example.com`, `http://localhost:3000`). Parsing lowercases, and drops a
/// default port (80 for `http`, 443 for `https`), so equal origins compare equal.
///
/// ```
/// use socket_serve::Origin;
///
/// let a: Origin = "HTTPS://App.Example.com:443".parse().unwrap();
/// assert_eq!(a.to_string(), "https://app.example.com");
/// assert!("https://app.example.com/path".parse::<Origin>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    scheme: String,
    host: String,
    /// `None` for the scheme's default port.
    port: Option<u16>,
}

/// A string that is not an origin (`scheme://host[:port]`, nothing after).
///
/// ```
/// let err = "app.example.com".parse::<socket_serve::Origin>().unwrap_err();
/// assert!(err.to_string().contains("app.example.com"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an origin (expected scheme://host[:port], such as https://app.example.com)")]
pub struct InvalidOrigin(pub String);

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

impl Origin {
    /// The host (lowercase, IPv6 literals in brackets).
    ///
    /// ```
    /// let origin: socket_serve::Origin = "http://LOCALHOST:5173".parse().unwrap();
    /// assert_eq!((origin.host(), origin.port()), ("localhost", Some(5173)));
    /// ```
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, or the scheme's default one.
    pub fn port(&self) -> Option<u16> {
        self.port.or_else(|| default_port(&self.scheme))
    }

    /// Whether a request sent to `authority` (its `Host` header, `host[:port]`) came from
    /// this origin's own site: same host, same port (an absent one is the default port of
    /// the origin's scheme). The scheme is not compared: behind a TLS-terminating proxy
    /// the server cannot see it.
    ///
    /// ```
    /// let origin: socket_serve::Origin = "https://app.example.com".parse().unwrap();
    /// assert!(origin.is_same_site_as("app.example.com"));
    /// assert!(origin.is_same_site_as("app.example.com:443"));
    /// assert!(!origin.is_same_site_as("app.example.com:8443"));
    /// ```
    pub fn is_same_site_as(&self, authority: &str) -> bool {
        let Ok(authority) = authority.trim().parse::<http::uri::Authority>() else {
            return false;
        };
        let port = authority.port_u16().or_else(|| default_port(&self.scheme));
        authority.host().eq_ignore_ascii_case(&self.host) && port == self.port()
    }
}

impl FromStr for Origin {
    type Err = InvalidOrigin;

    fn from_str(text: &str) -> Result<Origin, InvalidOrigin> {
        let invalid = || InvalidOrigin(text.to_owned());
        let text_ = text.trim();
        let (scheme, rest) = text_.split_once("://").ok_or_else(invalid)?;
        let scheme = scheme.to_ascii_lowercase();
        let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
        if !scheme_ok || rest.is_empty() || rest.contains(['/', '?', '#', '@']) {
            return Err(invalid());
        }
        let authority: http::uri::Authority = rest.parse().map_err(|_| invalid())?;
        // `Authority` accepts ports past 65535 (and `host:`); `port_u16` then has none.
        let has_port = authority.as_str().len() > authority.host().len();
        let bad_port = has_port && authority.port_u16().is_none();
        if authority.host().is_empty() || bad_port {
            return Err(invalid());
        }
        let port = authority
            .port_u16()
            .filter(|p| Some(*p) != default_port(&scheme));
        Ok(Origin {
            host: authority.host().to_ascii_lowercase(),
            scheme,
            port,
        })
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(text: &str) -> Origin {
        text.parse().unwrap()
    }

    #[test]
    fn origins_normalize_case_and_default_ports() {
        assert_eq!(origin("HTTP://LocalHost:80"), origin("http://localhost"));
        assert_eq!(origin("http://127.0.0.1:3000").port(), Some(3000));
        assert_eq!(
            origin("https://[::1]:8443").to_string(),
            "https://[::1]:8443"
        );
        for bad in [
            "",
            "null",
            "localhost:3000",
            "http://",
            "http://a/b",
            "http://a?x",
            "http://u@a",
            "1http://a",
            "http://a:99999",
        ] {
            assert!(bad.parse::<Origin>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn same_site_compares_host_and_effective_port() {
        assert!(origin("http://127.0.0.1:3000").is_same_site_as("127.0.0.1:3000"));
        assert!(origin("https://app.example").is_same_site_as("APP.example"));
        assert!(origin("https://app.example").is_same_site_as("app.example:443"));
        assert!(!origin("https://app.example").is_same_site_as("app.example:8443"));
        assert!(!origin("http://127.0.0.1:3001").is_same_site_as("127.0.0.1:3000"));
        assert!(!origin("http://evil.example").is_same_site_as("app.example"));
        assert!(!origin("http://a").is_same_site_as("not a host/"));
    }
}

//! Where the server runs, and the limits that come with it: how long one response may
//! last, and whether the host streams responses at all.
//!
//! A stream or a long-poll that outlives its platform's limit is cut by the platform,
//! mid-frame and without `retry:`. So every response that waits ends on its own a safety
//! margin before the limit (streams with `retry:`; the client resumes from its cursor,
//! nothing lost), and a host that buffers whole responses gets no SSE stream at all (the
//! clients fall back to long-polling) instead of one that never arrives.

use std::time::{Duration, Instant};

/// The hosting platform. [`Platform::detect`] reads it from the environment each platform
/// sets; `SOCKET_SERVE_PLATFORM` (`server`, `lambda`, `vercel`, `netlify`) forces one.
///
/// ```
/// use std::time::Duration;
/// use socket_serve::Platform;
///
/// assert_eq!(Platform::Vercel.duration_limit(), Some(Duration::from_secs(300)));
/// assert_eq!(Platform::Server.duration_limit(), None);
/// assert!(!Platform::Netlify.streams_responses());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Platform {
    /// A long-running process (axum on a VM or a container): no response limit.
    #[default]
    Server,
    /// AWS Lambda. Responses stream only through [`lambda::run`](crate::lambda) (a Function
    /// URL with invoke mode `RESPONSE_STREAM`); an invocation lasts at most 900 s, and each
    /// request's own deadline is read from its invocation.
    Lambda,
    /// Vercel Functions: `text/event-stream` responses stream; 300 s by default
    /// (`maxDuration`; set `SOCKET_SERVE_PLATFORM_MAX_DURATION_MS` when you change it).
    Vercel,
    /// Netlify Functions: responses of compiled functions are buffered, and a synchronous
    /// function stops at 60 s: long-polling only.
    Netlify,
}

impl Platform {
    /// The platform this process runs on, from the variables each platform sets
    /// (`VERCEL`, `NETLIFY` or `SITE_ID` with `AWS_LAMBDA_FUNCTION_NAME`,
    /// `AWS_LAMBDA_FUNCTION_NAME`), or `SOCKET_SERVE_PLATFORM` when set.
    ///
    /// ```
    /// let platform = socket_serve::Platform::detect();
    /// # let _ = platform;
    /// ```
    pub fn detect() -> Platform {
        Self::from_lookup(&|name| std::env::var(name).ok()).unwrap_or_default()
    }

    /// `Err` names a `SOCKET_SERVE_PLATFORM` value that is not a platform.
    pub(crate) fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<Platform, String> {
        let set = |name: &str| get(name).is_some_and(|v| !v.trim().is_empty());
        if let Some(forced) = get("SOCKET_SERVE_PLATFORM").filter(|v| !v.trim().is_empty()) {
            return match forced.trim().to_ascii_lowercase().as_str() {
                "server" => Ok(Platform::Server),
                "lambda" => Ok(Platform::Lambda),
                "vercel" => Ok(Platform::Vercel),
                "netlify" => Ok(Platform::Netlify),
                _ => Err(forced),
            };
        }
        Ok(if set("VERCEL") {
            Platform::Vercel
        } else if set("AWS_LAMBDA_FUNCTION_NAME") && (set("NETLIFY") || set("SITE_ID")) {
            Platform::Netlify
        } else if set("AWS_LAMBDA_FUNCTION_NAME") {
            Platform::Lambda
        } else {
            Platform::Server
        })
    }

    /// How long one response may last there at most, by default.
    pub fn duration_limit(self) -> Option<Duration> {
        match self {
            Platform::Server => None,
            Platform::Lambda => Some(Duration::from_secs(900)),
            Platform::Vercel => Some(Duration::from_secs(300)),
            Platform::Netlify => Some(Duration::from_secs(60)),
        }
    }

    /// Whether the platform streams a response as it is written, without being told so
    /// per request. Lambda streams only through [`lambda::run`](crate::lambda), which marks
    /// each request with [`ResponseStreaming`]; Netlify never (its front buffers even a
    /// streamed function, so forcing `SOCKET_SERVE_PLATFORM=netlify` also refuses SSE for
    /// a Lambda behind a Netlify proxy).
    pub fn streams_responses(self) -> bool {
        matches!(self, Platform::Server | Platform::Vercel)
    }
}

/// How long before a limit a response ends by itself: a tenth of it, between 1 and 10 s
/// (time for the last frames and the `retry:` to reach the client before the cut).
///
/// ```
/// use std::time::Duration;
/// use socket_serve::platform::safety_margin;
///
/// assert_eq!(safety_margin(Duration::from_secs(900)), Duration::from_secs(10));
/// assert_eq!(safety_margin(Duration::from_secs(20)), Duration::from_secs(2));
/// assert_eq!(safety_margin(Duration::from_secs(5)), Duration::from_secs(1));
/// ```
pub fn safety_margin(limit: Duration) -> Duration {
    (limit / 10).clamp(Duration::from_secs(1), Duration::from_secs(10))
}

/// A limit with its safety margin taken off (at least 1 s is left).
pub(crate) fn within(limit: Duration) -> Duration {
    limit
        .saturating_sub(safety_margin(limit))
        .max(Duration::from_secs(1))
}

/// Request extension: the instant by which this request's whole response must be done,
/// as the runtime that delivered it knows it (a Lambda invocation's deadline). Streams and
/// long-polls end a [`safety_margin`] before it. Inserted by [`lambda::run`](crate::lambda);
/// a runtime of your own may insert it too.
///
/// ```
/// use std::time::{Duration, Instant};
/// use socket_serve::platform::Deadline;
///
/// let mut request = http::Request::get("/socket/sse?sessionId=s").body(()).unwrap();
/// request.extensions_mut().insert(Deadline(Instant::now() + Duration::from_secs(30)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline(pub Instant);

impl Deadline {
    /// When a response that waits must end: the margin before the deadline (never
    /// before now).
    pub(crate) fn end_by(self, now: Instant) -> Instant {
        let left = self.0.saturating_duration_since(now);
        now + left.saturating_sub(safety_margin(left))
    }
}

/// Request extension: the runtime delivering this request streams its response (set on
/// platforms that buffer unless told otherwise, such as Lambda through
/// [`lambda::run`](crate::lambda)). Without it there, a stream request answers
/// 501 `sse_unsupported` and clients fall back to long-polling.
///
/// ```
/// let mut request = http::Request::get("/socket/sse?sessionId=s").body(()).unwrap();
/// request.extensions_mut().insert(socket_serve::platform::ResponseStreaming);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseStreaming;

/// Request extension: the process may have been frozen right before this request (a
/// serverless invocation: Lambda freezes an instance between invocations, and its
/// connections may die meanwhile). The store checks its connections before the request
/// uses them ([`Store::refresh`](crate::store::Store::refresh)). Inserted by
/// [`lambda::run`](crate::lambda).
///
/// ```
/// let mut request = http::Request::post("/socket/message").body(()).unwrap();
/// request.extensions_mut().insert(socket_serve::platform::AfterFreeze);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AfterFreeze;

#[cfg(test)]
mod tests {
    use super::*;

    fn detect(pairs: &[(&str, &str)]) -> Result<Platform, String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Platform::from_lookup(&move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn each_platform_is_told_by_its_own_variables() {
        assert_eq!(detect(&[]), Ok(Platform::Server));
        assert_eq!(detect(&[("VERCEL", "1")]), Ok(Platform::Vercel));
        assert_eq!(
            detect(&[("AWS_LAMBDA_FUNCTION_NAME", "f")]),
            Ok(Platform::Lambda)
        );
        assert_eq!(
            detect(&[("AWS_LAMBDA_FUNCTION_NAME", "f"), ("SITE_ID", "x")]),
            Ok(Platform::Netlify)
        );
        assert_eq!(
            detect(&[("VERCEL", "1"), ("SOCKET_SERVE_PLATFORM", "Server")]),
            Ok(Platform::Server)
        );
        assert_eq!(
            detect(&[("SOCKET_SERVE_PLATFORM", "heroku")]),
            Err("heroku".into())
        );
    }

    #[test]
    fn a_deadline_ends_responses_a_margin_before_it() {
        let now = Instant::now();
        let end = Deadline(now + Duration::from_secs(20)).end_by(now);
        assert_eq!(end, now + Duration::from_secs(18));
        // Past deadlines end at once rather than in the past.
        let end = Deadline(now).end_by(now + Duration::from_secs(1));
        assert_eq!(end, now + Duration::from_secs(1));
        assert_eq!(within(Duration::from_secs(300)), Duration::from_secs(290));
    }
}

//! Configuration: which store, and the limits and timings of the protocol.

use std::time::Duration;

use crate::cors::{AllowedOrigins, CorsConfig};
use crate::platform::{self, Platform};
use crate::rate_limits::RateLimits;

/// Which store holds the state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// The embedded in-memory store: one process, nothing to install.
    Memory,
    /// Redis at this URL (`redis://`, `rediss://`, `redis://:password@host:port/db`).
    Redis(String),
}

/// Everything an app can tune. `Config::default()` is the in-memory store with the
/// documented defaults; [`Config::from_env`] reads `REDIS_URL` and `SOCKET_SERVE_*`.
///
/// ```
/// use std::time::Duration;
/// use socket_serve::{Config, StoreConfig};
///
/// let config = Config {
///     max_stream_duration: Some(Duration::from_secs(250)), // below Vercel's 300 s
///     ..Config::default()
/// };
/// assert_eq!(config.store, StoreConfig::Memory);
/// assert_eq!(config.heartbeat_interval, Duration::from_secs(15));
/// ```
#[derive(Debug, Clone)]
pub struct Config {
    /// The store. Default: [`StoreConfig::Memory`].
    pub store: StoreConfig,
    /// Prefix of every Redis key. Default `ss`.
    pub key_prefix: String,
    /// A session not seen (no request, no stream heartbeat) for this long is expired and
    /// gets `on_disconnect`. Default 120 s.
    pub session_ttl: Duration,
    /// How long messages are kept for resuming clients. Default 120 s.
    pub recovery_window: Duration,
    /// Interval of stream heartbeats (a keepalive comment, and an `id:` frame that keeps an
    /// idle client's cursor inside the recovery window: keep it well below
    /// `recovery_window`). Default 15 s.
    pub heartbeat_interval: Duration,
    /// End each stream after this long, with a `retry:` hint (set it below your platform's
    /// limit). Default: no limit.
    pub max_stream_duration: Option<Duration>,
    /// The `retry:` hint sent when the server ends a stream on purpose. Default 1 s.
    pub retry_hint: Duration,
    /// How many entries of each room or broadcast log one replay step reads (a resume
    /// replays in steps of this size, so one read never holds the store for long).
    /// Default 1000.
    pub replay_batch: usize,
    /// How long a long-poll waits for a message. Default 25 s.
    pub poll_timeout: Duration,
    /// Largest request body. Default 1 MiB.
    pub max_body_size: usize,
    /// How long a store call may take before the request answers 503. Default 2 s.
    pub store_timeout: Duration,
    /// How long a message handler may hold its message id before a retry may run it again.
    /// Default 30 s.
    pub handler_lease: Duration,
    /// How often one instance looks for expired sessions while serving requests. Default 1 s.
    pub sweep_interval: Duration,
    /// How many expired sessions one step of a sweep takes from the store; a sweep goes on
    /// step by step until none is left (for up to `sweep_interval` in the background, a
    /// few ms inside a request). Default 64.
    pub sweep_batch: usize,
    /// On shutdown, how long requests in flight may take to finish. Default 10 s.
    pub shutdown_grace: Duration,
    /// The hosting platform: whether SSE can stream there at all. Default
    /// [`Platform::Server`]; [`Config::from_env`] detects it, and
    /// [`Config::for_platform`] also applies its time limits.
    pub platform: Platform,
    /// Refuse client emits of events that have no handler (and no
    /// [`on_any`](crate::SocketServe::on_any)) with 404 `unknown_event`, instead of
    /// answering 200 and logging a warning. Default `false` (a 0.6.0 client may emit
    /// events the server ignores).
    pub strict_events: bool,
    /// How long [`Socket::emit_with_ack`](crate::Socket::emit_with_ack) waits for the
    /// client's reply. Default 10 s.
    pub ack_timeout: Duration,
    /// Send `presence:join`, `presence:leave` and `presence:update` events to a room's
    /// members when a session joins it, leaves it (also by ending or expiring) or changes
    /// its presence metadata. Default `false`: presence lists are kept either way.
    pub presence_events: bool,
    /// How many rooms one session may be in; a join past it is refused with 403
    /// `too_many_rooms`. Default 100.
    pub max_rooms_per_session: usize,
    /// How many SSE streams one session may have open, on all instances together; opening
    /// one more ends the oldest with a `__replaced` frame (its client stops, it does not
    /// reconnect). Long-polls do not count. Default 4.
    pub max_streams_per_session: usize,
    /// Largest `data` of one client message or ack reply, as JSON text; larger ones are
    /// refused with 413 `message_too_large` (the body limit, `max_body_size`, bounds the
    /// whole request). Default 64 KiB.
    pub max_message_size: usize,
    /// Limits on what one client may make the server hold (issue 12, part A; see
    /// `docs/SECURITY.md`). How many bytes one stream may have waiting (announced and not
    /// yet sent, plus frames its HTTP body has not handed to the connection): past it the
    /// stream ends with `retry:` and its client resumes from its cursor. Default 1 MiB.
    pub stream_buffer_bytes: usize,
    /// How many keys of state (`Socket::set_state`) one session may hold; a write of a new
    /// key past it is refused with 413 `state_too_large`. Default 64.
    pub max_state_keys: usize,
    /// How many bytes of state (keys and values) one session may hold; a write past it is
    /// refused with 413 `state_too_large`. Default 64 KiB.
    pub max_state_bytes: usize,
    /// The largest handler answer kept for retries of its `messageId`; a larger one is
    /// answered once and not kept, so a retry gets 410 `answer_not_kept` instead of running
    /// the handler twice. Default 64 KiB.
    pub max_kept_answer: usize,
    /// Which other web origins may call the endpoints. Default: the server's own only (a
    /// request with any other `Origin` answers 403 `origin_forbidden` and creates nothing).
    pub cors: CorsConfig,
    /// Requests per session and connects per client address (429 `rate_limited` past
    /// them). Default: generous buckets; see [`RateLimits`].
    pub rate_limits: RateLimits,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            store: StoreConfig::Memory,
            key_prefix: "ss".into(),
            session_ttl: Duration::from_secs(120),
            recovery_window: Duration::from_secs(120),
            heartbeat_interval: Duration::from_secs(15),
            max_stream_duration: None,
            retry_hint: Duration::from_secs(1),
            replay_batch: 1000,
            poll_timeout: Duration::from_secs(25),
            max_body_size: 1024 * 1024,
            store_timeout: Duration::from_secs(2),
            handler_lease: Duration::from_secs(30),
            sweep_interval: Duration::from_secs(1),
            sweep_batch: 64,
            shutdown_grace: Duration::from_secs(10),
            platform: Platform::Server,
            strict_events: false,
            ack_timeout: Duration::from_secs(10),
            presence_events: false,
            max_rooms_per_session: 100,
            max_streams_per_session: 4,
            max_message_size: 64 * 1024,
            stream_buffer_bytes: 1024 * 1024,
            max_state_keys: 64,
            max_state_bytes: 64 * 1024,
            max_kept_answer: 64 * 1024,
            cors: CorsConfig::default(),
            rate_limits: RateLimits::default(),
        }
    }
}

/// An environment variable had a value that could not be used.
#[derive(Debug, thiserror::Error)]
#[error("environment variable {name}={value:?}: {problem}")]
pub struct ConfigError {
    name: &'static str,
    value: String,
    problem: &'static str,
}

impl ConfigError {
    pub(crate) fn new(name: &'static str, value: String, problem: &'static str) -> ConfigError {
        ConfigError {
            name,
            value,
            problem,
        }
    }
}

/// `1`/`true` or `0`/`false`/empty, else the error for `name`.
pub(crate) fn parse_flag(name: &'static str, value: String) -> Result<bool, ConfigError> {
    match value.trim() {
        "1" | "true" => Ok(true),
        "0" | "false" | "" => Ok(false),
        _ => Err(ConfigError::new(
            name,
            value,
            "expected 1, true, 0 or false",
        )),
    }
}

impl Config {
    /// The defaults, overridden by the environment:
    ///
    /// | variable | field |
    /// |---|---|
    /// | `REDIS_URL` | `store` (unset or empty: memory) |
    /// | `SOCKET_SERVE_KEY_PREFIX` | `key_prefix` |
    /// | `SOCKET_SERVE_SESSION_TTL_MS` | `session_ttl` |
    /// | `SOCKET_SERVE_RECOVERY_WINDOW_MS` | `recovery_window` |
    /// | `SOCKET_SERVE_HEARTBEAT_MS` | `heartbeat_interval` |
    /// | `SOCKET_SERVE_MAX_STREAM_MS` | `max_stream_duration` (0: no limit) |
    /// | `SOCKET_SERVE_POLL_TIMEOUT_MS` | `poll_timeout` |
    /// | `SOCKET_SERVE_REPLAY_BATCH` | `replay_batch` |
    /// | `SOCKET_SERVE_MAX_BODY_BYTES` | `max_body_size` |
    /// | `SOCKET_SERVE_STORE_TIMEOUT_MS` | `store_timeout` |
    /// | `SOCKET_SERVE_SHUTDOWN_GRACE_MS` | `shutdown_grace` |
    /// | `SOCKET_SERVE_SWEEP_INTERVAL_MS` | `sweep_interval` |
    /// | `SOCKET_SERVE_STRICT_EVENTS` | `strict_events` (`1`/`true`) |
    /// | `SOCKET_SERVE_ACK_TIMEOUT_MS` | `ack_timeout` |
    /// | `SOCKET_SERVE_PRESENCE_EVENTS` | `presence_events` (`1`/`true`) |
    /// | `SOCKET_SERVE_MAX_ROOMS` | `max_rooms_per_session` |
    /// | `SOCKET_SERVE_MAX_STREAMS` | `max_streams_per_session` |
    /// | `SOCKET_SERVE_MAX_MESSAGE_BYTES` | `max_message_size` |
    /// | `SOCKET_SERVE_STREAM_BUFFER_BYTES` | `stream_buffer_bytes` |
    /// | `SOCKET_SERVE_MAX_STATE_KEYS` | `max_state_keys` |
    /// | `SOCKET_SERVE_MAX_STATE_BYTES` | `max_state_bytes` |
    /// | `SOCKET_SERVE_MAX_KEPT_ANSWER_BYTES` | `max_kept_answer` |
    /// | `SOCKET_SERVE_CORS_ORIGINS` | `cors.allowed_origins`: comma-separated origins (`https://app.example.com,http://localhost:5173`), `*` for any; unset or empty: same origin only |
    /// | `SOCKET_SERVE_CORS_CREDENTIALS` | `cors.allow_credentials` (`1`/`true`; not with `*`) |
    /// | `SOCKET_SERVE_SESSION_RATE`, `SOCKET_SERVE_SESSION_BURST` | `rate_limits.per_session` (per second, at once; rate 0: off) |
    /// | `SOCKET_SERVE_CONNECT_RATE`, `SOCKET_SERVE_CONNECT_BURST` | `rate_limits.connect_per_address` (rate 0: off) |
    /// | `SOCKET_SERVE_TRUSTED_PROXY_HOPS` | `rate_limits.trusted_proxy_hops` |
    /// | `SOCKET_SERVE_PLATFORM` | `platform` (`server`, `lambda`, `vercel`, `netlify`; unset: detected) |
    /// | `SOCKET_SERVE_PLATFORM_MAX_DURATION_MS` | the platform's response time limit, if not its default (Vercel's `maxDuration`, your Lambda timeout) |
    ///
    /// On a platform with a time limit, streams and long-polls end a safety margin before
    /// it (see [`Config::for_platform`]) unless `SOCKET_SERVE_MAX_STREAM_MS` /
    /// `SOCKET_SERVE_POLL_TIMEOUT_MS` say otherwise.
    ///
    /// ```
    /// let config = socket_serve::Config::from_env().expect("valid environment");
    /// # let _ = config;
    /// ```
    pub fn from_env() -> Result<Config, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The config with `platform`'s presets: streams end, and long-polls answer, a
    /// [safety margin](platform::safety_margin) before its response time limit (`limit`,
    /// or the platform's default limit when `None`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use socket_serve::{Config, Platform};
    ///
    /// let config = Config::default().for_platform(Platform::Vercel, None);
    /// assert_eq!(config.max_stream_duration, Some(Duration::from_secs(290)));
    /// let config = Config::default().for_platform(Platform::Lambda, Some(Duration::from_secs(20)));
    /// assert_eq!(config.max_stream_duration, Some(Duration::from_secs(18)));
    /// assert_eq!(config.poll_timeout, Duration::from_secs(18));
    /// ```
    pub fn for_platform(mut self, platform: Platform, limit: Option<Duration>) -> Config {
        self.platform = platform;
        if let Some(limit) = limit.or(platform.duration_limit()) {
            let end = platform::within(limit);
            self.max_stream_duration = Some(self.max_stream_duration.map_or(end, |d| d.min(end)));
            self.poll_timeout = self.poll_timeout.min(end);
        }
        self
    }

    fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let mut c = Config::default();
        if let Some(url) = get("REDIS_URL").filter(|u| !u.trim().is_empty()) {
            c.store = StoreConfig::Redis(url.trim().to_owned());
        }
        if let Some(prefix) = get("SOCKET_SERVE_KEY_PREFIX").filter(|p| !p.is_empty()) {
            c.key_prefix = prefix;
        }
        let ms = |name: &'static str| -> Result<Option<Duration>, ConfigError> {
            let Some(value) = get(name) else {
                return Ok(None);
            };
            value
                .trim()
                .parse::<u64>()
                .map(|v| Some(Duration::from_millis(v)))
                .map_err(|_| ConfigError {
                    name,
                    value,
                    problem: "expected a whole number of milliseconds",
                })
        };
        let positive = |name: &'static str, d: Option<Duration>| match d {
            Some(d) if d.is_zero() => Err(ConfigError {
                name,
                value: "0".into(),
                problem: "must be more than 0",
            }),
            other => Ok(other),
        };
        macro_rules! set {
            ($field:ident, $name:literal) => {
                if let Some(d) = positive($name, ms($name)?)? {
                    c.$field = d;
                }
            };
        }
        set!(session_ttl, "SOCKET_SERVE_SESSION_TTL_MS");
        set!(recovery_window, "SOCKET_SERVE_RECOVERY_WINDOW_MS");
        set!(heartbeat_interval, "SOCKET_SERVE_HEARTBEAT_MS");
        set!(store_timeout, "SOCKET_SERVE_STORE_TIMEOUT_MS");
        set!(shutdown_grace, "SOCKET_SERVE_SHUTDOWN_GRACE_MS");
        set!(ack_timeout, "SOCKET_SERVE_ACK_TIMEOUT_MS");
        set!(sweep_interval, "SOCKET_SERVE_SWEEP_INTERVAL_MS");
        let platform = Platform::from_lookup(&get).map_err(|value| ConfigError {
            name: "SOCKET_SERVE_PLATFORM",
            value,
            problem: "expected server, lambda, vercel or netlify",
        })?;
        let limit = positive(
            "SOCKET_SERVE_PLATFORM_MAX_DURATION_MS",
            ms("SOCKET_SERVE_PLATFORM_MAX_DURATION_MS")?,
        )?;
        c = c.for_platform(platform, limit);
        // Explicit settings win over the platform's presets.
        set!(poll_timeout, "SOCKET_SERVE_POLL_TIMEOUT_MS");
        if let Some(d) = ms("SOCKET_SERVE_MAX_STREAM_MS")? {
            c.max_stream_duration = (!d.is_zero()).then_some(d);
        }
        if let Some(value) = get("SOCKET_SERVE_MAX_MESSAGE_BYTES") {
            c.max_message_size = value.trim().parse().map_err(|_| ConfigError {
                name: "SOCKET_SERVE_MAX_MESSAGE_BYTES",
                value,
                problem: "expected a whole number of bytes",
            })?;
        }
        if let Some(value) = get("SOCKET_SERVE_STRICT_EVENTS") {
            c.strict_events = parse_flag("SOCKET_SERVE_STRICT_EVENTS", value)?;
        }
        if let Some(value) = get("SOCKET_SERVE_PRESENCE_EVENTS") {
            c.presence_events = parse_flag("SOCKET_SERVE_PRESENCE_EVENTS", value)?;
        }
        quotas_from_lookup(&mut c, &get)?;
        c.cors = cors_from_lookup(&get)?;
        c.rate_limits = RateLimits::from_lookup(&get)?;
        if let Some(value) = get("SOCKET_SERVE_MAX_BODY_BYTES") {
            c.max_body_size = value.trim().parse().map_err(|_| ConfigError {
                name: "SOCKET_SERVE_MAX_BODY_BYTES",
                value,
                problem: "expected a whole number of bytes",
            })?;
        }
        Ok(c)
    }
}

/// The settings that are whole numbers above 0: rooms and streams per session, the replay
/// step, and [`Config::stream_buffer_bytes`] with the quotas after it.
fn quotas_from_lookup(
    c: &mut Config,
    get: &impl Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    let quotas: [(&'static str, &mut usize); 7] = [
        ("SOCKET_SERVE_MAX_ROOMS", &mut c.max_rooms_per_session),
        ("SOCKET_SERVE_MAX_STREAMS", &mut c.max_streams_per_session),
        ("SOCKET_SERVE_REPLAY_BATCH", &mut c.replay_batch),
        (
            "SOCKET_SERVE_STREAM_BUFFER_BYTES",
            &mut c.stream_buffer_bytes,
        ),
        ("SOCKET_SERVE_MAX_STATE_KEYS", &mut c.max_state_keys),
        ("SOCKET_SERVE_MAX_STATE_BYTES", &mut c.max_state_bytes),
        ("SOCKET_SERVE_MAX_KEPT_ANSWER_BYTES", &mut c.max_kept_answer),
    ];
    for (name, field) in quotas {
        if let Some(value) = get(name) {
            *field = value
                .trim()
                .parse()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| ConfigError::new(name, value, "expected a whole number above 0"))?;
        }
    }
    Ok(())
}

fn cors_from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<CorsConfig, ConfigError> {
    const ORIGINS: &str = "SOCKET_SERVE_CORS_ORIGINS";
    const CREDENTIALS: &str = "SOCKET_SERVE_CORS_CREDENTIALS";
    let mut cors = CorsConfig::default();
    if let Some(value) = get(ORIGINS) {
        cors.allowed_origins = match value.trim() {
            "" => AllowedOrigins::SameOrigin,
            "*" => AllowedOrigins::Any,
            list => AllowedOrigins::list(list.split(',').filter(|o| !o.trim().is_empty()))
                .map_err(|_| {
                    ConfigError::new(
                        ORIGINS,
                        value.clone(),
                        "expected comma-separated origins such as https://app.example.com, or *",
                    )
                })?,
        };
    }
    if let Some(value) = get(CREDENTIALS) {
        cors.allow_credentials = parse_flag(CREDENTIALS, value.clone())?;
        if cors.allow_credentials && cors.allowed_origins == AllowedOrigins::Any {
            return Err(ConfigError::new(
                CREDENTIALS,
                value,
                "credentials cannot go to every origin (*): list the origins instead",
            ));
        }
    }
    Ok(cors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn empty_environment_gives_defaults_on_memory() {
        let c = Config::from_lookup(env(&[])).unwrap();
        assert_eq!(c.store, StoreConfig::Memory);
        assert_eq!(c.session_ttl, Duration::from_secs(120));
        assert_eq!(c.max_stream_duration, None);
    }

    #[test]
    fn redis_url_and_timings_are_read() {
        let c = Config::from_lookup(env(&[
            ("REDIS_URL", "redis://127.0.0.1:6379"),
            ("SOCKET_SERVE_MAX_STREAM_MS", "2500"),
            ("SOCKET_SERVE_HEARTBEAT_MS", "100"),
        ]))
        .unwrap();
        assert_eq!(c.store, StoreConfig::Redis("redis://127.0.0.1:6379".into()));
        assert_eq!(c.max_stream_duration, Some(Duration::from_millis(2500)));
        assert_eq!(c.heartbeat_interval, Duration::from_millis(100));
    }

    #[test]
    fn a_platform_sets_stream_and_poll_limits_that_explicit_settings_override() {
        let c = Config::from_lookup(env(&[("VERCEL", "1")])).unwrap();
        assert_eq!(c.platform, Platform::Vercel);
        assert_eq!(c.max_stream_duration, Some(Duration::from_secs(290)));
        assert_eq!(c.poll_timeout, Duration::from_secs(25));
        let c = Config::from_lookup(env(&[
            ("VERCEL", "1"),
            ("SOCKET_SERVE_PLATFORM_MAX_DURATION_MS", "60000"),
        ]))
        .unwrap();
        assert_eq!(c.max_stream_duration, Some(Duration::from_secs(54)));
        let c = Config::from_lookup(env(&[
            ("AWS_LAMBDA_FUNCTION_NAME", "chat"),
            ("SOCKET_SERVE_MAX_STREAM_MS", "5000"),
            ("SOCKET_SERVE_POLL_TIMEOUT_MS", "900000"),
        ]))
        .unwrap();
        assert_eq!(c.platform, Platform::Lambda);
        assert_eq!(c.max_stream_duration, Some(Duration::from_secs(5)));
        assert_eq!(c.poll_timeout, Duration::from_secs(900));
        let err = Config::from_lookup(env(&[("SOCKET_SERVE_PLATFORM", "mars")])).unwrap_err();
        assert!(err.to_string().contains("SOCKET_SERVE_PLATFORM"));
    }

    #[test]
    fn cors_origins_are_read_and_bad_ones_named() {
        let c = Config::from_lookup(env(&[])).unwrap();
        assert_eq!(c.cors.allowed_origins, AllowedOrigins::SameOrigin);
        let c = Config::from_lookup(env(&[
            (
                "SOCKET_SERVE_CORS_ORIGINS",
                " https://a.example , http://localhost:5173",
            ),
            ("SOCKET_SERVE_CORS_CREDENTIALS", "true"),
        ]))
        .unwrap();
        let listed = AllowedOrigins::list(["https://a.example", "http://localhost:5173"]).unwrap();
        assert_eq!(c.cors.allowed_origins, listed);
        assert!(c.cors.allow_credentials);
        let c = Config::from_lookup(env(&[("SOCKET_SERVE_CORS_ORIGINS", "*")])).unwrap();
        assert_eq!(c.cors.allowed_origins, AllowedOrigins::Any);
        let err = Config::from_lookup(env(&[("SOCKET_SERVE_CORS_ORIGINS", "a.example")]));
        assert!(err
            .unwrap_err()
            .to_string()
            .contains("SOCKET_SERVE_CORS_ORIGINS"));
        let err = Config::from_lookup(env(&[
            ("SOCKET_SERVE_CORS_ORIGINS", "*"),
            ("SOCKET_SERVE_CORS_CREDENTIALS", "1"),
        ]));
        assert!(err.unwrap_err().to_string().contains("CREDENTIALS"));
    }

    #[test]
    fn quotas_are_read_and_zero_refused() {
        let c = Config::from_lookup(env(&[
            ("SOCKET_SERVE_STREAM_BUFFER_BYTES", "4096"),
            ("SOCKET_SERVE_MAX_KEPT_ANSWER_BYTES", "2048"),
        ]))
        .unwrap();
        assert_eq!((c.stream_buffer_bytes, c.max_kept_answer), (4096, 2048));
        assert_eq!(c.max_state_keys, 64);
        let err = Config::from_lookup(env(&[("SOCKET_SERVE_MAX_STATE_KEYS", "0")])).unwrap_err();
        assert!(err.to_string().contains("SOCKET_SERVE_MAX_STATE_KEYS"));
    }

    #[test]
    fn the_stream_cap_is_read_and_zero_refused() {
        assert_eq!(Config::default().max_streams_per_session, 4);
        let c = Config::from_lookup(env(&[("SOCKET_SERVE_MAX_STREAMS", "2")])).unwrap();
        assert_eq!(c.max_streams_per_session, 2);
        let err = Config::from_lookup(env(&[("SOCKET_SERVE_MAX_STREAMS", "0")])).unwrap_err();
        assert!(err.to_string().contains("SOCKET_SERVE_MAX_STREAMS"));
    }

    #[test]
    fn bad_numbers_are_named_in_the_error() {
        let err = Config::from_lookup(env(&[("SOCKET_SERVE_SESSION_TTL_MS", "soon")])).unwrap_err();
        assert!(err.to_string().contains("SOCKET_SERVE_SESSION_TTL_MS"));
        assert!(Config::from_lookup(env(&[("SOCKET_SERVE_HEARTBEAT_MS", "0")])).is_err());
    }
}

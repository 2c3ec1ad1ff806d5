//! How a client connects, reconnects and buffers.

use std::time::Duration;

use serde_json::Value;

/// How the client receives messages from the server.
///
/// ```
/// use socket_serve_client::{ClientOptions, Transport};
/// let options = ClientOptions::default().transport(Transport::Polling);
/// assert_eq!(options.get_transport(), Transport::Polling);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transport {
    /// Server-Sent Events, falling back to long-polling for the rest of the client's life
    /// when the server (or a proxy in between) answers the stream request with something that
    /// is not a working event stream. The default.
    #[default]
    Auto,
    /// Server-Sent Events only: failures are retried with backoff, never replaced by polling.
    Sse,
    /// Long-polling only (`GET {base}/sse?transport=polling` with a cursor).
    Polling,
}

/// The settings of a [`Client`](crate::Client). Start from `default()` and change what you
/// need; every setter consumes and returns the options.
///
/// | setting | default |
/// |---|---|
/// | [`transport`](Self::transport) | [`Transport::Auto`] |
/// | [`auth`](Self::auth) | none |
/// | [`reconnect_delay`](Self::reconnect_delay) | 500 ms |
/// | [`reconnect_delay_max`](Self::reconnect_delay_max) | 30 s |
/// | [`reconnect_attempts`](Self::reconnect_attempts) | unlimited |
/// | [`max_buffered`](Self::max_buffered) | 1024 |
/// | [`request_timeout`](Self::request_timeout) | 30 s |
/// | [`ack_timeout`](Self::ack_timeout) | 30 s |
/// | [`stall_timeout`](Self::stall_timeout) | 45 s |
/// | [`sse_open_timeout`](Self::sse_open_timeout) | 10 s |
///
/// ```
/// use std::time::Duration;
/// use socket_serve_client::ClientOptions;
/// use serde_json::json;
///
/// let options = ClientOptions::default()
///     .auth(json!({"token": "secret"}))
///     .reconnect_delay(Duration::from_millis(100))
///     .max_buffered(64)
///     .header("x-tenant", "acme");
/// assert_eq!(options.get_max_buffered(), 64);
/// ```
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub(crate) transport: Transport,
    pub(crate) auth: Option<Value>,
    pub(crate) reconnect_delay: Duration,
    pub(crate) reconnect_delay_max: Duration,
    pub(crate) reconnect_attempts: Option<u32>,
    pub(crate) max_buffered: usize,
    pub(crate) request_timeout: Duration,
    pub(crate) ack_timeout: Duration,
    pub(crate) stall_timeout: Duration,
    pub(crate) sse_open_timeout: Duration,
    pub(crate) headers: Vec<(String, String)>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            transport: Transport::Auto,
            auth: None,
            reconnect_delay: Duration::from_millis(500),
            reconnect_delay_max: Duration::from_secs(30),
            reconnect_attempts: None,
            max_buffered: 1024,
            request_timeout: Duration::from_secs(30),
            ack_timeout: Duration::from_secs(30),
            stall_timeout: Duration::from_secs(45),
            sse_open_timeout: Duration::from_secs(10),
            headers: Vec::new(),
        }
    }
}

impl ClientOptions {
    /// Which transport to use. See [`Transport`].
    ///
    /// ```
    /// use socket_serve_client::{ClientOptions, Transport};
    /// let options = ClientOptions::default().transport(Transport::Sse);
    /// assert_eq!(options.get_transport(), Transport::Sse);
    /// ```
    pub fn transport(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }

    /// The JSON sent as `{"auth": ...}` with every `POST {base}/connect` (the server hands it
    /// to its `on_connect` handler).
    ///
    /// ```
    /// let options = socket_serve_client::ClientOptions::default()
    ///     .auth(serde_json::json!({"token": "secret", "name": "ann"}));
    /// # let _ = options;
    /// ```
    pub fn auth(mut self, auth: Value) -> Self {
        self.auth = Some(auth);
        self
    }

    /// The base of the reconnect backoff: the first retry waits up to this long, each next
    /// one up to twice as long as the one before (full jitter).
    ///
    /// ```
    /// use std::time::Duration;
    /// let options = socket_serve_client::ClientOptions::default().reconnect_delay(Duration::from_millis(200));
    /// # let _ = options;
    /// ```
    pub fn reconnect_delay(mut self, delay: Duration) -> Self {
        self.reconnect_delay = delay;
        self
    }

    /// The cap of the reconnect backoff.
    ///
    /// ```
    /// use std::time::Duration;
    /// let options = socket_serve_client::ClientOptions::default().reconnect_delay_max(Duration::from_secs(5));
    /// # let _ = options;
    /// ```
    pub fn reconnect_delay_max(mut self, delay: Duration) -> Self {
        self.reconnect_delay_max = delay;
        self
    }

    /// How many failed attempts in a row the client makes before it gives up and closes.
    /// `None` (the default) never gives up.
    ///
    /// ```
    /// // A command-line tool that should fail rather than wait forever:
    /// let options = socket_serve_client::ClientOptions::default().reconnect_attempts(Some(5));
    /// # let _ = options;
    /// ```
    pub fn reconnect_attempts(mut self, attempts: Option<u32>) -> Self {
        self.reconnect_attempts = attempts;
        self
    }

    /// How many emits may wait to be sent (before the first connection, while reconnecting,
    /// or behind a slow POST). One more is refused with
    /// [`Error::BufferFull`](crate::Error::BufferFull).
    ///
    /// ```
    /// let options = socket_serve_client::ClientOptions::default().max_buffered(100);
    /// assert_eq!(options.get_max_buffered(), 100);
    /// ```
    pub fn max_buffered(mut self, max: usize) -> Self {
        self.max_buffered = max;
        self
    }

    /// How long one `POST` (connect, message, disconnect) may take before it counts as failed
    /// (and, for a message, is retried with the same `messageId`).
    ///
    /// ```
    /// use std::time::Duration;
    /// let options = socket_serve_client::ClientOptions::default().request_timeout(Duration::from_secs(10));
    /// # let _ = options;
    /// ```
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How long [`Client::emit_with_ack`](crate::Client::emit_with_ack) waits for the reply
    /// (sending included: the emit may wait in the buffer while the client reconnects).
    /// [`Client::emit_with_ack_timeout`](crate::Client::emit_with_ack_timeout) sets it per
    /// emit.
    ///
    /// ```
    /// use std::time::Duration;
    /// let options = socket_serve_client::ClientOptions::default().ack_timeout(Duration::from_secs(5));
    /// assert_eq!(options.get_ack_timeout(), Duration::from_secs(5));
    /// ```
    pub fn ack_timeout(mut self, timeout: Duration) -> Self {
        self.ack_timeout = timeout;
        self
    }

    /// How long an open stream may stay silent (no frame, no heartbeat) before the client
    /// takes it for dead and reconnects; also the longest a long-poll request may take. Keep
    /// it above the server's heartbeat interval (15 s) and poll timeout (25 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// // The server sends a heartbeat every 15 s: three missed ones mean the stream is dead.
    /// let options = socket_serve_client::ClientOptions::default().stall_timeout(Duration::from_secs(45));
    /// # let _ = options;
    /// ```
    pub fn stall_timeout(mut self, timeout: Duration) -> Self {
        self.stall_timeout = timeout;
        self
    }

    /// How long the first frame of an event stream may take. A stream that does not deliver
    /// it in time (a buffering proxy) makes [`Transport::Auto`] fall back to long-polling.
    ///
    /// ```
    /// use std::time::Duration;
    /// let options = socket_serve_client::ClientOptions::default().sse_open_timeout(Duration::from_secs(3));
    /// # let _ = options;
    /// ```
    pub fn sse_open_timeout(mut self, timeout: Duration) -> Self {
        self.sse_open_timeout = timeout;
        self
    }

    /// An HTTP header sent with every request (a cookie, a bearer token).
    ///
    /// ```
    /// let options = socket_serve_client::ClientOptions::default()
    ///     .header("authorization", "Bearer abc")
    ///     .header("cookie", "session=1");
    /// # let _ = options;
    /// ```
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The configured transport.
    ///
    /// ```
    /// use socket_serve_client::{ClientOptions, Transport};
    /// assert_eq!(ClientOptions::default().get_transport(), Transport::Auto);
    /// ```
    pub fn get_transport(&self) -> Transport {
        self.transport
    }

    /// The configured default timeout of acks.
    ///
    /// ```
    /// use std::time::Duration;
    /// assert_eq!(socket_serve_client::ClientOptions::default().get_ack_timeout(), Duration::from_secs(30));
    /// ```
    pub fn get_ack_timeout(&self) -> Duration {
        self.ack_timeout
    }

    /// The configured size of the send buffer.
    ///
    /// ```
    /// assert_eq!(socket_serve_client::ClientOptions::default().get_max_buffered(), 1024);
    /// ```
    pub fn get_max_buffered(&self) -> usize {
        self.max_buffered
    }
}

//! The protocol's endpoints as plain async calls, without any of the client's machinery
//! (no session kept, no retries, no buffering, no deduplication).
//!
//! [`Client`](crate::Client) is built on this. Use it directly to test a server at the
//! protocol level (repeat a `messageId` by hand, resume a stream from any cursor), or to
//! write a load generator.
//!
//! ```no_run
//! # async fn run() -> Result<(), socket_serve_client::Error> {
//! use futures_util::StreamExt;
//! use socket_serve_client::raw::Api;
//! use socket_serve_protocol::MessageRequest;
//! use serde_json::json;
//!
//! let api = Api::new("http://127.0.0.1:3000/socket")?;
//! let session = api.connect(None).await?;
//! let req = MessageRequest {
//!     session_id: session.session_id.clone(),
//!     event: "echo".into(),
//!     data: json!({"n": 1}),
//!     message_id: Some("m-1".into()),
//!     requires_ack: None,
//! };
//! let first = api.message(&req).await?;
//! let again = api.message(&req).await?; // same messageId: the handler does not run twice
//! assert_eq!(first, again);
//!
//! let mut frames = api.open_stream(&session.session_id, session.cursor).await?;
//! while let Some(frame) = frames.next().await {
//!     let frame = frame?;
//!     println!("id={:?} data={:?}", frame.id, frame.data);
//! }
//! # Ok(()) }
//! ```

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE};
use reqwest::{StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use socket_serve_protocol::{
    AckRequest, ConnectRequest, ConnectResponse, Cursor, DisconnectRequest, ErrorBody,
    MessageRequest, MessageResponse, PollResponse,
};
use sse_stream::{Sse, SseByteStream};

use crate::error::chain;
use crate::{ClientOptions, Error};

/// A handle on one server's endpoints (`{base}/connect`, `/message`, `/disconnect`, `/sse`).
///
/// Cheap to clone (the HTTP connection pool is shared).
///
/// ```
/// use socket_serve_client::raw::Api;
/// let api = Api::new("http://127.0.0.1:3000/socket/").unwrap();
/// assert_eq!(api.endpoint("connect").as_str(), "http://127.0.0.1:3000/socket/connect");
/// assert!(Api::new("https://example.invalid/socket").is_ok());
/// assert!(Api::new("ftp://example.invalid/").is_err());
/// assert!(Api::new("not a url").is_err());
/// ```
#[derive(Debug, Clone)]
pub struct Api {
    http: reqwest::Client,
    base: Url,
    request_timeout: Duration,
    stall_timeout: Duration,
}

/// One SSE frame as the server wrote it: its `id:`, `data:` and `retry:` fields, each absent
/// when the frame did not have it.
///
/// Comment lines (the server's `: keepalive` heartbeats) are not frames: the parser skips
/// them. They still count as traffic for the stall timeout of a [`FrameStream`].
///
/// ```
/// use socket_serve_client::raw::Frame;
/// let f = Frame { id: Some("5-0".into()), data: None, retry: None };
/// assert_eq!(f.cursor(), Some(socket_serve_protocol::Cursor::new(5, 0)));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frame {
    /// The `id:` field: the frame's cursor.
    pub id: Option<String>,
    /// The `data:` field: one line of JSON (an envelope).
    pub data: Option<String>,
    /// The `retry:` field, in milliseconds: the server is about to end the stream on purpose.
    pub retry: Option<u64>,
}

impl Frame {
    /// The `id:` as a cursor, when it is one.
    ///
    /// ```
    /// use socket_serve_client::raw::Frame;
    /// let f = Frame { id: Some("1795624221059-3".into()), data: None, retry: None };
    /// assert_eq!(f.cursor().map(|c| c.to_string()).as_deref(), Some("1795624221059-3"));
    /// assert_eq!(Frame::default().cursor(), None);
    /// ```
    pub fn cursor(&self) -> Option<Cursor> {
        self.id.as_deref().and_then(|id| id.trim().parse().ok())
    }

    /// The `data:` as an envelope, when it is one.
    ///
    /// ```
    /// use socket_serve_client::raw::Frame;
    /// let f = Frame { id: None, data: Some(r#"{"event":"chat","data":1}"#.into()), retry: None };
    /// assert_eq!(f.envelope().unwrap().event, "chat");
    /// ```
    pub fn envelope(&self) -> Option<socket_serve_protocol::Envelope> {
        self.data
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok())
    }
}

type SseItems = Pin<Box<dyn Stream<Item = Result<Sse, sse_stream::Error>> + Send>>;

/// The frames of one open event stream, parsed by `sse-stream`. It ends when the server
/// ends the stream; an error (a dropped connection, or no byte for the stall timeout) ends
/// it too.
///
/// ```no_run
/// # async fn run(api: socket_serve_client::raw::Api, session_id: &str) -> Result<(), socket_serve_client::Error> {
/// use futures_util::StreamExt;
/// let mut frames = api.open_stream(session_id, None).await?;
/// while let Some(frame) = frames.next().await {
///     let frame = frame?;
///     if let Some(ms) = frame.retry {
///         println!("the server will end this stream; come back in {ms} ms");
///     }
/// }
/// # Ok(()) }
/// ```
pub struct FrameStream {
    inner: SseItems,
    status: u16,
    headers: HeaderMap,
}

impl FrameStream {
    /// The HTTP status the stream was answered with (a 2xx: anything else is an error of
    /// [`Api::open_stream`]).
    ///
    /// ```no_run
    /// # async fn run(api: socket_serve_client::raw::Api, session_id: &str) -> Result<(), socket_serve_client::Error> {
    /// let frames = api.open_stream(session_id, None).await?;
    /// assert_eq!(frames.status(), 200);
    /// # Ok(()) }
    /// ```
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The headers of the stream's answer.
    ///
    /// ```no_run
    /// # async fn run(api: socket_serve_client::raw::Api, session_id: &str) -> Result<(), socket_serve_client::Error> {
    /// let frames = api.open_stream(session_id, None).await?;
    /// println!("{} headers", frames.headers().len());
    /// # Ok(()) }
    /// ```
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// One header of the stream's answer, as text (`None` when absent or not text).
    ///
    /// ```no_run
    /// # async fn run(api: socket_serve_client::raw::Api, session_id: &str) -> Result<(), socket_serve_client::Error> {
    /// let frames = api.open_stream(session_id, None).await?;
    /// assert_eq!(frames.header("content-type"), Some("text/event-stream"));
    /// # Ok(()) }
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl std::fmt::Debug for FrameStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameStream")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// Where a stream resumes, and how the request says so (see [`Api::open_stream_from`]).
///
/// The ids are sent as given, unchecked, so a test can send one that is not a cursor (the
/// server answers 400 `invalid_cursor`).
///
/// ```
/// use socket_serve_client::raw::Resume;
/// let from = Resume::Header("1795624221059-3".into());
/// assert_ne!(from, Resume::Start);
/// assert_eq!(Resume::default(), Resume::Start);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Resume {
    /// No cursor: the session's starting position.
    #[default]
    Start,
    /// `Last-Event-ID: <id>` (what `EventSource` sends when it reconnects).
    Header(String),
    /// `?lastEventId=<id>` in the query (for clients that cannot set headers).
    Query(String),
}

impl Stream for FrameStream {
    type Item = Result<Frame, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx).map(|item| {
            item.map(|r| {
                r.map(|sse| Frame {
                    id: sse.id,
                    data: sse.data,
                    retry: sse.retry,
                })
                .map_err(|e| Error::Transport(chain(&e)))
            })
        })
    }
}

impl Api {
    /// Endpoints under `base_url` (e.g. `http://127.0.0.1:3000/socket`), with default
    /// timeouts.
    ///
    /// ```
    /// let api = socket_serve_client::raw::Api::new("http://127.0.0.1:3000/socket").unwrap();
    /// assert_eq!(api.base_url().path(), "/socket");
    /// ```
    pub fn new(base_url: &str) -> Result<Self, Error> {
        Self::with_options(base_url, &ClientOptions::default())
    }

    /// Endpoints under `base_url`, with the timeouts and headers of `options`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use socket_serve_client::{raw::Api, ClientOptions};
    /// let options = ClientOptions::default().request_timeout(Duration::from_secs(2)).header("x-test", "1");
    /// let api = Api::with_options("http://127.0.0.1:3000/socket", &options).unwrap();
    /// # let _ = api;
    /// ```
    pub fn with_options(base_url: &str, options: &ClientOptions) -> Result<Self, Error> {
        let invalid = |reason: &str| Error::InvalidUrl {
            url: base_url.to_owned(),
            reason: reason.to_owned(),
        };
        let mut base = Url::parse(base_url).map_err(|e| invalid(&e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(invalid("the scheme must be http or https"));
        }
        if base.cannot_be_a_base() || base.host().is_none() {
            return Err(invalid("not a base URL"));
        }
        base.set_query(None);
        base.set_fragment(None);
        let mut headers = HeaderMap::new();
        for (name, value) in &options.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| Error::InvalidOption(format!("header name {name:?}: {e}")))?;
            let value = HeaderValue::from_str(value)
                .map_err(|e| Error::InvalidOption(format!("header {name}: {e}")))?;
            headers.append(name, value);
        }
        let builder = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(options.request_timeout.min(Duration::from_secs(10)))
            .tcp_nodelay(true);
        #[cfg(feature = "rustls")]
        let builder = builder.tls_backend_preconfigured(tls::client_config()?);
        let http = builder
            .build()
            .map_err(|e| Error::InvalidOption(chain(&e)))?;
        Ok(Api {
            http,
            base,
            request_timeout: options.request_timeout,
            stall_timeout: options.stall_timeout,
        })
    }

    /// The base URL, as parsed.
    ///
    /// ```
    /// let api = socket_serve_client::raw::Api::new("http://127.0.0.1:3000/socket?x=1").unwrap();
    /// assert_eq!(api.base_url().as_str(), "http://127.0.0.1:3000/socket");
    /// ```
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// The URL of endpoint `name` under the base (`connect`, `message`, `sse`...).
    ///
    /// ```
    /// let api = socket_serve_client::raw::Api::new("http://127.0.0.1:3000/api/socket").unwrap();
    /// assert_eq!(api.endpoint("sse").path(), "/api/socket/sse");
    /// ```
    pub fn endpoint(&self, name: &str) -> Url {
        let mut url = self.base.clone();
        let path = format!("{}/{}", self.base.path().trim_end_matches('/'), name);
        url.set_path(&path);
        url
    }

    /// `POST {base}/connect`: a new session. `auth` is handed to the server's `on_connect`.
    ///
    /// ```no_run
    /// # async fn run(api: socket_serve_client::raw::Api) -> Result<(), socket_serve_client::Error> {
    /// let session = api.connect(Some(serde_json::json!({"token": "t"}))).await?;
    /// println!("session {} (public id {}), starts at {:?}", session.session_id, session.id, session.cursor);
    /// # Ok(()) }
    /// ```
    pub async fn connect(&self, auth: Option<Value>) -> Result<ConnectResponse, Error> {
        self.post("connect", &ConnectRequest { auth }).await
    }

    /// `POST {base}/message`: runs the server's handler; the answer's `ack` is its reply.
    ///
    /// ```no_run
    /// # async fn run(api: socket_serve_client::raw::Api, session_id: String) -> Result<(), socket_serve_client::Error> {
    /// use socket_serve_protocol::MessageRequest;
    /// let answer = api
    ///     .message(&MessageRequest {
    ///         session_id,
    ///         event: "echo".into(),
    ///         data: serde_json::json!(1),
    ///         message_id: Some("m-1".into()),
    ///         requires_ack: None,
    ///     })
    ///     .await?;
    /// assert_eq!(answer.ack, Some(serde_json::json!(1)));
    /// # Ok(()) }
    /// ```
    pub async fn message(&self, request: &MessageRequest) -> Result<MessageResponse, Error> {
        self.post("message", request).await
    }

    /// `POST {base}/ack`: the reply to a server emit that asked for one (a [`Message`]
    /// with an `ack_id`). The server takes the first reply for an id and ignores the rest.
    ///
    /// ```no_run
    /// # async fn run(api: socket_serve_client::raw::Api, session_id: String) -> Result<(), socket_serve_client::Error> {
    /// use socket_serve_protocol::AckRequest;
    /// let ack_id = "k0011223344556677".to_owned();
    /// api.ack(&AckRequest { session_id, ack_id, data: serde_json::json!(true) }).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// [`Message`]: crate::Message
    pub async fn ack(&self, request: &AckRequest) -> Result<(), Error> {
        self.post::<Value, _>("ack", request).await.map(drop)
    }

    /// `POST {base}/disconnect`: ends the session on the server.
    ///
    /// ```no_run
    /// # async fn run(api: socket_serve_client::raw::Api, session_id: &str) -> Result<(), socket_serve_client::Error> {
    /// api.disconnect(session_id).await?;
    /// # Ok(()) }
    /// ```
    pub async fn disconnect(&self, session_id: &str) -> Result<(), Error> {
        let request = DisconnectRequest {
            session_id: session_id.to_owned(),
        };
        self.post::<Value, _>("disconnect", &request)
            .await
            .map(drop)
    }

    /// `GET {base}/sse?sessionId=..&transport=polling`. With a cursor, a long-poll that
    /// answers as soon as anything after it is there (or with nothing after the server's
    /// poll timeout); without one, a 0.6.0-style poll that takes every message since the last
    /// poll at once.
    ///
    /// ```no_run
    /// # async fn run(api: socket_serve_client::raw::Api) -> Result<(), socket_serve_client::Error> {
    /// let session = api.connect(None).await?;
    /// let mut cursor = session.cursor;
    /// loop {
    ///     let answer = api.poll(&session.session_id, cursor).await?;
    ///     for m in &answer.messages {
    ///         println!("{} {}", m.envelope.event, m.envelope.data);
    ///     }
    ///     cursor = answer.cursor.or(cursor);
    /// }
    /// # }
    /// ```
    pub async fn poll(
        &self,
        session_id: &str,
        cursor: Option<Cursor>,
    ) -> Result<PollResponse, Error> {
        let mut url = self.endpoint("sse");
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("sessionId", session_id);
            q.append_pair("transport", "polling");
            if let Some(c) = cursor {
                q.append_pair("lastEventId", &c.to_string());
            }
        }
        let response = self
            .http
            .get(url)
            .timeout(self.stall_timeout)
            .send()
            .await
            .map_err(|e| Error::transport(&e))?;
        read_json(response).await
    }

    /// `GET {base}/sse?sessionId=..` with `Last-Event-ID: <cursor>` when given: opens the
    /// event stream. Fails with [`Error::Status`] when the server answers an error (404
    /// `unknown_session`...), and with [`Error::Protocol`] when the answer is not an event
    /// stream.
    ///
    /// ```no_run
    /// # async fn run(api: socket_serve_client::raw::Api) -> Result<(), socket_serve_client::Error> {
    /// use futures_util::StreamExt;
    /// let session = api.connect(None).await?;
    /// let mut frames = api.open_stream(&session.session_id, session.cursor).await?;
    /// let first = frames.next().await.expect("a frame")?;
    /// assert_eq!(first.envelope().map(|e| e.event).as_deref(), Some("connected"));
    /// # Ok(()) }
    /// ```
    pub async fn open_stream(
        &self,
        session_id: &str,
        last_event_id: Option<Cursor>,
    ) -> Result<FrameStream, Error> {
        let from = match last_event_id {
            Some(c) => Resume::Header(c.to_string()),
            None => Resume::Start,
        };
        self.open_stream_from(session_id, &from).await
    }

    /// `GET {base}/sse?sessionId=..`, resuming as `from` says: with no cursor, with
    /// `Last-Event-ID`, or with `?lastEventId=` in the query. Fails as
    /// [`open_stream`](Self::open_stream) does.
    ///
    /// ```no_run
    /// # async fn run(api: socket_serve_client::raw::Api, session_id: &str) -> Result<(), socket_serve_client::Error> {
    /// use socket_serve_client::raw::Resume;
    /// let frames = api.open_stream_from(session_id, &Resume::Query("1795624221059-3".into())).await?;
    /// # let _ = frames;
    /// let refused = api.open_stream_from(session_id, &Resume::Header("yesterday".into())).await;
    /// assert_eq!(refused.unwrap_err().code(), Some("invalid_cursor"));
    /// # Ok(()) }
    /// ```
    pub async fn open_stream_from(
        &self,
        session_id: &str,
        from: &Resume,
    ) -> Result<FrameStream, Error> {
        let mut url = self.endpoint("sse");
        let mut headers = Vec::new();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("sessionId", session_id);
            match from {
                Resume::Start => {}
                Resume::Header(id) => headers.push(("Last-Event-ID", id.as_str())),
                Resume::Query(id) => {
                    q.append_pair("lastEventId", id);
                }
            }
        }
        self.open_stream_url(url, &headers).await
    }

    /// `GET url` as an event-stream request, with `headers` added: a stream at any URL,
    /// such as the 0.6.0 form `GET {base}?sessionId=..`, or with both a `lastEventId` query
    /// and a `Last-Event-ID` header. Fails as [`open_stream`](Self::open_stream) does.
    ///
    /// ```no_run
    /// # async fn run(api: socket_serve_client::raw::Api, session_id: &str) -> Result<(), socket_serve_client::Error> {
    /// let mut url = api.base_url().clone();
    /// url.query_pairs_mut().append_pair("sessionId", session_id);
    /// let frames = api.open_stream_url(url, &[("x-trace", "1")]).await?;
    /// # let _ = frames;
    /// # Ok(()) }
    /// ```
    pub async fn open_stream_url(
        &self,
        url: Url,
        headers: &[(&str, &str)],
    ) -> Result<FrameStream, Error> {
        let mut request = self.http.get(url).header(ACCEPT, "text/event-stream");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = tokio::time::timeout(self.request_timeout, request.send())
            .await
            .map_err(|_| Error::Transport(format!("no answer within {:?}", self.request_timeout)))?
            .map_err(|e| Error::transport(&e))?;
        if !response.status().is_success() {
            return Err(status_error(response).await);
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        if !content_type.trim_start().starts_with("text/event-stream") {
            return Err(Error::Protocol(format!(
                "answer to the stream request is not an event stream (status {}, content-type {content_type:?})",
                response.status()
            )));
        }
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let stall = self.stall_timeout;
        let chunks = futures_util::stream::unfold(Some(response), move |response| async move {
            let mut response = response?;
            match tokio::time::timeout(stall, response.chunk()).await {
                Ok(Ok(Some(bytes))) => Some((Ok::<Bytes, io::Error>(bytes), Some(response))),
                Ok(Ok(None)) => None,
                Ok(Err(e)) => Some((Err(io::Error::other(chain(&e))), None)),
                Err(_) => Some((
                    Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("the stream stalled: no data for {stall:?}"),
                    )),
                    None,
                )),
            }
        });
        Ok(FrameStream {
            inner: SseByteStream::new(chunks.boxed()).boxed(),
            status,
            headers,
        })
    }

    async fn post<T: DeserializeOwned, B: Serialize>(
        &self,
        name: &str,
        body: &B,
    ) -> Result<T, Error> {
        let body = serde_json::to_vec(body).map_err(|e| Error::Serialize(e.to_string()))?;
        let response = self
            .http
            .post(self.endpoint(name))
            .header(CONTENT_TYPE, "application/json")
            .timeout(self.request_timeout)
            .body(body)
            .send()
            .await
            .map_err(|e| Error::transport(&e))?;
        read_json(response).await
    }
}

/// HTTPS through rustls with the ring provider (feature `rustls`): a configuration handed to
/// reqwest as is, so no process-wide default provider is needed nor installed.
#[cfg(feature = "rustls")]
mod tls {
    use std::sync::{Arc, OnceLock};

    use rustls_platform_verifier::BuilderVerifierExt;

    use crate::Error;

    /// Built once per process (loading the platform's root certificates is not free).
    static CONFIG: OnceLock<rustls::ClientConfig> = OnceLock::new();

    /// The TLS configuration of every client: ring, TLS 1.2 and 1.3, the platform's
    /// certificate verifier, HTTP/1.1 (the only version the client speaks).
    pub(super) fn client_config() -> Result<rustls::ClientConfig, Error> {
        if let Some(config) = CONFIG.get() {
            return Ok(config.clone());
        }
        let invalid = |e: rustls::Error| Error::InvalidOption(format!("TLS set-up: {e}"));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(invalid)?
            .with_platform_verifier()
            .map_err(invalid)?
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(CONFIG.get_or_init(|| config).clone())
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn ring_is_the_provider() {
            let config = super::client_config().expect("a TLS configuration");
            let ring = rustls::crypto::ring::default_provider();
            let names = |p: &rustls::crypto::CryptoProvider| {
                p.cipher_suites
                    .iter()
                    .map(|s| format!("{:?}", s.suite()))
                    .collect::<Vec<_>>()
            };
            assert_eq!(names(config.crypto_provider()), names(&ring));
            assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
        }

        #[test]
        fn https_urls_are_accepted() {
            // Builds the HTTP client with the TLS configuration; nothing is sent.
            let api = crate::raw::Api::new("https://example.invalid/socket").expect("an https API");
            assert_eq!(api.base_url().scheme(), "https");
            let client = crate::Client::new(
                "https://example.invalid:8443/api/socket",
                Default::default(),
            )
            .expect("an https client");
            assert!(!client.connected());
        }
    }
}

/// The body of a 2xx answer as `T`, or the error the answer describes.
async fn read_json<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, Error> {
    if !response.status().is_success() {
        return Err(status_error(response).await);
    }
    let status = response.status();
    let body = response.bytes().await.map_err(|e| Error::transport(&e))?;
    serde_json::from_slice(&body).map_err(|e| {
        Error::Protocol(format!(
            "answer {status} is not the expected JSON ({e}): {}",
            snippet(&body)
        ))
    })
}

/// An [`Error::Status`] from an error answer, with its error body's code when it has one.
async fn status_error(response: reqwest::Response) -> Error {
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(std::time::Duration::from_secs);
    let body = response.bytes().await.unwrap_or_default();
    match serde_json::from_slice::<ErrorBody>(&body) {
        Ok(e) => Error::Status {
            status: status.as_u16(),
            code: Some(e.code),
            message: e.error,
            retry_after,
        },
        Err(_) => Error::Status {
            status: status.as_u16(),
            code: None,
            message: if body.is_empty() {
                status.canonical_reason().unwrap_or("").to_owned()
            } else {
                snippet(&body)
            },
            retry_after,
        },
    }
}

fn snippet(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned()
}

/// Whether `status` says the endpoint does not do event streams here (as opposed to the
/// server failing, or the session being gone).
pub(crate) fn means_no_sse(error: &Error) -> bool {
    match error {
        Error::Protocol(_) => true,
        // A host that buffers responses (serverless) answers 501 `sse_unsupported`.
        Error::Status {
            code: Some(code), ..
        } if code == "sse_unsupported" => true,
        Error::Status { status, .. } => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            status.is_client_error() && !error.is_unknown_session()
        }
        _ => false,
    }
}

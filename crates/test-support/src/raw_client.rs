//! A protocol-level client for tests, in two parts:
//!
//! - the endpoints (`connect`, `emit`, `disconnect`, polls, streams) go through
//!   [`socket_serve_client::raw::Api`], the one protocol implementation in Rust, with the
//!   test's assertions and bounded waits around each call;
//! - an HTTP test tool sends any request a misbehaving client could make (bad JSON, wrong
//!   methods, odd paths and headers) and returns the whole [`Answer`] (status, headers,
//!   body) to assert error answers on.
//!
//! It keeps no session and retries nothing, so a test controls every request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, CONTENT_TYPE};
use reqwest::{Method, StatusCode, Url};
use serde_json::{json, Value};
use socket_serve::protocol::{ConnectResponse, Cursor, MessageRequest, PollResponse};
use socket_serve_client::raw::Api;
use socket_serve_client::ClientOptions;
use tokio::time::Instant;

use crate::event_stream::{EventStream, Frame, Resume};
use crate::wait::DEFAULT_WAIT;

/// Longest a polling request may take (a long-poll waits for the server's `poll_timeout`,
/// which tests keep short).
const POLL_WAIT: Duration = Duration::from_secs(30);

/// A session as `/connect` answered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The private credential (32 lowercase hex digits).
    pub session_id: String,
    /// The public id.
    pub id: String,
    /// The starting position (`cursor` of the answer).
    pub cursor: Option<Cursor>,
}

/// An HTTP answer: status, headers and body, with the body parsed as JSON when it is JSON
/// (`Value::Null` otherwise).
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body as text.
    pub body: String,
    /// The body as JSON, or `Null` if it is not JSON.
    pub json: Value,
}

impl Answer {
    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a 200 answer and returns its JSON.
    #[track_caller]
    pub fn ok(&self) -> &Value {
        assert_eq!(self.status, StatusCode::OK, "expected 200, got {self}");
        &self.json
    }

    /// Asserts an error answer of the protocol's shape (`{"error", "code"}` as JSON, with
    /// the `application/json` content type) with this status and code; returns its `error`
    /// message.
    #[track_caller]
    pub fn error(&self, status: u16, code: &str) -> &str {
        assert_eq!(self.status.as_u16(), status, "wrong status in {self}");
        assert_eq!(
            self.json["code"].as_str(),
            Some(code),
            "wrong error code in {self}"
        );
        let content_type = self.header("content-type").unwrap_or("");
        assert!(
            content_type.starts_with("application/json"),
            "error answer is not JSON (content-type {content_type:?}): {self}"
        );
        let message = self.json["error"].as_str();
        assert!(
            message.is_some_and(|m| !m.is_empty()),
            "error answer without a message: {self}"
        );
        message.unwrap_or_default()
    }
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.body)
    }
}

/// A client of one server's endpoints under a base URL (`http://127.0.0.1:P/socket`).
///
/// The protocol calls ([`connect`](Self::connect), [`emit`](Self::emit),
/// [`disconnect`](Self::disconnect), [`poll`](Self::poll), [`long_poll`](Self::long_poll),
/// [`open_stream`](Self::open_stream)...) are [`socket_serve_client::raw::Api`] calls that
/// panic when they fail. The HTTP tool ([`post`](Self::post), [`post_message`](Self::post_message),
/// [`get`](Self::get), [`request`](Self::request), [`poll_answer`](Self::poll_answer),
/// [`stream_answer`](Self::stream_answer)...) panics on transport failures and timeouts
/// only; HTTP error answers come back as an [`Answer`] to assert on.
///
/// ```no_run
/// use serde_json::json;
/// use socket_serve_test_support::{RawClient, Resume};
///
/// # async fn example() {
/// let client = RawClient::new("http://127.0.0.1:3000/socket");
/// let session = client.connect().await;
/// let answer = client.post_message(&session.session_id, "echo", json!(1), Some("m-1")).await;
/// assert_eq!(answer.ok()["ack"], json!(1));
/// client.post("message", "{not json").await.error(400, "invalid_json");
/// client.poll_answer("00112233445566778899aabbccddeeff", None).await.error(404, "unknown_session");
/// let stream = client.open_stream_from(&session.session_id, Resume::Query("1-0".into())).await;
/// # let _ = stream;
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RawClient {
    api: Api,
    http: reqwest::Client,
    base: String,
    next_message_id: Arc<AtomicU64>,
}

impl RawClient {
    /// A client of the endpoints under `base_url`.
    pub fn new(base_url: &str) -> RawClient {
        let options = ClientOptions::default()
            .request_timeout(DEFAULT_WAIT)
            .stall_timeout(POLL_WAIT);
        let api = Api::with_options(base_url, &options)
            .unwrap_or_else(|e| panic!("bad base URL {base_url:?}: {e}"));
        let http = crate::http_client()
            .connect_timeout(DEFAULT_WAIT)
            .tcp_nodelay(true)
            .build()
            .expect("build the HTTP client");
        RawClient {
            api,
            http,
            base: base_url.trim_end_matches('/').to_owned(),
            next_message_id: Arc::new(AtomicU64::new(1)),
        }
    }

    /// The [`Api`] the protocol calls go through, for a call this type does not wrap.
    pub fn api(&self) -> &Api {
        &self.api
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The URL of `path` under the base (`connect`, `sse?sessionId=..`; `""` is the base).
    pub fn url(&self, path: &str) -> Url {
        let text = if path.is_empty() || path.starts_with('?') {
            format!("{}{path}", self.base)
        } else {
            format!("{}/{path}", self.base)
        };
        Url::parse(&text).unwrap_or_else(|e| panic!("bad URL {text:?}: {e}"))
    }

    /// `POST connect` ([`Api::connect`]); asserts it succeeded with a well-formed answer.
    pub async fn connect(&self) -> Session {
        let answer = self.api.connect(None).await;
        Self::session(answer.unwrap_or_else(|e| panic!("connect failed: {e}")))
    }

    /// `POST connect` with `{"auth": auth}`; asserts it succeeded.
    pub async fn connect_with_auth(&self, auth: Value) -> Session {
        let answer = self.api.connect(Some(auth)).await;
        Self::session(answer.unwrap_or_else(|e| panic!("connect with auth failed: {e}")))
    }

    #[track_caller]
    fn session(answer: ConnectResponse) -> Session {
        let session_id = answer.session_id;
        assert!(
            session_id.len() == 32
                && session_id
                    .bytes()
                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
            "sessionId is not 32 lowercase hex digits: {session_id:?}"
        );
        assert!(!answer.id.is_empty(), "no public id for {session_id}");
        Session {
            session_id,
            id: answer.id,
            cursor: answer.cursor,
        }
    }

    /// `POST message` with `{"sessionId", "event", "data", "messageId"?}`, through the HTTP
    /// tool: the whole answer, to assert on (errors included).
    pub async fn post_message(
        &self,
        session_id: &str,
        event: &str,
        data: Value,
        message_id: Option<&str>,
    ) -> Answer {
        let mut body = json!({ "sessionId": session_id, "event": event, "data": data });
        if let Some(id) = message_id {
            body["messageId"] = json!(id);
        }
        self.post_json("message", &body).await
    }

    /// A fresh `messageId` (unique within this client and its clones).
    pub fn new_message_id(&self) -> String {
        format!("m-{}", self.next_message_id.fetch_add(1, Ordering::Relaxed))
    }

    /// Emits `event` with a fresh `messageId` ([`Api::message`]); asserts it succeeded and
    /// returns the answer as JSON (`{"success": true, "ack"?: ..}`).
    pub async fn emit(&self, session: &Session, event: &str, data: Value) -> Value {
        let request = MessageRequest {
            session_id: session.session_id.clone(),
            event: event.to_owned(),
            data,
            message_id: Some(self.new_message_id()),
            requires_ack: None,
        };
        let answer = self
            .api
            .message(&request)
            .await
            .unwrap_or_else(|e| panic!("emit {event:?} failed: {e}"));
        assert!(answer.success, "emit {event:?}: {answer:?}");
        serde_json::to_value(&answer).expect("an answer is JSON")
    }

    /// `POST disconnect` ([`Api::disconnect`]); asserts it succeeded.
    pub async fn disconnect(&self, session_id: &str) {
        if let Err(e) = self.api.disconnect(session_id).await {
            panic!("disconnect of {session_id:?} failed: {e}");
        }
    }

    /// 0.6.0 polling ([`Api::poll`] without a cursor: a drain); asserts it succeeded.
    pub async fn poll(&self, session_id: &str) -> PollResponse {
        self.api
            .poll(session_id, None)
            .await
            .unwrap_or_else(|e| panic!("poll of {session_id:?} failed: {e}"))
    }

    /// v1 long-poll ([`Api::poll`] from `cursor`); asserts it succeeded. `cursor` must be a
    /// cursor (use [`poll_answer`](Self::poll_answer) to send one that is not).
    pub async fn long_poll(&self, session_id: &str, cursor: &str) -> PollResponse {
        let cursor: Cursor = cursor
            .parse()
            .unwrap_or_else(|e| panic!("{cursor:?} is not a cursor ({e:?})"));
        self.api
            .poll(session_id, Some(cursor))
            .await
            .unwrap_or_else(|e| panic!("long-poll of {session_id:?} from {cursor} failed: {e}"))
    }

    /// The HTTP tool's polling request, `GET sse?sessionId=..&transport=polling`, with
    /// `&lastEventId=<cursor>` when given (sent as is): the whole answer, to assert on its
    /// headers or its error.
    pub async fn poll_answer(&self, session_id: &str, cursor: Option<&str>) -> Answer {
        let mut extra = vec![("transport", "polling")];
        if let Some(cursor) = cursor {
            extra.push(("lastEventId", cursor));
        }
        let url = self.stream_url(session_id, &extra);
        self.send(self.http.get(url), POLL_WAIT).await
    }

    /// `POST <path>` with `body` as is (no `Content-Type`, as a 0.6.0 client may send it).
    pub async fn post(&self, path: &str, body: impl Into<reqwest::Body>) -> Answer {
        let request = self.http.post(self.url(path)).body(body);
        self.send(request, DEFAULT_WAIT).await
    }

    /// `POST <path>` with a JSON body and `Content-Type: application/json`.
    pub async fn post_json(&self, path: &str, body: &Value) -> Answer {
        let request = self
            .http
            .post(self.url(path))
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_string());
        self.send(request, DEFAULT_WAIT).await
    }

    /// `GET <path>` (`""` for the base itself; may carry a query).
    pub async fn get(&self, path: &str) -> Answer {
        self.send(self.http.get(self.url(path)), DEFAULT_WAIT).await
    }

    /// Any request: `method` on `path` under the base, with `headers` and `body`.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Answer {
        self.request_url(method, self.url(path), headers, body)
            .await
    }

    /// Any request to any URL (e.g. the server's root, outside the base).
    pub async fn request_url(
        &self,
        method: Method,
        url: Url,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Answer {
        let mut request = self.http.request(method, url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        self.send(request, DEFAULT_WAIT).await
    }

    /// Connects, opens the new session's stream and reads its `connected` frame.
    pub async fn connect_and_listen(&self) -> (Session, EventStream) {
        let session = self.connect().await;
        let mut stream = self.open_stream(&session.session_id).await;
        stream.expect_connected(DEFAULT_WAIT).await;
        (session, stream)
    }

    /// Emits an `echo` (the chat app's) with a unique marker and returns every message frame
    /// that arrives on `stream` before the marker's echo. Frames come in cursor order, so
    /// these are all the messages stored for the session before the marker: "nothing else
    /// arrived" is checked on them, with no sleep.
    pub async fn flush(&self, session: &Session, stream: &mut EventStream) -> Vec<Frame> {
        let marker = json!({ "marker": self.new_message_id() });
        self.emit(session, "echo", marker.clone()).await;
        let mut before = Vec::new();
        loop {
            let frame = stream.next_message(DEFAULT_WAIT).await;
            if frame.event() == Some("echo") && frame.payload() == &marker {
                return before;
            }
            before.push(frame);
        }
    }

    /// Opens the session's stream ([`Api::open_stream_from`]); asserts it opened.
    pub async fn open_stream(&self, session_id: &str) -> EventStream {
        self.open_stream_from(session_id, Resume::Start).await
    }

    /// Opens the session's stream resuming as `resume` says; asserts it opened.
    pub async fn open_stream_from(&self, session_id: &str, resume: Resume) -> EventStream {
        match self.try_open_stream(session_id, resume).await {
            Ok(stream) => stream,
            Err(e) => panic!("the stream did not open: {e}"),
        }
    }

    /// Opens the session's stream resuming as `resume` says ([`Api::open_stream_from`]).
    /// To assert on an error answer, use [`stream_answer`](Self::stream_answer).
    pub async fn try_open_stream(
        &self,
        session_id: &str,
        resume: Resume,
    ) -> Result<EventStream, socket_serve_client::Error> {
        let frames = self.api.open_stream_from(session_id, &resume).await?;
        Ok(EventStream::new(frames))
    }

    /// Opens a stream at any URL, with extra headers ([`Api::open_stream_url`]), such as the
    /// 0.6.0 form `GET B?sessionId=..`. To assert on an error answer, use
    /// [`stream_answer_url`](Self::stream_answer_url).
    pub async fn try_open_stream_url(
        &self,
        url: Url,
        headers: &[(&str, &str)],
    ) -> Result<EventStream, socket_serve_client::Error> {
        let frames = self.api.open_stream_url(url, headers).await?;
        Ok(EventStream::new(frames))
    }

    /// The HTTP tool's stream request (`GET sse?sessionId=..`, `Accept: text/event-stream`,
    /// resuming as `resume` says, ids sent as is), read whole: for asserting an error answer.
    /// Panics if a stream opens and does not end within the default wait.
    pub async fn stream_answer(&self, session_id: &str, resume: Resume) -> Answer {
        let (url, headers) = self.stream_request(session_id, &resume);
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        self.stream_answer_url(url, &headers).await
    }

    /// The HTTP tool's stream request at any URL (`GET url`, `Accept: text/event-stream`,
    /// plus `headers`), read whole: for asserting an error answer.
    pub async fn stream_answer_url(&self, url: Url, headers: &[(&str, &str)]) -> Answer {
        let mut all = vec![("accept", "text/event-stream")];
        all.extend_from_slice(headers);
        self.request_url(Method::GET, url, &all, None).await
    }

    /// The HTTP tool's stream request for `session_id` from its start, read as bytes until
    /// `until` holds on the text received so far (or the answer ends): for assertions on
    /// the bytes on the wire, which an SSE parser hides (comments, field order, the final
    /// blank line). Panics if `until` does not hold within `timeout`.
    pub async fn read_raw_stream(
        &self,
        session_id: &str,
        until: impl Fn(&str) -> bool,
        timeout: Duration,
    ) -> String {
        let (url, _) = self.stream_request(session_id, &Resume::Start);
        self.read_raw(url, &[("accept", "text/event-stream")], until, timeout)
            .await
    }

    /// `GET url` with `headers`, its body read as bytes until `until` holds on the text
    /// received so far, or the body ends; returns that text. Panics if neither happens
    /// within `timeout`, or if the answer is not a 200.
    pub async fn read_raw(
        &self,
        url: Url,
        headers: &[(&str, &str)],
        until: impl Fn(&str) -> bool,
        timeout: Duration,
    ) -> String {
        let deadline = Instant::now() + timeout;
        let mut request = self.http.get(url.clone());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut response = match tokio::time::timeout_at(deadline, request.send()).await {
            Ok(Ok(response)) => response,
            Ok(Err(e)) => panic!("GET {url} failed: {e}"),
            Err(_) => panic!("GET {url}: no answer within {timeout:?}"),
        };
        assert_eq!(response.status(), StatusCode::OK, "GET {url}");
        let mut bytes = Vec::new();
        loop {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            if until(&text) {
                return text;
            }
            match tokio::time::timeout_at(deadline, response.chunk()).await {
                Ok(Ok(Some(chunk))) => bytes.extend_from_slice(&chunk),
                Ok(Ok(None)) => return text,
                Ok(Err(e)) => panic!("reading {url} failed: {e}; so far: {text:?}"),
                Err(_) => panic!("{url}: the bytes did not match within {timeout:?}: {text:?}"),
            }
        }
    }

    /// The URL and headers of a stream request resuming as `resume` says.
    fn stream_request(
        &self,
        session_id: &str,
        resume: &Resume,
    ) -> (Url, Vec<(&'static str, String)>) {
        match resume {
            Resume::Start => (self.stream_url(session_id, &[]), vec![]),
            Resume::Header(id) => (
                self.stream_url(session_id, &[]),
                vec![("last-event-id", id.clone())],
            ),
            Resume::Query(id) => (self.stream_url(session_id, &[("lastEventId", id)]), vec![]),
        }
    }

    /// `sse?sessionId=<id>&<extra>`, percent-encoded.
    fn stream_url(&self, session_id: &str, extra: &[(&str, &str)]) -> Url {
        let mut url = self.url("sse");
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("sessionId", session_id);
            for (name, value) in extra {
                query.append_pair(name, value);
            }
        }
        url
    }

    async fn send(&self, request: reqwest::RequestBuilder, timeout: Duration) -> Answer {
        let request = request.build().expect("a well-formed request");
        let what = format!("{} {}", request.method(), request.url());
        let response = match tokio::time::timeout(timeout, self.http.execute(request)).await {
            Ok(Ok(response)) => response,
            Ok(Err(e)) => panic!("{what} failed: {e}"),
            Err(_) => panic!("{what}: no answer within {timeout:?}"),
        };
        read_answer(response, timeout).await
    }
}

async fn read_answer(response: reqwest::Response, timeout: Duration) -> Answer {
    let status = response.status();
    let headers = response.headers().clone();
    let url = response.url().clone();
    let body = match tokio::time::timeout(timeout, response.bytes()).await {
        Ok(Ok(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
        Ok(Err(e)) => panic!("reading the answer of {url} failed: {e}"),
        Err(_) => panic!("the answer body of {url} did not end within {timeout:?}"),
    };
    let json = serde_json::from_str(&body).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
        json,
    }
}

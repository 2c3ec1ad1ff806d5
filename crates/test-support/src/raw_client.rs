//! A protocol-level client: every endpoint of `docs/PROTOCOL.md` as one call, plus any
//! request a misbehaving client could make. It keeps no session and retries nothing, so a
//! test controls every byte.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, ACCEPT, CONTENT_TYPE};
use reqwest::{Method, StatusCode, Url};
use serde_json::{json, Value};
use socket_serve::protocol::Cursor;

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
/// Transport failures and timeouts panic (this is a test tool); HTTP error answers do not,
/// they come back as an [`Answer`] to assert on.
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
/// let stream = client.open_stream_from(&session.session_id, Resume::Query("1-0".into())).await;
/// # let _ = stream;
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RawClient {
    http: reqwest::Client,
    base: String,
    next_message_id: Arc<AtomicU64>,
}

impl RawClient {
    /// A client of the endpoints under `base_url`.
    pub fn new(base_url: &str) -> RawClient {
        let http = reqwest::Client::builder()
            .connect_timeout(DEFAULT_WAIT)
            .tcp_nodelay(true)
            .build()
            .expect("build the HTTP client");
        RawClient {
            http,
            base: base_url.trim_end_matches('/').to_owned(),
            next_message_id: Arc::new(AtomicU64::new(1)),
        }
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

    /// `POST connect` with an empty body; asserts 200 and a well-formed answer.
    pub async fn connect(&self) -> Session {
        Self::session(self.post("connect", "").await)
    }

    /// `POST connect` with `{"auth": auth}`; asserts 200.
    pub async fn connect_with_auth(&self, auth: Value) -> Session {
        Self::session(self.post_json("connect", &json!({ "auth": auth })).await)
    }

    #[track_caller]
    fn session(answer: Answer) -> Session {
        let body = answer.ok();
        let session_id = body["sessionId"].as_str().unwrap_or_default().to_owned();
        assert!(
            session_id.len() == 32
                && session_id
                    .bytes()
                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
            "sessionId is not 32 lowercase hex digits: {answer}"
        );
        let id = body["id"].as_str().unwrap_or_default().to_owned();
        assert!(!id.is_empty(), "no public id: {answer}");
        let cursor = body["cursor"].as_str().map(|c| {
            c.parse().unwrap_or_else(|e| {
                panic!("connect cursor {c:?} is not a cursor ({e:?}): {answer}")
            })
        });
        Session {
            session_id,
            id,
            cursor,
        }
    }

    /// `POST message` with `{"sessionId", "event", "data", "messageId"?}`.
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

    /// Emits `event` with a fresh `messageId`; asserts 200 and returns the answer's JSON
    /// (`{"success": true, "ack"?: ..}`).
    pub async fn emit(&self, session: &Session, event: &str, data: Value) -> Value {
        let id = self.new_message_id();
        let answer = self
            .post_message(&session.session_id, event, data, Some(&id))
            .await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "emit {event:?} failed: {answer}"
        );
        assert_eq!(
            answer.json["success"],
            json!(true),
            "emit {event:?}: {answer}"
        );
        answer.json
    }

    /// `POST disconnect` with `{"sessionId"}`.
    pub async fn disconnect(&self, session_id: &str) -> Answer {
        self.post_json("disconnect", &json!({ "sessionId": session_id }))
            .await
    }

    /// 0.6.0 polling: `GET sse?sessionId=..&transport=polling`, no cursor (a drain).
    pub async fn poll(&self, session_id: &str) -> Answer {
        let url = self.stream_url(session_id, &[("transport", "polling")]);
        self.send(self.http.get(url), POLL_WAIT).await
    }

    /// v1 long-poll: `GET sse?sessionId=..&transport=polling&lastEventId=<cursor>`.
    pub async fn long_poll(&self, session_id: &str, cursor: &str) -> Answer {
        let url = self.stream_url(
            session_id,
            &[("transport", "polling"), ("lastEventId", cursor)],
        );
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

    /// Opens the session's stream (`GET sse?sessionId=..`); asserts it opened.
    pub async fn open_stream(&self, session_id: &str) -> EventStream {
        self.open_stream_from(session_id, Resume::Start).await
    }

    /// Opens the session's stream resuming as `resume` says; asserts it opened.
    pub async fn open_stream_from(&self, session_id: &str, resume: Resume) -> EventStream {
        match self.try_open_stream(session_id, resume).await {
            Ok(stream) => stream,
            Err(answer) => panic!("the stream did not open: {answer}"),
        }
    }

    /// Opens the session's stream resuming as `resume` says; an answer that is not an
    /// event stream comes back as `Err`.
    pub async fn try_open_stream(
        &self,
        session_id: &str,
        resume: Resume,
    ) -> Result<EventStream, Answer> {
        let (query, header): (Vec<(&str, &str)>, Option<&str>) = match &resume {
            Resume::Start => (vec![], None),
            Resume::Header(c) => (vec![], Some(c.as_str())),
            Resume::Query(c) => (vec![("lastEventId", c.as_str())], None),
        };
        let url = self.stream_url(session_id, &query);
        let headers: Vec<(&str, &str)> = header.map(|c| ("Last-Event-ID", c)).into_iter().collect();
        self.try_open_stream_url(url, &headers).await
    }

    /// Opens a stream at any URL with any headers (e.g. `GET <base>?sessionId=..`); an
    /// answer that is not an event stream comes back as `Err`.
    pub async fn try_open_stream_url(
        &self,
        url: Url,
        headers: &[(&str, &str)],
    ) -> Result<EventStream, Answer> {
        let mut request = self
            .http
            .get(url.clone())
            .header(ACCEPT, "text/event-stream");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = match tokio::time::timeout(DEFAULT_WAIT, request.send()).await {
            Ok(Ok(response)) => response,
            Ok(Err(e)) => panic!("GET {url} failed: {e}"),
            Err(_) => panic!("GET {url}: no answer within {DEFAULT_WAIT:?}"),
        };
        let is_stream = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if response.status() == StatusCode::OK && is_stream {
            Ok(EventStream::new(response))
        } else {
            Err(read_answer(response, DEFAULT_WAIT).await)
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

//! What the HTTP fuzz targets share: one server (memory store, an `echo` handler) on one
//! runtime for the whole run, a live session to aim inputs at, and the checks every answer
//! must pass whatever the input: no panic, no 5xx, and a JSON body with a `code` on every
//! error.

use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use socket_serve::{Config, SocketServe, SocketServeService};
use tower::ServiceExt;

/// The server, its runtime, and a session that stays alive for the run.
pub struct Harness {
    runtime: tokio::runtime::Runtime,
    service: SocketServeService,
    /// A live session's id.
    pub session_id: String,
    /// Its starting cursor.
    pub cursor: String,
}

/// An answer, read whole (or its head only, for a stream).
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The body, unless it was a stream.
    pub body: Option<Bytes>,
}

impl Harness {
    /// The one harness of this process.
    pub fn get() -> &'static Harness {
        static HARNESS: OnceLock<Harness> = OnceLock::new();
        HARNESS.get_or_init(Harness::start)
    }

    fn start() -> Harness {
        // A worker thread runs the spawned tasks (stream writers, the ticker): on a
        // current-thread runtime they would only run while some request waits, and the
        // streams of dropped answers would pile up.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        let config = Config {
            poll_timeout: Duration::from_millis(1),
            // Streams whose client left end at their next heartbeat: keep that soon.
            heartbeat_interval: Duration::from_millis(200),
            // The live session must outlive long runs with no input aimed at it.
            session_ttl: Duration::from_secs(24 * 3600),
            ..Config::default()
        };
        let io = SocketServe::new(config).expect("a server");
        io.on_message(
            "echo",
            |socket: socket_serve::Socket, data: serde_json::Value| async move {
                socket.emit("echo", &data).await?;
                Ok::<_, socket_serve::HandlerError>(socket_serve::Ack(data))
            },
        );
        let service = io.service_at("/socket");
        let mut harness = Harness {
            runtime,
            service,
            session_id: String::new(),
            cursor: String::new(),
        };
        let connect = Request::post("/socket/connect")
            .body(Bytes::new())
            .expect("a request");
        let answer = harness.send(connect);
        let body: serde_json::Value =
            serde_json::from_slice(&answer.body.unwrap_or_default()).expect("a connect answer");
        harness.session_id = body["sessionId"].as_str().expect("a session id").to_owned();
        harness.cursor = body["cursor"].as_str().expect("a cursor").to_owned();
        harness
    }

    /// Sends `req`, checks the answer, and returns it.
    pub fn send(&self, req: Request<Bytes>) -> Answer {
        let service = self.service.clone();
        self.runtime.block_on(async move {
            let res = match service.oneshot(req.map(http_body_util::Full::new)).await {
                Ok(res) => res,
                Err(never) => match never {},
            };
            let status = res.status();
            assert!(!status.is_server_error(), "a {status} for client input");
            let streaming = res
                .headers()
                .get(http::header::CONTENT_TYPE)
                .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
            if streaming {
                return Answer { status, body: None };
            }
            let collected = tokio::time::timeout(Duration::from_secs(5), res.into_body().collect())
                .await
                .expect("the answer ends")
                .expect("the body reads");
            let body = collected.to_bytes();
            if !status.is_success() && status != StatusCode::NOT_MODIFIED {
                let error: serde_json::Value =
                    serde_json::from_slice(&body).expect("an error body is JSON");
                assert!(
                    error["code"].is_string(),
                    "an error without a code: {error}"
                );
                assert!(
                    error["error"].is_string(),
                    "an error without a message: {error}"
                );
            }
            Answer {
                status,
                body: Some(body),
            }
        })
    }
}

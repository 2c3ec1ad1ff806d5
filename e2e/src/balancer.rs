//! A load balancer for clients that take one base URL (the Rust and JavaScript clients):
//! every request goes to a live instance picked at random, the way a serverless front
//! spreads requests, with responses streamed back as they come (SSE included).

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, Response, StatusCode};
use futures_util::TryStreamExt;

use crate::Urls;

/// Requests larger than this are refused (the servers' own limit is 1 MiB).
const MAX_BODY: usize = 4 * 1024 * 1024;

/// Headers that belong to one hop, not to the request or answer.
const HOP: [&str; 5] = [
    "connection",
    "keep-alive",
    "transfer-encoding",
    "host",
    "content-length",
];

/// The balancer: point a client at [`Balancer::base_url`].
pub struct Balancer {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct Front {
    urls: Urls,
    http: reqwest::Client,
}

impl Balancer {
    /// Listens on a free loopback port and spreads requests over `urls` (API base URLs,
    /// `http://127.0.0.1:<port>/socket`): `/socket/<rest>` goes to `<instance>/<rest>`.
    pub async fn start(urls: Urls) -> Balancer {
        let http = socket_serve_test_support::http_client()
            .build()
            .expect("an HTTP client");
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(Front { urls, http });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the balancer");
        let addr = listener.local_addr().expect("its address");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Balancer { addr, task }
    }

    /// `http://127.0.0.1:<port>/socket`.
    pub fn base_url(&self) -> String {
        format!("http://{}/socket", self.addr)
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(State(front): State<Front>, req: Request) -> Response<Body> {
    let Some(base) = front.urls.pick() else {
        return status(StatusCode::SERVICE_UNAVAILABLE);
    };
    let (parts, body) = req.into_parts();
    let rest = parts.uri.path().strip_prefix("/socket").unwrap_or("");
    let query = parts
        .uri
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return status(StatusCode::PAYLOAD_TOO_LARGE);
    };
    let mut out = front
        .http
        .request(parts.method, format!("{base}{rest}{query}"))
        .body(body);
    for (name, value) in &parts.headers {
        if !is_hop(name) {
            out = out.header(name, value);
        }
    }
    let answer = match out.send().await {
        Ok(answer) => answer,
        // The instance died under the request: what a front answers then.
        Err(_) => return status(StatusCode::BAD_GATEWAY),
    };
    let mut res = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if !is_hop(name) {
            res = res.header(name, value);
        }
    }
    let stream = answer.bytes_stream().map_err(std::io::Error::other);
    res.body(Body::from_stream(stream))
        .unwrap_or_else(|_| status(StatusCode::BAD_GATEWAY))
}

fn is_hop(name: &HeaderName) -> bool {
    HOP.contains(&name.as_str())
}

fn status(code: StatusCode) -> Response<Body> {
    let mut res = Response::new(Body::empty());
    *res.status_mut() = code;
    res
}

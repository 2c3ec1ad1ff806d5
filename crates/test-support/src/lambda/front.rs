//! The Function URL front: each HTTP request, read whole, becomes one invocation; the
//! function's answer becomes the HTTP response (streamed ones relayed as they come).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tokio::sync::oneshot;

use super::body::{full, Body};
use super::event::{self, RequestParts};
use super::instance::{Delivery, Invocation};
use super::pool::{Assign, Shared};
use super::runtime_api::MAX_PAYLOAD;

/// Answers one front request.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    request: http::Request<Incoming>,
    peer: SocketAddr,
) -> http::Response<Body> {
    let (parts, mut body) = request.into_parts();
    let body: Bytes = match read_body(&mut body).await {
        Ok(body) => body,
        Err(Unread::Broken) => return message(StatusCode::BAD_REQUEST, "Bad Request"),
        Err(Unread::TooLarge) => {
            // Read (and drop) the rest first, so the client gets to see the 413 rather
            // than a connection closed under its upload.
            drain(&mut body).await;
            return too_large();
        }
    };

    let request_id = event::request_id();
    let now = SystemTime::now();
    let trace_id = event::trace_id(now);
    let event = event::function_url_event(&RequestParts {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or_default(),
        version: parts.version,
        headers: &parts.headers,
        body: &body,
        peer,
        front_port: shared.front_addr.port(),
        trace_id: &trace_id,
        request_id: &request_id,
        api_id: &shared.api_id,
        now,
    });
    let event = Bytes::from(event.to_string());
    // The invocation payload limit counts the event, base64 and all.
    if event.len() > MAX_PAYLOAD {
        return too_large();
    }

    let (reply_tx, reply_rx) = oneshot::channel();
    let mut invocation = Invocation {
        delivery: Delivery {
            request_id: request_id.clone(),
            trace_id,
            event,
            deadline_ms: 0,
        },
        reply: reply_tx,
    };
    let mut waiting = None;
    loop {
        let freed = shared.capacity.notified();
        tokio::pin!(freed);
        freed.as_mut().enable();
        match shared.try_assign(invocation) {
            Assign::Given => break,
            Assign::Failed => return internal_error(&request_id),
            // At the cap: wait for an instance to free up (see `LambdaOptions::max_instances`).
            Assign::Full(back) => {
                invocation = back;
                waiting.get_or_insert_with(|| Waiting::new(&shared.waiting));
                freed.await;
            }
        }
    }
    drop(waiting);

    let mut response = match reply_rx.await {
        Ok(response) => response,
        // The invocation ended without a response: error, timeout, crash, init error.
        Err(_) => return internal_error(&request_id),
    };
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-amzn-requestid", value);
    }
    response
}

/// Counts a request waiting at the instance cap while it lives.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(count: &'a AtomicUsize) -> Waiting<'a> {
        count.fetch_add(1, Ordering::Relaxed);
        Waiting(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Why a request body was not read.
enum Unread {
    /// Over [`MAX_PAYLOAD`].
    TooLarge,
    /// The client broke it off.
    Broken,
}

/// The whole body.
async fn read_body(body: &mut Incoming) -> Result<Bytes, Unread> {
    let mut collected = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| Unread::Broken)?;
        if let Ok(data) = frame.into_data() {
            if collected.len() + data.len() > MAX_PAYLOAD {
                return Err(Unread::TooLarge);
            }
            collected.extend_from_slice(&data);
        }
    }
    Ok(collected.freeze())
}

/// Reads and drops what is left of a body, 64 MB or 10 s at most.
async fn drain(body: &mut Incoming) {
    let mut left: usize = 64 * 1024 * 1024;
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while let Some(Ok(frame)) = body.frame().await {
            let n = frame.data_ref().map_or(0, Bytes::len);
            left = match left.checked_sub(n) {
                Some(left) => left,
                None => return,
            };
        }
    })
    .await;
}

/// What a Function URL answers when the function fails.
fn internal_error(request_id: &str) -> http::Response<Body> {
    let mut response = message(StatusCode::BAD_GATEWAY, "Internal Server Error");
    if let Ok(value) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert("x-amzn-requestid", value);
    }
    response
}

fn too_large() -> http::Response<Body> {
    message(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large")
}

fn message(status: StatusCode, text: &str) -> http::Response<Body> {
    let mut response =
        http::Response::new(full(serde_json::json!({ "message": text }).to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

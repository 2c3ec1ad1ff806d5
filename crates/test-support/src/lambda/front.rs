//! The Function URL front: each HTTP request, read whole, becomes one invocation; the
//! function's answer becomes the HTTP response (streamed ones relayed as they come).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use http_body_util::{BodyExt, Limited};
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
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_PAYLOAD as u64) {
        return too_large();
    }
    let body: Bytes = match Limited::new(body, MAX_PAYLOAD).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return too_large(),
        Err(_) => return message(StatusCode::BAD_REQUEST, "Bad Request"),
    };

    let request_id = event::request_id();
    let now = SystemTime::now();
    let event = event::function_url_event(&RequestParts {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or_default(),
        version: parts.version,
        headers: &parts.headers,
        body: &body,
        peer,
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
            trace_id: event::trace_id(now),
            event,
            deadline_ms: 0,
        },
        reply: reply_tx,
    };
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
                freed.await;
            }
        }
    }

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

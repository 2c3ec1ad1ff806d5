//! The Runtime API of one instance (`AWS_LAMBDA_RUNTIME_API`): `/invocation/next`,
//! `/invocation/{id}/response` (buffered and streaming), `/invocation/{id}/error`,
//! `/init/error`. One server per instance, so a request always says which instance calls.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use super::body::{full, relay, Body, Chunk, Cut};
use super::instance::Delivery;
use super::pool::{log, Shared};
use super::response::{find_prelude_end, parse_buffered, parse_prelude, PRELUDE_END};
use super::server::{self, Shutdown};

/// Lambda's limit on a buffered response payload.
pub(crate) const MAX_PAYLOAD: usize = 6 * 1024 * 1024;

/// How large a streaming prelude may grow before its end is found.
const MAX_PRELUDE: usize = 1024 * 1024;

const PREFIX: &str = "/2018-06-01/runtime/";

/// Starts the Runtime API server of instance `id` on `listener`.
pub(crate) fn serve(shared: Arc<Shared>, id: u64, listener: TcpListener, stop: Shutdown) {
    let shared = Arc::downgrade(&shared);
    server::serve(listener, stop, move |request, _peer: SocketAddr| {
        let shared = shared.upgrade();
        async move {
            match shared {
                Some(shared) => route(&shared, id, request).await,
                None => error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "ServiceUnavailable",
                    "gone",
                ),
            }
        }
    });
}

async fn route(
    shared: &Arc<Shared>,
    id: u64,
    request: http::Request<Incoming>,
) -> http::Response<Body> {
    let path = request.uri().path().to_owned();
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return not_found();
    };
    let segments: Vec<&str> = rest.split('/').collect();
    let method = request.method().clone();
    match (segments.as_slice(), method) {
        (["invocation", "next"], Method::GET) => next(shared, id).await,
        (["invocation", request_id, "response"], Method::POST) => {
            let request_id = (*request_id).to_owned();
            response(shared, id, &request_id, request).await
        }
        (["invocation", request_id, "error"], Method::POST) => {
            let request_id = (*request_id).to_owned();
            invocation_error(shared, id, &request_id, request).await
        }
        (["init", "error"], Method::POST) => {
            let body = read_text(request.into_body()).await;
            shared.init_failed(id, body);
            accepted()
        }
        (["invocation", "next"], _)
        | (["invocation", _, "response" | "error"], _)
        | (["init", "error"], _) => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "method not allowed",
        ),
        _ => not_found(),
    }
}

/// Blocks until the instance is given an invocation, then hands it over.
async fn next(shared: &Arc<Shared>, id: u64) -> http::Response<Body> {
    let waiting = {
        let mut pool = shared.lock();
        let Some(slot) = pool.slots.get_mut(&id) else {
            return error(
                StatusCode::GONE,
                "InstanceGone",
                "this instance was shut down",
            );
        };
        slot.initialized = true;
        if let Some(current) = slot.current.take() {
            log(format_args!(
                "{}: the runtime asked for the next invocation without answering this one",
                current.request_id
            ));
            current.fail("the function answered nothing");
        }
        match slot.queued.take() {
            Some(invocation) => Ok(slot.start(invocation, shared.options.timeout)),
            None => {
                let _ = slot.deadline.send_replace(None);
                let (tx, rx) = oneshot::channel();
                slot.parked = Some(tx);
                Err(rx)
            }
        }
    };
    let delivery = match waiting {
        Ok(delivery) => delivery,
        Err(rx) => match rx.await {
            Ok(delivery) => delivery,
            Err(_) => {
                return error(
                    StatusCode::GONE,
                    "InstanceGone",
                    "this instance was shut down",
                )
            }
        },
    };
    deliver(shared, delivery)
}

fn deliver(shared: &Shared, delivery: Delivery) -> http::Response<Body> {
    let arn = format!(
        "arn:aws:lambda:us-east-1:000000000000:function:{}",
        shared.function_name
    );
    let mut response = http::Response::new(full(delivery.event));
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let pairs = [
        ("lambda-runtime-aws-request-id", delivery.request_id),
        (
            "lambda-runtime-deadline-ms",
            delivery.deadline_ms.to_string(),
        ),
        ("lambda-runtime-invoked-function-arn", arn),
        ("lambda-runtime-trace-id", delivery.trace_id),
    ];
    for (name, value) in pairs {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}

/// `/invocation/{id}/response`, buffered or streaming.
async fn response(
    shared: &Arc<Shared>,
    id: u64,
    request_id: &str,
    request: http::Request<Incoming>,
) -> http::Response<Body> {
    let claimed = shared.with_current(id, request_id, |current| {
        !std::mem::replace(&mut current.responding, true)
    });
    match claimed {
        Some(true) => {}
        Some(false) => {
            return error(
                StatusCode::BAD_REQUEST,
                "InvalidStateTransition",
                "this invocation already has a response",
            )
        }
        None => return invalid_request_id(),
    }
    let streaming = request
        .headers()
        .get("lambda-runtime-function-response-mode")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("streaming"));
    if streaming {
        streamed(shared, id, request_id, request.into_body()).await
    } else {
        buffered(shared, id, request_id, request.into_body()).await
    }
}

async fn buffered(
    shared: &Arc<Shared>,
    id: u64,
    request_id: &str,
    body: Incoming,
) -> http::Response<Body> {
    let payload = match Limited::new(body, MAX_PAYLOAD).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            log(format_args!(
                "{request_id}: response payload over {MAX_PAYLOAD} bytes"
            ));
            shared.finish(id, request_id, None);
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                "response payload size exceeded maximum allowed payload size (6291556 bytes)",
            );
        }
        // The connection broke (the process died): its exit is handled elsewhere.
        Err(_) => return error(StatusCode::BAD_REQUEST, "BrokenRequest", "broken body"),
    };
    let reply = match parse_buffered(&payload) {
        Ok((head, body)) => Some(head.with_body(full(body))),
        Err(e) => {
            log(format_args!("{request_id}: {e}"));
            None
        }
    };
    if shared.finish(id, request_id, reply) {
        accepted()
    } else {
        invalid_request_id()
    }
}

/// A streamed response: the prelude, eight NULs, then the body, each chunk relayed to the
/// client as it arrives.
async fn streamed(
    shared: &Arc<Shared>,
    id: u64,
    request_id: &str,
    mut body: Incoming,
) -> http::Response<Body> {
    let mut prelude: Vec<u8> = Vec::new();
    let mut relay_to: Option<tokio::sync::mpsc::Sender<Chunk>> = None;
    let mut failed = false;
    let mut stream_error = false;
    loop {
        let frame = match body.frame().await {
            None => break,
            Some(Ok(frame)) => frame,
            // The connection broke: the process died or was killed; that path answers the
            // client.
            Some(Err(_)) => return error(StatusCode::BAD_REQUEST, "BrokenRequest", "broken body"),
        };
        let frame = match frame.into_data() {
            Ok(data) => data,
            Err(frame) => {
                if let Some(trailers) = frame.trailers_ref() {
                    if let Some(kind) = trailers.get("lambda-runtime-function-error-type") {
                        log(format_args!(
                            "{request_id}: stream error {}",
                            String::from_utf8_lossy(kind.as_bytes())
                        ));
                        stream_error = true;
                    }
                }
                continue;
            }
        };
        if failed {
            continue; // drain: the function goes on until its stream ends
        }
        if let Some(sender) = &relay_to {
            if sender.send(Chunk::Data(frame)).await.is_err() {
                // The client went away; the function is not told, as on Lambda.
                relay_to = None;
                failed = true;
            }
            continue;
        }
        prelude.extend_from_slice(&frame);
        if let Some(end) = find_prelude_end(&prelude) {
            let rest = Bytes::copy_from_slice(&prelude[end + PRELUDE_END.len()..]);
            prelude.truncate(end);
            match start_relay(shared, id, request_id, &prelude) {
                Some(sender) => {
                    if !rest.is_empty() && sender.send(Chunk::Data(rest)).await.is_err() {
                        failed = true;
                    } else {
                        relay_to = Some(sender);
                    }
                }
                None => failed = true,
            }
        } else if prelude.len() > MAX_PRELUDE {
            log(format_args!(
                "{request_id}: no end of the prelude in {MAX_PRELUDE} bytes"
            ));
            shared.with_current(id, request_id, |c| c.reply.take());
            failed = true;
        }
    }
    if relay_to.is_none() && !failed {
        // The body ended without the separator: the whole of it is the prelude.
        relay_to = start_relay(shared, id, request_id, &prelude);
    }
    if let Some(sender) = relay_to {
        if stream_error {
            shared.with_current(id, request_id, |c| {
                if let Some(cut) = c.cut.take() {
                    let _ = cut.send(Cut("the function reported a stream error"));
                }
            });
        } else {
            let _ = sender.send(Chunk::End).await;
        }
    }
    if shared.finish(id, request_id, None) {
        accepted()
    } else {
        invalid_request_id()
    }
}

/// Parses the prelude and sends the client its head with a relay body; the sender of the
/// relay, or `None` (the client got 502) if the prelude is bad or the invocation is over.
fn start_relay(
    shared: &Shared,
    id: u64,
    request_id: &str,
    prelude: &[u8],
) -> Option<tokio::sync::mpsc::Sender<Chunk>> {
    let head = match parse_prelude(prelude) {
        Ok(head) => head,
        Err(e) => {
            log(format_args!("{request_id}: {e}"));
            shared.with_current(id, request_id, |c| c.reply.take());
            return None;
        }
    };
    let (sender, cut, body) = relay();
    let sent = shared.with_current(id, request_id, |current| {
        let reply = current.reply.take()?;
        current.cut = Some(cut);
        reply.send(head.with_body(body.boxed())).ok()
    });
    match sent {
        Some(Some(())) => Some(sender.data),
        _ => None,
    }
}

async fn invocation_error(
    shared: &Arc<Shared>,
    id: u64,
    request_id: &str,
    request: http::Request<Incoming>,
) -> http::Response<Body> {
    let body = read_text(request.into_body()).await;
    if shared.function_error(id, request_id, &body) {
        accepted()
    } else {
        invalid_request_id()
    }
}

/// The body as text (lossy), at most [`MAX_PAYLOAD`] bytes of it.
async fn read_text(body: Incoming) -> String {
    match Limited::new(body, MAX_PAYLOAD).collect().await {
        Ok(collected) => String::from_utf8_lossy(&collected.to_bytes()).into_owned(),
        Err(e) => format!("(unreadable: {e})"),
    }
}

fn accepted() -> http::Response<Body> {
    json_response(StatusCode::ACCEPTED, json!({"status": "OK"}))
}

fn invalid_request_id() -> http::Response<Body> {
    error(
        StatusCode::BAD_REQUEST,
        "InvalidRequestID",
        "not the current invocation of this instance",
    )
}

fn not_found() -> http::Response<Body> {
    error(
        StatusCode::NOT_FOUND,
        "UnknownPath",
        "no such Runtime API path",
    )
}

fn error(status: StatusCode, kind: &str, message: &str) -> http::Response<Body> {
    json_response(status, json!({"errorType": kind, "errorMessage": message}))
}

fn json_response(status: StatusCode, value: serde_json::Value) -> http::Response<Body> {
    let mut response = http::Response::new(full(value.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

//! The HTTP endpoints on plain `http::Request` → `http::Response`. A nested axum router and
//! a service with a known base path route strictly (`B/connect`, ..., and nothing else);
//! a serverless catch-all whose base is not known routes by the last path segment.

mod body;
mod client_js;
mod error;
mod openapi;
pub(crate) mod origin;
pub(crate) mod rate;
mod service;

use std::sync::Arc;

use axum::body::Body;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::Value;
use socket_serve_protocol::{ConnectRequest, Cursor, MessageResponse};

pub use service::SocketServeService;

use crate::engine::{lifecycle, Engine, MessageInput, RequestInfo};
use crate::error::Error;
use crate::platform::{AfterFreeze, Deadline, Platform, ResponseStreaming};
use crate::transport::{self, Until};
pub(crate) use body::read_limited;
pub(crate) use error::error_response;
use error::{json_response, raw_json_response, simple_error};

/// The endpoint a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Connect,
    Message,
    Disconnect,
    /// `POST B/ack`: a client's reply to a server emit that asked for one.
    Ack,
    Stream,
    ClientJs,
    OpenApi,
    /// The base path itself: `GET B?sessionId=..` is a stream (the 0.6.0 Next.js form).
    Base,
    NotFound,
}

/// How paths map to endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Routing {
    /// Paths are `base`, `base/connect`, ... exactly (a nested router has base `""`).
    Strict(String),
    /// The base is not known (a catch-all function): the last segment names the endpoint,
    /// and any other path is the base.
    LastSegment,
}

fn named(segment: &str) -> Option<Endpoint> {
    Some(match segment {
        "connect" => Endpoint::Connect,
        "message" => Endpoint::Message,
        "disconnect" => Endpoint::Disconnect,
        "ack" => Endpoint::Ack,
        "sse" => Endpoint::Stream,
        "client.js" => Endpoint::ClientJs,
        "openapi.json" => Endpoint::OpenApi,
        _ => return None,
    })
}

fn endpoint(routing: &Routing, path: &str) -> Endpoint {
    match routing {
        Routing::Strict(base) => {
            let Some(rest) = path.strip_prefix(base.trim_end_matches('/')) else {
                return Endpoint::NotFound;
            };
            match rest.trim_end_matches('/') {
                "" => Endpoint::Base,
                rest => rest
                    .strip_prefix('/')
                    .and_then(named)
                    .unwrap_or(Endpoint::NotFound),
            }
        }
        Routing::LastSegment => {
            let last = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
            named(last).unwrap_or(Endpoint::Base)
        }
    }
}

/// Answers one request. Never panics on input; every failure is a JSON error answer.
pub(crate) async fn handle(
    engine: Arc<Engine>,
    routing: &Routing,
    req: Request<Body>,
) -> Response<Body> {
    let endpoint = endpoint(routing, req.uri().path());
    let method = req.method().clone();
    let allowed: &[Method] = match endpoint {
        Endpoint::Connect | Endpoint::Message | Endpoint::Disconnect | Endpoint::Ack => {
            &[Method::POST]
        }
        Endpoint::Stream | Endpoint::ClientJs | Endpoint::OpenApi | Endpoint::Base => {
            &[Method::GET, Method::HEAD]
        }
        Endpoint::NotFound => return not_found(),
    };
    if !allowed.contains(&method) {
        let mut res = simple_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            &format!("{method} is not allowed here"),
        );
        let allow = allowed
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        if let Ok(value) = HeaderValue::from_str(&allow) {
            res.headers_mut().insert(header::ALLOW, value);
        }
        return res;
    }
    if req.extensions().get::<AfterFreeze>().is_some() {
        engine.store.refresh().await;
    }
    lifecycle::ensure_sweeper(&engine);
    let result = match endpoint {
        Endpoint::Connect => connect(&engine, req).await,
        Endpoint::Message => message(&engine, req).await,
        Endpoint::Disconnect => disconnect(&engine, req).await,
        Endpoint::Ack => ack(&engine, req).await,
        Endpoint::ClientJs => return client_js::serve(&req),
        Endpoint::OpenApi => return openapi::serve(&req),
        Endpoint::NotFound => return not_found(),
        Endpoint::Stream | Endpoint::Base => {
            let query = StreamQuery::parse(req.uri().query());
            if endpoint == Endpoint::Base && query.session_id.is_none() {
                return not_found();
            }
            let last_event_id = req
                .headers()
                .get("last-event-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let host = Host {
                streams: match engine.config.platform {
                    // Streams only through a runtime that says it streams.
                    Platform::Lambda => req.extensions().get::<ResponseStreaming>().is_some(),
                    // Whatever runs the function, Netlify's front buffers it.
                    platform => platform.streams_responses(),
                },
                until: req
                    .extensions()
                    .get::<Deadline>()
                    .map(|d| d.end_by(std::time::Instant::now()).into()),
            };
            stream(&engine, last_event_id, query, host).await
        }
    };
    result.unwrap_or_else(|err| error_response(&err))
}

/// Runs a flow that calls app handlers in a task of its own, so that a client that hangs
/// up mid-request does not cancel a handler halfway (its retry then gets the first run's
/// answer), and a handler that panics becomes a 500 instead of a dropped connection.
pub(crate) async fn run_to_completion<T: Send + 'static>(
    flow: impl std::future::Future<Output = Result<T, Error>> + Send + 'static,
) -> Result<T, Error> {
    match tokio::spawn(flow).await {
        Ok(result) => result,
        Err(join) => {
            tracing::error!(error = %join, "a handler panicked");
            Err(Error::Handler(crate::HandlerError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "handler_error",
                "the handler failed",
            )))
        }
    }
}

fn not_found() -> Response<Body> {
    simple_error(StatusCode::NOT_FOUND, "not_found", "no endpoint here")
}

/// The request's parts for handlers, and its body.
fn split(req: Request<Body>) -> (Arc<RequestInfo>, Body) {
    let (parts, body) = req.into_parts();
    (Arc::new(RequestInfo::from_parts(&parts)), body)
}

async fn connect(engine: &Arc<Engine>, req: Request<Body>) -> Result<Response<Body>, Error> {
    let bucket = rate::connect_bucket(engine, &req);
    rate::connect(engine, bucket).await?;
    let (info, body) = split(req);
    let bytes = body::read_limited(body, engine.config.max_body_size).await?;
    let request: ConnectRequest = body::parse_json(&bytes, true)?;
    let engine_ = engine.clone();
    let answer =
        run_to_completion(
            async move { lifecycle::connect(&engine_, request.auth, Some(info)).await },
        )
        .await?;
    Ok(json_response(StatusCode::OK, &answer))
}

/// The message body as sent, with every field optional so a missing one gets its own error.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawMessage {
    session_id: Option<String>,
    event: Option<String>,
    #[serde(default)]
    data: Value,
    message_id: Option<Value>,
    requires_ack: Option<bool>,
}

async fn message(engine: &Arc<Engine>, req: Request<Body>) -> Result<Response<Body>, Error> {
    let (info, body) = split(req);
    let bytes = body::read_limited(body, engine.config.max_body_size).await?;
    let raw: RawMessage = body::parse_json(&bytes, false)?;
    check_size(engine, bytes.len(), &raw.data)?;
    let sid = raw.session_id.filter(|s| !s.is_empty());
    let sid = sid.ok_or(Error::MissingField("sessionId"))?;
    rate::session(engine, &sid).await?;
    let event = raw.event.filter(|e| !e.is_empty());
    let event = event.ok_or(Error::MissingField("event"))?;
    let message_id = match raw.message_id {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(_) => return Err(Error::InvalidMessageId("messageId must be a string")),
    };
    let input = MessageInput {
        sid,
        event,
        data: raw.data,
        message_id,
        requires_ack: raw.requires_ack.unwrap_or(false),
        request: Some(info),
    };
    let engine_ = engine.clone();
    let answer: MessageResponse =
        run_to_completion(async move { lifecycle::message(&engine_, input).await }).await?;
    Ok(json_response(StatusCode::OK, &answer))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawDisconnect {
    session_id: Option<String>,
}

async fn disconnect(engine: &Arc<Engine>, req: Request<Body>) -> Result<Response<Body>, Error> {
    let (info, body) = split(req);
    let bytes = body::read_limited(body, engine.config.max_body_size).await?;
    let raw: RawDisconnect = body::parse_json(&bytes, false)?;
    let sid = raw.session_id.filter(|s| !s.is_empty());
    let sid = sid.ok_or(Error::MissingField("sessionId"))?;
    rate::session(engine, &sid).await?;
    let engine_ = engine.clone();
    run_to_completion(async move {
        lifecycle::end_session(&engine_, &sid, "client disconnect", Some(info)).await
    })
    .await?;
    let answer = MessageResponse {
        success: true,
        ack: None,
    };
    Ok(json_response(StatusCode::OK, &answer))
}

/// Refuses `data` over `max_message_size` (as JSON text). Only bodies that could hold that
/// much are measured.
fn check_size(engine: &Engine, body_len: usize, data: &Value) -> Result<(), Error> {
    let max = engine.config.max_message_size;
    if body_len <= max {
        return Ok(());
    }
    let too_large = serde_json::to_vec(data).map_or(true, |json| json.len() > max);
    if too_large {
        return Err(Error::MessageTooLarge(max));
    }
    Ok(())
}

/// The ack body as sent, every field optional so a missing one gets its own error.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawAck {
    session_id: Option<String>,
    ack_id: Option<String>,
    #[serde(default)]
    data: Value,
}

async fn ack(engine: &Arc<Engine>, req: Request<Body>) -> Result<Response<Body>, Error> {
    let (_, body) = split(req);
    let bytes = body::read_limited(body, engine.config.max_body_size).await?;
    let raw: RawAck = body::parse_json(&bytes, false)?;
    check_size(engine, bytes.len(), &raw.data)?;
    let sid = raw.session_id.filter(|s| !s.is_empty());
    let sid = sid.ok_or(Error::MissingField("sessionId"))?;
    rate::session(engine, &sid).await?;
    let ack_id = raw.ack_id.filter(|s| !s.is_empty());
    let ack_id = ack_id.ok_or(Error::MissingField("ackId"))?;
    let first = crate::engine::ack_reply(engine, &sid, &ack_id, &raw.data).await?;
    let answer = serde_json::json!({ "success": true, "duplicate": !first });
    Ok(json_response(StatusCode::OK, &answer))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct StreamQuery {
    session_id: Option<String>,
    transport: Option<String>,
    last_event_id: Option<String>,
}

impl StreamQuery {
    fn parse(query: Option<&str>) -> StreamQuery {
        // Unknown or repeated parameters are ignored rather than refused.
        serde_urlencoded::from_str(query.unwrap_or("")).unwrap_or_default()
    }
}

/// What the runtime that delivered a stream request allows.
struct Host {
    /// Whether it streams responses (else only long-polls can work).
    streams: bool,
    /// When the response must be done, if the runtime says.
    until: Option<Until>,
}

async fn stream(
    engine: &Arc<Engine>,
    last_event_id: Option<String>,
    query: StreamQuery,
    host: Host,
) -> Result<Response<Body>, Error> {
    let sid = query.session_id.filter(|s| !s.is_empty());
    let sid = sid.ok_or(Error::MissingField("sessionId"))?;
    rate::session(engine, &sid).await?;
    let header_cursor = last_event_id.as_deref().filter(|v| !v.trim().is_empty());
    let query_cursor = query
        .last_event_id
        .as_deref()
        .filter(|v| !v.trim().is_empty());
    // Both may come: a page that put `lastEventId` in its EventSource URL, whose browser
    // then reconnects with a newer `Last-Event-ID`. The later one is right.
    let parse = |text: Option<&str>| text.map(str::parse::<Cursor>).transpose();
    let cursor = parse(query_cursor)?.max(parse(header_cursor)?);
    if query.transport.as_deref() == Some("polling") {
        let body = match cursor {
            Some(cursor) => transport::long_poll(engine, &sid, cursor, host.until).await?,
            None => transport::drain(engine, &sid).await?,
        };
        let mut res = raw_json_response(StatusCode::OK, body.0);
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return Ok(res);
    }
    if !host.streams {
        // A buffering host would hold the stream until it ends: refuse, and the client
        // falls back to long-polling.
        return Err(Error::SseUnsupported);
    }
    transport::open_stream(engine, &sid, cursor, host.until).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_catch_all_routes_by_last_segment_under_any_base() {
        let r = Routing::LastSegment;
        assert_eq!(endpoint(&r, "/connect"), Endpoint::Connect);
        assert_eq!(endpoint(&r, "/api/socket/connect"), Endpoint::Connect);
        assert_eq!(endpoint(&r, "/socket/message/"), Endpoint::Message);
        assert_eq!(endpoint(&r, "/socket/sse"), Endpoint::Stream);
        assert_eq!(endpoint(&r, "/socket/client.js"), Endpoint::ClientJs);
        assert_eq!(endpoint(&r, "/socket/ack"), Endpoint::Ack);
        assert_eq!(endpoint(&r, "/api/socket"), Endpoint::Base);
        assert_eq!(endpoint(&r, "/"), Endpoint::Base);
    }

    #[test]
    fn strict_routing_knows_only_the_endpoints_under_its_base() {
        let nested = Routing::Strict(String::new());
        assert_eq!(endpoint(&nested, "/"), Endpoint::Base);
        assert_eq!(endpoint(&nested, ""), Endpoint::Base);
        assert_eq!(endpoint(&nested, "/connect"), Endpoint::Connect);
        assert_eq!(endpoint(&nested, "/nope"), Endpoint::NotFound);
        assert_eq!(endpoint(&nested, "/connect/more"), Endpoint::NotFound);
        let based = Routing::Strict("/api/socket/".into());
        assert_eq!(endpoint(&based, "/api/socket"), Endpoint::Base);
        assert_eq!(endpoint(&based, "/api/socket/sse"), Endpoint::Stream);
        assert_eq!(endpoint(&based, "/api/socketsse"), Endpoint::NotFound);
        assert_eq!(endpoint(&based, "/other/sse"), Endpoint::NotFound);
    }
}

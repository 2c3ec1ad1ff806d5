//! The HTTP endpoints on plain `http::Request` → `http::Response`, routed by the last path
//! segment so the same code serves a nested axum router (`/socket/connect`) and a
//! serverless catch-all (`/api/socket/connect`).

mod body;
mod client_js;
mod error;
mod service;

use std::sync::Arc;

use axum::body::Body;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::Value;
use socket_serve_protocol::{ConnectRequest, Cursor, MessageResponse};

pub use service::SocketServeService;

use crate::engine::{lifecycle, Engine, MessageInput};
use crate::error::Error;
use crate::transport;
use error::{error_response, json_response, raw_json_response, simple_error};

/// The endpoint a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Connect,
    Message,
    Disconnect,
    Stream,
    ClientJs,
    /// The base path itself: `GET B?sessionId=..` is a stream (the 0.6.0 Next.js form).
    Base,
}

fn endpoint(path: &str) -> Endpoint {
    match path.trim_end_matches('/').rsplit('/').next().unwrap_or("") {
        "connect" => Endpoint::Connect,
        "message" => Endpoint::Message,
        "disconnect" => Endpoint::Disconnect,
        "sse" => Endpoint::Stream,
        "client.js" => Endpoint::ClientJs,
        _ => Endpoint::Base,
    }
}

/// Answers one request. Never panics on input; every failure is a JSON error answer.
pub(crate) async fn handle(engine: Arc<Engine>, req: Request<Body>) -> Response<Body> {
    let endpoint = endpoint(req.uri().path());
    let method = req.method().clone();
    let allowed: &[Method] = match endpoint {
        Endpoint::Connect | Endpoint::Message | Endpoint::Disconnect => &[Method::POST],
        Endpoint::Stream | Endpoint::ClientJs | Endpoint::Base => &[Method::GET, Method::HEAD],
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
    let result = match endpoint {
        Endpoint::Connect => connect(&engine, req).await,
        Endpoint::Message => message(&engine, req).await,
        Endpoint::Disconnect => disconnect(&engine, req).await,
        Endpoint::ClientJs => return client_js::serve(&req),
        Endpoint::Stream | Endpoint::Base => {
            let query = StreamQuery::parse(req.uri().query());
            if endpoint == Endpoint::Base && query.session_id.is_none() {
                return simple_error(StatusCode::NOT_FOUND, "not_found", "no endpoint here");
            }
            let last_event_id = req
                .headers()
                .get("last-event-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            stream(&engine, last_event_id, query).await
        }
    };
    result.unwrap_or_else(|err| error_response(&err))
}

async fn connect(engine: &Arc<Engine>, req: Request<Body>) -> Result<Response<Body>, Error> {
    let bytes = body::read_limited(req.into_body(), engine.config.max_body_size).await?;
    let request: ConnectRequest = body::parse_json(&bytes, true)?;
    let answer = lifecycle::connect(engine, request.auth).await?;
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
    let bytes = body::read_limited(req.into_body(), engine.config.max_body_size).await?;
    let raw: RawMessage = body::parse_json(&bytes, false)?;
    let sid = raw.session_id.filter(|s| !s.is_empty());
    let sid = sid.ok_or(Error::MissingField("sessionId"))?;
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
    };
    let answer: MessageResponse = lifecycle::message(engine, input).await?;
    Ok(json_response(StatusCode::OK, &answer))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawDisconnect {
    session_id: Option<String>,
}

async fn disconnect(engine: &Arc<Engine>, req: Request<Body>) -> Result<Response<Body>, Error> {
    let bytes = body::read_limited(req.into_body(), engine.config.max_body_size).await?;
    let raw: RawDisconnect = body::parse_json(&bytes, false)?;
    let sid = raw.session_id.filter(|s| !s.is_empty());
    let sid = sid.ok_or(Error::MissingField("sessionId"))?;
    lifecycle::end_session(engine, &sid, "client disconnect").await?;
    let answer = MessageResponse {
        success: true,
        ack: None,
    };
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

async fn stream(
    engine: &Arc<Engine>,
    last_event_id: Option<String>,
    query: StreamQuery,
) -> Result<Response<Body>, Error> {
    let sid = query.session_id.filter(|s| !s.is_empty());
    let sid = sid.ok_or(Error::MissingField("sessionId"))?;
    let header_cursor = last_event_id.as_deref().filter(|v| !v.trim().is_empty());
    let cursor_text = query
        .last_event_id
        .as_deref()
        .filter(|v| !v.trim().is_empty());
    let cursor = match cursor_text.or(header_cursor) {
        Some(text) => Some(text.parse::<Cursor>()?),
        None => None,
    };
    if query.transport.as_deref() == Some("polling") {
        let body = match cursor {
            Some(cursor) => transport::long_poll(engine, &sid, cursor).await?,
            None => transport::drain(engine, &sid).await?,
        };
        let mut res = raw_json_response(StatusCode::OK, body.0);
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return Ok(res);
    }
    transport::open_stream(engine, &sid, cursor).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_by_last_segment_under_any_base() {
        assert_eq!(endpoint("/connect"), Endpoint::Connect);
        assert_eq!(endpoint("/api/socket/connect"), Endpoint::Connect);
        assert_eq!(endpoint("/socket/message/"), Endpoint::Message);
        assert_eq!(endpoint("/socket/sse"), Endpoint::Stream);
        assert_eq!(endpoint("/socket/client.js"), Endpoint::ClientJs);
        assert_eq!(endpoint("/api/socket"), Endpoint::Base);
        assert_eq!(endpoint("/"), Endpoint::Base);
    }
}

//! The notifications example: notifications pushed from outside any socket handler (a
//! webhook of the app, or the `socket-serve emit` CLI), to one user, a group, or everyone,
//! with an unread count kept in the session's state.
//!
//! Events:
//! - `hello` `{"name", "groups": [..], "unread"?}`: `name` (1 to 24 of `a-z0-9_-`) joins the
//!   room `user:<name>`, each group (at most 5, same rule) the room `group:<group>`;
//!   `unread` (a reload carrying its count over to the new session, clamped to 0..=999)
//!   becomes the session's unread count. Acks `{"id", "unread"}`. Bad input: 400
//!   `invalid_hello`.
//! - `received`: the page got a `notification`; the session's unread count goes up by one.
//!   Acks `{"unread"}`.
//! - `read`: the unread count goes back to 0. Acks `{"unread": 0}`.
//!
//! Pushed to pages: `notification` `{"title", "body", "at"}` (`at`: milliseconds since the
//! epoch), by `POST /notify` `{"to": "user" | "group" | "session" | "all", "target",
//! "title", "body"?, "key"?}` (`target`: the user or group name, or a session's public id;
//! `key`: an idempotency key, the same key again sends nothing). It answers 202
//! `{"sent": true}`, or `{"error", "code"}` with 400 (bad input) or 404 (no such session).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use socket_serve::{Ack, Config, Emitter, HandlerError, HandlerResult, Socket, SocketServe};

/// The page.
const PAGE: &str = include_str!("../static/index.html");

/// The session-state key of the unread count.
const UNREAD: &str = "unread";

#[derive(Deserialize)]
struct Hello {
    name: String,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    unread: u32,
}

/// A valid user or group name: 1 to 24 of `a-z0-9_-`.
fn is_name(s: &str) -> bool {
    (1..=24).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Registers the notifications handlers on `io`.
///
/// ```
/// let io = socket_serve::SocketServe::new(Default::default()).unwrap();
/// notifications::register(&io);
/// ```
pub fn register(io: &SocketServe) {
    io.on_message("hello", hello);
    io.on_message("received", received);
    io.on_message("read", read);
}

async fn hello(socket: Socket, msg: Hello) -> HandlerResult<Ack<Value>> {
    if !is_name(&msg.name) || msg.groups.len() > 5 || !msg.groups.iter().all(|g| is_name(g)) {
        let why = "name and groups (at most 5): 1 to 24 of a-z 0-9 _ -";
        return Err(HandlerError::new(
            StatusCode::BAD_REQUEST,
            "invalid_hello",
            why,
        ));
    }
    socket.join(&format!("user:{}", msg.name)).await?;
    for group in &msg.groups {
        socket.join(&format!("group:{group}")).await?;
    }
    let unread = msg.unread.min(999);
    socket.set(UNREAD, unread).await?;
    Ok(Ack(json!({ "id": socket.id(), "unread": unread })))
}

async fn received(socket: Socket, _: Value) -> HandlerResult<Ack<Value>> {
    let unread = socket
        .get::<u32>(UNREAD)
        .await?
        .unwrap_or(0)
        .saturating_add(1);
    socket.set(UNREAD, unread).await?;
    Ok(Ack(json!({ "unread": unread })))
}

async fn read(socket: Socket, _: Value) -> HandlerResult<Ack<Value>> {
    socket.set(UNREAD, 0).await?;
    Ok(Ack(json!({ "unread": 0 })))
}

/// The body of `POST /notify`.
#[derive(Deserialize)]
struct Notify {
    to: String,
    #[serde(default)]
    target: String,
    title: String,
    #[serde(default)]
    body: String,
    key: Option<String>,
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = json!({ "error": message.into(), "code": code });
    (status, Json(body)).into_response()
}

/// `POST /notify`: sends a `notification` through the emitter.
async fn notify(State(emitter): State<Emitter>, body: Bytes) -> Response {
    let n: Notify = match serde_json::from_slice(&body) {
        Ok(n) => n,
        Err(e) => return error(StatusCode::BAD_REQUEST, "invalid_json", e.to_string()),
    };
    let (title, body) = (n.title.trim(), n.body.trim());
    if title.is_empty() || title.chars().count() > 100 || body.chars().count() > 500 {
        let why = "title must be 1 to 100 characters and body at most 500";
        return error(StatusCode::BAD_REQUEST, "invalid_notification", why);
    }
    let at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let data = json!({ "title": title, "body": body, "at": at });
    let emitter = match &n.key {
        Some(key) => emitter.once(key),
        None => emitter,
    };
    let sent = match n.to.as_str() {
        "all" => emitter.emit("notification", &data).await,
        "user" | "group" if is_name(&n.target) => {
            let room = format!("{}:{}", n.to, n.target);
            emitter.to(&room).emit("notification", &data).await
        }
        "session" if !n.target.is_empty() => {
            emitter
                .to_session(&n.target)
                .emit("notification", &data)
                .await
        }
        "user" | "group" | "session" => {
            let why = "target must name the user, group (1 to 24 of a-z 0-9 _ -) or session";
            return error(StatusCode::BAD_REQUEST, "invalid_target", why);
        }
        _ => {
            let why = r#"to must be "user", "group", "session" or "all""#;
            return error(StatusCode::BAD_REQUEST, "invalid_to", why);
        }
    };
    match sent {
        Ok(()) => (StatusCode::ACCEPTED, Json(json!({ "sent": true }))).into_response(),
        Err(e) => error(e.status(), e.code(), e.to_string()),
    }
}

/// The whole app: the page at `/`, the webhook at `/notify`, the API at `/socket`.
///
/// ```
/// let io = socket_serve::SocketServe::new(Default::default()).unwrap();
/// notifications::register(&io);
/// let app: axum::Router = notifications::app(&io);
/// # let _ = app;
/// ```
pub fn app(io: &SocketServe) -> axum::Router {
    axum::Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/notify", post(notify))
        .with_state(io.emitter())
        .nest("/socket", io.router())
}

/// The whole app on the server `config` describes: what the Lambda and Vercel entry points
/// serve. The webhook is a route like any other, so it works there unchanged.
///
/// ```
/// let app = notifications::build(socket_serve::Config::default()).unwrap();
/// # let _ = app;
/// ```
pub fn build(config: Config) -> Result<entry_points::App, entry_points::Error> {
    let io = SocketServe::new(config)?;
    register(&io);
    Ok(entry_points::App::new(app(&io), &io))
}

//! The chat example: socket-serve's main job, and the app its tests and benchmarks drive.
//!
//! Events (what tests and users rely on):
//! - `authorize`: the connect's `auth` is optional; `{"token": "bad"}` stands for refused
//!   credentials (401 `unauthorized`, a Socket.IO `44` with the message `invalid token`);
//!   `{"nickname"}` (at most 32 characters kept) becomes the session's data
//! - `whoami` (any data): acks `{"id", "nickname"}`, the nickname from the session's data
//! - on connect: emit `welcome` `{"id": <public id>}`
//! - `chat` `{"text"}`: broadcast `chat` `{"from", "text"}` to everyone but the sender
//! - `echo` (any data): emit `echo` with the same data back; the ack is the data too
//! - `join` / `leave` `{"room"}`; `say` `{"room", "text"}`: `to(room)` emit `say`
//!   `{"from", "room", "text"}`
//! - `remember` `{"key", "value"}` stores session state; `recall` `{"key"}` emits `recall`
//!   `{"key", "value"}` from the store
//! - `present` (any JSON): sets what the presence lists of this session's rooms show of it;
//!   `who` `{"room"}` acks `{"count", "members": [{"id", "meta"}]}` (the first 100)
//! - `ask` `{"question", "timeoutMs"?}`: emit `question` with the question and wait for the
//!   client's reply (a server-to-client ack); the ack is `{"answer": <reply>}`, or
//!   `{"error": "ack_timeout"}` when none came in time
//! - `typing` `{"room", "typing": bool}`: `to(room).volatile()` emit `typing`
//!   `{"from", "room", "typing"}`: live only (never logged nor replayed), not to the sender
//!
//! The page (`static/index.html`) builds on these: its nickname is its presence metadata
//! (`present {"name"}`), everyone is in the room `lobby`, and with presence events (on in
//! `cargo run -p chat`) each room's member list follows `presence:join` / `presence:update`
//! / `presence:leave`.

use std::time::Duration;

use axum::response::Html;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use socket_serve::{
    Ack, HandlerError, HandlerResult, Handshake, Socket, SocketIo, SocketIoOptions, SocketServe,
};

/// The chat page.
const PAGE: &str = include_str!("../static/index.html");

/// The same chat through `socket.io-client`, and the client's bundle (vendored from npm).
const SOCKETIO_PAGE: &str = include_str!("../static/socketio.html");
const SOCKETIO_JS: &str = include_str!("../static/vendor/socket.io.min.js");

#[derive(Deserialize)]
struct Chat {
    text: String,
}

#[derive(Deserialize)]
struct Room {
    room: String,
}

#[derive(Deserialize)]
struct Say {
    room: String,
    text: String,
}

#[derive(Deserialize)]
struct Typing {
    room: String,
    typing: bool,
}

#[derive(Deserialize)]
struct Remember {
    key: String,
    value: Value,
}

#[derive(Deserialize)]
struct Recall {
    key: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Ask {
    question: Value,
    timeout_ms: Option<u64>,
}

/// Who a client says it is, from its `auth`; the session's data.
#[derive(Serialize, Deserialize, Default)]
struct Profile {
    nickname: Option<String>,
}

/// The longest nickname kept.
const MAX_NICKNAME: usize = 32;

/// The longest an `ask` waits for its answer.
const MAX_ASK: Duration = Duration::from_secs(20);

/// Registers the chat handlers on `io`.
///
/// ```
/// let io = socket_serve::SocketServe::new(Default::default()).unwrap();
/// chat::register(&io);
/// ```
pub fn register(io: &SocketServe) {
    io.authorize(authorize);
    io.on_connect(welcome);
    io.on_message("whoami", whoami);
    io.on_message("chat", chat);
    io.on_message("echo", echo);
    io.on_message("join", join);
    io.on_message("leave", leave);
    io.on_message("say", say);
    io.on_message("remember", remember);
    io.on_message("recall", recall);
    io.on_message("ask", ask);
    io.on_message("present", present);
    io.on_message("who", who);
    io.on_message("typing", typing);
}

async fn typing(socket: Socket, msg: Typing) -> HandlerResult<Ack<Value>> {
    let out = json!({ "from": socket.id(), "room": msg.room, "typing": msg.typing });
    socket.to(&msg.room).volatile().emit("typing", &out).await?;
    Ok(Ack(json!({ "ok": true })))
}

async fn present(socket: Socket, meta: Value) -> HandlerResult<Ack<Value>> {
    socket.set_presence(&meta).await?;
    Ok(Ack(json!({ "ok": true })))
}

async fn who(socket: Socket, msg: Room) -> HandlerResult<Ack<Value>> {
    let presence = socket.server().presence(&msg.room);
    let count = presence.count().await?;
    let page = presence.page(None, 100).await?;
    let mut members = Vec::new();
    for member in &page.members {
        members.push(json!({ "id": member.id(), "meta": member.meta::<Value>()? }));
    }
    Ok(Ack(json!({ "count": count, "members": members })))
}

async fn authorize(handshake: Handshake) -> Result<Profile, HandlerError> {
    let field = |name: &str| {
        handshake
            .auth()
            .and_then(|a| a.get(name))
            .and_then(Value::as_str)
    };
    if field("token") == Some("bad") {
        return Err(HandlerError::unauthorized("invalid token"));
    }
    let nickname = field("nickname").map(|n| n.chars().take(MAX_NICKNAME).collect());
    Ok(Profile { nickname })
}

async fn whoami(socket: Socket, _: Value) -> HandlerResult<Ack<Value>> {
    let profile: Profile = socket.data()?.unwrap_or_default();
    Ok(Ack(
        json!({ "id": socket.id(), "nickname": profile.nickname }),
    ))
}

async fn welcome(socket: Socket) -> HandlerResult {
    socket.emit("welcome", json!({ "id": socket.id() })).await?;
    Ok(())
}

async fn chat(socket: Socket, msg: Chat) -> HandlerResult<Ack<Value>> {
    let out = json!({ "from": socket.id(), "text": msg.text });
    socket.broadcast("chat", &out).await?;
    Ok(Ack(json!({ "ok": true })))
}

async fn echo(socket: Socket, data: Value) -> HandlerResult<Ack<Value>> {
    socket.emit("echo", &data).await?;
    Ok(Ack(data))
}

async fn join(socket: Socket, msg: Room) -> HandlerResult<Ack<Value>> {
    socket.join(&msg.room).await?;
    Ok(Ack(json!({ "ok": true, "room": msg.room })))
}

async fn leave(socket: Socket, msg: Room) -> HandlerResult<Ack<Value>> {
    socket.leave(&msg.room).await?;
    Ok(Ack(json!({ "ok": true, "room": msg.room })))
}

async fn say(socket: Socket, msg: Say) -> HandlerResult<Ack<Value>> {
    let out = json!({ "from": socket.id(), "room": msg.room, "text": msg.text });
    socket.to(&msg.room).emit("say", &out).await?;
    Ok(Ack(json!({ "ok": true })))
}

async fn remember(socket: Socket, msg: Remember) -> HandlerResult<Ack<Value>> {
    socket.set(&msg.key, &msg.value).await?;
    Ok(Ack(json!({ "ok": true })))
}

async fn recall(socket: Socket, msg: Recall) -> HandlerResult<Ack<Value>> {
    let value: Option<Value> = socket.get(&msg.key).await?;
    let out = json!({ "key": msg.key, "value": value });
    socket.emit("recall", &out).await?;
    Ok(Ack(out))
}

async fn ask(socket: Socket, msg: Ask) -> HandlerResult<Ack<Value>> {
    let timeout = msg
        .timeout_ms
        .map_or(MAX_ASK, |ms| Duration::from_millis(ms).min(MAX_ASK));
    let answer = socket
        .emit_with_ack_timeout::<Value>("question", &msg.question, timeout)
        .await;
    match answer {
        Ok(answer) => Ok(Ack(json!({ "answer": answer }))),
        Err(socket_serve::Error::AckTimeout { .. }) => Ok(Ack(json!({ "error": "ack_timeout" }))),
        Err(err) => Err(err.into()),
    }
}

/// The whole app: the page at `/`, the API at `/socket`, and the same handlers for
/// `socket.io-client` at `/socket.io/` (`SOCKET_SERVE_PING_INTERVAL_MS` and
/// `SOCKET_SERVE_PING_TIMEOUT_MS` tune its heartbeat).
///
/// ```
/// let io = socket_serve::SocketServe::new(Default::default()).unwrap();
/// chat::register(&io);
/// let app: axum::Router = chat::app(&io);
/// # let _ = app;
/// ```
pub fn app(io: &SocketServe) -> axum::Router {
    let app = axum::Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/socketio.html", get(|| async { Html(SOCKETIO_PAGE) }))
        .route(
            "/socketio/socket.io.min.js",
            get(|| async { ([("content-type", "text/javascript")], SOCKETIO_JS) }),
        )
        .nest("/socket", io.router());
    let news = news_namespace(io);
    match (SocketIo::with_options(io, socket_io_options()), news) {
        (Ok(sio), Ok(news)) => {
            app.nest_service("/socket.io", sio.namespace("/news", &news).service())
        }
        (Err(err), _) | (_, Err(err)) => {
            tracing::error!(error = %err, "no Socket.IO endpoint");
            app
        }
    }
}

/// A second Socket.IO namespace, `/news`, with an `echo` of its own: a server of its own
/// on the same store, under its own key prefix.
fn news_namespace(io: &SocketServe) -> Result<SocketServe, socket_serve::Error> {
    let config = socket_serve::Config {
        key_prefix: format!("{}-news", io.config().key_prefix),
        ..io.config().clone()
    };
    let news = SocketServe::new(config)?;
    news.on_message("echo", |socket: Socket, data: Value| async move {
        socket.emit("news:echo", &data).await?;
        Ok::<_, socket_serve::Error>(Ack(data))
    });
    Ok(news)
}

fn socket_io_options() -> SocketIoOptions {
    let ms = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .map(Duration::from_millis)
    };
    let defaults = SocketIoOptions::default();
    SocketIoOptions {
        ping_interval: ms("SOCKET_SERVE_PING_INTERVAL_MS").unwrap_or(defaults.ping_interval),
        ping_timeout: ms("SOCKET_SERVE_PING_TIMEOUT_MS").unwrap_or(defaults.ping_timeout),
        ..defaults
    }
}

//! The chat example: socket-serve's main job, and the app its tests and benchmarks drive.
//!
//! Events (what tests and users rely on):
//! - on connect: emit `welcome` `{"id": <public id>}`
//! - `chat` `{"text"}`: broadcast `chat` `{"from", "text"}` to everyone but the sender
//! - `echo` (any data): emit `echo` with the same data back; the ack is the data too
//! - `join` / `leave` `{"room"}`; `say` `{"room", "text"}`: `to(room)` emit `say`
//!   `{"from", "room", "text"}`
//! - `remember` `{"key", "value"}` stores session state; `recall` `{"key"}` emits `recall`
//!   `{"key", "value"}` from the store

use axum::response::Html;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{json, Value};
use socket_serve::{Ack, Error, SocketServe};

/// The chat page.
const PAGE: &str = include_str!("../static/index.html");

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
struct Remember {
    key: String,
    value: Value,
}

#[derive(Deserialize)]
struct Recall {
    key: String,
}

/// Registers the chat handlers on `io`.
///
/// ```
/// let io = socket_serve::SocketServe::new(Default::default()).unwrap();
/// chat::register(&io);
/// ```
pub fn register(io: &SocketServe) {
    io.on_connect(
        |socket| async move { socket.emit("welcome", &json!({ "id": socket.id() })).await },
    );
    io.on_message("chat", |socket, msg: Chat| async move {
        let out = json!({ "from": socket.id(), "text": msg.text });
        socket.broadcast("chat", &out).await?;
        Ok::<_, Error>(Ack(json!({ "ok": true })))
    });
    io.on_message("echo", |socket, data: Value| async move {
        socket.emit("echo", &data).await?;
        Ok::<_, Error>(Ack(data))
    });
    io.on_message("join", |socket, msg: Room| async move {
        socket.join(&msg.room).await?;
        Ok::<_, Error>(Ack(json!({ "ok": true, "room": msg.room })))
    });
    io.on_message("leave", |socket, msg: Room| async move {
        socket.leave(&msg.room).await?;
        Ok::<_, Error>(Ack(json!({ "ok": true, "room": msg.room })))
    });
    io.on_message("say", |socket, msg: Say| async move {
        let out = json!({ "from": socket.id(), "room": msg.room, "text": msg.text });
        socket.to(&msg.room).emit("say", &out).await?;
        Ok::<_, Error>(Ack(json!({ "ok": true })))
    });
    io.on_message("remember", |socket, msg: Remember| async move {
        socket.set(&msg.key, &msg.value).await?;
        Ok::<_, Error>(Ack(json!({ "ok": true })))
    });
    io.on_message("recall", |socket, msg: Recall| async move {
        let value: Option<Value> = socket.get(&msg.key).await?;
        let out = json!({ "key": msg.key, "value": value });
        socket.emit("recall", &out).await?;
        Ok::<_, Error>(Ack(out))
    });
}

/// The whole app: the page at `/`, the API at `/socket`.
///
/// ```
/// let io = socket_serve::SocketServe::new(Default::default()).unwrap();
/// chat::register(&io);
/// let app: axum::Router = chat::app(&io);
/// # let _ = app;
/// ```
pub fn app(io: &SocketServe) -> axum::Router {
    axum::Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .nest("/socket", io.router())
}

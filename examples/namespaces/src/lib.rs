//! The namespaces example: two independent socket-serve namespaces in one axum app
//! (`cargo run -p namespaces`; `REDIS_URL` puts both on one Redis, apart by key prefix).
//!
//! - `/chat`: anyone; `welcome` `{"ns": "chat"}` on connect, `say` is broadcast as `said`.
//! - `/staff`: its own handlers and sessions; `welcome` `{"ns": "staff"}`, `whoami` acks
//!   `"staff"`, `ping` emits `pong` back, `online` acks how many `/chat` sessions are in
//!   its `lobby` (a namespace may use another's server handle: they are plain values).
//!
//! A session of one namespace is unknown to the other: its emits, rooms and broadcasts
//! stay inside.

use serde_json::{json, Value};
use socket_serve::{Ack, Config, Error, SocketServe};

/// What building a namespace may fail with: a message for the operator.
pub type BuildError = entry_points::Error;

/// One namespace's server on `config`'s store, with the keys of `prefix` when on Redis.
fn namespace(config: &Config, prefix: &str) -> Result<SocketServe, BuildError> {
    let config = Config {
        key_prefix: prefix.to_owned(),
        ..config.clone()
    };
    Ok(SocketServe::new(config)?)
}

fn chat(config: &Config) -> Result<SocketServe, BuildError> {
    let io = namespace(config, "ns-chat")?;
    io.on_connect(|socket| async move {
        socket.join("lobby").await?;
        socket.emit("welcome", json!({ "ns": "chat" })).await
    });
    io.on_message("say", |socket, data: Value| async move {
        socket.broadcast("said", data).await
    });
    Ok(io)
}

fn staff(config: &Config, chat: &SocketServe) -> Result<SocketServe, BuildError> {
    let io = namespace(config, "ns-staff")?;
    io.on_connect(|socket| async move { socket.emit("welcome", json!({ "ns": "staff" })).await });
    io.on_message("whoami", |_socket, _: Value| async move {
        Ok::<_, Error>(Ack("staff"))
    });
    io.on_message("ping", |socket, data: Value| async move {
        socket.emit("pong", data).await
    });
    let chat = chat.clone();
    io.on_message("online", move |_socket, _: Value| {
        let chat = chat.clone();
        async move { Ok::<_, Error>(Ack(chat.presence("lobby").count().await?)) }
    });
    Ok(io)
}

/// Both namespaces on the server `config` describes (`/chat` and `/staff`), as every entry
/// point serves them.
///
/// ```
/// let app = namespaces::build(socket_serve::Config::default()).unwrap();
/// let router: axum::Router = app.into_router();
/// # let _ = router;
/// ```
pub fn build(config: Config) -> Result<entry_points::App, BuildError> {
    let chat = chat(&config)?;
    let staff = staff(&config, &chat)?;
    let router = axum::Router::new()
        .nest("/chat", chat.router())
        .nest("/staff", staff.router());
    Ok(entry_points::App::new(router, &chat).and(&staff))
}

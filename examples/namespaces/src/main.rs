//! `cargo run -p namespaces`: two independent socket-serve namespaces in one axum app, on
//! 127.0.0.1:3000 (`HOST`, `PORT` override; `REDIS_URL` puts both on one Redis, apart by
//! key prefix).
//!
//! - `/chat`: anyone; `welcome` `{"ns": "chat"}` on connect, `say` is broadcast as `said`.
//! - `/staff`: its own handlers and sessions; `welcome` `{"ns": "staff"}`, `whoami` acks
//!   `"staff"`, `ping` emits `pong` back, `online` acks how many `/chat` sessions are in its `lobby` (a namespace
//!   may use another's server handle: they are plain values).
//!
//! A session of one namespace is unknown to the other: its emits, rooms and broadcasts
//! stay inside.

use serde_json::{json, Value};
use socket_serve::{Ack, Config, Error, SocketServe};

/// One namespace's server, with the keys of `prefix` when on Redis.
fn namespace(prefix: &str) -> Result<SocketServe, Box<dyn std::error::Error>> {
    let config = Config {
        key_prefix: prefix.to_owned(),
        ..Config::from_env()?
    };
    Ok(SocketServe::new(config)?)
}

fn chat() -> Result<SocketServe, Box<dyn std::error::Error>> {
    let io = namespace("ns-chat")?;
    io.on_connect(|socket| async move {
        socket.join("lobby").await?;
        socket.emit("welcome", json!({ "ns": "chat" })).await
    });
    io.on_message("say", |socket, data: Value| async move {
        socket.broadcast("said", data).await
    });
    Ok(io)
}

fn staff(chat: &SocketServe) -> Result<SocketServe, Box<dyn std::error::Error>> {
    let io = namespace("ns-staff")?;
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

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let chat = chat()?;
    let staff = staff(&chat)?;
    let app = axum::Router::new()
        .nest("/chat", chat.router())
        .nest("/staff", staff.router());
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = tokio::net::TcpListener::bind(format!("{host}:{port}")).await?;
    // Tests read this line to learn the port.
    println!(
        "socket-serve namespaces listening on http://{}",
        listener.local_addr()?
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(socket_serve::shutdown_signal())
        .await?;
    Ok(())
}

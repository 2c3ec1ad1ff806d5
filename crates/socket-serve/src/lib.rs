//! # socket-serve
//!
//! Real-time messaging with a Socket.IO-style API (`on_connect`, `on_message`,
//! `on_disconnect`; `emit`, `broadcast`, rooms, session state, acks) that runs where
//! WebSockets cannot: serverless functions and any plain HTTP host. Client to server is
//! HTTP `POST`; server to client is Server-Sent Events, with long-polling as a fallback.
//!
//! All state and fan-out live in the [store](crate::store): Redis (set `REDIS_URL`), so
//! every request may land on a different, short-lived instance, or an embedded in-memory
//! store for one process, so a first run needs nothing installed.
//!
//! ## Quick start (axum)
//!
//! ```no_run
//! use serde::{Deserialize, Serialize};
//! use serde_json::json;
//! use socket_serve::{Config, SocketServe};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Chat { text: String }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let io = SocketServe::new(Config::from_env()?)?;
//!     io.on_connect(|socket| async move { socket.emit("welcome", &json!({"id": socket.id()})).await });
//!     io.on_message("chat", |socket, msg: Chat| async move { socket.broadcast("chat", &msg).await });
//!     let app = axum::Router::new().nest("/socket", io.router());
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//!     axum::serve(listener, app).await?;
//!     Ok(())
//! }
//! ```
//!
//! ## Guarantees
//! - **Exactly once, in order.** Every message a session is sent reaches its client once,
//!   in the order it was stored, across stream cuts and instance deaths, while it is
//!   inside the recovery window; past it the client is told (`recovered: false`).
//! - **Idempotent emits.** A client emit retried with the same `messageId` runs no
//!   handler twice and gets the same answer.
//! - **Handlers run inside their request**, so nothing is lost when a serverless
//!   instance is frozen after answering.
//! - **Secrets stay secret.** Other clients only ever see a session's public id.
//!
//! ## Acks and typed payloads
//!
//! ```
//! use socket_serve::{Ack, SocketServe};
//!
//! let io = SocketServe::new(Default::default()).unwrap();
//! // The payload is deserialized (a wrong shape answers 400); the return value is the ack.
//! io.on_message("add", |_socket, (a, b): (i64, i64)| async move {
//!     Ok::<_, socket_serve::Error>(Ack(a + b))
//! });
//! ```
//!
//! ## Layers
//! [`protocol`] (wire types) → [`store`] (state and fan-out) → engine ([`SocketServe`],
//! [`Socket`]) → transport (SSE, long-polling) → http ([`SocketServeService`]) →
//! integrations ([`SocketServe::router`] for axum). The wire protocol is written down in
//! `docs/PROTOCOL.md`, the design in `docs/DESIGN.md`.

#![warn(missing_docs)]

mod config;
mod engine;
mod error;
mod http;
mod integrations;
pub mod platform;
pub mod store;
mod transport;

pub use socket_serve_protocol as protocol;

pub use config::{Config, ConfigError, StoreConfig};
pub use engine::{
    shutdown_signal, Ack, Emitter, HandlerOutput, Handshake, IntoAck, RequestInfo, RoomEmitter,
    SessionEmitter, Socket, SocketServe,
};
pub use error::{BoxError, Error, HandlerError, HandlerResult};
pub use http::SocketServeService;
#[cfg(feature = "lambda")]
pub use integrations::lambda;
pub use platform::Platform;

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
//! ## Handlers, acks and errors
//!
//! A handler is an `async fn` taking the [`Socket`] and the typed payload (a payload that
//! does not fit answers 400 and the handler does not run). It returns a
//! [`HandlerResult`]: `Ok` carries the ack, and `?` works on any error. socket-serve's own
//! errors keep their status and code (a Redis outage is a 503 the clients retry); others
//! are a 500 `handler_error` whose detail is logged at `error` with the event and the
//! session's public id, not sent.
//!
//! ```
//! use socket_serve::{Ack, HandlerResult, Socket, SocketServe};
//!
//! async fn add(_socket: Socket, (a, b): (i64, i64)) -> HandlerResult<Ack<i64>> {
//!     Ok(Ack(a.checked_add(b).ok_or("overflow")?))
//! }
//!
//! let io = SocketServe::new(Default::default()).unwrap();
//! io.on_message("add", add);
//! ```
//!
//! ## The request, auth and session data
//!
//! Handlers see their HTTP request ([`Socket::request`]: headers, cookies, query,
//! extensions a tower layer inserted, the peer). [`SocketServe::authorize`] judges each
//! `/connect` before a session exists (401/403 store nothing) and gives the session its
//! data, which every later handler reads with [`Socket::data`] at no extra store cost.
//!
//! ```
//! use socket_serve::{HandlerError, HandlerResult, Handshake, Socket, SocketServe};
//!
//! async fn authorize(handshake: Handshake) -> Result<String, HandlerError> {
//!     match handshake.bearer_token() {
//!         Some(token) if token.starts_with("user:") => Ok(token[5..].to_owned()),
//!         _ => Err(HandlerError::unauthorized("a token is required")),
//!     }
//! }
//!
//! async fn whoami(socket: Socket, _: serde_json::Value) -> HandlerResult<socket_serve::Ack<String>> {
//!     let user: String = socket.data()?.unwrap_or_default();
//!     Ok(socket_serve::Ack(user))
//! }
//!
//! let io = SocketServe::new(Default::default()).unwrap();
//! io.authorize(authorize);
//! io.on_message("whoami", whoami);
//! ```
//!
//! ## App state, the server, and emitting from anywhere
//!
//! [`SocketServe::with_state`] hands values to every handler ([`Socket::state`]);
//! [`Socket::server`] reaches the whole server from a handler (`server().emit` includes
//! the sender). Outside any handler, [`SocketServe::to_session`] addresses one session by
//! its public id, and an [`Emitter`] does all of it from another process on the same
//! Redis (a cron job, a webhook; also `socket-serve emit` on the command line).
//!
//! ```
//! # async fn f(io: socket_serve::SocketServe) -> Result<(), socket_serve::Error> {
//! io.to_session("p-4f2a").emit("notice", serde_json::json!({"unread": 2})).await?;
//! io.to("lobby").emit("tick", 1).await?;
//! io.emit("announcement", "deploying").await?;
//! # Ok(()) }
//! ```
//!
//! ## Namespaces
//!
//! Several independent servers fit in one app: one [`SocketServe`] per base path, each
//! with its own handlers and its own [`Config::key_prefix`], so their sessions, rooms and
//! broadcasts never meet, even on one Redis. A session id of `/chat` is an
//! `unknown_session` under `/admin`. Clients connect to each base as to a server of its
//! own (`connect("/chat")`, `Client::new(".../admin", ..)`).
//!
//! ```
//! use socket_serve::{Config, SocketServe};
//!
//! let chat = SocketServe::new(Config { key_prefix: "chat".into(), ..Config::default() }).unwrap();
//! let admin = SocketServe::new(Config { key_prefix: "admin".into(), ..Config::default() }).unwrap();
//! chat.on_message("say", |socket, text: String| async move { socket.broadcast("said", text).await });
//! admin.on_message("kick", |socket, id: String| async move {
//!     socket.server().to_session(&id).disconnect().await
//! });
//! let app: axum::Router = axum::Router::new()
//!     .nest("/chat", chat.router())
//!     .nest("/admin", admin.router());
//! # let _ = app;
//! ```
//!
//! ## Serverless
//!
//! The [`Platform`] is detected from the environment: streams and long-polls end a margin
//! before its time limit, and clients resume with nothing lost. On AWS Lambda serve the
//! app with `lambda::run` (feature `lambda`); `docs/DEPLOY.md` covers every platform.
//!
//! ## Cargo features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `redis` | yes | the Redis store (`store::redis::RedisStore`), chosen by [`Config::from_env`] when `REDIS_URL` is set; without it only the in-memory [`store::MemoryStore`] (one process) |
//! | `tls` | yes | `rediss://` URLs: TLS to Redis through rustls with the ring provider and the system's root certificates (turns on `redis`) |
//! | `lambda` | no | AWS Lambda: `socket_serve::lambda::run(app)`, streamed responses for a Function URL with invoke mode `RESPONSE_STREAM` |
//!
//! ```toml
//! [dependencies]
//! socket-serve = "0.1"                                                        # redis + tls
//! # socket-serve = { version = "0.1", features = ["lambda"] }                # on AWS Lambda
//! # socket-serve = { version = "0.1", default-features = false }             # memory store only
//! ```
//!
//! ## Layers
//! [`protocol`] (wire types) → [`store`] (state and fan-out) → engine ([`SocketServe`],
//! [`Socket`]) → transport (SSE, long-polling) → http ([`SocketServeService`]) →
//! integrations ([`SocketServe::router`] for axum). The wire protocol is written down in
//! `docs/PROTOCOL.md`, the design in `docs/DESIGN.md`.

#![warn(missing_docs)]

mod config;
mod cors;
mod engine;
mod error;
mod http;
mod integrations;
pub mod platform;
mod rate_limits;
mod serve;
mod socketio;
pub mod store;
mod transport;

pub use socket_serve_protocol as protocol;
/// Binary payloads: [`Binary`] (a handler's payload, a field, an emit's data), and
/// `#[serde(with = "socket_serve::binary")]` for `Vec<u8>` and `bytes::Bytes` fields. Bytes
/// travel inside the JSON as `{"__ssbin": "<base64>"}` (`docs/PROTOCOL.md` section 6) and
/// both clients hand them to the app as bytes (a `Uint8Array` in JavaScript). Base64 makes
/// them 4/3 as large, and `Config::max_body_size` (1 MiB by default) bounds what one
/// client POST carries: about 760 KiB of bytes.
///
/// ```
/// use serde::Deserialize;
/// use socket_serve::{Ack, Binary, HandlerResult, Socket, SocketServe};
///
/// #[derive(Deserialize)]
/// struct Upload {
///     name: String,
///     #[serde(with = "socket_serve::binary")]
///     bytes: Vec<u8>,
/// }
///
/// async fn upload(socket: Socket, file: Upload) -> HandlerResult<Ack<usize>> {
///     socket.emit("stored", serde_json::json!({"name": file.name})).await?;
///     Ok(Ack(file.bytes.len()))
/// }
///
/// async fn head(socket: Socket, image: Binary) -> HandlerResult<Ack<Binary>> {
///     socket.emit("image", &image).await?; // a Uint8Array in the JavaScript client
///     Ok(Ack(Binary::from(&image[..image.len().min(16)])))
/// }
///
/// let io = SocketServe::new(Default::default()).unwrap();
/// io.on_message("upload", upload);
/// io.on_message("head", head);
/// ```
pub use socket_serve_protocol::binary::{self, Binary};

pub use config::{Config, ConfigError, StoreConfig};
pub use cors::{AllowedOrigins, CorsConfig, InvalidOrigin, Origin};
pub use engine::{
    shutdown_signal, Ack, BroadcastOperator, Emitter, HandlerOutput, Handshake, IntoAck, Presence,
    PresenceMember, PresencePage, RemoteSocket, RequestInfo, RoomEmitter, SessionEmitter, Socket,
    SocketServe,
};
/// Presence event names and the page limit ([`Presence`]).
pub mod presence {
    pub use crate::engine::{MAX_PAGE, PRESENCE_JOIN, PRESENCE_LEAVE, PRESENCE_UPDATE};
}
pub use error::{BoxError, Error, HandlerError, HandlerResult};
pub use http::SocketServeService;
#[cfg(feature = "lambda")]
pub use integrations::lambda;
pub use platform::Platform;
pub use rate_limits::RateLimits;
pub use serve::{serve, ServeConfig};
pub use socketio::{SocketIo, SocketIoOptions, SocketIoService};

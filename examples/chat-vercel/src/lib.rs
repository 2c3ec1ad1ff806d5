//! # chat-vercel: the chat example as one Vercel Function
//!
//! The chat example's app, [`chat::register`] and [`chat::app`] (the page at `/`, the
//! socket-serve API at `/socket`), served by Vercel's Rust runtime ([`entry_points::vercel`],
//! shared by every example's Vercel entry point): `vercel_runtime` with
//! its `axum` feature, whose `VercelLayer` turns the axum `Router` into the service
//! `vercel_runtime::run` takes. The function is `api/chat.rs` (the binary `chat-vercel`);
//! `vercel.json` rewrites `/` and `/socket/*` to it. A rewrite keeps the path the browser
//! asked for, so the app routes exactly as it does behind `axum::serve`.
//!
//! ## What runs where
//! - **State in Redis.** Every request may reach another instance, and instances share
//!   nothing but the store: on Vercel (`VERCEL` set) the function refuses to start without
//!   `REDIS_URL` ([`entry_points::vercel::config_from_env`]). Locally, without `VERCEL`, the in-memory store
//!   serves one process.
//! - **Streaming.** The runtime streams a response only when its content type contains
//!   `text/event-stream` or `application/json` and buffers the rest. socket-serve's SSE
//!   streams and long-poll answers have those types; the page and `client.js` are small
//!   and buffered.
//! - **The time limit.** A Vercel Function runs at most `maxDuration` (300 s by default).
//!   [`socket_serve::Config::from_env`] sees `VERCEL` and ends each stream with `retry:`
//!   a safety margin before it (`SOCKET_SERVE_PLATFORM_MAX_DURATION_MS` when you change
//!   `maxDuration`); the client resumes from its cursor, nothing lost.
//! - **Responses hold their invocation** ([`entry_points::vercel::response_lifetime`]):
//!   Vercel hears a request ended when its body has been sent, and shutdown waits for
//!   open streams.
//! - **Shutdown.** SIGTERM, as the runtime handles it: no new connections, and open
//!   streams end with `retry:` at once (socket-serve's graceful shutdown); the process
//!   exits when the last response is out, or after `shutdown_grace`.
//!
//! ## The same runtime around the bare service
//! An app whose pages come from elsewhere can serve only the API, from a function at
//! `api/socket/[[...path]].rs`, with the tower service socket-serve gives for a known base:
//!
//! ```no_run
//! use socket_serve::{Config, SocketServe};
//! use tower::ServiceBuilder;
//! use vercel_runtime::axum::VercelLayer;
//!
//! #[tokio::main]
//! async fn main() -> Result<(), vercel_runtime::Error> {
//!     let io = SocketServe::new(Config::from_env()?)?;
//!     chat::register(&io);
//!     let service = ServiceBuilder::new()
//!         .layer(VercelLayer::new())
//!         .service(io.service_at("/api/socket"));
//!     vercel_runtime::run(service).await
//! }
//! ```
//!
//! ## Running it locally
//! `vercel_runtime::run` is a plain HTTP/1 server on `127.0.0.1:$VERCEL_DEV_PORT`. Like
//! the `chat` binary, this one also takes `PORT` (0 picks a free port; see
//! [`entry_points::vercel::port`]) and
//! prints [`LISTENING`]`http://127.0.0.1:<port>` once the port accepts connections:
//!
//! ```sh
//! cargo run -p chat-vercel                                   # memory store, port 3000
//! REDIS_URL=redis://127.0.0.1:6379 PORT=0 cargo run -p chat-vercel
//! ```

#![warn(missing_docs)]

use socket_serve::{Config, SocketServe};

pub use entry_points::vercel::{config_from_env, port, response_lifetime};
pub use entry_points::Error;

/// The start of the line printed once the server accepts connections (followed by
/// `http://127.0.0.1:<port>`). Tests and benchmarks read it, as they read the `chat`
/// binary's.
pub const LISTENING: &str = "socket-serve chat listening on ";

/// The chat app on the server `config` describes: what the function serves.
///
/// ```
/// let app = chat_vercel::app(socket_serve::Config::default()).unwrap();
/// # let _ = app;
/// ```
pub fn app(config: Config) -> Result<entry_points::App, Error> {
    let io = SocketServe::new(config)?;
    chat::register(&io);
    Ok(entry_points::App::new(chat::app(&io), &io))
}

/// Serves the chat app on `127.0.0.1:port` through `vercel_runtime::run` until SIGTERM
/// (or Ctrl-C), then shuts down gracefully. `port` must be the port the runtime binds:
/// set `VERCEL_DEV_PORT` to it before the Tokio runtime starts (see [`port::choose`]).
pub async fn serve(port: u16) -> Result<(), Error> {
    entry_points::vercel::serve("chat", port, app).await
}

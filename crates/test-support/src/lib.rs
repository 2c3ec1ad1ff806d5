//! # socket-serve test support
//!
//! The machinery every socket-serve test shares, written once: real servers on loopback,
//! a real Redis, and a client that speaks the wire protocol (`docs/PROTOCOL.md`) byte for
//! byte. No mocks: every test drives a server over HTTP the way a browser or the 0.6.0
//! client would.
//!
//! - [`TestServer`]: an in-process server (the chat app, or handlers of the test's own) on
//!   `127.0.0.1:<free port>`, mounted at `/socket` like the chat example, or as the tower
//!   service under a serverless-style base path ([`Mount`]).
//! - [`TestStore`]: the store a test runs on. [`TestStore::from_env`] picks it from
//!   `SOCKET_SERVE_TEST_STORE` (`memory`, the default, or `redis`), so the same tests run
//!   against both stores.
//! - [`RedisServer`]: a private `redis-server` per test, on a free port with its own
//!   directory, killed on drop. It never touches a Redis the machine happens to run.
//! - [`RawClient`]: `connect`, `emit`, `disconnect`, polls and streams as calls of
//!   `socket_serve_client::raw::Api` (the one protocol client in Rust), each asserting it
//!   succeeded; and an HTTP test tool for any request a misbehaving client could make, each
//!   answer an [`Answer`] (status, headers, body, parsed JSON) to assert errors on, plus
//!   the raw bytes of a stream for what SSE parsers hide (comments, the final blank line).
//! - [`EventStream`]: an open stream, the frames of `socket_serve_client::raw::FrameStream`
//!   as [`Frame`]s with bounded waits (`next_frame`, `wait_for`, `expect_end`).
//! - [`ChatProcess`]: the chat example's binary as a child process, as the README runs it.
//!   It needs `target/debug/chat` built first: **run `cargo build -p chat` before the
//!   tests** (a test cannot run cargo itself while cargo holds the build lock).
//!
//! Every wait is bounded and panics with a message that says what did not happen.
//!
//! ```no_run
//! use std::time::Duration;
//! use serde_json::json;
//! use socket_serve_test_support::TestServer;
//!
//! # async fn example() {
//! let server = TestServer::chat().await;
//! let client = server.client();
//! let alice = client.connect().await;
//! let mut stream = client.open_stream(&alice.session_id).await;
//! stream.expect_connected(Duration::from_secs(5)).await;
//! client.emit(&alice, "echo", json!({"n": 1})).await;
//! let echo = stream.wait_for_event("echo", Duration::from_secs(5)).await;
//! assert_eq!(echo.payload(), &json!({"n": 1}));
//! # }
//! ```

#![warn(missing_docs)]

mod chat_process;
mod event_stream;
mod lambda;
mod raw_client;
mod redis_server;
mod test_server;
mod test_store;
mod wait;

pub use chat_process::{built_binary, rss_kib, ChatProcess};
pub use event_stream::{EventStream, Frame, Resume};
pub use lambda::{InstanceInfo, InstanceState, LambdaOptions, LambdaStats, LocalLambda};
pub use raw_client::{Answer, RawClient, Session};
pub use redis_server::{RedisOptions, RedisServer};
pub use test_server::{Mount, TestServer, TestServerBuilder};
pub use test_store::TestStore;
pub use wait::{within, DEFAULT_WAIT};

pub use chat;

/// A `reqwest` client builder for tests. In this workspace reqwest is built with
/// `rustls-no-provider` (the Rust client brings its own ring configuration), so a plain
/// builder would panic for want of a process-wide crypto provider: this installs ring as
/// that provider first (once; tests only ever speak plain HTTP on loopback anyway).
///
/// ```
/// let http = socket_serve_test_support::http_client().build().unwrap();
/// # let _ = http;
/// ```
pub fn http_client() -> reqwest::ClientBuilder {
    static PROVIDER: std::sync::Once = std::sync::Once::new();
    PROVIDER.call_once(|| {
        // Err only when another provider is installed already, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
}
pub use reqwest;
pub use socket_serve;
pub use socket_serve::protocol::Cursor;

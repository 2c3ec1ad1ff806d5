//! A Rust client for [socket-serve](https://example.invalid/socket-serve) servers: Socket.IO-style
//! events over plain HTTP, made for serverless hosts.
//!
//! Messages go up as `POST {base}/message` and come down on one Server-Sent Events stream
//! (`GET {base}/sse`), or by long-polling where a stream cannot be kept open. The client
//! hides all of that behind the model of the JavaScript client: **events with names and
//! JSON payloads, in both directions, that survive network failures.**
//!
//! # A first client
//!
//! ```no_run
//! use std::time::Duration;
//! use serde::Deserialize;
//! use serde_json::json;
//! use socket_serve_client::{Client, ClientEvent, ClientOptions};
//!
//! #[derive(Debug, Deserialize)]
//! struct Chat {
//!     from: String,
//!     text: String,
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), socket_serve_client::Error> {
//!     // 1. Create it; nothing is sent yet.
//!     let client = Client::new("http://127.0.0.1:3000/socket", ClientOptions::default())?;
//!
//!     // 2. Typed handlers: the payload is decoded for you. A payload of another shape
//!     //    never reaches the handler; it becomes an `Error::Payload` event instead.
//!     client.on("chat", |msg: Chat| println!("{}: {}", msg.from, msg.text));
//!
//!     // 3. Or read everything, lifecycle included, as a stream.
//!     let mut events = client.events();
//!
//!     // 4. Start. `socket_serve_client::connect(url, options)` does steps 1 and 4 at once.
//!     client.open()?;
//!
//!     // Emits are buffered until the connection is up, and always sent in order.
//!     client.emit("chat", json!({"text": "hello"}))?;
//!
//!     // A refused connection says why (status, code, the server's message).
//!     client.wait_connected(Duration::from_secs(5)).await?;
//!
//!     // A handler's reply comes back as the ack.
//!     let echo = client.emit_with_ack::<serde_json::Value>("echo", json!({"n": 1})).await?;
//!     println!("echo: {echo}");
//!
//!     while let Some(event) = events.recv().await {
//!         match event {
//!             ClientEvent::Connect { recovered } => println!("connected (recovered: {recovered})"),
//!             ClientEvent::Disconnect { reason } => println!("disconnected: {reason}"),
//!             ClientEvent::Message(m) => println!("{} {}", m.event, m.data),
//!             _ => {}
//!         }
//!     }
//!     Ok(())
//! }
//! ```
//!
//! # What the client guarantees
//!
//! - **Every emit is sent once, in order.** Each carries a unique `messageId`. A POST that
//!   fails on the network or with a 5xx is retried, with backoff, with the *same*
//!   `messageId`, so the server runs its handler once even if the first attempt did reach it.
//!   A 4xx answer is final for that emit (awaiting its [`Delivery`] gives the error). Emits
//!   made before the connection is up, or while it is down, wait in a bounded buffer
//!   ([`ClientOptions::max_buffered`]); one too many is refused with [`Error::BufferFull`].
//! - **Nothing is lost or seen twice across reconnects.** Every frame carries a cursor. After
//!   a network failure the client reconnects with exponential backoff and full jitter
//!   (500 ms base, 30 s cap, no attempt limit by default) and resumes the *same* session
//!   from its last cursor (`Last-Event-ID`); frames at or below it are dropped. When the
//!   server rotates a stream on purpose (`retry:` then end of stream) the client resumes
//!   without reporting anything.
//! - **Lost state is reported.** [`ClientEvent::Connect`] says `recovered: false` for a new
//!   session (the first, or one made because the server no longer knew the old one: a
//!   404 `unknown_session`) and when a resume could not replay everything. That is the cue
//!   to join rooms again.
//! - **It works without SSE.** With [`Transport::Auto`] (the default) a server or proxy that
//!   does not deliver an event stream makes the client fall back to long-polling, with the
//!   same cursor rules.
//! - **The network cannot make it panic.** Malformed frames, wrong payload shapes and
//!   refused requests are [`Error`] values, reported through [`ClientEvent::Error`] when
//!   nobody awaits them.
//!
//! # Lifecycle
//!
//! [`ClientEvent`] reports, in order: `Connect { recovered }`, `Disconnect { reason }`,
//! `Reconnecting { attempt, delay }` (before each wait), `ConnectError { error }` (each failed
//! attempt), `Reconnect { attempt }` (just before the `Connect` that ends an outage). A
//! `__disconnect` frame from the server (the app disconnected this client) closes the client
//! for good, as does [`Client::disconnect`]; every [`EventStream`] then ends.
//!
//! # Refused connections
//!
//! A server that refuses the connection (`POST /connect` answered 401, 403, 503...) is
//! reported with its status, code and message: [`Client::wait_connected`] returns
//! [`Error::Rejected`], and so does [`Client::open`] once a final refusal (a 4xx) closed the
//! client. A 5xx refusal is retried with backoff.
//!
//! # Cargo features
//!
//! | feature | default | what it does |
//! |---|---|---|
//! | `rustls` | yes | HTTPS through rustls with the ring crypto provider (the server's TLS stack too; no aws-lc-sys) and the platform's certificate verifier. No process-wide provider is installed |
//! | `native-tls` | no | HTTPS through the platform's TLS library (OpenSSL on Linux), for `default-features = false, features = ["native-tls"]` |
//!
//! Without either, only `http://` URLs work.
//!
//! # Lower level
//!
//! [`raw::Api`] exposes each endpoint as one async call, without sessions, retries or
//! deduplication, for protocol tests and load generators.

#![warn(missing_docs)]

mod ack;
mod backoff;
mod client;
mod driver;
mod error;
mod event;
mod options;
mod outbox;
pub mod raw;
mod sender;
mod tracker;

pub use ack::AckHandle;
pub use backoff::Backoff;
pub use client::{connect, Client};
pub use error::Error;
pub use event::{ClientEvent, DisconnectReason, EventStream, Message};
pub use options::{ClientOptions, Transport};
pub use outbox::Delivery;
/// Binary payloads: [`Binary`] and `#[serde(with = "socket_serve_client::binary")]` for
/// `Vec<u8>` and `bytes::Bytes` fields. Bytes travel inside the JSON as
/// `{"__ssbin": "<base64>"}`; typed handlers ([`Client::on`]), acks
/// ([`Client::emit_with_ack`]) and emits turn them into bytes and back. Untyped data
/// ([`Message::data`]) keeps the marker object: decode it with [`Message::decode`] or
/// [`binary::from_value`].
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use socket_serve_client::{binary, Binary, Client, ClientOptions};
///
/// #[derive(Serialize, Deserialize)]
/// struct Upload {
///     name: String,
///     #[serde(with = "socket_serve_client::binary")]
///     bytes: Vec<u8>,
/// }
///
/// let client = Client::new("http://127.0.0.1:3000/socket", ClientOptions::default())?;
/// client.on("thumbnail", |image: Binary| println!("{} bytes", image.len()));
/// client.on("upload", |file: Upload| println!("{}: {} bytes", file.name, file.bytes.len()));
/// client.emit("upload", Upload { name: "a.bin".into(), bytes: vec![0, 1, 2] })?;
/// client.emit("raw", Binary::from_static(b"\x00\x01"))?;
/// assert_eq!(binary::to_value(b"hi"), serde_json::json!({"__ssbin": "aGk="}));
/// # Ok::<(), socket_serve_client::Error>(())
/// ```
pub use socket_serve_protocol::binary::{self, Binary};
pub use socket_serve_protocol::Cursor;

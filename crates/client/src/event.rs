//! What a client reports: messages from the server and lifecycle changes.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use socket_serve_protocol::{Cursor, Envelope};
use tokio::sync::mpsc;

use crate::Error;

/// A message the server sent to this client.
///
/// ```
/// use socket_serve_client::Message;
/// use serde_json::json;
///
/// #[derive(serde::Deserialize)]
/// struct Chat { from: String, text: String }
///
/// let msg = Message::new("chat", json!({"from": "Qx3", "text": "hi"}));
/// let chat: Chat = msg.decode().unwrap();
/// assert_eq!(chat.text, "hi");
/// assert!(msg.decode::<u32>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Message {
    /// The event name.
    pub event: String,
    /// The payload.
    pub data: Value,
    /// The public id of the client whose message caused this one (broadcasts, rooms).
    pub from: Option<String>,
    /// The room it was sent to, for room messages.
    pub room: Option<String>,
    /// When the server stored it, in milliseconds since the Unix epoch.
    pub timestamp: Option<u64>,
    /// Its position in the server's history (absent only from 0.6.0-style polling).
    pub cursor: Option<Cursor>,
    /// Set when the server waits for a reply (its `emit_with_ack`): answer with
    /// [`Client::ack`](crate::Client::ack), or register the handler with
    /// [`Client::on_with_ack`](crate::Client::on_with_ack).
    pub ack_id: Option<String>,
}

impl Message {
    /// A message with an event and a payload, and nothing else (for tests of handlers).
    ///
    /// ```
    /// use socket_serve_client::Message;
    /// let m = Message::new("tick", serde_json::json!(3));
    /// assert_eq!(m.decode::<u64>().unwrap(), 3);
    /// assert_eq!(m.from, None);
    /// ```
    pub fn new(event: impl Into<String>, data: Value) -> Self {
        Message {
            event: event.into(),
            data,
            from: None,
            room: None,
            timestamp: None,
            cursor: None,
            ack_id: None,
        }
    }

    pub(crate) fn from_envelope(env: Envelope, cursor: Option<Cursor>) -> Self {
        Message {
            event: env.event,
            data: env.data,
            from: env.from,
            room: env.room,
            timestamp: env.timestamp,
            cursor,
            ack_id: env.ack_id,
        }
    }

    /// The payload as a `T`, or [`Error::Payload`] naming the event when it has another shape.
    ///
    /// ```
    /// use socket_serve_client::{Error, Message};
    /// let m = Message::new("tick", serde_json::json!("three"));
    /// assert!(matches!(m.decode::<u64>(), Err(Error::Payload { event, .. }) if event == "tick"));
    /// ```
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, Error> {
        T::deserialize(&self.data).map_err(|e| Error::payload(&self.event, &e))
    }
}

/// Why a client stopped being connected.
///
/// ```
/// use socket_serve_client::DisconnectReason;
/// assert_eq!(DisconnectReason::SessionExpired.to_string(), "session expired");
/// assert!(DisconnectReason::ServerDisconnect.is_final());
/// assert!(!DisconnectReason::TransportClose.is_final());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The session was ended by a client: this one called
    /// [`disconnect`](crate::Client::disconnect), or someone posted `{base}/disconnect` for it.
    /// Final: the client does not reconnect.
    ClientDisconnect,
    /// The server ended the session (the app called `socket.disconnect()`). Final.
    ServerDisconnect,
    /// The session expired or the server forgot it (404 `unknown_session`, or a
    /// `__disconnect` frame with reason `expired`). The client connects anew and then
    /// reports `Connect { recovered: false }`.
    SessionExpired,
    /// The stream or a long-poll failed (network error, stall, 5xx). The client reconnects
    /// and resumes the same session.
    TransportError(String),
    /// The server ended the stream without announcing a reconnect (no `retry:`). The client
    /// reconnects and resumes the same session.
    TransportClose,
    /// A `__replaced` frame: the session opened more streams than the server allows
    /// (`max_streams_per_session`) and this client's was the oldest. The session lives on
    /// in the newer streams. Final: the client does not reconnect, so two clients of one
    /// session never take turns ending each other.
    Replaced,
    /// A `__disconnect` frame with a reason this client does not know. Final.
    Other(String),
}

impl DisconnectReason {
    /// Whether the client stays closed after this (it does not reconnect).
    ///
    /// ```
    /// use socket_serve_client::DisconnectReason;
    /// assert!(DisconnectReason::ClientDisconnect.is_final());
    /// assert!(!DisconnectReason::SessionExpired.is_final());
    /// assert!(DisconnectReason::Replaced.is_final());
    /// ```
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            DisconnectReason::ClientDisconnect
                | DisconnectReason::ServerDisconnect
                | DisconnectReason::Replaced
                | DisconnectReason::Other(_)
        )
    }

    /// The reason of a `__disconnect` frame (`"server disconnect"`, `"client disconnect"`,
    /// `"expired"`).
    pub(crate) fn from_frame(reason: &str) -> Self {
        match reason {
            "server disconnect" => DisconnectReason::ServerDisconnect,
            "client disconnect" => DisconnectReason::ClientDisconnect,
            "expired" => DisconnectReason::SessionExpired,
            other => DisconnectReason::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DisconnectReason::ClientDisconnect => f.write_str("client disconnect"),
            DisconnectReason::ServerDisconnect => f.write_str("server disconnect"),
            DisconnectReason::SessionExpired => f.write_str("session expired"),
            DisconnectReason::TransportError(e) => write!(f, "transport error: {e}"),
            DisconnectReason::TransportClose => f.write_str("transport close"),
            DisconnectReason::Replaced => f.write_str("replaced"),
            DisconnectReason::Other(r) => f.write_str(r),
        }
    }
}

/// One thing that happened to a client, in the order it happened.
///
/// A connection's life reads, for example: `Connect { recovered: false }`, messages,
/// `Disconnect { reason: TransportError(..) }`, `Reconnecting { attempt: 1, .. }`,
/// `ConnectError { .. }`, `Reconnecting { attempt: 2, .. }`, `Reconnect { attempt: 2 }`,
/// `Connect { recovered: true }`, more messages. A stream that the server rotates on purpose
/// (`retry:` then end of stream) produces no event at all.
///
/// ```
/// use socket_serve_client::{ClientEvent, DisconnectReason};
///
/// fn describe(event: &ClientEvent) -> String {
///     match event {
///         ClientEvent::Connect { recovered: true } => "back, nothing lost".into(),
///         ClientEvent::Connect { recovered: false } => "connected (fresh state)".into(),
///         ClientEvent::Disconnect { reason } => format!("lost: {reason}"),
///         ClientEvent::Reconnecting { attempt, delay } => format!("retry #{attempt} in {delay:?}"),
///         ClientEvent::Message(m) => format!("{}: {}", m.event, m.data),
///         other => format!("{other:?}"),
///     }
/// }
/// assert_eq!(describe(&ClientEvent::Disconnect { reason: DisconnectReason::TransportClose }), "lost: transport close");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ClientEvent {
    /// The client is connected: the stream opened (SSE) or the first poll answered.
    /// `recovered` is `true` when a resume got every message since the last one seen, and
    /// `false` on a new session (the first connection, or after the old session expired) or
    /// when the server could not replay everything: the app should then rebuild its state
    /// (join its rooms again, reload).
    Connect {
        /// Whether nothing was lost since the previous connection.
        recovered: bool,
    },
    /// The client stopped being connected.
    Disconnect {
        /// Why.
        reason: DisconnectReason,
    },
    /// The client waits `delay`, then makes attempt number `attempt` (from 1) to connect.
    Reconnecting {
        /// The number of the attempt about to be made.
        attempt: u32,
        /// How long the client waits before it.
        delay: Duration,
    },
    /// A connection was established again after `attempt` attempts (followed by `Connect`).
    Reconnect {
        /// The number of the attempt that succeeded.
        attempt: u32,
    },
    /// An attempt to connect or to open the stream failed.
    ConnectError {
        /// What went wrong.
        error: Error,
    },
    /// A message from the server.
    Message(Message),
    /// Something failed that no caller is waiting for: a payload that did not fit a typed
    /// handler, a fire-and-forget emit that the server refused, a malformed frame.
    Error {
        /// What went wrong.
        error: Error,
    },
}

/// The events of a client, from the moment [`Client::events`](crate::Client::events) was
/// called. It ends when the client is closed for good.
///
/// It implements [`Stream`]; [`recv`](Self::recv) reads one event without
/// importing a stream extension trait.
///
/// ```no_run
/// # async fn run() -> Result<(), socket_serve_client::Error> {
/// use socket_serve_client::{connect, ClientEvent, ClientOptions};
///
/// let client = connect("http://127.0.0.1:3000/socket", ClientOptions::default())?;
/// let mut events = client.events();
/// while let Some(event) = events.recv().await {
///     if let ClientEvent::Message(m) = event {
///         println!("{} {}", m.event, m.data);
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct EventStream {
    pub(crate) rx: mpsc::UnboundedReceiver<ClientEvent>,
}

impl EventStream {
    /// The next event, or `None` once the client is closed and every event was read.
    ///
    /// ```no_run
    /// # async fn run(client: socket_serve_client::Client) {
    /// let mut events = client.events();
    /// while let Some(event) = events.recv().await {
    ///     println!("{event:?}");
    /// }
    /// # }
    /// ```
    pub async fn recv(&mut self) -> Option<ClientEvent> {
        self.rx.recv().await
    }

    /// The next event if one is already there, without waiting.
    ///
    /// ```
    /// let client = socket_serve_client::Client::new("http://127.0.0.1:3000/socket", Default::default()).unwrap();
    /// let mut events = client.events();
    /// assert!(events.try_recv().is_none()); // nothing happened yet
    /// ```
    pub fn try_recv(&mut self) -> Option<ClientEvent> {
        self.rx.try_recv().ok()
    }
}

impl Stream for EventStream {
    type Item = ClientEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ClientEvent>> {
        self.rx.poll_recv(cx)
    }
}

/// The `data` of a `__disconnect` frame.
#[derive(Debug, Deserialize)]
pub(crate) struct DisconnectData {
    #[serde(default)]
    pub(crate) reason: Option<String>,
}

//! The envelope: the one-line JSON object carried by every SSE `data:` line and every
//! polled message.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The event of the first frame of every stream.
pub const CONNECTED_EVENT: &str = "connected";

/// The event of the frame that answers a 0.6.0 client's `emit(event, data, callback)`.
pub const ACK_EVENT: &str = "__ack";

/// A message from the server to a client.
///
/// Its keys keep the ancestor's order (`event`, `data`, `timestamp`, ...) so a 0.6.0
/// client's `onmessage` reads it unchanged. It never carries a private session id: the
/// sender of a broadcast or room message is named by its public id in `from`.
///
/// ```
/// use socket_serve_protocol::Envelope;
/// use serde_json::json;
///
/// let env = Envelope::new("say", json!({"text": "hi"}), 7).from("pub-1").in_room("lobby");
/// assert_eq!(
///     env.to_json(),
///     r#"{"event":"say","data":{"text":"hi"},"timestamp":7,"from":"pub-1","room":"lobby"}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// The event name the client's handlers are registered for.
    pub event: String,
    /// The payload handed to those handlers.
    #[serde(default)]
    pub data: Value,
    /// When the server stored the message, in milliseconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<u64>,
    /// The public id of the session that caused a broadcast or room message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The room a room message was sent to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    /// For `__ack` frames: the `messageId` of the client emit being answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Set when the server waits for the client's reply (`emit_with_ack`): the client
    /// answers with `POST {base}/ack` carrying this id ([`AckRequest`](crate::AckRequest)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack_id: Option<String>,
}

impl Envelope {
    /// An envelope with an event, a payload and a timestamp.
    ///
    /// ```
    /// # use socket_serve_protocol::Envelope;
    /// let env = Envelope::new("tick", serde_json::json!(1), 10);
    /// assert_eq!(env.timestamp, Some(10));
    /// ```
    pub fn new(event: impl Into<String>, data: Value, timestamp_ms: u64) -> Self {
        Envelope {
            event: event.into(),
            data,
            timestamp: Some(timestamp_ms),
            from: None,
            room: None,
            message_id: None,
            ack_id: None,
        }
    }

    /// The `__ack` frame that answers the client emit `message_id` with `reply`.
    ///
    /// ```
    /// # use socket_serve_protocol::Envelope;
    /// let ack = Envelope::ack("m1", serde_json::json!("ok"), 3);
    /// assert_eq!(ack.to_json(), r#"{"event":"__ack","data":"ok","timestamp":3,"messageId":"m1"}"#);
    /// ```
    pub fn ack(message_id: impl Into<String>, reply: Value, timestamp_ms: u64) -> Self {
        let mut env = Envelope::new(ACK_EVENT, reply, timestamp_ms);
        env.message_id = Some(message_id.into());
        env
    }

    /// The same envelope, naming its sender by public id.
    pub fn from(mut self, public_id: impl Into<String>) -> Self {
        self.from = Some(public_id.into());
        self
    }

    /// The same envelope, naming the room it was sent to.
    pub fn in_room(mut self, room: impl Into<String>) -> Self {
        self.room = Some(room.into());
        self
    }

    /// The envelope as one line of JSON (never contains a newline).
    pub fn to_json(&self) -> String {
        // Serializing a struct of strings, numbers and `Value`s cannot fail.
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"))
    }
}

/// The payload of the `connected` frame that opens every stream.
///
/// ```
/// use socket_serve_protocol::ConnectedData;
/// let d = ConnectedData { id: "pub-1".into(), recovered: true };
/// assert_eq!(serde_json::to_string(&d).unwrap(), r#"{"id":"pub-1","recovered":true}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectedData {
    /// The session's public id.
    pub id: String,
    /// Whether every message after the requested position could be replayed. `false`
    /// means the position was older than the recovery window: some messages may be gone.
    pub recovered: bool,
}

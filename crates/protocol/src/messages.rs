//! Request and response bodies of the HTTP endpoints.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Cursor, Envelope};

/// Body of `POST {base}/connect`. The body may also be empty (as 0.6.0 clients send it).
///
/// ```
/// # use socket_serve_protocol::ConnectRequest;
/// let req: ConnectRequest = serde_json::from_str(r#"{"auth":{"token":"t"}}"#).unwrap();
/// assert_eq!(req.auth.unwrap()["token"], "t");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConnectRequest {
    /// Anything the app wants to check in `on_connect` (a token, a name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<Value>,
}

/// Answer to `POST {base}/connect`.
///
/// ```
/// # use socket_serve_protocol::ConnectResponse;
/// let res: ConnectResponse =
///     serde_json::from_str(r#"{"sessionId":"00112233445566778899aabbccddeeff","id":"p1"}"#).unwrap();
/// assert_eq!(res.id, "p1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectResponse {
    /// The private session credential: 32 lowercase hex digits. Never share it.
    pub session_id: String,
    /// The public id of the session, safe to show to other clients.
    pub id: String,
    /// The session's starting position: where a stream or long-poll without a cursor starts.
    /// (0.6.0 servers did not send it.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<Cursor>,
}

/// Body of `POST {base}/message`.
///
/// ```
/// # use socket_serve_protocol::MessageRequest;
/// let req: MessageRequest = serde_json::from_str(
///     r#"{"sessionId":"s","event":"chat","data":{"text":"hi"},"messageId":"m1"}"#,
/// ).unwrap();
/// assert_eq!(req.message_id.as_deref(), Some("m1"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageRequest {
    /// The private session credential from `/connect`.
    pub session_id: String,
    /// The event name the server's handler is registered for.
    pub event: String,
    /// The payload; `null` when left out.
    #[serde(default)]
    pub data: Value,
    /// A client-chosen id, unique within the session. A POST repeated with the same id runs
    /// no handler again and gets the first answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Set by 0.6.0 clients that wait for an `__ack` frame on their stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_ack: Option<bool>,
}

/// Answer to `POST {base}/message`.
///
/// ```
/// # use socket_serve_protocol::MessageResponse;
/// let res = MessageResponse { success: true, ack: Some(serde_json::json!(3)) };
/// assert_eq!(serde_json::to_string(&res).unwrap(), r#"{"success":true,"ack":3}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageResponse {
    /// Always `true` in a 2xx answer.
    pub success: bool,
    /// The handler's reply, when it returned one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack: Option<Value>,
}

/// Body of `POST {base}/disconnect`.
///
/// ```
/// # use socket_serve_protocol::DisconnectRequest;
/// let req: DisconnectRequest = serde_json::from_str(r#"{"sessionId":"s"}"#).unwrap();
/// assert_eq!(req.session_id, "s");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DisconnectRequest {
    /// The private session credential from `/connect`.
    pub session_id: String,
}

/// Body of `POST {base}/ack`: the client's reply to a server emit that asked for one (an
/// envelope with an `ackId`). The first reply for an id is the one the server takes.
///
/// ```
/// # use socket_serve_protocol::AckRequest;
/// let req: AckRequest = serde_json::from_str(r#"{"sessionId":"s","ackId":"a1","data":42}"#).unwrap();
/// assert_eq!(req.ack_id, "a1");
/// assert_eq!(req.data, serde_json::json!(42));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AckRequest {
    /// The private session credential from `/connect`.
    pub session_id: String,
    /// The `ackId` of the envelope being answered.
    pub ack_id: String,
    /// The reply.
    #[serde(default)]
    pub data: Value,
}

/// The longest `ackId` a server hands out and accepts, in bytes.
pub const MAX_ACK_ID_LEN: usize = 64;

/// Whether `id` can be an `ackId`: 1 to [`MAX_ACK_ID_LEN`] ASCII letters, digits, `-` or `_`.
///
/// ```
/// use socket_serve_protocol::is_valid_ack_id;
/// assert!(is_valid_ack_id("a1b2-c3_d4"));
/// assert!(!is_valid_ack_id(""));
/// assert!(!is_valid_ack_id("a:b"));
/// ```
pub fn is_valid_ack_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ACK_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The body of every non-2xx answer.
///
/// ```
/// # use socket_serve_protocol::ErrorBody;
/// let e: ErrorBody = serde_json::from_str(r#"{"error":"no such session","code":"unknown_session"}"#).unwrap();
/// assert_eq!(e.code, "unknown_session");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong, for a person.
    pub error: String,
    /// A stable `snake_case` code, for a program.
    pub code: String,
}

/// Answer to a polling `GET {base}/sse?sessionId=..&transport=polling`.
///
/// ```
/// # use socket_serve_protocol::PollResponse;
/// let res: PollResponse = serde_json::from_str(r#"{"messages":[]}"#).unwrap();
/// assert!(res.messages.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PollResponse {
    /// The messages, oldest first.
    pub messages: Vec<PolledMessage>,
    /// Long-polling only: the position to pass as `lastEventId` next time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<Cursor>,
    /// Long-polling only: `false` when the given position was older than the recovery window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovered: Option<bool>,
}

/// One message of a [`PollResponse`]: an envelope, plus its cursor when long-polling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolledMessage {
    /// The message.
    #[serde(flatten)]
    pub envelope: Envelope,
    /// Long-polling only: the message's position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<Cursor>,
}

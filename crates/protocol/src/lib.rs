//! The socket-serve wire protocol, v1: the types both ends agree on, and nothing else.
//!
//! This crate does no I/O. The server (`socket-serve`) and the Rust client
//! (`socket-serve-client`) both depend on it, so every wire type exists once.
//! The protocol itself is written down in `docs/PROTOCOL.md`.
//!
//! ```
//! use socket_serve_protocol::{Cursor, Envelope};
//! use serde_json::json;
//!
//! let cursor: Cursor = "1795624221059-3".parse().unwrap();
//! let envelope = Envelope::new("chat", json!({"text": "hi"}), 1795624221059);
//! let frame = socket_serve_protocol::sse::data_frame(Some(cursor), &envelope.to_json());
//! assert_eq!(
//!     frame,
//!     "id: 1795624221059-3\ndata: {\"event\":\"chat\",\"data\":{\"text\":\"hi\"},\"timestamp\":1795624221059}\n\n"
//! );
//! ```

#![warn(missing_docs)]

pub mod binary;
mod cursor;
mod envelope;
mod event_name;
mod messages;
pub mod socketio;
pub mod sse;

pub use binary::Binary;
pub use cursor::{Cursor, CursorParseError};
pub use envelope::{ConnectedData, Envelope, ACK_EVENT, CONNECTED_EVENT};
pub use event_name::{validate_event_name, EventNameError, MAX_EVENT_NAME_LEN};
pub use messages::{
    is_valid_ack_id, AckRequest, ConnectRequest, ConnectResponse, DisconnectRequest, ErrorBody,
    MessageRequest, MessageResponse, PollResponse, PolledMessage, MAX_ACK_ID_LEN,
};

/// The protocol version this crate speaks.
pub const PROTOCOL_VERSION: u32 = 1;

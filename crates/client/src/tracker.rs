//! The frame-handling state machine: the cursor, deduplication, and what each frame means.
//! No I/O here, so every rule is tested without a network.

use socket_serve_protocol::{
    ConnectedData, Cursor, Envelope, PolledMessage, ACK_EVENT, CONNECTED_EVENT,
};

use crate::event::{DisconnectData, DisconnectReason, Message};

/// The event of the frame announcing that the server removed the session.
pub(crate) const DISCONNECT_EVENT: &str = "__disconnect";
/// A newer stream of the session took this one's slot (the server's stream cap).
const REPLACED_EVENT: &str = "__replaced";

/// What one frame (or polled message) means to the client.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Step {
    /// Nothing for the app: a position-only frame, a heartbeat, a protocol frame the client
    /// ignores.
    Nothing,
    /// A frame at or below the cursor: already delivered on an earlier stream.
    Duplicate(Cursor),
    /// The `connected` frame that opens every stream.
    Connected(ConnectedData),
    /// A message for the app.
    Message(Message),
    /// The server removed the session (`__disconnect`).
    Disconnect(DisconnectReason),
    /// A frame that is not the protocol (bad JSON, a bad cursor). Logged, then skipped.
    Malformed(String),
}

/// The position of one session's client in the server's history.
///
/// Every message frame carries a cursor; the tracker remembers the largest one seen, drops
/// any frame at or below it (a replay after a resume), and moves forward on position-only
/// frames. Its cursor is what a resume sends as `Last-Event-ID`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tracker {
    cursor: Option<Cursor>,
}

impl Tracker {
    /// A tracker starting at `cursor` (the `/connect` answer's), or at nothing.
    pub(crate) fn new(cursor: Option<Cursor>) -> Self {
        Tracker { cursor }
    }

    /// The largest position seen.
    pub(crate) fn cursor(&self) -> Option<Cursor> {
        self.cursor
    }

    /// Moves forward to `cursor` (never back).
    pub(crate) fn advance(&mut self, cursor: Cursor) {
        if self.cursor.is_none_or(|c| cursor > c) {
            self.cursor = Some(cursor);
        }
    }

    /// One SSE block: its `id:` and `data:` fields (`retry:` is the transport's business).
    pub(crate) fn on_block(&mut self, id: Option<&str>, data: Option<&str>) -> Step {
        let cursor = match id.map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(text) => match text.parse::<Cursor>() {
                Ok(c) => Some(c),
                Err(e) => return Step::Malformed(e.to_string()),
            },
        };
        let data = data.map(str::trim).filter(|d| !d.is_empty());
        let Some(data) = data else {
            if let Some(c) = cursor {
                self.advance(c);
            }
            return Step::Nothing;
        };
        match serde_json::from_str::<Envelope>(data) {
            Ok(env) => self.on_envelope(cursor, env),
            Err(e) => {
                if let Some(c) = cursor {
                    self.advance(c);
                }
                Step::Malformed(format!("frame data is not an envelope: {e}"))
            }
        }
    }

    /// One message of a long-poll answer.
    pub(crate) fn on_polled(&mut self, msg: PolledMessage) -> Step {
        self.on_envelope(msg.cursor, msg.envelope)
    }

    /// One envelope at an optional position.
    pub(crate) fn on_envelope(&mut self, cursor: Option<Cursor>, env: Envelope) -> Step {
        if env.event == CONNECTED_EVENT {
            if let Some(c) = cursor {
                self.advance(c);
            }
            return match serde_json::from_value::<ConnectedData>(env.data) {
                Ok(data) => Step::Connected(data),
                Err(e) => Step::Malformed(format!("connected frame: {e}")),
            };
        }
        if let Some(c) = cursor {
            if self.cursor.is_some_and(|last| c <= last) {
                return Step::Duplicate(c);
            }
            self.cursor = Some(c);
        }
        if env.event == DISCONNECT_EVENT {
            let reason = serde_json::from_value::<DisconnectData>(env.data)
                .ok()
                .and_then(|d| d.reason)
                .unwrap_or_else(|| String::from("server disconnect"));
            return Step::Disconnect(DisconnectReason::from_frame(&reason));
        }
        if env.event == REPLACED_EVENT {
            return Step::Disconnect(DisconnectReason::Replaced);
        }
        if env.event == ACK_EVENT || env.event.starts_with("__") {
            // `__ack` answers 0.6.0-style emits, which this client never makes; other `__`
            // names are reserved for the protocol's future.
            return Step::Nothing;
        }
        Step::Message(Message::from_envelope(env, cursor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn c(ms: u64, seq: u64) -> Cursor {
        Cursor::new(ms, seq)
    }

    fn msg_frame(t: &mut Tracker, id: &str, event: &str, data: serde_json::Value) -> Step {
        let env = Envelope::new(event, data, 1).to_json();
        t.on_block(Some(id), Some(&env))
    }

    #[test]
    fn messages_move_the_cursor_and_replays_are_dropped() {
        let mut t = Tracker::new(Some(c(100, 0)));
        let Step::Message(m) = msg_frame(&mut t, "100-1", "chat", json!({"text": "a"})) else {
            panic!("not a message")
        };
        assert_eq!(m.event, "chat");
        assert_eq!(m.cursor, Some(c(100, 1)));
        assert_eq!(t.cursor(), Some(c(100, 1)));
        assert!(matches!(
            msg_frame(&mut t, "101-0", "chat", json!(2)),
            Step::Message(_)
        ));
        // A resume that replays both: dropped.
        assert_eq!(
            msg_frame(&mut t, "100-1", "chat", json!(1)),
            Step::Duplicate(c(100, 1))
        );
        assert_eq!(
            msg_frame(&mut t, "101-0", "chat", json!(2)),
            Step::Duplicate(c(101, 0))
        );
        // Older than the starting position: dropped too.
        assert_eq!(
            msg_frame(&mut t, "99-9", "chat", json!(0)),
            Step::Duplicate(c(99, 9))
        );
        assert_eq!(t.cursor(), Some(c(101, 0)));
    }

    #[test]
    fn id_only_frames_move_the_cursor_forward_only() {
        let mut t = Tracker::new(None);
        assert_eq!(t.on_block(Some("5-0"), None), Step::Nothing);
        assert_eq!(t.cursor(), Some(c(5, 0)));
        assert_eq!(t.on_block(Some("3-0"), None), Step::Nothing);
        assert_eq!(t.cursor(), Some(c(5, 0)));
        assert_eq!(t.on_block(Some("6-0"), Some("")), Step::Nothing);
        assert_eq!(t.cursor(), Some(c(6, 0)));
        // A message the position already passed is a duplicate.
        assert_eq!(
            msg_frame(&mut t, "5-5", "x", json!(null)),
            Step::Duplicate(c(5, 5))
        );
        // Heartbeats (no fields) change nothing.
        assert_eq!(t.on_block(None, None), Step::Nothing);
        assert_eq!(t.cursor(), Some(c(6, 0)));
    }

    #[test]
    fn connected_frame_is_never_a_duplicate() {
        let mut t = Tracker::new(Some(c(10, 0)));
        assert!(matches!(
            msg_frame(&mut t, "12-0", "chat", json!(1)),
            Step::Message(_)
        ));
        // The resume's connected frame carries the position it starts from: our own cursor.
        let step = msg_frame(
            &mut t,
            "12-0",
            "connected",
            json!({"id": "pub", "recovered": true}),
        );
        assert_eq!(
            step,
            Step::Connected(ConnectedData {
                id: "pub".into(),
                recovered: true
            })
        );
        let step = msg_frame(
            &mut t,
            "15-0",
            "connected",
            json!({"id": "pub", "recovered": false}),
        );
        assert!(matches!(
            step,
            Step::Connected(ConnectedData {
                recovered: false,
                ..
            })
        ));
        assert_eq!(t.cursor(), Some(c(15, 0)));
        let bad = msg_frame(&mut t, "16-0", "connected", json!("nope"));
        assert!(matches!(bad, Step::Malformed(_)));
    }

    #[test]
    fn protocol_frames() {
        let mut t = Tracker::new(None);
        let step = msg_frame(
            &mut t,
            "1-0",
            "__disconnect",
            json!({"reason": "server disconnect"}),
        );
        assert_eq!(step, Step::Disconnect(DisconnectReason::ServerDisconnect));
        let step = msg_frame(&mut t, "1-1", "__disconnect", json!({"reason": "expired"}));
        assert_eq!(step, Step::Disconnect(DisconnectReason::SessionExpired));
        let step = msg_frame(&mut t, "1-2", "__disconnect", json!(null));
        assert_eq!(step, Step::Disconnect(DisconnectReason::ServerDisconnect));
        let step = msg_frame(&mut t, "1-3", "__disconnect", json!({"reason": "weird"}));
        assert_eq!(
            step,
            Step::Disconnect(DisconnectReason::Other("weird".into()))
        );
        assert_eq!(msg_frame(&mut t, "1-4", "__ack", json!(1)), Step::Nothing);
        let replaced = json!({"event": "__replaced", "data": {"reason": "replaced"}});
        let step = t.on_block(None, Some(&replaced.to_string()));
        assert_eq!(step, Step::Disconnect(DisconnectReason::Replaced));
        assert_eq!(
            msg_frame(&mut t, "1-5", "__future", json!(1)),
            Step::Nothing
        );
        assert_eq!(t.cursor(), Some(c(1, 5)));
    }

    #[test]
    fn malformed_frames_are_values_not_panics() {
        let mut t = Tracker::new(None);
        assert!(matches!(
            t.on_block(Some("x-y"), Some("{}")),
            Step::Malformed(_)
        ));
        assert!(matches!(
            t.on_block(Some("2-0"), Some("not json")),
            Step::Malformed(_)
        ));
        assert_eq!(t.cursor(), Some(c(2, 0)));
        assert!(matches!(
            t.on_block(None, Some("[1,2]")),
            Step::Malformed(_)
        ));
        assert!(matches!(
            t.on_block(None, Some(r#"{"data":1}"#)),
            Step::Malformed(_)
        ));
    }

    #[test]
    fn messages_without_a_cursor_are_delivered_without_dedup() {
        let mut t = Tracker::new(Some(c(9, 0)));
        let env = Envelope::new("chat", json!(1), 1).to_json();
        assert!(matches!(t.on_block(None, Some(&env)), Step::Message(_)));
        assert!(matches!(t.on_block(None, Some(&env)), Step::Message(_)));
        assert_eq!(t.cursor(), Some(c(9, 0)));
    }

    #[test]
    fn polled_messages_share_the_rules() {
        let mut t = Tracker::new(Some(c(1, 0)));
        let polled = |cursor, event: &str| PolledMessage {
            envelope: Envelope::new(event, json!({"n": 1}), 1)
                .from("p")
                .in_room("r"),
            cursor,
        };
        let Step::Message(m) = t.on_polled(polled(Some(c(2, 0)), "say")) else {
            panic!("not a message")
        };
        assert_eq!(m.from.as_deref(), Some("p"));
        assert_eq!(m.room.as_deref(), Some("r"));
        assert_eq!(
            t.on_polled(polled(Some(c(2, 0)), "say")),
            Step::Duplicate(c(2, 0))
        );
        t.advance(c(7, 0));
        assert_eq!(
            t.on_polled(polled(Some(c(6, 0)), "say")),
            Step::Duplicate(c(6, 0))
        );
    }
}

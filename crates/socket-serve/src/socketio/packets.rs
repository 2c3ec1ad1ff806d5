//! Between the store's entries and Socket.IO packets: what the transport log holds, and
//! how a namespace session's envelopes become `EVENT`s.

use serde_json::Value;
use socket_serve_protocol::socketio::{placeholders_from_markers, EioPacket, SioKind, SioPacket};
use socket_serve_protocol::{Cursor, Envelope};

use crate::engine::emit::now_ms;
use crate::engine::Engine;
use crate::error::Error;
use crate::store::{Audience, EntryKind, LogId, Outgoing, StateQuota};

/// The event name of a transport-log entry: its data is Engine.IO packets, as sent.
pub(crate) const EIO_EVENT: &str = "__eio";

/// The state key (on the transport session) naming a namespace's session.
pub(crate) fn namespace_key(nsp: &str) -> String {
    format!("ns:{nsp}")
}

/// The state key (on the transport session) of its position in a namespace session's
/// logs: everything at or below it was delivered through this transport.
pub(crate) fn position_key(nsp: &str) -> String {
    format!("pos:{nsp}")
}

/// The state key (on a namespace session) naming the transport session that reads it
/// (a recovery moves it to a new one).
pub(crate) const OWNER: &str = "__sio_transport";

/// The state key (on a namespace session) mapping a Socket.IO ack id to our `ackId`.
pub(crate) fn ack_key(id: u64) -> String {
    format!("__sio_ack:{id}")
}

/// Writes a key of socket-serve's own bookkeeping into a session's state. It is allowed a
/// margin above the app's quota (`max_state_keys`, `max_state_bytes`), so the app's keys
/// never crowd it out, and is bounded all the same.
pub(crate) async fn set_state(
    engine: &Engine,
    sid: &str,
    key: &str,
    json: &str,
) -> Result<(), Error> {
    let quota = StateQuota {
        max_keys: engine.config.max_state_keys + 64,
        max_bytes: engine.config.max_state_bytes + 2 * 1024 * 1024,
    };
    if !engine.store.set_state(sid, key, json, quota).await? {
        return Err(Error::StateTooLarge(quota));
    }
    Ok(())
}

/// Appends Engine.IO packets for the client to the transport session's log; `dedup`
/// makes a retried request store them once.
pub(crate) async fn push(
    transport: &Engine,
    sid: &str,
    packets: Vec<String>,
    dedup: Option<String>,
) -> Result<(), Error> {
    let envelope = Envelope::new(EIO_EVENT, Value::from(packets), now_ms());
    transport
        .store
        .append(Outgoing {
            log: LogId::Session(sid.to_owned()),
            kind: EntryKind::Message {
                json: envelope.to_json().into(),
                audience: Audience::default(),
            },
            dedup: dedup.map(|key| (sid.to_owned(), key)),
        })
        .await?;
    Ok(())
}

/// The packets of a transport-log entry.
pub(crate) fn transport_packets(json: &str) -> Vec<String> {
    serde_json::from_str::<Envelope>(json)
        .ok()
        .filter(|env| env.event == EIO_EVENT)
        .and_then(|env| serde_json::from_value(env.data).ok())
        .unwrap_or_default()
}

/// A Socket.IO packet as Engine.IO packets: the message, then its binary attachments.
pub(crate) fn encode(mut packet: SioPacket) -> Vec<String> {
    let (data, attachments) = match packet.data.take() {
        Some(data) => {
            let (data, attachments) = placeholders_from_markers(data);
            (Some(data), attachments)
        }
        None => (None, Vec::new()),
    };
    packet.data = data;
    if !attachments.is_empty() {
        packet.attachments = attachments.len();
        packet.kind = match packet.kind {
            SioKind::Ack => SioKind::BinaryAck,
            _ => SioKind::BinaryEvent,
        };
    }
    let mut out = vec![EioPacket::Message(packet.encode()).encode()];
    out.extend(
        attachments
            .into_iter()
            .map(|b| EioPacket::Binary(b).encode()),
    );
    out
}

/// Socket.IO arguments of a socket-serve payload: one argument, none for `null`.
pub(crate) fn arguments(data: Value) -> Vec<Value> {
    match data {
        Value::Null => Vec::new(),
        data => vec![data],
    }
}

/// A socket-serve payload of Socket.IO arguments: none is `null`, one is itself, more are
/// an array.
pub(crate) fn payload(mut args: Vec<Value>) -> Value {
    match args.len() {
        0 => Value::Null,
        1 => args.remove(0),
        _ => Value::Array(args),
    }
}

/// A stable Socket.IO ack id (an integer) for one of our `ackId`s.
pub(crate) fn numeric_ack_id(ack_id: &str) -> u64 {
    use std::hash::Hasher;
    let mut hasher = fnv::FnvHasher::default();
    hasher.write(ack_id.as_bytes());
    // Below 2^53: the client reads ids as JavaScript numbers.
    hasher.finish() >> 11
}

/// What a namespace session's envelope becomes: an `EVENT` (with the entry's cursor as
/// its last argument under recovery, or an id when the server asked for an ack), or
/// nothing for socket-serve's own control events.
pub(crate) struct EventOut {
    pub packets: Vec<String>,
    /// `(socket.io id, our ackId)` to remember, for an emit that asked for an ack.
    pub ack: Option<(u64, String)>,
}

pub(crate) fn event(nsp: &str, json: &str, cursor: Cursor, recovery: bool) -> Option<EventOut> {
    let envelope: Envelope = serde_json::from_str(json).ok()?;
    if envelope.event.starts_with("__") {
        return None;
    }
    let mut args = vec![Value::String(envelope.event)];
    args.extend(arguments(envelope.data));
    // As Socket.IO: a question (an ack id) carries no offset, so the client's callback
    // stays its last argument.
    if recovery && envelope.ack_id.is_none() {
        args.push(Value::String(cursor.to_string()));
    }
    let mut packet = SioPacket::new(SioKind::Event, nsp).with_data(Value::Array(args));
    let ack = envelope
        .ack_id
        .map(|ack_id| (numeric_ack_id(&ack_id), ack_id));
    if let Some((id, _)) = &ack {
        packet = packet.with_id(*id);
    }
    Some(EventOut {
        packets: encode(packet),
        ack,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_envelope_becomes_an_event_with_its_offset() {
        let cursor: Cursor = "5-1".parse().unwrap();
        let json = Envelope::new("chat", json!({"text": "hi"}), 1).to_json();
        let out = event("/", &json, cursor, true).unwrap();
        assert_eq!(out.packets, vec![r#"42["chat",{"text":"hi"},"5-1"]"#]);
        let out = event("/a", &json, cursor, false).unwrap();
        assert_eq!(out.packets, vec![r#"42/a,["chat",{"text":"hi"}]"#]);
    }

    #[test]
    fn binary_data_goes_as_attachments() {
        let cursor: Cursor = "5-1".parse().unwrap();
        let json = Envelope::new("f", json!({"__ssbin": "AQI="}), 1).to_json();
        let out = event("/", &json, cursor, false).unwrap();
        assert_eq!(
            out.packets,
            vec![r#"451-["f",{"_placeholder":true,"num":0}]"#, "bAQI="]
        );
    }

    #[test]
    fn payloads_and_arguments_map_both_ways() {
        assert_eq!(payload(vec![]), Value::Null);
        assert_eq!(payload(vec![json!(1)]), json!(1));
        assert_eq!(payload(vec![json!(1), json!(2)]), json!([1, 2]));
        assert_eq!(arguments(Value::Null), Vec::<Value>::new());
        assert!(numeric_ack_id("k0123") < 1 << 53);
    }
}

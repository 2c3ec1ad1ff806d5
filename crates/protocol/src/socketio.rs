//! The Engine.IO v4 / Socket.IO v5 wire forms, as `socket.io-client` 4 speaks them over
//! HTTP long-polling: the packets of a polling body (joined by `\x1e`) and the Socket.IO
//! packets inside Engine.IO messages. Pure codecs, no I/O.
//!
//! Binary attachments travel, on polling, as Engine.IO packets `b<base64>` after their
//! Socket.IO header (`51-["up",{"_placeholder":true,"num":0}]`); on the socket-serve side
//! the same bytes are the `{"__ssbin": "<base64>"}` marker ([`crate::binary`]), so
//! [`markers_from_placeholders`] and [`placeholders_from_markers`] convert without
//! decoding the base64.
//!
//! ```
//! use serde_json::json;
//! use socket_serve_protocol::socketio::{self, EioPacket, SioKind, SioPacket};
//!
//! let body = "40{\"token\":\"t\"}\x1e42[\"chat\",\"hi\"]";
//! let packets = socketio::decode_payload(body).unwrap();
//! let EioPacket::Message(text) = &packets[1] else { panic!() };
//! let event = SioPacket::decode(text).unwrap();
//! assert_eq!(event.kind, SioKind::Event);
//! assert_eq!(event.data, Some(json!(["chat", "hi"])));
//! let ack = SioPacket::new(SioKind::Ack, "/admin").with_id(7).with_data(json!([1]));
//! assert_eq!(ack.encode(), "3/admin,7[1]");
//! ```

use serde_json::{Map, Value};

use crate::binary::MARKER;

/// The separator of packets in a polling body.
pub const SEPARATOR: char = '\x1e';

/// An Engine.IO v4 packet, in its text form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EioPacket {
    /// `0`: the handshake answer (JSON).
    Open(String),
    /// `1`: the session ends.
    Close,
    /// `2`: a ping (the server's heartbeat; `2probe` for upgrades).
    Ping(String),
    /// `3`: the answer to a ping.
    Pong(String),
    /// `4`: a message: a Socket.IO packet.
    Message(String),
    /// `5`: a transport upgrade (never accepted here: polling only).
    Upgrade,
    /// `6`: nothing (ends a poll during an upgrade).
    Noop,
    /// `b<base64>`: binary data, base64 on polling.
    Binary(String),
}

/// Why a body or packet could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SocketIoError {
    /// An Engine.IO packet with no type or an unknown one.
    #[error("invalid Engine.IO packet")]
    InvalidEngineIo,
    /// A Socket.IO packet that does not parse.
    #[error("invalid Socket.IO packet: {0}")]
    InvalidSocketIo(&'static str),
}

impl EioPacket {
    /// Reads one packet of a polling body.
    ///
    /// ```
    /// use socket_serve_protocol::socketio::EioPacket;
    /// assert_eq!(EioPacket::decode("3").unwrap(), EioPacket::Pong(String::new()));
    /// assert_eq!(EioPacket::decode("bAQI=").unwrap(), EioPacket::Binary("AQI=".into()));
    /// assert!(EioPacket::decode("9").is_err());
    /// ```
    pub fn decode(text: &str) -> Result<EioPacket, SocketIoError> {
        let mut chars = text.chars();
        let kind = chars.next().ok_or(SocketIoError::InvalidEngineIo)?;
        let rest = chars.as_str().to_owned();
        Ok(match kind {
            '0' => EioPacket::Open(rest),
            '1' => EioPacket::Close,
            '2' => EioPacket::Ping(rest),
            '3' => EioPacket::Pong(rest),
            '4' => EioPacket::Message(rest),
            '5' => EioPacket::Upgrade,
            '6' => EioPacket::Noop,
            'b' => EioPacket::Binary(rest),
            _ => return Err(SocketIoError::InvalidEngineIo),
        })
    }

    /// The packet's text form.
    ///
    /// ```
    /// use socket_serve_protocol::socketio::EioPacket;
    /// assert_eq!(EioPacket::Message("2[\"a\"]".into()).encode(), "42[\"a\"]");
    /// ```
    pub fn encode(&self) -> String {
        match self {
            EioPacket::Open(json) => format!("0{json}"),
            EioPacket::Close => "1".into(),
            EioPacket::Ping(data) => format!("2{data}"),
            EioPacket::Pong(data) => format!("3{data}"),
            EioPacket::Message(data) => format!("4{data}"),
            EioPacket::Upgrade => "5".into(),
            EioPacket::Noop => "6".into(),
            EioPacket::Binary(base64) => format!("b{base64}"),
        }
    }
}

/// The packets of a polling `POST` body.
pub fn decode_payload(body: &str) -> Result<Vec<EioPacket>, SocketIoError> {
    body.split(SEPARATOR).map(EioPacket::decode).collect()
}

/// A polling answer body of `packets` (already encoded).
///
/// ```
/// let body = socket_serve_protocol::socketio::encode_payload(&["2".into(), "6".into()]);
/// assert_eq!(body, "2\x1e6");
/// ```
pub fn encode_payload(packets: &[String]) -> String {
    packets.join("\x1e")
}

/// A Socket.IO packet type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SioKind {
    /// `0`: connect to a namespace (client, with auth) or its acceptance (server).
    Connect,
    /// `1`: leave a namespace.
    Disconnect,
    /// `2`: an event.
    Event,
    /// `3`: an answer to an event that asked for one.
    Ack,
    /// `4`: a refused connect.
    ConnectError,
    /// `5`: an event with binary attachments.
    BinaryEvent,
    /// `6`: an ack with binary attachments.
    BinaryAck,
}

impl SioKind {
    fn digit(self) -> char {
        match self {
            SioKind::Connect => '0',
            SioKind::Disconnect => '1',
            SioKind::Event => '2',
            SioKind::Ack => '3',
            SioKind::ConnectError => '4',
            SioKind::BinaryEvent => '5',
            SioKind::BinaryAck => '6',
        }
    }

    fn from_digit(c: char) -> Option<SioKind> {
        Some(match c {
            '0' => SioKind::Connect,
            '1' => SioKind::Disconnect,
            '2' => SioKind::Event,
            '3' => SioKind::Ack,
            '4' => SioKind::ConnectError,
            '5' => SioKind::BinaryEvent,
            '6' => SioKind::BinaryAck,
            _ => return None,
        })
    }

    /// Whether attachments follow the packet.
    pub fn is_binary(self) -> bool {
        matches!(self, SioKind::BinaryEvent | SioKind::BinaryAck)
    }
}

/// The longest ack id a client may send (Socket.IO ids are integers below 2^53).
const MAX_ID_DIGITS: usize = 16;

/// The most attachments one packet may announce.
pub const MAX_ATTACHMENTS: usize = 64;

/// A Socket.IO v5 packet.
#[derive(Debug, Clone, PartialEq)]
pub struct SioPacket {
    /// Its type.
    pub kind: SioKind,
    /// The namespace (`/` by default).
    pub nsp: String,
    /// The ack id, for events that ask for an answer and for acks.
    pub id: Option<u64>,
    /// The JSON payload, if any.
    pub data: Option<Value>,
    /// How many binary attachments follow (binary kinds only).
    pub attachments: usize,
}

impl SioPacket {
    /// A packet with no id and no data.
    pub fn new(kind: SioKind, nsp: &str) -> SioPacket {
        SioPacket {
            kind,
            nsp: nsp.to_owned(),
            id: None,
            data: None,
            attachments: 0,
        }
    }

    /// With an ack id.
    pub fn with_id(mut self, id: u64) -> SioPacket {
        self.id = Some(id);
        self
    }

    /// With a payload.
    pub fn with_data(mut self, data: Value) -> SioPacket {
        self.data = Some(data);
        self
    }

    /// Reads a packet (the text of an Engine.IO message).
    ///
    /// ```
    /// use socket_serve_protocol::socketio::{SioKind, SioPacket};
    /// let p = SioPacket::decode("51-/admin,3[\"up\",{\"_placeholder\":true,\"num\":0}]").unwrap();
    /// assert_eq!((p.kind, p.nsp.as_str(), p.id, p.attachments), (SioKind::BinaryEvent, "/admin", Some(3), 1));
    /// ```
    pub fn decode(text: &str) -> Result<SioPacket, SocketIoError> {
        let bad = SocketIoError::InvalidSocketIo;
        let mut rest = text;
        let first = rest.chars().next().ok_or(bad("empty packet"))?;
        let kind = SioKind::from_digit(first).ok_or(bad("unknown packet type"))?;
        rest = &rest[1..];
        let mut attachments = 0;
        if kind.is_binary() {
            let dash = rest.find('-').ok_or(bad("no attachment count"))?;
            attachments = rest[..dash]
                .parse::<usize>()
                .map_err(|_| bad("bad attachment count"))?;
            if attachments > MAX_ATTACHMENTS {
                return Err(bad("too many attachments"));
            }
            rest = &rest[dash + 1..];
        }
        let mut nsp = "/".to_owned();
        if rest.starts_with('/') {
            let end = rest.find(',').unwrap_or(rest.len());
            nsp = rest[..end].to_owned();
            rest = rest.get(end + 1..).unwrap_or("");
        }
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let mut id = None;
        if digits > 0 {
            if digits > MAX_ID_DIGITS {
                return Err(bad("ack id too long"));
            }
            id = Some(rest[..digits].parse().map_err(|_| bad("bad ack id"))?);
            rest = &rest[digits..];
        }
        let data = match rest {
            "" => None,
            // Whitespace before the payload would make `1 60` (data 60) encode as `160`
            // (id 60): no client sends it.
            json if json.starts_with(|c: char| c.is_ascii_whitespace()) => {
                return Err(bad("payload is not JSON"))
            }
            json => Some(serde_json::from_str(json).map_err(|_| bad("payload is not JSON"))?),
        };
        let packet = SioPacket {
            kind,
            nsp,
            id,
            data,
            attachments,
        };
        packet.check()?;
        Ok(packet)
    }

    /// The protocol's rules on payloads per type.
    fn check(&self) -> Result<(), SocketIoError> {
        let bad = SocketIoError::InvalidSocketIo;
        match self.kind {
            SioKind::Connect => match &self.data {
                None | Some(Value::Object(_)) => Ok(()),
                Some(_) => Err(bad("connect payload must be an object")),
            },
            SioKind::Disconnect => Ok(()),
            SioKind::Event | SioKind::BinaryEvent => match &self.data {
                Some(Value::Array(items)) if items.first().is_some_and(Value::is_string) => Ok(()),
                _ => Err(bad("event payload must be an array starting with a name")),
            },
            SioKind::Ack | SioKind::BinaryAck => match (&self.data, self.id) {
                (Some(Value::Array(_)), Some(_)) => Ok(()),
                _ => Err(bad("ack needs an id and an array payload")),
            },
            SioKind::ConnectError => Ok(()),
        }
    }

    /// The packet's text form.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        out.push(self.kind.digit());
        if self.kind.is_binary() {
            out.push_str(&format!("{}-", self.attachments));
        }
        if self.nsp != "/" {
            out.push_str(&self.nsp);
            out.push(',');
        }
        if let Some(id) = self.id {
            out.push_str(&id.to_string());
        }
        if let Some(data) = &self.data {
            out.push_str(&data.to_string());
        }
        out
    }
}

/// Puts the attachments (base64, in order) where their placeholders are, as socket-serve
/// binary markers. `None` if a placeholder names an attachment that is not there.
///
/// ```
/// use serde_json::json;
/// use socket_serve_protocol::socketio::markers_from_placeholders;
/// let data = json!(["up", {"_placeholder": true, "num": 0}]);
/// let out = markers_from_placeholders(data, &["AQI=".into()]).unwrap();
/// assert_eq!(out, json!(["up", {"__ssbin": "AQI="}]));
/// ```
pub fn markers_from_placeholders(value: Value, attachments: &[String]) -> Option<Value> {
    Some(match value {
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|v| markers_from_placeholders(v, attachments))
                .collect::<Option<_>>()?,
        ),
        Value::Object(map) if map.get("_placeholder") == Some(&Value::Bool(true)) => {
            let num = map.get("num")?.as_u64()? as usize;
            let mut marker = Map::new();
            marker.insert(MARKER.into(), Value::String(attachments.get(num)?.clone()));
            Value::Object(marker)
        }
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| Some((k, markers_from_placeholders(v, attachments)?)))
                .collect::<Option<_>>()?,
        ),
        other => other,
    })
}

/// Replaces socket-serve binary markers with Socket.IO placeholders; returns the new value
/// and the attachments (base64) in placeholder order.
///
/// ```
/// use serde_json::json;
/// use socket_serve_protocol::socketio::placeholders_from_markers;
/// let (out, attachments) = placeholders_from_markers(json!(["up", {"__ssbin": "AQI="}]));
/// assert_eq!(out, json!(["up", {"_placeholder": true, "num": 0}]));
/// assert_eq!(attachments, vec!["AQI=".to_owned()]);
/// ```
pub fn placeholders_from_markers(value: Value) -> (Value, Vec<String>) {
    let mut attachments = Vec::new();
    let out = replace_markers(value, &mut attachments);
    (out, attachments)
}

fn replace_markers(value: Value, attachments: &mut Vec<String>) -> Value {
    match value {
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|v| replace_markers(v, attachments))
                .collect(),
        ),
        Value::Object(map) if map.len() == 1 && map.get(MARKER).is_some_and(Value::is_string) => {
            let base64 = map.get(MARKER).and_then(Value::as_str).unwrap_or("");
            attachments.push(base64.to_owned());
            serde_json::json!({"_placeholder": true, "num": attachments.len() - 1})
        }
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, replace_markers(v, attachments)))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_packet_forms_of_the_socket_io_protocol_suite() {
        let connect = SioPacket::decode("0").unwrap();
        assert_eq!(
            (connect.kind, connect.nsp.as_str()),
            (SioKind::Connect, "/")
        );
        let auth = SioPacket::decode("0/admin,{\"token\":\"123\"}").unwrap();
        assert_eq!(auth.nsp, "/admin");
        assert_eq!(auth.data, Some(json!({"token": "123"})));
        let event = SioPacket::decode("2/admin,456[\"project:delete\",123]").unwrap();
        assert_eq!(event.id, Some(456));
        assert_eq!(event.nsp, "/admin");
        let ack = SioPacket::decode("3/admin,456[]").unwrap();
        assert_eq!(ack.kind, SioKind::Ack);
        let disconnect = SioPacket::decode("1/admin,").unwrap();
        assert_eq!(disconnect.nsp, "/admin");
    }

    #[test]
    fn refuses_what_the_socket_io_protocol_suite_refuses() {
        for bad in [
            "",
            "8",
            "2[]",
            "2{}",
            "2[1]",
            "0[]",
            "3[]",
            "2[\"a\"",
            "5[\"a\"]",
            "599-[\"a\"]",
            // Found by fuzz/socketio_codec: it re-encoded as `160`, an id.
            "1\n60",
        ] {
            assert!(SioPacket::decode(bad).is_err(), "{bad:?}");
        }
        assert!(decode_payload("4x\x1e").is_err());
    }

    #[test]
    fn encodes_what_it_decodes() {
        for text in [
            "0{\"sid\":\"abc\"}",
            "2[\"chat\",{\"text\":\"hi\"}]",
            "2/chat,12[\"a\"]",
            "3/chat,12[\"ok\"]",
            "51-[\"up\",{\"_placeholder\":true,\"num\":0}]",
            "41",
        ] {
            let text = text.strip_prefix('4').unwrap_or(text);
            assert_eq!(SioPacket::decode(text).unwrap().encode(), text);
        }
    }

    #[test]
    fn binary_markers_and_placeholders_round_trip() {
        let data = json!(["f", {"a": [{"__ssbin": "AA=="}, {"__ssbin": "AQ=="}]}]);
        let (wire, attachments) = placeholders_from_markers(data.clone());
        assert_eq!(attachments.len(), 2);
        assert_eq!(
            markers_from_placeholders(wire.clone(), &attachments),
            Some(data)
        );
        assert_eq!(markers_from_placeholders(wire, &attachments[..1]), None);
    }
}

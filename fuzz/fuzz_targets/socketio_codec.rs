//! The Engine.IO / Socket.IO codecs of the `/socket.io/` endpoint: `POST` payloads, their
//! packets, and binary attachments. None may panic; a packet that decodes encodes to text
//! that decodes to the same packet.
#![no_main]

use libfuzzer_sys::fuzz_target;
use socket_serve_protocol::socketio::{
    decode_payload, encode_payload, markers_from_placeholders, placeholders_from_markers,
    EioPacket, SioPacket,
};

fuzz_target!(|text: &str| {
    if let Ok(packets) = decode_payload(text) {
        let encoded: Vec<String> = packets.iter().map(EioPacket::encode).collect();
        let again = decode_payload(&encode_payload(&encoded)).expect("an encoded payload decodes");
        assert_eq!(again, packets);
    }
    if let Ok(packet) = SioPacket::decode(text) {
        let again = SioPacket::decode(&packet.encode()).expect("an encoded packet decodes");
        assert_eq!(again, packet);
        if let Some(data) = packet.data {
            // Attachments from the input itself: a placeholder may name any of them or none.
            let parts: Vec<String> = text.split('\u{1e}').map(str::to_owned).collect();
            if let Some(markers) = markers_from_placeholders(data, &parts) {
                let _ = placeholders_from_markers(markers);
            }
        }
    }
});

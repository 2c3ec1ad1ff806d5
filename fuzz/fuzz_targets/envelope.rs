//! The protocol's JSON decoders: request bodies, envelopes and poll answers, binary markers,
//! event names. None may panic; an envelope that decodes encodes to JSON that decodes to
//! the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use socket_serve_protocol::{binary, validate_event_name, ConnectRequest, Envelope};
use socket_serve_protocol::{DisconnectRequest, MessageRequest, PollResponse};

fuzz_target!(|bytes: &[u8]| {
    let _ = serde_json::from_slice::<ConnectRequest>(bytes);
    let _ = serde_json::from_slice::<DisconnectRequest>(bytes);
    let _ = serde_json::from_slice::<PollResponse>(bytes);
    if let Ok(message) = serde_json::from_slice::<MessageRequest>(bytes) {
        let _ = validate_event_name(&message.event);
    }
    if let Ok(envelope) = serde_json::from_slice::<Envelope>(bytes) {
        let text = serde_json::to_string(&envelope).expect("an envelope encodes");
        let again: Envelope = serde_json::from_str(&text).expect("and decodes again");
        assert_eq!(
            serde_json::to_value(&again).ok(),
            serde_json::to_value(&envelope).ok()
        );
    }
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) {
        if let Ok(Some(bytes)) = binary::from_value(&value) {
            assert_eq!(
                binary::from_value(&binary::to_value(&bytes)).ok(),
                Some(Some(bytes))
            );
        }
        let _ = serde_json::from_value::<binary::Binary>(value);
    }
});

//! Numbers in payloads reach the other side as sent: an envelope decoded, encoded and
//! decoded again holds the same numbers (regression: fuzz/envelope found `2E-56` decoding
//! one ULP off, so a relayed message changed on the way; serde_json's `float_roundtrip`).

use serde_json::Value;
use socket_serve_protocol::Envelope;

#[test]
fn floats_survive_decode_encode_decode_exactly() {
    let cases = [
        ("2E-56", 2e-56),
        ("0.1", 0.1),
        ("5e-324", 5e-324),
        ("2.2250738585072014e-308", 2.2250738585072014e-308),
        ("1.7976931348623157e308", 1.797_693_134_862_315_7e308),
        ("123456789.12345678", 123_456_789.123_456_78),
    ];
    for (text, expected) in cases {
        let wire = format!(r#"{{"event":"x","data":[{text}]}}"#);
        let envelope: Envelope = serde_json::from_str(&wire).unwrap();
        assert_eq!(
            envelope.data[0].as_f64(),
            Some(expected),
            "{text} decoded off"
        );
        let again: Envelope =
            serde_json::from_str(&serde_json::to_string(&envelope).unwrap()).unwrap();
        assert_eq!(again.data, envelope.data, "{text} changed on a round trip");
    }
    // The fuzzer's input: an envelope in its array form.
    let first: Envelope = serde_json::from_slice(b"[\"\",2E-56\t\t]").unwrap();
    let again: Envelope = serde_json::from_str(&serde_json::to_string(&first).unwrap()).unwrap();
    assert_eq!(again.data, first.data);
    assert_eq!(first.data, Value::from(2e-56));
}

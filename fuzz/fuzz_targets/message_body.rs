//! `POST B/message` and `POST B/ack` (what a client sends: emits and replies) with any body,
//! or with the fuzzed JSON aimed at the live session (its `sessionId` put in) so that event
//! names, message ids, ack ids, payloads and binary markers reach the handler and store
//! path: no panic, no 5xx, errors in the protocol's shape.
#![no_main]

use bytes::Bytes;
use http::Request;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use socket_serve_fuzz::Harness;

#[derive(arbitrary::Arbitrary, Debug)]
struct Input {
    aim_at_session: bool,
    as_echo: bool,
    /// A reply to a server emit (`B/ack`) instead of an emit.
    as_ack: bool,
    body: Vec<u8>,
}

fuzz_target!(|input: Input| {
    let harness = Harness::get();
    let mut body = input.body;
    if input.aim_at_session {
        if let Ok(Value::Object(mut fields)) = serde_json::from_slice::<Value>(&body) {
            fields.insert("sessionId".into(), harness.session_id.clone().into());
            if input.as_echo {
                fields.insert("event".into(), "echo".into());
            }
            body = Value::Object(fields).to_string().into_bytes();
        }
    }
    let path = if input.as_ack {
        "/socket/ack"
    } else {
        "/socket/message"
    };
    let req = Request::post(path).body(Bytes::from(body));
    harness.send(req.expect("a request"));
});

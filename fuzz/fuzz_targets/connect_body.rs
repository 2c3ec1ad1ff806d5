//! `POST B/connect` and `POST B/disconnect` with any body and content type: no panic, no
//! 5xx, errors in the protocol's shape; a session it created ends again.
#![no_main]

use bytes::Bytes;
use http::Request;
use libfuzzer_sys::fuzz_target;
use socket_serve_fuzz::Harness;

#[derive(arbitrary::Arbitrary, Debug)]
struct Input {
    content_type: Option<String>,
    connect: Vec<u8>,
    disconnect: Vec<u8>,
}

fuzz_target!(|input: Input| {
    let harness = Harness::get();
    let mut connect = Request::post("/socket/connect");
    if let Some(content_type) = &input.content_type {
        connect = connect.header("content-type", content_type.as_str());
    }
    let Ok(connect) = connect.body(Bytes::from(input.connect)) else {
        return; // not a valid header value: no client can send it
    };
    let answer = harness.send(connect);
    if answer.status.is_success() {
        let body: serde_json::Value =
            serde_json::from_slice(&answer.body.unwrap_or_default()).expect("a connect answer");
        let sid = body["sessionId"].as_str().expect("a session id");
        let end = serde_json::json!({ "sessionId": sid }).to_string();
        let req = Request::post("/socket/disconnect").body(Bytes::from(end));
        assert!(harness.send(req.expect("a request")).status.is_success());
    }
    let req = Request::post("/socket/disconnect").body(Bytes::from(input.disconnect));
    harness.send(req.expect("a request"));
});

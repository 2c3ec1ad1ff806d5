//! `GET B/sse` and `GET B` (streams and long-polls): any query string, any `Last-Event-ID`,
//! for unknown sessions or the live one: no panic, no 5xx, errors in the protocol's shape.
#![no_main]

use bytes::Bytes;
use http::Request;
use libfuzzer_sys::fuzz_target;
use socket_serve_fuzz::Harness;

#[derive(arbitrary::Arbitrary, Debug)]
struct Input {
    at_base: bool,
    /// A query string as is, instead of the parameters below.
    raw_query: Option<String>,
    live_session: bool,
    session_id: String,
    transport: Option<String>,
    last_event_id: Option<String>,
    header_cursor: Option<Vec<u8>>,
}

fuzz_target!(|input: Input| {
    let harness = Harness::get();
    let query = match input.raw_query {
        Some(raw) => raw,
        None => {
            let sid = if input.live_session {
                harness.session_id.clone()
            } else {
                input.session_id
            };
            let mut params = vec![("sessionId", sid)];
            params.extend(input.transport.map(|t| ("transport", t)));
            params.extend(input.last_event_id.map(|c| ("lastEventId", c)));
            serde_urlencoded::to_string(params).unwrap_or_default()
        }
    };
    let path = if input.at_base {
        "/socket"
    } else {
        "/socket/sse"
    };
    let mut req = Request::get(format!("{path}?{query}"));
    if let Some(cursor) = input.header_cursor {
        req = req.header("last-event-id", cursor);
    }
    let Ok(req) = req.body(Bytes::new()) else {
        return; // not a valid URI or header: no client can send it
    };
    harness.send(req);
});

//! Server-Sent Events framing: the exact bytes of each frame the server writes.
//!
//! Parsing is left to an SSE client crate (or the browser's `EventSource`); this module
//! only writes.

use crate::Cursor;

/// A data frame: an optional `id:` line, one `data:` line, a blank line.
///
/// `json` must be one line (as [`crate::Envelope::to_json`] produces).
///
/// ```
/// use socket_serve_protocol::{sse, Cursor};
/// assert_eq!(sse::data_frame(Some(Cursor::new(1, 2)), "{}"), "id: 1-2\ndata: {}\n\n");
/// assert_eq!(sse::data_frame(None, "{}"), "data: {}\n\n");
/// ```
pub fn data_frame(id: Option<Cursor>, json: &str) -> String {
    debug_assert!(!json.contains('\n'), "SSE data must be one line");
    match id {
        Some(id) => format!("id: {id}\ndata: {json}\n\n"),
        None => format!("data: {json}\n\n"),
    }
}

/// A frame that only moves the client's last event id forward: `EventSource` records it
/// without dispatching an event, so an idle stream still resumes from a fresh position.
///
/// ```
/// use socket_serve_protocol::{sse, Cursor};
/// assert_eq!(sse::position_frame(Cursor::new(9, 0)), "id: 9-0\n\n");
/// ```
pub fn position_frame(id: Cursor) -> String {
    format!("id: {id}\n\n")
}

/// The heartbeat comment, which keeps proxies from closing an idle stream.
///
/// ```
/// assert_eq!(socket_serve_protocol::sse::heartbeat(), ": keepalive\n\n");
/// ```
pub fn heartbeat() -> &'static str {
    ": keepalive\n\n"
}

/// The frame that tells the client how long to wait before it reconnects, sent before the
/// server ends a stream on purpose.
///
/// ```
/// assert_eq!(socket_serve_protocol::sse::retry(1000), "retry: 1000\n\n");
/// ```
pub fn retry(ms: u64) -> String {
    format!("retry: {ms}\n\n")
}

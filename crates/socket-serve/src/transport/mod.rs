//! Transports: how a session's messages reach its client. Both read through the same
//! [`Reader`](reader::Reader): replay from a cursor, then live.

mod polling;
pub(crate) mod reader;
mod sse;
mod ticker;

pub(crate) use polling::{bound, drain, long_poll};
pub(crate) use sse::open_stream;

use socket_serve_protocol::Cursor;
use tokio::time::Instant;

use crate::engine::Engine;
use crate::error::Error;
use crate::store::SessionMeta;

/// Where a reader starts for a requested cursor, and whether nothing before it is lost.
///
/// A session never reads from before its own start (messages sent before it existed are
/// not its own), and a cursor older than the recovery window may have lost messages.
pub(crate) fn start_position(
    engine: &Engine,
    meta: &SessionMeta,
    requested: Option<Cursor>,
    now_ms: u64,
) -> (Cursor, bool) {
    let start = requested.unwrap_or(meta.start).max(meta.start);
    let window = engine.config.recovery_window.as_millis() as u64;
    let recovered = start.ms.saturating_add(window) >= now_ms;
    (start, recovered)
}

/// A stream or poll of a session that is gone: `Some(reason)` when it was closed within
/// the recovery window (the client gets the `__disconnect` frame it missed between two
/// streams, not a 404 that reads as a lost session), else the 404.
pub(crate) async fn ended(engine: &Engine, sid: &str, err: Error) -> Result<String, Error> {
    if !matches!(err, Error::UnknownSession) || !crate::engine::is_session_id(sid) {
        return Err(err);
    }
    match engine.store.ended_reason(sid).await? {
        Some(reason) => Ok(reason),
        None => Err(err),
    }
}

/// The envelope of the frame that tells a client its session was removed.
pub(crate) fn disconnect_envelope(reason: &str) -> String {
    serde_json::json!({"event": "__disconnect", "data": {"reason": reason}}).to_string()
}

/// The envelope of the frame that ends a stream whose slot a newer stream of the same
/// session took (`Config::max_streams_per_session`): its client stops and does not
/// reconnect.
pub(crate) fn replaced_envelope() -> String {
    serde_json::json!({"event": "__replaced", "data": {"reason": "replaced"}}).to_string()
}

/// The volatile notice on a session's log that tells its streams `stream` lost its slot.
/// Not an envelope (no `event`), so no emit can forge it.
pub(crate) fn replaced_notice(stream: &str) -> String {
    format!("{REPLACED_PREFIX}{stream}\"}}")
}

const REPLACED_PREFIX: &str = "{\"__streamReplaced\":\"";

/// The stream a [`replaced_notice`] names, if `json` is one.
pub(crate) fn replaced_stream(json: &str) -> Option<&str> {
    json.strip_prefix(REPLACED_PREFIX)?.strip_suffix("\"}")
}

/// When a response that waits must be done at the latest (set by the runtime's deadline).
pub(crate) type Until = Instant;

/// The earlier of a response's own limit (from now) and the runtime's `until`.
pub(crate) fn end_at(limit: Option<std::time::Duration>, until: Option<Until>) -> Option<Instant> {
    let own = limit.map(|d| Instant::now() + d);
    match (own, until) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

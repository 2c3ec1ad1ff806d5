//! Long-polling, in two forms: the 0.6.0 drain (no cursor: take everything since the last
//! poll, atomically) and the v1 long-poll (a cursor: read after it, wait if nothing yet).

use std::sync::Arc;

use socket_serve_protocol::Cursor;

use super::reader::{Delivery, Reader};
use super::{disconnect_envelope, start_position};
use crate::engine::emit::now_ms;
use crate::engine::{lifecycle, Engine};
use crate::error::Error;

/// How many times a drain retries when concurrent polls keep taking its messages.
const DRAIN_ATTEMPTS: usize = 8;

/// The most messages one poll answer carries; the rest comes with the next poll.
pub(crate) const MAX_POLL_MESSAGES: usize = 500;

/// The most bytes of messages one poll answer carries (one message always goes, however
/// large: the body limit bounds it).
pub(crate) const MAX_POLL_BYTES: usize = 1024 * 1024;

/// Keeps the first messages of `delivery` within the limits. When some are left for the
/// next poll, returns the cursor of the last one kept: the position the answer may claim
/// (an end of the session, if any, comes with that next poll too).
pub(crate) fn bound(delivery: &mut Delivery) -> Option<Cursor> {
    let mut bytes = 0;
    let mut keep = 0;
    for (i, (_, json)) in delivery.messages.iter().enumerate() {
        if i == MAX_POLL_MESSAGES || (i > 0 && bytes + json.len() > MAX_POLL_BYTES) {
            break;
        }
        bytes += json.len();
        keep = i + 1;
    }
    if keep == delivery.messages.len() {
        return None;
    }
    delivery.messages.truncate(keep);
    delivery.disconnected = None;
    delivery.messages.last().map(|(cursor, _)| *cursor)
}

/// The answer body, built from the stored envelope JSON without parsing it again.
pub(crate) struct PollBody(pub String);

fn messages_json(delivery: &Delivery, with_cursors: bool) -> String {
    let mut out = String::from("[");
    // Volatile messages (only a waiting long-poll gets them) have no cursor.
    for json in &delivery.volatile {
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str(json);
    }
    for (cursor, json) in delivery.messages.iter() {
        if out.len() > 1 {
            out.push(',');
        }
        match json.strip_suffix('}').filter(|_| with_cursors) {
            // Every envelope is a JSON object: add the cursor as its last key.
            Some(open) => {
                out.push_str(open);
                out.push_str(&format!(",\"cursor\":\"{cursor}\"}}"));
            }
            None => out.push_str(json),
        }
    }
    if let Some(reason) = &delivery.disconnected {
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str(&disconnect_envelope(reason));
    }
    out.push(']');
    out
}

/// 0.6.0 polling: every message since the previous drain; concurrent drains never share
/// a message (the drain position moves by compare-and-set).
pub(crate) async fn drain(engine: &Arc<Engine>, sid: &str) -> Result<PollBody, Error> {
    let meta = match lifecycle::touch(engine, sid).await {
        Ok(meta) => meta,
        Err(err) => {
            let reason = super::ended(engine, sid, err).await?;
            let body = format!("{{\"messages\":[{}]}}", disconnect_envelope(&reason));
            return Ok(PollBody(body));
        }
    };
    lifecycle::maybe_sweep(engine).await;
    for _ in 0..DRAIN_ATTEMPTS {
        let Some(from) = engine.store.drain_position(sid).await? else {
            return Err(Error::UnknownSession);
        };
        let batch = engine.config.replay_batch;
        let mut reader = Reader::new(engine.store.clone(), sid, &meta.public_id, from, batch);
        let mut delivery = reader.replay().await?;
        while delivery.messages.is_empty() && delivery.disconnected.is_none() && delivery.more {
            delivery = reader.replay().await?;
        }
        let to = bound(&mut delivery).unwrap_or(reader.position);
        if engine.store.advance_drain(sid, from, to).await? {
            let body = format!("{{\"messages\":{}}}", messages_json(&delivery, false));
            return Ok(PollBody(body));
        }
    }
    Err(Error::MessageInProgress("poll".into()))
}

/// v1 long-poll: messages after `cursor`, waiting up to `poll_timeout` for the first.
pub(crate) async fn long_poll(
    engine: &Arc<Engine>,
    sid: &str,
    cursor: Cursor,
    until: Option<super::Until>,
) -> Result<PollBody, Error> {
    let meta = match lifecycle::touch(engine, sid).await {
        Ok(meta) => meta,
        Err(err) => {
            let reason = super::ended(engine, sid, err).await?;
            let body = format!(
                "{{\"messages\":[{}],\"cursor\":\"{cursor}\",\"recovered\":true}}",
                disconnect_envelope(&reason)
            );
            return Ok(PollBody(body));
        }
    };
    lifecycle::maybe_sweep(engine).await;
    let (start, mut recovered) = start_position(engine, &meta, Some(cursor), now_ms());
    let mut subscription = engine.store.subscribe(engine.config.stream_buffer_bytes);
    let batch = engine.config.replay_batch;
    let mut reader = Reader::new(engine.store.clone(), sid, &meta.public_id, start, batch);
    reader.listen_all(&subscription).await?;
    let mut delivery = reader.replay_listening(&subscription).await?;
    recovered &= !delivery.rewound;
    while delivery.messages.is_empty() && delivery.disconnected.is_none() && delivery.more {
        delivery = reader.replay_listening(&subscription).await?;
    }

    let mut shutdown = engine.shutdown_watch();
    let end = super::end_at(Some(engine.config.poll_timeout), until);
    let timeout = tokio::time::sleep_until(end.unwrap_or_else(tokio::time::Instant::now));
    tokio::pin!(timeout);
    // A client that lost messages learns it at once, not after the wait.
    while recovered
        && delivery.messages.is_empty()
        && delivery.volatile.is_empty()
        && delivery.disconnected.is_none()
    {
        let live = tokio::select! {
            _ = &mut timeout => break,
            _ = shutdown.wait_for(|down| *down) => break,
            live = subscription.recv() => live,
        };
        let Some(live) = live else { break };
        delivery = reader.on_live(live);
        if delivery.resync {
            delivery = reader.replay_listening(&subscription).await?;
            while delivery.messages.is_empty() && delivery.more {
                delivery = reader.replay_listening(&subscription).await?;
            }
        }
    }
    let position = bound(&mut delivery).unwrap_or(reader.position);
    let body = format!(
        "{{\"messages\":{},\"cursor\":\"{}\",\"recovered\":{}}}",
        messages_json(&delivery, true),
        position,
        recovered
    );
    Ok(PollBody(body))
}

//! `GET ?sid=..`: the long-poll. It reads the transport log and each connected namespace
//! session's logs from this transport's positions in them (kept in the store), waits up
//! to `pingInterval` for the first packet, else answers a ping, and moves the positions. A lease in the store allows one pending poll per sid on all instances.

use std::sync::Arc;

use axum::body::Body;
use futures_util::future::select_all;
use http::Response;
use socket_serve_protocol::socketio::{encode_payload, EioPacket, SioKind, SioPacket};
use socket_serve_protocol::Cursor;

use super::packets::{self, ack_key, namespace_key, position_key, OWNER};
use super::post::{end_transport, CLIENT_CLOSE, OVERLAP};
use super::{text_response, EioError, Inner};
use crate::engine::emit::now_ms;
use crate::engine::{lifecycle, Engine};
use crate::error::Error;
use crate::store::{Claim, Live, Subscription};
use crate::transport::reader::{Delivery, Reader};

/// The message id of the poll lease (a claim that is released, never completed).
const POLL_LEASE: &str = "__eio_poll";

/// One log reader of the poll: the transport session's (`nsp` `None`) or a namespace's.
struct Source {
    engine: Arc<Engine>,
    sid: String,
    nsp: Option<String>,
    from: Cursor,
    reader: Reader,
    subscription: Subscription,
}

/// What the poll answers, as it grows.
#[derive(Default)]
struct Answer {
    /// The transport's own packets (and namespace ends).
    packets: Vec<String>,
    /// Each namespace source's packets, by source index: sent only if the source is still
    /// this transport's when the poll answers.
    events: std::collections::BTreeMap<usize, Vec<String>>,
    /// The Engine.IO session ended: nothing comes after.
    closed: bool,
}

pub(crate) async fn poll(inner: &Arc<Inner>, sid: &str) -> Result<Response<Body>, Error> {
    let transport = &inner.transport;
    let Ok(meta) = lifecycle::touch(transport, sid).await else {
        return Ok(EioError::UnknownSid.response());
    };
    let lease = inner.options.ping_interval + std::time::Duration::from_secs(10);
    if let Claim::InProgress = transport
        .store
        .claim_message(sid, POLL_LEASE, lease)
        .await?
    {
        // The protocol's rule: a second pending poll is an error that ends the session;
        // the pending one wakes on the end and answers.
        end_transport(inner, sid, OVERLAP).await?;
        return Ok(EioError::BadRequest.response());
    }
    let answer = answer(inner, sid, meta.start).await;
    if let Err(err) = transport.store.release_message(sid, POLL_LEASE).await {
        tracing::warn!(error = %err, "could not release a poll lease");
    }
    Ok(text_response(encode_payload(&answer?.packets)))
}

impl Answer {
    fn is_empty(&self) -> bool {
        self.packets.is_empty() && self.events.values().all(Vec::is_empty)
    }
}

/// Whether a namespace session is still read through this transport session: a client
/// that recovered it through a new one took it away (this poll must then neither deliver
/// its messages nor move its position).
async fn owned(source: &Source, transport_sid: &str) -> Result<bool, Error> {
    let owner = source.engine.store.get_state(&source.sid, OWNER).await?;
    Ok(owner
        .is_none_or(|o| serde_json::from_str::<String>(&o).ok().as_deref() == Some(transport_sid)))
}

async fn answer(inner: &Arc<Inner>, sid: &str, started: Cursor) -> Result<Answer, Error> {
    let mut answer = Answer::default();
    let transport_from = inner
        .transport
        .store
        .drain_position(sid)
        .await?
        .ok_or(Error::UnknownSession)?;
    let mut sources = vec![source(inner.transport.clone(), sid, None, transport_from).await?];
    for (nsp, engine) in &inner.namespaces {
        let key = namespace_key(nsp);
        let Some(session) = inner.transport.store.get_state(sid, &key).await? else {
            continue;
        };
        let session: String = serde_json::from_str(&session).unwrap_or_default();
        let from = match inner
            .transport
            .store
            .get_state(sid, &position_key(nsp))
            .await?
        {
            Some(json) => serde_json::from_str::<String>(&json)
                .ok()
                .and_then(|c| c.parse::<Cursor>().ok()),
            None => None,
        };
        let Some(from) = from else {
            inner.transport.store.delete_state(sid, &key).await?;
            continue;
        };
        match source(engine.clone(), &session, Some(nsp.clone()), from).await {
            Ok(source) if !owned(&source, sid).await? => {
                inner.transport.store.delete_state(sid, &key).await?;
            }
            Ok(source) => sources.push(source),
            Err(Error::UnknownSession) => {
                // Ended between two polls: say so once, unless the client left itself.
                inner.transport.store.delete_state(sid, &key).await?;
                let reason = engine.store.ended_reason(&session).await?;
                disconnected(&mut answer, nsp, reason.as_deref());
            }
            Err(err) => return Err(err),
        }
    }
    let connected = sources.len() > 1;
    let waited_ms = now_ms().saturating_sub(started.ms);
    if !connected && waited_ms > inner.options.connect_timeout.as_millis() as u64 {
        end_transport(inner, sid, "connect timeout").await?;
        answer.packets.push(EioPacket::Close.encode());
        return Ok(answer);
    }
    for (i, source) in sources.iter_mut().enumerate() {
        let delivery = replay(source).await?;
        take(inner, sid, i, source, delivery, &mut answer).await?;
    }
    let deadline = tokio::time::Instant::now() + inner.options.ping_interval;
    while answer.is_empty() && !answer.closed {
        let live = {
            let waits = sources.iter_mut().map(|s| Box::pin(s.subscription.recv()));
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => None,
                (live, i, _) = select_all(waits) => Some((live, i)),
            }
        };
        let Some((live, i)) = live else { break };
        let Some(live) = live else {
            // A subscription was cut (slow reader, lost pub/sub): the logs have it all.
            break;
        };
        let delivery = on_live(&mut sources[i], live).await?;
        take(inner, sid, i, &sources[i], delivery, &mut answer).await?;
    }
    for (i, source) in sources.iter().enumerate() {
        let events = answer.events.remove(&i).unwrap_or_default();
        if source.nsp.is_some() && !owned(source, sid).await? {
            continue;
        }
        answer.packets.extend(events);
        if source.reader.position <= source.from {
            continue;
        }
        match &source.nsp {
            // This transport's own position in the namespace session (one poll at a
            // time holds the lease, so no other request writes it).
            Some(nsp) => {
                let position = serde_json::to_string(&source.reader.position.to_string())?;
                let key = position_key(nsp);
                packets::set_state(&inner.transport, sid, &key, &position).await?;
            }
            None => {
                let store = &source.engine.store;
                store
                    .advance_drain(sid, source.from, source.reader.position)
                    .await?;
            }
        }
    }
    if answer.packets.is_empty() {
        answer.packets.push(EioPacket::Ping(String::new()).encode());
    }
    Ok(answer)
}

async fn source(
    engine: Arc<Engine>,
    sid: &str,
    nsp: Option<String>,
    from: Cursor,
) -> Result<Source, Error> {
    let meta = lifecycle::touch(&engine, sid).await?;
    let batch = engine.config.replay_batch;
    let mut reader = Reader::new(engine.store.clone(), sid, &meta.public_id, from, batch);
    let subscription = engine.store.subscribe(engine.config.stream_buffer_bytes);
    reader.listen_all(&subscription).await?;
    Ok(Source {
        engine,
        sid: sid.to_owned(),
        nsp,
        from,
        reader,
        subscription,
    })
}

/// What the source has after its position, within the long-poll answer's bounds (as on
/// the socket-serve long-poll: the rest comes with the next poll, from the last kept).
async fn replay(source: &mut Source) -> Result<Delivery, Error> {
    let mut delivery = source.reader.replay_listening(&source.subscription).await?;
    while delivery.messages.is_empty() && delivery.disconnected.is_none() && delivery.more {
        delivery = source.reader.replay_listening(&source.subscription).await?;
    }
    if let Some(last_kept) = crate::transport::bound(&mut delivery) {
        source.reader.position = last_kept;
    }
    Ok(delivery)
}

async fn on_live(source: &mut Source, live: Live) -> Result<Delivery, Error> {
    let delivery = source.reader.on_live(live);
    if delivery.resync {
        return replay(source).await;
    }
    Ok(delivery)
}

/// Adds a delivery's packets to the answer.
async fn take(
    inner: &Inner,
    sid: &str,
    index: usize,
    source: &Source,
    delivery: Delivery,
    answer: &mut Answer,
) -> Result<(), Error> {
    let Some(nsp) = &source.nsp else {
        for (_, json) in &delivery.messages {
            answer.packets.extend(packets::transport_packets(json));
        }
        if let Some(reason) = delivery.disconnected {
            // A close by the client ends a pending poll with a noop; any other end with a
            // close packet.
            let last = match reason.as_str() {
                CLIENT_CLOSE => EioPacket::Noop,
                _ => EioPacket::Close,
            };
            answer.packets.push(last.encode());
            answer.closed = true;
        }
        return Ok(());
    };
    let recovery = inner.options.recovery;
    let events = answer.events.entry(index).or_default();
    for json in &delivery.volatile {
        if let Some(out) = packets::event(nsp, json, source.reader.position, false) {
            events.extend(out.packets);
        }
    }
    for (cursor, json) in &delivery.messages {
        let Some(out) = packets::event(nsp, json, *cursor, recovery) else {
            continue;
        };
        if let Some((id, ack_id)) = out.ack {
            let value = serde_json::to_string(&ack_id)?;
            packets::set_state(&source.engine, &source.sid, &ack_key(id), &value).await?;
        }
        events.extend(out.packets);
    }
    if let Some(reason) = delivery.disconnected {
        let key = namespace_key(nsp);
        inner.transport.store.delete_state(sid, &key).await?;
        disconnected(answer, nsp, Some(&reason));
    }
    Ok(())
}

/// A namespace session's end, as the client hears it: a `DISCONNECT`, unless the client
/// itself left (it knows) or the end is unknown.
fn disconnected(answer: &mut Answer, nsp: &str, reason: Option<&str>) {
    if matches!(reason, None | Some("client disconnect")) {
        return;
    }
    let packet = SioPacket::new(SioKind::Disconnect, nsp);
    answer.packets.extend(packets::encode(packet));
}

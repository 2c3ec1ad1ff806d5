//! `POST ?sid=..`: the client's packets. Each runs like the socket-serve endpoint of the
//! same meaning (`CONNECT` like `/connect`, `EVENT` like `/message`, `ACK` like `/ack`),
//! and what the client must hear back goes to the transport log for its next poll.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use http::{Request, Response};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use socket_serve_protocol::socketio::{
    decode_payload, markers_from_placeholders, EioPacket, SioKind, SioPacket,
};
use socket_serve_protocol::Cursor;

use super::packets::{self, ack_key, namespace_key, payload};
use super::{text_response, EioError, Inner};
use crate::engine::{is_session_id, lifecycle, ClientWaits, Engine, MessageInput, RequestInfo};
use crate::error::Error;
use crate::platform::Deadline;

/// The state key of a binary packet still waiting for attachments.
const PENDING_BINARY: &str = "__sio_binary";

/// A binary packet's header and the attachments received so far (they may come in later
/// `POST`s).
#[derive(Serialize, Deserialize)]
struct PendingBinary {
    header: String,
    parts: Vec<String>,
}

/// Why a close ended the Engine.IO session (the transport log's `Disconnected` reason).
pub(crate) const CLIENT_CLOSE: &str = "client close";
pub(crate) const OVERLAP: &str = "overlapping polls";
pub(crate) const INVALID_PACKET: &str = "invalid packet";

pub(crate) async fn post(
    inner: &Arc<Inner>,
    sid: &str,
    req: Request<Body>,
) -> Result<Response<Body>, Error> {
    if lifecycle::touch(&inner.transport, sid).await.is_err() {
        return Ok(EioError::UnknownSid.response());
    }
    let (parts, body) = req.into_parts();
    let info = Arc::new(RequestInfo::from_parts(&parts));
    let until = handler_deadline(inner, &parts.extensions);
    let bytes = match crate::http::read_limited(body, inner.options.max_payload).await {
        Ok(bytes) => bytes,
        Err(err) => return Err(err),
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return close_invalid(inner, sid).await;
    };
    let Ok(list) = decode_payload(text) else {
        return close_invalid(inner, sid).await;
    };
    for packet in list {
        let handled = match packet {
            EioPacket::Close => {
                end_transport(inner, sid, CLIENT_CLOSE).await?;
                return Ok(text_response("ok".into()));
            }
            EioPacket::Message(text) => on_message(inner, sid, &text, &info, until).await?,
            EioPacket::Binary(base64) => on_attachment(inner, sid, base64, &info, until).await?,
            EioPacket::Pong(_) | EioPacket::Noop => true,
            EioPacket::Ping(_) | EioPacket::Open(_) | EioPacket::Upgrade => false,
        };
        if !handled {
            return close_invalid(inner, sid).await;
        }
    }
    Ok(text_response("ok".into()))
}

/// When this request's handlers must be done: a margin before the runtime's deadline for
/// it, or before the platform's response limit; never on a plain server.
fn handler_deadline(inner: &Inner, extensions: &http::Extensions) -> Option<Instant> {
    let now = Instant::now();
    if let Some(deadline) = extensions.get::<Deadline>() {
        return Some(deadline.end_by(now));
    }
    let limit = inner.transport.config.platform.duration_limit()?;
    Some(now + crate::platform::within(limit))
}

async fn close_invalid(inner: &Arc<Inner>, sid: &str) -> Result<Response<Body>, Error> {
    end_transport(inner, sid, INVALID_PACKET).await?;
    Ok(EioError::BadRequest.response())
}

/// Ends the Engine.IO session; a waiting poll wakes on the end and answers.
pub(crate) async fn end_transport(
    inner: &Arc<Inner>,
    sid: &str,
    reason: &str,
) -> Result<(), Error> {
    lifecycle::end_session(&inner.transport, sid, reason, None).await
}

/// One Socket.IO packet; `false` if it is not valid.
async fn on_message(
    inner: &Arc<Inner>,
    sid: &str,
    text: &str,
    info: &Arc<RequestInfo>,
    until: Option<Instant>,
) -> Result<bool, Error> {
    let Ok(packet) = SioPacket::decode(text) else {
        return Ok(false);
    };
    if packet.kind.is_binary() && packet.attachments > 0 {
        let pending = PendingBinary {
            header: text.to_owned(),
            parts: Vec::new(),
        };
        let json = serde_json::to_string(&pending)?;
        packets::set_state(&inner.transport, sid, PENDING_BINARY, &json).await?;
        return Ok(true);
    }
    dispatch(inner, sid, packet, info, until).await
}

/// An attachment of the pending binary packet; the packet runs once it has them all.
async fn on_attachment(
    inner: &Arc<Inner>,
    sid: &str,
    base64: String,
    info: &Arc<RequestInfo>,
    until: Option<Instant>,
) -> Result<bool, Error> {
    let store = &inner.transport.store;
    let Some(json) = store.get_state(sid, PENDING_BINARY).await? else {
        return Ok(false);
    };
    let Ok(mut pending) = serde_json::from_str::<PendingBinary>(&json) else {
        return Ok(false);
    };
    let Ok(mut packet) = SioPacket::decode(&pending.header) else {
        return Ok(false);
    };
    pending.parts.push(base64);
    let size: usize = pending.parts.iter().map(String::len).sum();
    if size > inner.transport.config.max_message_size {
        // Larger than any message may be: stored no further, and the session closes.
        store.delete_state(sid, PENDING_BINARY).await?;
        return Ok(false);
    }
    if pending.parts.len() < packet.attachments {
        let json = serde_json::to_string(&pending)?;
        packets::set_state(&inner.transport, sid, PENDING_BINARY, &json).await?;
        return Ok(true);
    }
    store.delete_state(sid, PENDING_BINARY).await?;
    let data = packet.data.take().unwrap_or(Value::Null);
    let Some(data) = markers_from_placeholders(data, &pending.parts) else {
        return Ok(false);
    };
    packet.data = Some(data);
    packet.kind = match packet.kind {
        SioKind::BinaryAck => SioKind::Ack,
        _ => SioKind::Event,
    };
    dispatch(inner, sid, packet, info, until).await
}

async fn dispatch(
    inner: &Arc<Inner>,
    sid: &str,
    packet: SioPacket,
    info: &Arc<RequestInfo>,
    until: Option<Instant>,
) -> Result<bool, Error> {
    let Some(engine) = inner.namespace(&packet.nsp).cloned() else {
        if packet.kind == SioKind::Connect {
            let refusal = SioPacket::new(SioKind::ConnectError, &packet.nsp)
                .with_data(json!({"message": "Invalid namespace"}));
            packets::push(&inner.transport, sid, packets::encode(refusal), None).await?;
        }
        return Ok(true);
    };
    if packet.kind == SioKind::Connect {
        connect(inner, sid, &engine, packet, info).await?;
        return Ok(true);
    }
    let key = namespace_key(&packet.nsp);
    let Some(session) = inner.transport.store.get_state(sid, &key).await? else {
        // Not connected to that namespace: Socket.IO ignores such packets.
        return Ok(true);
    };
    let session: String = serde_json::from_str(&session).unwrap_or_default();
    match packet.kind {
        SioKind::Disconnect => {
            inner.transport.store.delete_state(sid, &key).await?;
            lifecycle::end_session(&engine, &session, "client disconnect", Some(info.clone()))
                .await?;
        }
        SioKind::Event => event(inner, sid, &engine, &session, packet, info, until).await?,
        SioKind::Ack => ack(&engine, &session, packet).await?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// `CONNECT`: resumes the session `pid` names (connection state recovery), or connects
/// anew like `/connect`, with the rest of the payload as the auth `authorize` sees.
async fn connect(
    inner: &Arc<Inner>,
    sid: &str,
    engine: &Arc<Engine>,
    packet: SioPacket,
    info: &Arc<RequestInfo>,
) -> Result<(), Error> {
    let nsp = packet.nsp.clone();
    let mut auth = match packet.data {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let pid = auth.remove("pid");
    let offset = auth.remove("offset");
    let resumed = match (inner.options.recovery, pid) {
        (true, Some(Value::String(pid))) => resume(engine, sid, &pid, offset.as_ref()).await?,
        _ => None,
    };
    let (session, public_id, from) = match resumed {
        Some(found) => found,
        None => {
            let auth = (!auth.is_empty()).then_some(Value::Object(auth));
            let engine_ = engine.clone();
            let request = Some(info.clone());
            let connected = crate::http::run_to_completion(async move {
                lifecycle::connect(&engine_, auth, request).await
            })
            .await;
            match connected {
                Ok(answer) => {
                    let start = answer.cursor.unwrap_or_default();
                    (answer.session_id, answer.id, start)
                }
                Err(err) => {
                    let refusal = SioPacket::new(SioKind::ConnectError, &nsp).with_data(
                        json!({"message": err.to_string(), "data": {"code": err.code()}}),
                    );
                    packets::push(&inner.transport, sid, packets::encode(refusal), None).await?;
                    return Ok(());
                }
            }
        }
    };
    let owner = serde_json::to_string(sid)?;
    packets::set_state(engine, &session, packets::OWNER, &owner).await?;
    let position = serde_json::to_string(&from.to_string())?;
    let transport = &inner.transport;
    packets::set_state(transport, sid, &packets::position_key(&nsp), &position).await?;
    let key = namespace_key(&nsp);
    let value = serde_json::to_string(&session)?;
    packets::set_state(transport, sid, &key, &value).await?;
    let mut answer = json!({"sid": public_id});
    if inner.options.recovery {
        answer["pid"] = Value::String(session);
    }
    let hello = SioPacket::new(SioKind::Connect, &nsp).with_data(answer);
    packets::push(&inner.transport, sid, packets::encode(hello), None).await
}

/// The session `pid` names, if it is still open, and where its delivery restarts: after
/// `offset` (the cursor of the last event the client got; its start without one), through
/// the transport session `sid` from now on.
async fn resume(
    engine: &Arc<Engine>,
    sid: &str,
    pid: &str,
    offset: Option<&Value>,
) -> Result<Option<(String, String, Cursor)>, Error> {
    if !is_session_id(pid) {
        return Ok(None);
    }
    let Ok(meta) = lifecycle::touch(engine, pid).await else {
        return Ok(None);
    };
    let offset = offset
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<Cursor>().ok());
    let now = crate::engine::emit::now_ms();
    let (from, recoverable) = crate::transport::start_position(engine, &meta, offset, now);
    if !recoverable {
        return Ok(None);
    }
    // Owned: a poll of the old transport session no longer delivers from it.
    let owner = serde_json::to_string(sid)?;
    packets::set_state(engine, pid, packets::OWNER, &owner).await?;
    Ok(Some((pid.to_owned(), meta.public_id, from)))
}

/// `EVENT`: the handler runs as for `POST /message`, inside the request (a serverless
/// instance may freeze once the `POST` answers), until `until`, the request's deadline.
/// One exception: the client sends nothing while its `POST` is open, so a handler that
/// waits for this client's ack releases the `POST` and finishes in its task. An id makes
/// the event retry-safe (the id is the `messageId`) and its answer an `ACK` for the next
/// poll.
async fn event(
    inner: &Arc<Inner>,
    sid: &str,
    engine: &Arc<Engine>,
    session: &str,
    packet: SioPacket,
    info: &Arc<RequestInfo>,
    until: Option<Instant>,
) -> Result<(), Error> {
    let Some(Value::Array(mut args)) = packet.data else {
        return Ok(());
    };
    let Value::String(event) = args.remove(0) else {
        return Ok(());
    };
    let input = MessageInput {
        sid: session.to_owned(),
        event,
        data: payload(args),
        message_id: packet.id.map(|id| format!("sio-{id}")),
        requires_ack: packet.id.is_some(),
        request: Some(info.clone()),
    };
    let max = engine.config.max_message_size;
    if serde_json::to_vec(&input.data).map_or(true, |json| json.len() > max) {
        // As `POST /message` refuses it; the rest of the `POST` still runs.
        if let Some(id) = packet.id {
            let err = Error::MessageTooLarge(max);
            let reply = vec![json!({"error": err.code(), "message": err.to_string()})];
            send_ack(inner, sid, session, &packet.nsp, id, reply).await?;
        }
        return Ok(());
    }
    let waits = ClientWaits::new(session);
    let (inner, engine, scoped) = (inner.clone(), engine.clone(), waits.clone());
    let (sid, session, nsp, id) = (sid.to_owned(), session.to_owned(), packet.nsp, packet.id);
    let flow = tokio::spawn(scoped.scope(async move {
        let answer = lifecycle::message(&engine, input).await;
        let Some(id) = id else {
            if let Err(err) = answer {
                tracing::debug!(error = %err, "a Socket.IO event without ack failed");
            }
            return Ok(());
        };
        let reply = match answer {
            Ok(answer) => packets::arguments(answer.ack.unwrap_or(Value::Null)),
            // Gone, or still running elsewhere (or on an instance that died): no answer, so
            // the client's retry asks again.
            Err(Error::UnknownSession | Error::MessageInProgress(_)) => return Ok(()),
            Err(err) => vec![json!({"error": err.code(), "message": err.to_string()})],
        };
        send_ack(&inner, &sid, &session, &nsp, id, reply).await
    }));
    let past_deadline = async {
        match until {
            Some(until) => tokio::time::sleep_until(until.into()).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        joined = flow => match joined {
            Ok(result) => result,
            Err(join) => {
                tracing::error!(error = %join, "a handler panicked");
                Ok(())
            }
        },
        () = waits.released() => Ok(()),
        () = past_deadline => {
            tracing::warn!("a Socket.IO handler outlived its request's deadline");
            Ok(())
        }
    }
}

/// The answer to the client's event `id`, for its next poll.
async fn send_ack(
    inner: &Inner,
    sid: &str,
    session: &str,
    nsp: &str,
    id: u64,
    reply: Vec<Value>,
) -> Result<(), Error> {
    let ack = SioPacket::new(SioKind::Ack, nsp)
        .with_id(id)
        .with_data(Value::Array(reply));
    // Per namespace session and id: a retried event is answered once per transport.
    let dedup = format!("ack:{session}:{id}");
    packets::push(&inner.transport, sid, packets::encode(ack), Some(dedup)).await
}

/// `ACK`: the client's answer to an `emit_with_ack`, as `POST /ack`.
async fn ack(engine: &Arc<Engine>, session: &str, packet: SioPacket) -> Result<(), Error> {
    let (Some(id), Some(Value::Array(args))) = (packet.id, packet.data) else {
        return Ok(());
    };
    let key = ack_key(id);
    let Some(ack_id) = engine.store.get_state(session, &key).await? else {
        return Ok(());
    };
    let ack_id: String = serde_json::from_str(&ack_id).unwrap_or_default();
    crate::engine::ack_reply(engine, session, &ack_id, &payload(args)).await?;
    engine.store.delete_state(session, &key).await?;
    Ok(())
}

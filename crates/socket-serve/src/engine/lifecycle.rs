//! The flows of a session's life: connect, message, disconnect, expiry. Each runs inside
//! the request that caused it: nothing waits for a timer after the answer, because a
//! serverless instance is frozen once it has answered.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::StatusCode;
use serde_json::Value;
use socket_serve_protocol::{validate_event_name, ConnectResponse, Envelope, MessageResponse};

use crate::engine::emit::now_ms;
use crate::engine::handshake::Handshake;
use crate::engine::ids::{is_session_id, new_public_id, new_session_id};
use crate::engine::request::RequestInfo;
use crate::engine::socket::SocketParts;
use crate::engine::{Engine, Socket};
use crate::error::Error;
use crate::store::{Claim, EntryKind, LogId, Outgoing, SessionMeta};

/// Longest client `messageId`, in characters.
const MAX_MESSAGE_ID_LEN: usize = 128;

/// How long a repeated message waits for the first copy to finish before answering 409.
const MAX_WAIT_FOR_DUPLICATE: Duration = Duration::from_secs(10);

/// A client emit, as the HTTP layer parsed it.
pub(crate) struct MessageInput {
    pub sid: String,
    pub event: String,
    pub data: Value,
    pub message_id: Option<String>,
    pub requires_ack: bool,
    pub request: Option<Arc<RequestInfo>>,
}

/// Looks a session up by its private id, refreshing it.
pub(crate) async fn touch(engine: &Engine, sid: &str) -> Result<SessionMeta, Error> {
    if !is_session_id(sid) {
        return Err(Error::UnknownSession);
    }
    engine
        .store
        .touch_session(sid)
        .await?
        .ok_or(Error::UnknownSession)
}

pub(crate) async fn connect(
    engine: &Arc<Engine>,
    auth: Option<Value>,
    request: Option<Arc<RequestInfo>>,
) -> Result<ConnectResponse, Error> {
    let handlers = engine.handlers();
    let data = match (&handlers.authorize, &request) {
        (Some(authorize), Some(request)) => {
            let handshake = Handshake {
                request: request.clone(),
                auth: auth.clone(),
            };
            // Refused: nothing is stored.
            authorize(handshake).await.inspect_err(|err| {
                tracing::debug!(code = err.code(), reason = %err, "connect refused by authorize")
            })?
        }
        _ => None,
    };
    let sid = new_session_id();
    let public_id = new_public_id();
    let start = engine
        .store
        .create_session(&sid, &public_id, data.as_deref())
        .await?;
    // After the request's own store call: with the store down, that one answers the 503
    // within `store_timeout`, not a sweep before it and then it.
    maybe_sweep(engine).await;
    if let Some(handler) = handlers.connect.clone() {
        let socket = Socket::new(
            engine.clone(),
            SocketParts {
                sid: sid.clone(),
                public_id: public_id.clone(),
                auth,
                message_id: None,
                disconnect_reason: None,
                request,
                data,
            },
        );
        if let Err(err) = handler(socket).await {
            // It never connected, so it gets no on_disconnect.
            if engine
                .store
                .close_session(&sid, "rejected")
                .await?
                .is_some()
            {
                engine.store.purge_session(&sid).await?;
            }
            let err = if err.status() == StatusCode::FORBIDDEN && err.code() == "rejected" {
                tracing::debug!(id = %public_id, reason = %err, "connection rejected");
                err.with_code("connect_rejected")
            } else {
                tracing::error!(id = %public_id, error = %err, "on_connect failed");
                err
            };
            return Err(err.into());
        }
    }
    Ok(ConnectResponse {
        session_id: sid,
        id: public_id,
        cursor: Some(start),
    })
}

fn validate_message_id(id: &str) -> Result<(), Error> {
    if id.is_empty() {
        return Err(Error::InvalidMessageId("messageId is empty"));
    }
    if id.chars().count() > MAX_MESSAGE_ID_LEN {
        return Err(Error::InvalidMessageId(
            "messageId is longer than 128 characters",
        ));
    }
    if id.chars().any(char::is_control) {
        return Err(Error::InvalidMessageId(
            "messageId contains a control character",
        ));
    }
    Ok(())
}

/// The answer a handled message keeps when its real one was too large to keep (not JSON,
/// so no real answer is ever taken for it).
const NOT_KEPT: &str = "";

pub(crate) async fn message(
    engine: &Arc<Engine>,
    input: MessageInput,
) -> Result<MessageResponse, Error> {
    validate_event_name(&input.event)?;
    if let Some(id) = &input.message_id {
        validate_message_id(id)?;
    }
    let meta = touch(engine, &input.sid).await?;
    maybe_sweep(engine).await;
    let Some(message_id) = input.message_id.clone() else {
        return run_handler(engine, &meta, input).await;
    };
    let deadline = Instant::now() + MAX_WAIT_FOR_DUPLICATE.min(engine.config.handler_lease);
    let mut pause = Duration::from_millis(10);
    loop {
        let lease = engine.config.handler_lease;
        match engine
            .store
            .claim_message(&input.sid, &message_id, lease)
            .await?
        {
            Claim::New => break,
            Claim::Done(answer) if answer == NOT_KEPT => {
                return Err(Error::AnswerNotKept(message_id));
            }
            Claim::Done(answer) => {
                return serde_json::from_str(&answer)
                    .map_err(|e| crate::store::StoreError::Corrupt(e.to_string()).into());
            }
            Claim::InProgress if Instant::now() < deadline => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(200));
            }
            Claim::InProgress => return Err(Error::MessageInProgress(message_id)),
        }
    }
    let sid = input.sid.clone();
    match run_handler(engine, &meta, input).await {
        Ok(answer) => {
            let mut json = serde_json::to_string(&answer)?;
            if json.len() > engine.config.max_kept_answer {
                // Kept for the recovery window, a large answer would cost its size again
                // per message: a retry learns it was handled instead.
                json = NOT_KEPT.to_owned();
            }
            engine
                .store
                .complete_message(&sid, &message_id, &json)
                .await?;
            Ok(answer)
        }
        Err(err) => {
            // Let a retry run the handler again (its earlier emits are deduplicated).
            if let Err(release) = engine.store.release_message(&sid, &message_id).await {
                tracing::warn!(error = %release, "could not release a failed message");
            }
            Err(err)
        }
    }
}

async fn run_handler(
    engine: &Arc<Engine>,
    meta: &SessionMeta,
    input: MessageInput,
) -> Result<MessageResponse, Error> {
    let handlers = engine.handlers();
    let socket = || {
        Socket::new(
            engine.clone(),
            SocketParts {
                sid: input.sid.clone(),
                public_id: meta.public_id.clone(),
                auth: None,
                message_id: input.message_id.clone(),
                disconnect_reason: None,
                request: input.request.clone(),
                data: meta.data.clone(),
            },
        )
    };
    let ran = match (handlers.messages.get(&input.event), &handlers.any) {
        (Some(handler), _) => Some(handler(socket(), input.data).await),
        (None, Some(any)) => Some(any(socket(), input.event.clone(), input.data).await),
        (None, None) if engine.config.strict_events => {
            return Err(Error::UnknownEvent(input.event));
        }
        (None, None) => {
            tracing::warn!(event = %input.event, id = %meta.public_id, "no handler for this event");
            None
        }
    };
    let ack = match ran {
        None => None,
        Some(Ok(ack)) => ack,
        Some(Err(err)) => {
            if err.status().is_server_error() {
                tracing::error!(event = %input.event, id = %meta.public_id, code = err.code(), error = %err, "handler failed");
            } else {
                tracing::info!(event = %input.event, id = %meta.public_id, code = err.code(), error = %err, "handler refused the message");
            }
            return Err(err);
        }
    };
    if input.requires_ack {
        if let Some(message_id) = &input.message_id {
            // The 0.6.0 client waits for this frame on its stream (null when no reply).
            let reply = ack.clone().unwrap_or(Value::Null);
            let json = Envelope::ack(message_id.clone(), reply, now_ms()).to_json();
            let kind = EntryKind::Message {
                json: json.into(),
                audience: Default::default(),
            };
            let dedup = Some((input.sid.clone(), format!("{message_id}#ack")));
            let log = LogId::Session(input.sid.clone());
            engine.store.append(Outgoing { log, kind, dedup }).await?;
        }
    }
    Ok(MessageResponse { success: true, ack })
}

/// Ends a session once: `on_disconnect` (by whichever caller wins the close), then purge.
pub(crate) async fn end_session(
    engine: &Arc<Engine>,
    sid: &str,
    reason: &str,
    request: Option<Arc<RequestInfo>>,
) -> Result<(), Error> {
    if !is_session_id(sid) {
        return Ok(());
    }
    let Some(meta) = engine.store.close_session(sid, reason).await? else {
        return Ok(());
    };
    if let Some(handler) = engine.handlers().disconnect.clone() {
        let socket = Socket::new(
            engine.clone(),
            SocketParts {
                sid: sid.to_owned(),
                public_id: meta.public_id.clone(),
                auth: None,
                message_id: None,
                disconnect_reason: Some(reason.to_owned()),
                request,
                data: meta.data.clone(),
            },
        );
        if let Err(err) = handler(socket).await {
            tracing::error!(id = %meta.public_id, error = %err, "on_disconnect failed");
        }
    }
    // Its rooms are readable until the purge; the leaves are announced after it, so a
    // member that hears one and reads the room's list no longer finds it there.
    let rooms = match engine.config.presence_events {
        true => engine.store.rooms(sid).await?.rooms,
        false => Vec::new(),
    };
    engine.store.purge_session(sid).await?;
    for (room, _) in rooms {
        let event = crate::engine::presence::PRESENCE_LEAVE;
        crate::engine::presence::announce(engine, &room, event, &meta.public_id, None).await?;
    }
    Ok(())
}

/// How many expired sessions one sweep ends at once (each is a few store calls).
const CONCURRENT_ENDS: usize = 16;

/// How long a sweep riding on a request may go on (the background sweep may take up to
/// `sweep_interval`).
const SWEEP_IN_REQUEST: Duration = Duration::from_millis(10);

/// Ends expired sessions, `sweep_batch` at a time, until none is left or `budget` has
/// passed (one batch at least): however many expire, a sweep keeps up as long as the
/// store can end them as fast as they are created. Returns how many it ended, and
/// whether none is left.
pub(crate) async fn sweep(engine: &Arc<Engine>, budget: Duration) -> Result<(usize, bool), Error> {
    use futures_util::{StreamExt, TryStreamExt};
    let started = Instant::now();
    let batch = engine.config.sweep_batch.max(1);
    let mut ended = 0;
    loop {
        let expired = engine.store.expired_sessions(batch).await?;
        let found = expired.len();
        futures_util::stream::iter(expired)
            .map(|sid| async move { end_session(engine, &sid, "expired", None).await })
            .buffer_unordered(CONCURRENT_ENDS)
            .try_collect::<Vec<()>>()
            .await?;
        ended += found;
        if found < batch {
            return Ok((ended, true));
        }
        if started.elapsed() >= budget {
            return Ok((ended, false));
        }
    }
}

/// Sweeps if this instance has not swept for `sweep_interval`: bounded work, riding on a
/// request, so no long-running process is needed for expiry. Not where the background
/// sweep runs: requests sweeping a few ms each would keep it from its longer turns.
pub(crate) async fn maybe_sweep(engine: &Arc<Engine>) {
    if engine.sweeper_started.load(Ordering::Acquire) {
        return;
    }
    let now = now_ms();
    let interval = engine.config.sweep_interval.as_millis() as u64;
    let last = engine.last_sweep_ms.load(Ordering::Relaxed);
    if now.saturating_sub(last) < interval {
        return;
    }
    let won = engine
        .last_sweep_ms
        .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
        .is_ok();
    if won {
        if let Err(err) = sweep(engine, SWEEP_IN_REQUEST).await {
            tracing::warn!(error = %err, "expiry sweep failed");
        }
    }
}

/// On a long-running server, starts the background sweep (once): `on_disconnect` runs for
/// vanished clients even when no request comes. It stops when the server does (shutdown,
/// or every handle dropped). Serverless platforms get none: a task left running after a
/// response stalls in a frozen instance; they sweep inside requests ([`maybe_sweep`]).
pub(crate) fn ensure_sweeper(engine: &Arc<Engine>) {
    if engine.config.platform != crate::Platform::Server
        || engine.sweeper_started.swap(true, Ordering::AcqRel)
    {
        return;
    }
    let weak = Arc::downgrade(engine);
    let interval = engine.config.sweep_interval;
    let mut shutdown = engine.shutdown_watch();
    tokio::spawn(async move {
        let mut drained = true;
        loop {
            // A sweep that ran out of time goes on at once: expiry keeps up with creation.
            let pause = if drained { interval } else { Duration::ZERO };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                // Shutdown begun, or the server dropped (the sender with it).
                _ = shutdown.wait_for(|down| *down) => return,
            }
            let Some(engine) = weak.upgrade() else { return };
            drained = match sweep(&engine, interval).await {
                Ok((_, drained)) => drained,
                Err(err) => {
                    tracing::warn!(error = %err, "expiry sweep failed");
                    true
                }
            };
        }
    });
}

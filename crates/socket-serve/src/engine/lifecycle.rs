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
use crate::engine::ids::{is_session_id, new_public_id, new_session_id};
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
) -> Result<ConnectResponse, Error> {
    maybe_sweep(engine).await;
    let sid = new_session_id();
    let public_id = new_public_id();
    let start = engine.store.create_session(&sid, &public_id).await?;
    if let Some(handler) = engine.handlers().connect.clone() {
        let socket = Socket::new(
            engine.clone(),
            SocketParts {
                sid: sid.clone(),
                public_id: public_id.clone(),
                auth,
                message_id: None,
                disconnect_reason: None,
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
            let json = serde_json::to_string(&answer)?;
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
    let ack = match engine.handlers().messages.get(&input.event).cloned() {
        Some(handler) => {
            let socket = Socket::new(
                engine.clone(),
                SocketParts {
                    sid: input.sid.clone(),
                    public_id: meta.public_id.clone(),
                    auth: None,
                    message_id: input.message_id.clone(),
                    disconnect_reason: None,
                },
            );
            match handler(socket, input.data).await {
                Ok(ack) => ack,
                Err(err @ Error::InvalidPayload { .. }) => return Err(err),
                Err(err) => {
                    tracing::error!(event = %input.event, id = %meta.public_id, error = %err, "handler failed");
                    return Err(err);
                }
            }
        }
        None => {
            tracing::debug!(event = %input.event, "no handler for event");
            None
        }
    };
    if input.requires_ack {
        if let Some(message_id) = &input.message_id {
            // The 0.6.0 client waits for this frame on its stream (null when no reply).
            let reply = ack.clone().unwrap_or(Value::Null);
            let json = Envelope::ack(message_id.clone(), reply, now_ms()).to_json();
            let kind = EntryKind::Message {
                json: json.into(),
                except: None,
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
            },
        );
        if let Err(err) = handler(socket).await {
            tracing::error!(id = %meta.public_id, error = %err, "on_disconnect failed");
        }
    }
    engine.store.purge_session(sid).await?;
    Ok(())
}

/// Ends every expired session found (at most `sweep_batch`).
pub(crate) async fn sweep(engine: &Arc<Engine>) -> Result<usize, Error> {
    let expired = engine
        .store
        .expired_sessions(engine.config.sweep_batch)
        .await?;
    for sid in &expired {
        end_session(engine, sid, "expired").await?;
    }
    Ok(expired.len())
}

/// Sweeps if this instance has not swept for `sweep_interval`: bounded work, riding on a
/// request, so no long-running process is needed for expiry.
pub(crate) async fn maybe_sweep(engine: &Arc<Engine>) {
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
        if let Err(err) = sweep(engine).await {
            tracing::warn!(error = %err, "expiry sweep failed");
        }
    }
}

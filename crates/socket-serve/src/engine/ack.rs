//! Server-to-client acks: an emit that waits for the client's reply.
//!
//! The emit goes to the session's log with an `ackId`, so it is replayed like any message
//! after a stream cut. The reply comes back as `POST B/ack` on whichever instance the
//! client reaches, and is appended to a log of its own ([`LogId::Ack`]) with a dedup key:
//! the first reply is the only one. The waiter listens to that log before it emits, then
//! reads it (a reply may already be there: a retried handler), then waits live: the
//! subscribe-replay-live order of the stream reader, so no reply slips between.

use std::hash::Hasher;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;
use socket_serve_protocol::{is_valid_ack_id, Cursor};
use tokio::time::Instant;

use crate::engine::emit::Outbound;
use crate::engine::ids::is_session_id;
use crate::engine::Engine;
use crate::error::Error;
use crate::store::{Entry, EntryKind, Live, LogId, LogRead, Outgoing, Subscription};

/// The `ackId` of an emit: derived from its idempotency key when it has one (a handler
/// re-run after a crash asks with the same id, and finds a reply that came meanwhile),
/// random otherwise.
fn ack_id(dedup: Option<&(String, String)>) -> String {
    match dedup {
        Some((scope, key)) => {
            let mut hasher = fnv::FnvHasher::default();
            hasher.write(scope.as_bytes());
            hasher.write_u8(0);
            hasher.write(key.as_bytes());
            format!("k{:016x}", hasher.finish())
        }
        None => format!("r{}", super::ids::new_public_id()),
    }
}

tokio::task_local! {
    /// Set around a handler by a request that answers only once the handler is done and
    /// whose client sends nothing while that request is open (a Socket.IO `POST`): a wait
    /// for that client's ack would last until its timeout, so the handler tells the
    /// request to answer now instead ([`ClientWaits::released`]).
    static CLIENT_WAITS: ClientWaits;
}

/// What the request holding a handler watches: whether the handler started waiting for
/// the ack of `session`, the client whose request it is.
#[derive(Clone)]
pub(crate) struct ClientWaits {
    session: String,
    release: std::sync::Arc<tokio::sync::Notify>,
}

impl ClientWaits {
    pub(crate) fn new(session: &str) -> ClientWaits {
        ClientWaits {
            session: session.to_owned(),
            release: Default::default(),
        }
    }

    /// Runs `flow` (the handler) with this watch set.
    pub(crate) async fn scope<F: std::future::Future>(self, flow: F) -> F::Output {
        CLIENT_WAITS.scope(self, flow).await
    }

    /// Resolves once the handler waits for the client's ack (at once if it already did).
    pub(crate) async fn released(&self) {
        self.release.notified().await
    }
}

/// Appends `out` to the session's log under an `ackId` (see [`ack_id`]) and waits up to
/// `timeout` for the client's reply.
pub(crate) async fn ask<T: DeserializeOwned>(
    engine: &Engine,
    sid: &str,
    event: &str,
    out: Outbound,
    dedup: Option<(String, String)>,
    timeout: Duration,
) -> Result<T, Error> {
    let ack_id = self::ack_id(dedup.as_ref());
    let out = out.with_ack_id(&ack_id);
    let deadline = Instant::now() + timeout;
    let replies = LogId::Ack {
        sid: sid.to_owned(),
        id: ack_id,
    };
    let session = LogId::Session(sid.to_owned());
    let mut sub = listen(engine, &replies, &session).await?;
    // `notify_one` keeps a permit: the request sees it even if it was not waiting yet.
    let _ = CLIENT_WAITS.try_with(|waits| {
        if waits.session == sid {
            waits.release.notify_one();
        }
    });
    let kind = EntryKind::Message {
        json: out.json,
        audience: Default::default(),
    };
    let log = session.clone();
    engine.store.append(Outgoing { log, kind, dedup }).await?;
    let reply = loop {
        if let Some(json) = read_reply(engine, &replies).await? {
            break json;
        }
        match wait_live(&mut sub, &replies, sid, deadline).await {
            Wait::Reply(json) => break json,
            Wait::Ended => return Err(Error::UnknownSession),
            Wait::TimedOut => {
                return Err(Error::AckTimeout {
                    event: event.to_owned(),
                    after: timeout,
                })
            }
            // The feed was lost: listen again, then read again.
            Wait::Lost => sub = listen(engine, &replies, &session).await?,
        }
    };
    serde_json::from_str(&reply).map_err(|e| Error::InvalidPayload {
        event: event.to_owned(),
        detail: e.to_string(),
    })
}

async fn listen(engine: &Engine, replies: &LogId, session: &LogId) -> Result<Subscription, Error> {
    let sub = engine.store.subscribe(engine.config.stream_buffer_bytes);
    // Its end too: a session that ends will not reply.
    let logs = [replies.clone(), session.clone()];
    engine.store.listen(&sub, &logs).await?;
    Ok(sub)
}

async fn read_reply(engine: &Engine, replies: &LogId) -> Result<Option<String>, Error> {
    let read = LogRead {
        log: replies.clone(),
        after: Cursor::ZERO,
        until: None,
        limit: Some(1),
    };
    let batch = engine.store.read(&[read]).await?;
    Ok(batch.entries.into_iter().find_map(|(_, e)| reply_of(e)))
}

fn reply_of(entry: Entry) -> Option<String> {
    match entry.kind {
        EntryKind::Message { json, .. } => Some(json.to_string()),
        _ => None,
    }
}

enum Wait {
    Reply(String),
    Ended,
    TimedOut,
    Lost,
}

async fn wait_live(sub: &mut Subscription, replies: &LogId, sid: &str, deadline: Instant) -> Wait {
    loop {
        let live = match tokio::time::timeout_at(deadline, sub.recv()).await {
            Err(_) => return Wait::TimedOut,
            Ok(None) => return Wait::Lost,
            Ok(Some(live)) => live,
        };
        match live {
            Live::Entry(log, entry) if log == *replies => {
                if let Some(json) = reply_of(entry) {
                    return Wait::Reply(json);
                }
            }
            Live::Entry(LogId::Session(s), entry)
                if s == sid && matches!(entry.kind, EntryKind::Disconnected { .. }) =>
            {
                return Wait::Ended
            }
            _ => {}
        }
    }
}

/// `POST B/ack`: stores the client's reply for the waiter, wherever it waits. Returns
/// whether it was the first reply (later ones are ignored).
pub(crate) async fn reply(
    engine: &Engine,
    sid: &str,
    ack_id: &str,
    data: &Value,
) -> Result<bool, Error> {
    if !is_valid_ack_id(ack_id) {
        return Err(Error::InvalidAckId);
    }
    if !is_session_id(sid) || engine.store.touch_session(sid).await?.is_none() {
        return Err(Error::UnknownSession);
    }
    let json = serde_json::to_string(data)?;
    let outgoing = Outgoing {
        log: LogId::Ack {
            sid: sid.to_owned(),
            id: ack_id.to_owned(),
        },
        kind: EntryKind::Message {
            json: json.into(),
            audience: Default::default(),
        },
        dedup: Some((sid.to_owned(), format!("ack:{ack_id}"))),
    };
    Ok(engine.store.append(outgoing).await?.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ack_ids_are_valid_and_stable_for_a_key() {
        let key = ("s".to_owned(), "m1#s00#0".to_owned());
        let a = ack_id(Some(&key));
        assert!(is_valid_ack_id(&a), "{a}");
        assert_eq!(a, ack_id(Some(&key)));
        let r = ack_id(None);
        assert!(is_valid_ack_id(&r), "{r}");
        assert_ne!(r, ack_id(None));
    }
}

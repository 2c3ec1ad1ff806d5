//! Turning an emit into a log append: validation, the envelope, and which log.

use std::hash::Hasher;
use std::sync::Arc;

use serde::Serialize;
use socket_serve_protocol::{validate_event_name, Envelope};

use crate::engine::{Engine, Socket};
use crate::error::Error;
use crate::store::{EntryKind, LogId, Outgoing};

/// Longest room name, in bytes.
const MAX_ROOM_LEN: usize = 128;

pub(crate) use crate::store::now_ms;

pub(crate) fn validate_room(room: &str) -> Result<(), Error> {
    if room.is_empty() {
        return Err(Error::InvalidRoom("room name is empty"));
    }
    if room.len() > MAX_ROOM_LEN {
        return Err(Error::InvalidRoom("room name is longer than 128 bytes"));
    }
    if room.chars().any(char::is_control) {
        return Err(Error::InvalidRoom("room name contains a control character"));
    }
    Ok(())
}

/// An app emit, ready to append: its envelope JSON, and a hash of everything in it but the
/// timestamp (what a retried handler's emit is recognized by).
pub(crate) struct Outbound {
    pub json: Arc<str>,
    pub content: u64,
}

/// The envelope of an app emit, after checking the event name.
pub(crate) fn envelope<T: Serialize + ?Sized>(
    event: &str,
    data: &T,
    from: Option<&str>,
    room: Option<&str>,
) -> Result<Outbound, Error> {
    validate_event_name(event)?;
    let mut env = Envelope::new(event, serde_json::to_value(data)?, 0);
    env.timestamp = None;
    env.from = from.map(str::to_owned);
    env.room = room.map(str::to_owned);
    let mut json = env.to_json();
    // FNV-1a is fixed by its definition: instances of any build agree on it.
    let mut hasher = fnv::FnvHasher::default();
    hasher.write(json.as_bytes());
    let content = hasher.finish();
    // The timestamp goes last, outside the hash (an envelope is always a JSON object).
    json.pop();
    json.push_str(&format!(",\"timestamp\":{}}}", now_ms()));
    Ok(Outbound {
        json: json.into(),
        content,
    })
}

pub(crate) async fn append(
    engine: &Engine,
    log: LogId,
    json: Arc<str>,
    except: Option<&str>,
    dedup: Option<(String, String)>,
) -> Result<(), Error> {
    let kind = EntryKind::Message {
        json,
        except: except.map(str::to_owned),
    };
    engine.store.append(Outgoing { log, kind, dedup }).await?;
    Ok(())
}

/// To every session, except `sender` (by public id) when given.
pub(crate) async fn broadcast<T: Serialize + ?Sized>(
    engine: &Engine,
    sender: Option<&Socket>,
    event: &str,
    data: &T,
) -> Result<(), Error> {
    let from = sender.map(Socket::id);
    let out = envelope(event, data, from, None)?;
    let dedup = sender.and_then(|s| s.dedup_key(&LogId::All, out.content));
    append(engine, LogId::All, out.json, from, dedup).await
}

/// Emits to the members of one room: from [`SocketServe::to`](crate::SocketServe::to) (all
/// members) or [`Socket::to`] (all members but that socket).
///
/// ```
/// # async fn f(io: socket_serve::SocketServe, socket: socket_serve::Socket) -> Result<(), socket_serve::Error> {
/// io.to("lobby").emit("tick", &1).await?;          // everyone in the room
/// socket.to("lobby").emit("typing", &true).await?; // everyone in the room but `socket`
/// # Ok(()) }
/// ```
pub struct RoomEmitter {
    engine: Arc<Engine>,
    room: String,
    sender: Option<Socket>,
    dedup: Option<(String, String)>,
}

impl RoomEmitter {
    pub(crate) fn new(engine: Arc<Engine>, room: &str, sender: Option<Socket>) -> Self {
        RoomEmitter {
            engine,
            room: room.to_owned(),
            sender,
            dedup: None,
        }
    }

    /// An idempotency key for an emit from outside a session ([`crate::Emitter::once`]).
    pub(crate) fn with_dedup(mut self, dedup: Option<(String, String)>) -> Self {
        self.dedup = dedup;
        self
    }

    /// Sends `event` with `data` to the room.
    pub async fn emit<T: Serialize>(&self, event: &str, data: T) -> Result<(), Error> {
        validate_room(&self.room)?;
        let from = self.sender.as_ref().map(Socket::id);
        let out = envelope(event, &data, from, Some(&self.room))?;
        let log = LogId::Room(self.room.clone());
        let dedup = match &self.sender {
            Some(sender) => sender.dedup_key(&log, out.content),
            None => self.dedup.clone(),
        };
        append(&self.engine, log, out.json, from, dedup).await
    }

    /// Public ids of the room's members.
    pub async fn members(&self) -> Result<Vec<String>, Error> {
        validate_room(&self.room)?;
        Ok(self.engine.store.room_members(&self.room).await?)
    }
}

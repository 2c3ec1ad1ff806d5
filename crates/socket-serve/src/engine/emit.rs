//! Turning an emit into a log append: validation, the envelope, and which log.

use std::hash::Hasher;
use std::sync::Arc;

use serde::Serialize;
use socket_serve_protocol::validate_event_name;

use crate::engine::{Engine, Socket};
use crate::error::Error;
use crate::store::{Audience, EntryKind, LogId, Outgoing};

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

impl Outbound {
    /// The same envelope, asking the client for a reply under `ack_id` (an id of letters,
    /// digits, `-` and `_`, so it needs no escaping).
    pub(crate) fn with_ack_id(self, ack_id: &str) -> Outbound {
        let body = self.json.strip_suffix('}').unwrap_or(&self.json);
        Outbound {
            json: format!("{body},\"ackId\":\"{ack_id}\"}}").into(),
            content: self.content,
        }
    }
}

/// The envelope of an app emit, after checking the event name: written directly (the
/// payload serialized once, straight from `T`), keys in the protocol's order (`event`,
/// `data`, `timestamp`, `from`, `room`).
pub(crate) fn envelope<T: Serialize + ?Sized>(
    event: &str,
    data: &T,
    from: Option<&str>,
    room: Option<&str>,
) -> Result<Outbound, Error> {
    validate_event_name(event)?;
    let event = serde_json::to_string(event)?;
    let data = serde_json::to_string(data)?;
    let mut tail = String::new();
    for (key, value) in [("from", from), ("room", room)] {
        if let Some(value) = value {
            tail.push_str(&format!(",\"{key}\":{}", serde_json::to_string(value)?));
        }
    }
    // What the emit says, without its timestamp. FNV-1a is fixed by its definition:
    // instances of any build agree on it.
    let mut hasher = fnv::FnvHasher::default();
    for part in [&event, &data, &tail] {
        hasher.write(part.as_bytes());
        hasher.write_u8(0);
    }
    let json = format!(
        "{{\"event\":{event},\"data\":{data},\"timestamp\":{}{tail}}}",
        now_ms()
    );
    Ok(Outbound {
        json: json.into(),
        content: hasher.finish(),
    })
}

pub(crate) async fn append(
    engine: &Engine,
    log: LogId,
    json: Arc<str>,
    audience: Audience,
    dedup: Option<(String, String)>,
) -> Result<(), Error> {
    let kind = EntryKind::Message { json, audience };
    engine.store.append(Outgoing { log, kind, dedup }).await?;
    Ok(())
}

/// To every session, except `sender` (by public id) when given.
pub(crate) async fn broadcast<T: Serialize + ?Sized>(
    engine: &Arc<Engine>,
    sender: Option<&Socket>,
    event: &str,
    data: &T,
) -> Result<(), Error> {
    BroadcastOperator::new(engine.clone(), None, sender.cloned())
        .emit(event, data)
        .await
}

/// Emits to several sessions at once: everyone, or the members of rooms, but the ones
/// left out. Built by [`SocketServe::to`](crate::SocketServe::to) (and `except`,
/// `volatile`) or [`Socket::to`] (which leaves the socket itself out), chained:
///
/// ```
/// # async fn f(io: socket_serve::SocketServe, socket: socket_serve::Socket) -> Result<(), socket_serve::Error> {
/// io.to("lobby").emit("tick", &1).await?;                 // everyone in the room
/// io.to("a").to("b").emit("news", "x").await?;            // members of a or b, once each
/// io.to("game").except("spectators").emit("move", 3).await?;
/// socket.to("lobby").emit("typing", &true).await?;        // the room but `socket`
/// socket.to("doc-1").volatile().emit("cursor", (10, 20)).await?; // not logged: live only
/// # Ok(()) }
/// ```
///
/// `except` takes a room (its members are left out) or a public id (that session is).
/// A volatile emit is not stored and not replayed: it reaches the clients connected at
/// that moment (SSE streams and waiting long-polls) and nobody else, for high-rate
/// ephemeral data such as cursors and typing indicators.
#[derive(Clone)]
pub struct BroadcastOperator {
    engine: Arc<Engine>,
    rooms: Vec<String>,
    except: Vec<String>,
    sender: Option<Socket>,
    dedup: Option<(String, String)>,
    volatile: bool,
}

/// The operator of a single room, as [`SocketServe::to`](crate::SocketServe::to) makes
/// it (the name of earlier versions).
pub type RoomEmitter = BroadcastOperator;

impl BroadcastOperator {
    pub(crate) fn new(engine: Arc<Engine>, room: Option<&str>, sender: Option<Socket>) -> Self {
        BroadcastOperator {
            engine,
            rooms: room.map(str::to_owned).into_iter().collect(),
            except: Vec::new(),
            sender,
            dedup: None,
            volatile: false,
        }
    }

    /// An idempotency key for an emit from outside a session ([`crate::Emitter::once`]).
    pub(crate) fn with_dedup(mut self, dedup: Option<(String, String)>) -> Self {
        self.dedup = dedup;
        self
    }

    /// Also to the members of `room` (a session in several of the rooms gets it once).
    pub fn to(mut self, room: &str) -> Self {
        if !self.rooms.iter().any(|r| r == room) {
            self.rooms.push(room.to_owned());
        }
        self
    }

    /// Leaves out the members of the room `room_or_id`, or the session with that public id.
    pub fn except(mut self, room_or_id: &str) -> Self {
        self.except.push(room_or_id.to_owned());
        self
    }

    /// Makes the emit volatile: not logged, not replayed, only for clients connected now.
    pub fn volatile(mut self) -> Self {
        self.volatile = true;
        self
    }

    /// Sends `event` with `data`.
    pub async fn emit<T: Serialize>(&self, event: &str, data: T) -> Result<(), Error> {
        for room in self.rooms.iter().chain(&self.except) {
            validate_room(room)?;
        }
        let from = self.sender.as_ref().map(Socket::id);
        let room = match self.rooms.as_slice() {
            [one] => Some(one.as_str()),
            _ => None,
        };
        let out = envelope(event, &data, from, room)?;
        let mut audience = Audience {
            except: from.map(str::to_owned).into_iter().collect(),
            rooms: if self.rooms.len() > 1 {
                self.rooms.clone()
            } else {
                Vec::new()
            },
        };
        audience.except.extend(self.except.iter().cloned());
        let logs: Vec<LogId> = if self.rooms.is_empty() {
            vec![LogId::All]
        } else {
            self.rooms.iter().cloned().map(LogId::Room).collect()
        };
        for (i, log) in logs.into_iter().enumerate() {
            if self.volatile {
                let store = &self.engine.store;
                store
                    .announce_volatile(&log, out.json.clone(), audience.clone())
                    .await?;
                continue;
            }
            let dedup = match &self.sender {
                Some(sender) => sender.dedup_key(&log, out.content),
                // One key, several appends: each room's its own.
                None => self
                    .dedup
                    .clone()
                    .map(|(scope, key)| (scope, if i == 0 { key } else { format!("{key}@{i}") })),
            };
            append(&self.engine, log, out.json.clone(), audience.clone(), dedup).await?;
        }
        Ok(())
    }

    /// Public ids of the members of its rooms, each once, without the public ids it leaves
    /// out (an operator for everyone answers an empty list: use rooms).
    pub async fn members(&self) -> Result<Vec<String>, Error> {
        let mut all = Vec::new();
        for room in &self.rooms {
            validate_room(room)?;
            all.extend(self.engine.store.room_members(room).await?);
        }
        all.sort();
        all.dedup();
        let left_out = &self.except;
        all.retain(|id| !left_out.contains(id));
        Ok(all)
    }
}

impl BroadcastOperator {
    /// The sessions of its rooms (less those it leaves out), each as a handle that
    /// addresses it by public id.
    async fn sessions(&self) -> Result<Vec<crate::SessionEmitter>, Error> {
        let io = crate::SocketServe {
            engine: self.engine.clone(),
        };
        Ok(self
            .members()
            .await?
            .iter()
            .map(|id| io.to_session(id))
            .collect())
    }

    /// Makes every member of its rooms join `room`, from anywhere, answered from the
    /// store (no other instance is asked, so a dead one cannot make it hang). Returns how
    /// many sessions joined (members that ended meanwhile, or are in
    /// [`max_rooms_per_session`](crate::Config::max_rooms_per_session) rooms, are skipped).
    ///
    /// ```
    /// # async fn f(io: socket_serve::SocketServe) -> Result<(), socket_serve::Error> {
    /// io.to("lobby").sockets_join("game-1").await?;
    /// io.to("game-1").sockets_leave("lobby").await?;
    /// let who = io.to("game-1").fetch_sockets().await?;
    /// io.to("game-1").except("host").disconnect_sockets().await?;
    /// # Ok(()) }
    /// ```
    pub async fn sockets_join(&self, room: &str) -> Result<usize, Error> {
        let mut n = 0;
        for session in self.sessions().await? {
            n += usize::from(counted(session.join(room).await)?);
        }
        Ok(n)
    }

    /// Makes every member of its rooms leave `room`; how many did.
    pub async fn sockets_leave(&self, room: &str) -> Result<usize, Error> {
        let mut n = 0;
        for session in self.sessions().await? {
            n += usize::from(counted(session.leave(room).await)?);
        }
        Ok(n)
    }

    /// Ends every member's session from the server; how many were ended.
    pub async fn disconnect_sockets(&self) -> Result<usize, Error> {
        let mut n = 0;
        for session in self.sessions().await? {
            n += usize::from(counted(session.disconnect().await)?);
        }
        Ok(n)
    }

    /// The members of its rooms as the store knows them: public ids and session data.
    pub async fn fetch_sockets(&self) -> Result<Vec<crate::RemoteSocket>, Error> {
        let mut out = Vec::new();
        for session in self.sessions().await? {
            out.extend(session.fetch().await?);
        }
        Ok(out)
    }
}

/// Whether an operation on a member took effect: a member that ended meanwhile, or that
/// is in as many rooms as it may be, is skipped.
fn counted(result: Result<(), Error>) -> Result<bool, Error> {
    match result {
        Ok(()) => Ok(true),
        Err(Error::UnknownSession | Error::TooManyRooms(_)) => Ok(false),
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_envelope_is_the_protocols_json_and_its_content_hash_ignores_the_time() {
        let a = envelope(
            "chat",
            &serde_json::json!({"text": "hi"}),
            Some("p1"),
            Some("r"),
        )
        .unwrap();
        let parsed: socket_serve_protocol::Envelope = serde_json::from_str(&a.json).unwrap();
        assert_eq!(parsed.event, "chat");
        assert_eq!(parsed.data, serde_json::json!({"text": "hi"}));
        assert_eq!(parsed.from.as_deref(), Some("p1"));
        assert_eq!(parsed.room.as_deref(), Some("r"));
        assert!(parsed.timestamp.is_some());
        assert!(a
            .json
            .starts_with(r#"{"event":"chat","data":{"text":"hi"},"timestamp":"#));
        let again = envelope(
            "chat",
            &serde_json::json!({"text": "hi"}),
            Some("p1"),
            Some("r"),
        )
        .unwrap();
        assert_eq!(a.content, again.content);
        let other = envelope("chat", &serde_json::json!({"text": "hi"}), None, Some("r")).unwrap();
        assert_ne!(a.content, other.content);
        assert!(envelope("", &1, None, None).is_err());
    }
}

//! The handle a handler gets: one session, seen from inside one request.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::engine::emit::{self, RoomEmitter};
use crate::engine::{lifecycle, Engine};
use crate::error::Error;
use crate::store::LogId;

/// One session, as a handler sees it: emit to it, broadcast from it, manage its rooms and
/// its state. Cheap to clone; valid after the handler returns (e.g. in a spawned task),
/// as long as the session lives.
///
/// ```
/// # async fn handler(socket: socket_serve::Socket) -> Result<(), socket_serve::Error> {
/// socket.join("lobby").await?;
/// socket.to("lobby").emit("joined", &serde_json::json!({"id": socket.id()})).await?;
/// socket.set("name", &"ann").await?;
/// let name: Option<String> = socket.get("name").await?;
/// assert_eq!(name.as_deref(), Some("ann"));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Socket {
    inner: Arc<SocketInner>,
}

struct SocketInner {
    engine: Arc<Engine>,
    sid: String,
    public_id: String,
    auth: Option<Value>,
    /// The client message being handled: its emits get idempotency keys, so a handler run
    /// again after a crash does not store them twice.
    message_id: Option<String>,
    emits: AtomicU32,
    disconnect_reason: Option<String>,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the private session id.
        f.debug_struct("Socket")
            .field("id", &self.inner.public_id)
            .finish()
    }
}

pub(crate) struct SocketParts {
    pub sid: String,
    pub public_id: String,
    pub auth: Option<Value>,
    pub message_id: Option<String>,
    pub disconnect_reason: Option<String>,
}

impl Socket {
    pub(crate) fn new(engine: Arc<Engine>, parts: SocketParts) -> Socket {
        Socket {
            inner: Arc::new(SocketInner {
                engine,
                sid: parts.sid,
                public_id: parts.public_id,
                auth: parts.auth,
                message_id: parts.message_id,
                emits: AtomicU32::new(0),
                disconnect_reason: parts.disconnect_reason,
            }),
        }
    }

    /// The session's public id: safe to show to other clients.
    pub fn id(&self) -> &str {
        &self.inner.public_id
    }

    /// In `on_connect`: the `auth` value the client sent with `/connect`.
    pub fn auth(&self) -> Option<&Value> {
        self.inner.auth.as_ref()
    }

    /// In `on_disconnect`: why the session ended (`"client disconnect"`,
    /// `"server disconnect"` or `"expired"`).
    pub fn disconnect_reason(&self) -> Option<&str> {
        self.inner.disconnect_reason.as_deref()
    }

    pub(crate) fn next_dedup_key(&self) -> Option<(String, String)> {
        let mid = self.inner.message_id.as_ref()?;
        let n = self.inner.emits.fetch_add(1, Ordering::Relaxed);
        Some((self.inner.sid.clone(), format!("{mid}#{n}")))
    }

    /// Sends `event` to this session's client.
    pub async fn emit<T: Serialize>(&self, event: &str, data: T) -> Result<(), Error> {
        let json = emit::envelope(event, &data, None, None)?;
        let log = LogId::Session(self.inner.sid.clone());
        emit::append(&self.inner.engine, log, json, None, self.next_dedup_key()).await
    }

    /// Sends `event` to every session but this one; `from` names this one.
    pub async fn broadcast<T: Serialize>(&self, event: &str, data: T) -> Result<(), Error> {
        emit::broadcast(&self.inner.engine, Some(self), event, &data).await
    }

    /// Sends to the members of `room` but this session.
    pub fn to(&self, room: &str) -> RoomEmitter {
        RoomEmitter::new(self.inner.engine.clone(), room, Some(self.clone()))
    }

    /// Joins `room`: from now on this session gets the room's messages, on whichever
    /// instance serves its stream.
    pub async fn join(&self, room: &str) -> Result<(), Error> {
        emit::validate_room(room)?;
        let store = &self.inner.engine.store;
        store
            .join(&self.inner.sid, &self.inner.public_id, room)
            .await?;
        Ok(())
    }

    /// Leaves `room`.
    pub async fn leave(&self, room: &str) -> Result<(), Error> {
        emit::validate_room(room)?;
        let store = &self.inner.engine.store;
        store
            .leave(&self.inner.sid, &self.inner.public_id, room)
            .await?;
        Ok(())
    }

    /// The rooms this session is in.
    pub async fn rooms(&self) -> Result<Vec<String>, Error> {
        let snapshot = self.inner.engine.store.rooms(&self.inner.sid).await?;
        Ok(snapshot.rooms.into_iter().map(|(room, _)| room).collect())
    }

    /// Reads a key of the session's state.
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Error> {
        let store = &self.inner.engine.store;
        match store.get_state(&self.inner.sid, key).await? {
            Some(json) => Ok(Some(serde_json::from_str(&json)?)),
            None => Ok(None),
        }
    }

    /// Writes a key of the session's state: one atomic write, independent of other keys,
    /// awaited (it is stored when this returns).
    pub async fn set<T: Serialize>(&self, key: &str, value: T) -> Result<(), Error> {
        let json = serde_json::to_string(&value)?;
        let store = &self.inner.engine.store;
        store.set_state(&self.inner.sid, key, &json).await?;
        Ok(())
    }

    /// Deletes a key of the session's state.
    pub async fn remove(&self, key: &str) -> Result<(), Error> {
        let store = &self.inner.engine.store;
        store.delete_state(&self.inner.sid, key).await?;
        Ok(())
    }

    /// Ends the session from the server: `on_disconnect` runs, its streams get a
    /// `__disconnect` frame and end, and its client does not reconnect.
    pub async fn disconnect(&self) -> Result<(), Error> {
        lifecycle::end_session(&self.inner.engine, &self.inner.sid, "server disconnect").await
    }
}

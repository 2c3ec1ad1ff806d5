//! The handle a handler gets: one session, seen from inside one request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::engine::ack;
use crate::engine::emit::{self, BroadcastOperator};
use crate::engine::presence;
use crate::engine::request::{RequestInfo, NO_HEADERS};
use crate::engine::{lifecycle, Engine, SocketServe};
use crate::error::Error;
use crate::store::{LogId, StateQuota};

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
    /// Emits of this run so far, by target and content (see `dedup_key`).
    emitted: Mutex<HashMap<(char, u64), u32>>,
    disconnect_reason: Option<String>,
    request: Option<Arc<RequestInfo>>,
    /// The session data (JSON) as of this request, and as `set_data` changed it.
    data: Mutex<Option<String>>,
    app_state: Arc<http::Extensions>,
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
    pub request: Option<Arc<RequestInfo>>,
    pub data: Option<String>,
}

impl Socket {
    pub(crate) fn new(engine: Arc<Engine>, parts: SocketParts) -> Socket {
        Socket {
            inner: Arc::new(SocketInner {
                app_state: engine.app_state(),
                engine,
                sid: parts.sid,
                public_id: parts.public_id,
                auth: parts.auth,
                message_id: parts.message_id,
                emitted: Mutex::default(),
                disconnect_reason: parts.disconnect_reason,
                request: parts.request,
                data: Mutex::new(parts.data),
            }),
        }
    }

    pub(crate) fn engine(&self) -> &Arc<Engine> {
        &self.inner.engine
    }

    pub(crate) fn sid(&self) -> &str {
        &self.inner.sid
    }

    /// The session's public id: safe to show to other clients.
    pub fn id(&self) -> &str {
        &self.inner.public_id
    }

    /// In `on_connect`: the `auth` value the client sent with `/connect`.
    pub fn auth(&self) -> Option<&Value> {
        self.inner.auth.as_ref()
    }

    /// The HTTP request this handler runs in: `/connect` in `on_connect`, the client's
    /// `/message` in a message handler, its `/disconnect` in `on_disconnect` (`None` when
    /// the session expired or was ended from the server).
    pub fn request(&self) -> Option<&RequestInfo> {
        self.inner.request.as_deref()
    }

    /// The request's headers (empty outside a request).
    ///
    /// ```
    /// # fn f(socket: socket_serve::Socket) {
    /// let lang = socket.headers().get("accept-language");
    /// # }
    /// ```
    pub fn headers(&self) -> &http::HeaderMap {
        self.request().map_or(&NO_HEADERS, RequestInfo::headers)
    }

    /// The app state of type `T` given to [`SocketServe::with_state`], if any.
    ///
    /// ```
    /// # fn f(socket: socket_serve::Socket) {
    /// let pool = socket.state::<std::sync::Arc<String>>();
    /// # }
    /// ```
    pub fn state<T: Clone + Send + Sync + 'static>(&self) -> Option<&T> {
        self.inner.app_state.get::<T>()
    }

    /// The server this socket belongs to: emit to everyone (sender included), to another
    /// session, read room members.
    ///
    /// ```
    /// # async fn f(socket: socket_serve::Socket) -> Result<(), socket_serve::Error> {
    /// socket.server().emit("joined", serde_json::json!({"id": socket.id()})).await?;
    /// # Ok(()) }
    /// ```
    pub fn server(&self) -> SocketServe {
        SocketServe {
            engine: self.inner.engine.clone(),
        }
    }

    /// The session's data: what [`SocketServe::authorize`](crate::SocketServe::authorize)
    /// accepted it with, or [`Socket::set_data`] stored. Comes with the lookup every
    /// request makes anyway, so reading it costs no store round trip. `Ok(None)` when
    /// there is none; an error when it does not deserialize into `T`.
    ///
    /// ```
    /// # fn f(socket: socket_serve::Socket) -> Result<(), socket_serve::Error> {
    /// let user: Option<String> = socket.data()?;
    /// # Ok(()) }
    /// ```
    pub fn data<T: DeserializeOwned>(&self) -> Result<Option<T>, Error> {
        let data = self.inner.data.lock().unwrap_or_else(|e| e.into_inner());
        match data.as_deref() {
            Some(json) => Ok(Some(serde_json::from_str(json)?)),
            None => Ok(None),
        }
    }

    /// Replaces the session's data (one store write); later requests of the session read
    /// it with [`Socket::data`]. [`Error::UnknownSession`] if the session has ended.
    ///
    /// ```
    /// # async fn f(socket: socket_serve::Socket) -> Result<(), socket_serve::Error> {
    /// socket.set_data(&serde_json::json!({"name": "ann"})).await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_data<T: Serialize>(&self, data: T) -> Result<(), Error> {
        let json = serde_json::to_string(&data)?;
        let store = &self.inner.engine.store;
        if !store.set_session_data(&self.inner.sid, &json).await? {
            return Err(Error::UnknownSession);
        }
        *self.inner.data.lock().unwrap_or_else(|e| e.into_inner()) = Some(json);
        Ok(())
    }

    /// In `on_disconnect`: why the session ended (`"client disconnect"`,
    /// `"server disconnect"` or `"expired"`).
    pub fn disconnect_reason(&self) -> Option<&str> {
        self.inner.disconnect_reason.as_deref()
    }

    /// The idempotency key of an emit of a message handler: the client's `messageId`, what
    /// the emit says and where it goes, and how many identical emits came before it in this
    /// run. A retried handler (its first run crashed or timed out) stores none of what the
    /// first run stored, whatever the order of its emits, and stores what is new.
    pub(crate) fn dedup_key(&self, log: &LogId, content: u64) -> Option<(String, String)> {
        let mid = self.inner.message_id.as_ref()?;
        let target = match log {
            LogId::Session(_) | LogId::Ack { .. } => 's',
            LogId::Room(_) => 'r',
            LogId::All => 'a',
        };
        let mut seen = self.inner.emitted.lock().unwrap_or_else(|e| e.into_inner());
        let n = seen.entry((target, content)).or_insert(0);
        let key = format!("{mid}#{target}{content:016x}#{n}");
        *n += 1;
        Some((self.inner.sid.clone(), key))
    }

    /// Sends `event` to this session's client.
    pub async fn emit<T: Serialize>(&self, event: &str, data: T) -> Result<(), Error> {
        let out = emit::envelope(event, &data, None, None)?;
        let log = LogId::Session(self.inner.sid.clone());
        let dedup = self.dedup_key(&log, out.content);
        emit::append(&self.inner.engine, log, out.json, Default::default(), dedup).await
    }

    /// Sends `event` to this session's client and waits for its reply, up to
    /// [`Config::ack_timeout`](crate::Config::ack_timeout). The reply may come through any
    /// instance (it travels through the store), and the emit outlives stream cuts: it is
    /// replayed on resume like any message, and only the first reply counts.
    ///
    /// The JavaScript client answers with `socket.on(event, (data, ack) => ack(reply))`,
    /// the Rust client with an ack handle (`on_with_ack`). Errors: [`Error::AckTimeout`]
    /// when no reply came in time, [`Error::UnknownSession`] when the session ended first,
    /// [`Error::InvalidPayload`] when the reply is not a `T`.
    ///
    /// ```
    /// # async fn f(socket: socket_serve::Socket) -> Result<(), socket_serve::Error> {
    /// let ok: bool = socket.emit_with_ack("confirm", "delete file?").await?;
    /// let name: String = socket
    ///     .emit_with_ack_timeout("ask-name", (), std::time::Duration::from_secs(30))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn emit_with_ack<T: DeserializeOwned>(
        &self,
        event: &str,
        data: impl Serialize,
    ) -> Result<T, Error> {
        let timeout = self.inner.engine.config.ack_timeout;
        self.emit_with_ack_timeout(event, data, timeout).await
    }

    /// [`Socket::emit_with_ack`] with its own timeout.
    pub async fn emit_with_ack_timeout<T: DeserializeOwned>(
        &self,
        event: &str,
        data: impl Serialize,
        timeout: std::time::Duration,
    ) -> Result<T, Error> {
        let out = emit::envelope(event, &data, None, None)?;
        let log = LogId::Session(self.inner.sid.clone());
        let dedup = self.dedup_key(&log, out.content);
        ack::ask(
            &self.inner.engine,
            &self.inner.sid,
            event,
            out,
            dedup,
            timeout,
        )
        .await
    }

    /// Sends `event` to every session but this one; `from` names this one.
    pub async fn broadcast<T: Serialize>(&self, event: &str, data: T) -> Result<(), Error> {
        emit::broadcast(&self.inner.engine, Some(self), event, &data).await
    }

    /// Sends to the members of `room` but this session.
    pub fn to(&self, room: &str) -> BroadcastOperator {
        BroadcastOperator::new(self.inner.engine.clone(), Some(room), Some(self.clone()))
    }

    /// Sends to everyone but this session and the members of `room_or_id` (or the session
    /// with that public id); chain more (see [`BroadcastOperator`]).
    ///
    /// ```
    /// # async fn f(socket: socket_serve::Socket) -> Result<(), socket_serve::Error> {
    /// socket.except("muted").emit("chat", "hi").await?;
    /// # Ok(()) }
    /// ```
    pub fn except(&self, room_or_id: &str) -> BroadcastOperator {
        BroadcastOperator::new(self.inner.engine.clone(), None, Some(self.clone()))
            .except(room_or_id)
    }

    /// Joins `room`: from now on this session gets the room's messages, on whichever
    /// instance serves its stream, and the room's presence list shows it. With
    /// [`Config::presence_events`](crate::Config::presence_events) the room's other
    /// members get `presence:join` `{"id", "meta"}` (not when it was in the room already).
    /// [`Error::TooManyRooms`] when it is in
    /// [`Config::max_rooms_per_session`](crate::Config::max_rooms_per_session) rooms already.
    pub async fn join(&self, room: &str) -> Result<(), Error> {
        let inner = &self.inner;
        presence::join(&inner.engine, &inner.sid, &inner.public_id, room).await
    }

    /// Leaves `room` (with `presence_events`, its members get `presence:leave` `{"id"}`).
    pub async fn leave(&self, room: &str) -> Result<(), Error> {
        let inner = &self.inner;
        presence::leave(&inner.engine, &inner.sid, &inner.public_id, room).await
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
        let engine = &self.inner.engine;
        let quota = StateQuota {
            max_keys: engine.config.max_state_keys,
            max_bytes: engine.config.max_state_bytes,
        };
        if !engine
            .store
            .set_state(&self.inner.sid, key, &json, quota)
            .await?
        {
            return Err(Error::StateTooLarge(quota));
        }
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
        lifecycle::end_session(
            &self.inner.engine,
            &self.inner.sid,
            "server disconnect",
            None,
        )
        .await
    }
}

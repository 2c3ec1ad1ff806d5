//! Emitting from outside any request: a cron job, a webhook, a queue consumer or another
//! service reaches sessions through the store, with no handler registered.

use std::sync::Arc;

use serde::Serialize;

use crate::config::Config;
use crate::engine::emit::{self, BroadcastOperator};
use crate::engine::{Engine, SocketServe};
use crate::error::Error;
use crate::store::LogId;

/// The scope of idempotency keys given to [`Emitter::once`] (sessions scope theirs by
/// session id).
const EMITTER_SCOPE: &str = "emitter";

/// Sends to sessions from any process that reaches the store: everyone, a room, or one
/// session by its public id. Every message is stored once and reaches each recipient
/// once, in order, including clients that resume later within the recovery window.
///
/// ```no_run
/// use serde_json::json;
/// use socket_serve::Emitter;
///
/// # async fn f() -> Result<(), socket_serve::Error> {
/// let emitter = Emitter::from_env()?; // REDIS_URL and SOCKET_SERVE_KEY_PREFIX, as the server
/// emitter.emit("announcement", json!({"text": "deploying at 5"})).await?;
/// emitter.to("ops").emit("alert", json!({"level": "high"})).await?;
/// emitter.to_session("p-1f2e").emit("notice", json!({"unread": 3})).await?;
/// // A job that may run twice sends once:
/// emitter.once("invoice-42-paid").to("billing").emit("paid", json!({"invoice": 42})).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Emitter {
    engine: Arc<Engine>,
    key: Option<String>,
}

impl Emitter {
    /// An emitter on the store `config` names. On the memory store it only reaches
    /// sessions of a server built from the same store: use [`SocketServe::emitter`] there.
    pub fn new(config: Config) -> Result<Emitter, Error> {
        Ok(SocketServe::new(config)?.emitter())
    }

    /// [`Emitter::new`] with [`Config::from_env`].
    pub fn from_env() -> Result<Emitter, Error> {
        let config = Config::from_env().map_err(|e| Error::Config(e.to_string()))?;
        Emitter::new(config)
    }

    /// The same emitter, whose next emit carries the idempotency key `key`: an emit with a
    /// key already used within the recovery window stores nothing, so a retried job sends
    /// once. Use one key per message.
    pub fn once(&self, key: &str) -> Emitter {
        Emitter {
            engine: self.engine.clone(),
            key: Some(key.to_owned()),
        }
    }

    fn dedup(&self) -> Option<(String, String)> {
        self.key
            .as_ref()
            .map(|key| (EMITTER_SCOPE.to_owned(), key.clone()))
    }

    /// Sends `event` to every session.
    pub async fn emit<T: Serialize>(&self, event: &str, data: T) -> Result<(), Error> {
        let out = emit::envelope(event, &data, None, None)?;
        emit::append(
            &self.engine,
            LogId::All,
            out.json,
            Default::default(),
            self.dedup(),
        )
        .await
    }

    /// Sends to the members of `room`.
    pub fn to(&self, room: &str) -> BroadcastOperator {
        BroadcastOperator::new(self.engine.clone(), Some(room), None).with_dedup(self.dedup())
    }

    /// Sends to everyone but the members of a room, or one session by public id.
    pub fn except(&self, room_or_id: &str) -> BroadcastOperator {
        BroadcastOperator::new(self.engine.clone(), None, None)
            .with_dedup(self.dedup())
            .except(room_or_id)
    }

    /// Sends to the one session whose public id ([`Socket::id`](crate::Socket::id)) is
    /// `public_id`, on whichever instance serves it.
    pub fn to_session(&self, public_id: &str) -> SessionEmitter {
        SessionEmitter {
            engine: self.engine.clone(),
            public_id: public_id.to_owned(),
            dedup: self.dedup(),
        }
    }
}

impl SocketServe {
    /// An [`Emitter`] on this server's store (for code outside handlers in the same
    /// process, such as a webhook route).
    ///
    /// ```
    /// let io = socket_serve::SocketServe::new(Default::default()).unwrap();
    /// let emitter = io.emitter();
    /// # let _ = emitter;
    /// ```
    pub fn emitter(&self) -> Emitter {
        Emitter {
            engine: self.engine.clone(),
            key: None,
        }
    }

    /// Sends to one session by its public id, from anywhere (see [`Emitter::to_session`]).
    ///
    /// ```
    /// # async fn f(io: socket_serve::SocketServe) -> Result<(), socket_serve::Error> {
    /// io.to_session("p-1f2e").emit("notice", serde_json::json!({"unread": 3})).await?;
    /// # Ok(()) }
    /// ```
    pub fn to_session(&self, public_id: &str) -> SessionEmitter {
        self.emitter().to_session(public_id)
    }
}

/// Emits to one session named by its public id: from [`Emitter::to_session`] or
/// [`SocketServe::to_session`].
///
/// ```
/// # async fn f(emitter: socket_serve::Emitter) {
/// match emitter.to_session("p-gone").emit("notice", 1).await {
///     Err(socket_serve::Error::UnknownSession) => { /* no open session has that id */ }
///     other => other.unwrap(),
/// }
/// # }
/// ```
pub struct SessionEmitter {
    engine: Arc<Engine>,
    public_id: String,
    dedup: Option<(String, String)>,
}

impl SessionEmitter {
    /// Sends `event` with `data`; [`Error::UnknownSession`] when no open session has the
    /// public id.
    pub async fn emit<T: Serialize>(&self, event: &str, data: T) -> Result<(), Error> {
        let out = emit::envelope(event, &data, None, None)?;
        let found = self.engine.store.find_session(&self.public_id).await?;
        let log = LogId::Session(found.ok_or(Error::UnknownSession)?.sid);
        emit::append(
            &self.engine,
            log,
            out.json,
            Default::default(),
            self.dedup.clone(),
        )
        .await
    }
}

impl SessionEmitter {
    /// Sends `event` and waits up to `timeout` for the client's reply, from anywhere (see
    /// [`Socket::emit_with_ack`](crate::Socket::emit_with_ack)).
    ///
    /// ```
    /// # async fn f(io: socket_serve::SocketServe) -> Result<(), socket_serve::Error> {
    /// let seen: bool = io
    ///     .to_session("p-1f2e")
    ///     .emit_with_ack("notice", "read?", std::time::Duration::from_secs(10))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn emit_with_ack<T: serde::de::DeserializeOwned>(
        &self,
        event: &str,
        data: impl Serialize,
        timeout: std::time::Duration,
    ) -> Result<T, Error> {
        let out = emit::envelope(event, &data, None, None)?;
        let sid = self.found().await?.sid;
        let dedup = self.dedup.clone();
        crate::engine::ack::ask(&self.engine, &sid, event, out, dedup, timeout).await
    }
}

/// A session as the store knows it, found from anywhere ([`BroadcastOperator::fetch_sockets`],
/// [`SessionEmitter::fetch`]): its public id and its data, read without asking the
/// instance that serves it (there may be none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteSocket {
    id: String,
    data: Option<String>,
}

impl RemoteSocket {
    /// Its public id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Its session data (see [`Socket::data`](crate::Socket::data)); server-side only,
    /// as every session's data is.
    pub fn data<T: serde::de::DeserializeOwned>(&self) -> Result<Option<T>, Error> {
        match &self.data {
            Some(json) => Ok(Some(serde_json::from_str(json)?)),
            None => Ok(None),
        }
    }
}

impl SessionEmitter {
    async fn found(&self) -> Result<crate::store::FoundSession, Error> {
        let found = self.engine.store.find_session(&self.public_id).await?;
        found.ok_or(Error::UnknownSession)
    }

    /// Makes the session join `room`, from anywhere (its streams follow the room at once,
    /// on whichever instance serves them).
    ///
    /// ```
    /// # async fn f(io: socket_serve::SocketServe) -> Result<(), socket_serve::Error> {
    /// io.to_session("p-1f2e").join("vip").await?;
    /// # Ok(()) }
    /// ```
    pub async fn join(&self, room: &str) -> Result<(), Error> {
        emit::validate_room(room)?;
        let sid = self.found().await?.sid;
        crate::engine::presence::join(&self.engine, &sid, &self.public_id, room).await
    }

    /// Makes the session leave `room`, from anywhere.
    pub async fn leave(&self, room: &str) -> Result<(), Error> {
        emit::validate_room(room)?;
        let sid = self.found().await?.sid;
        crate::engine::presence::leave(&self.engine, &sid, &self.public_id, room).await
    }

    /// Ends the session from the server (`on_disconnect` runs here, its streams end).
    pub async fn disconnect(&self) -> Result<(), Error> {
        let found = self.found().await?;
        crate::engine::lifecycle::end_session(&self.engine, &found.sid, "server disconnect", None)
            .await
    }

    /// The session as the store knows it; `None` if no open session has the id.
    pub async fn fetch(&self) -> Result<Option<RemoteSocket>, Error> {
        let found = self.engine.store.find_session(&self.public_id).await?;
        Ok(found.map(|f| RemoteSocket {
            id: self.public_id.clone(),
            data: f.data,
        }))
    }
}

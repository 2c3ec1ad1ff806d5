//! Presence: who is in a room, with the public metadata each session chose, answered from
//! the store (a count in O(1), pages in one command each), and opt-in `presence:join` /
//! `presence:leave` / `presence:update` events to the room.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::engine::emit::{validate_room, BroadcastOperator};
use crate::engine::{Engine, Socket, SocketServe};
use crate::error::Error;
use crate::store::Join;

/// The event a room's members get when a session joins it (with `presence_events`).
pub const PRESENCE_JOIN: &str = "presence:join";
/// The event a room's members get when a session leaves it, ends or expires.
pub const PRESENCE_LEAVE: &str = "presence:leave";
/// The event a room's members get when a member changes its presence metadata.
pub const PRESENCE_UPDATE: &str = "presence:update";

/// The most members one page may ask for.
pub const MAX_PAGE: usize = 1000;

/// A room's presence list, read from the store: [`SocketServe::presence`].
///
/// ```
/// # async fn f(io: socket_serve::SocketServe) -> Result<(), socket_serve::Error> {
/// let lobby = io.presence("lobby");
/// let n = lobby.count().await?;
/// let mut page = lobby.page(None, 100).await?;
/// loop {
///     for member in &page.members {
///         let name: Option<String> = member.meta()?;
///         println!("{} {:?}", member.id(), name);
///     }
///     let Some(next) = page.next.take() else { break };
///     page = lobby.page(Some(&next), 100).await?;
/// }
/// # let _ = n; Ok(()) }
/// ```
#[derive(Clone)]
pub struct Presence {
    engine: Arc<Engine>,
    room: String,
}

/// One page of a room's presence list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PresencePage {
    /// Members of this page.
    pub members: Vec<PresenceMember>,
    /// Pass it to [`Presence::page`] for the next page; `None` after the last one.
    pub next: Option<String>,
}

/// A member of a room, as its presence list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceMember {
    id: String,
    meta: Option<String>,
}

impl PresenceMember {
    /// Its public id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The metadata it set with [`Socket::set_presence`]; `Ok(None)` when it set none.
    pub fn meta<T: DeserializeOwned>(&self) -> Result<Option<T>, Error> {
        match &self.meta {
            Some(json) => Ok(Some(serde_json::from_str(json)?)),
            None => Ok(None),
        }
    }
}

impl Presence {
    /// How many sessions are in the room (one O(1) store command).
    pub async fn count(&self) -> Result<usize, Error> {
        validate_room(&self.room)?;
        Ok(self.engine.store.presence_count(&self.room).await?)
    }

    /// A page of about `limit` members (at most [`MAX_PAGE`]; Redis may answer a few
    /// more or fewer), starting after the page whose `next` is `after`: one store command
    /// however large the room. Members that join or leave meanwhile may be missed or seen
    /// twice across pages, as with any scan.
    pub async fn page(&self, after: Option<&str>, limit: usize) -> Result<PresencePage, Error> {
        validate_room(&self.room)?;
        let limit = limit.clamp(1, MAX_PAGE);
        let page = self
            .engine
            .store
            .presence_page(&self.room, after, limit)
            .await?;
        Ok(PresencePage {
            members: page
                .members
                .into_iter()
                .map(|(id, meta)| PresenceMember { id, meta })
                .collect(),
            next: page.next,
        })
    }
}

impl SocketServe {
    /// The presence list of `room` (see [`Presence`]).
    ///
    /// ```
    /// # async fn f(io: socket_serve::SocketServe) -> Result<(), socket_serve::Error> {
    /// let online = io.presence("lobby").count().await?;
    /// # let _ = online; Ok(()) }
    /// ```
    pub fn presence(&self, room: &str) -> Presence {
        Presence {
            engine: self.engine.clone(),
            room: room.to_owned(),
        }
    }
}

impl Socket {
    /// Sets what the presence lists of this session's rooms show of it (its public
    /// metadata: a name, an avatar, a colour), now and in rooms it joins later. Other
    /// sessions may read it: put nothing private here. With
    /// [`Config::presence_events`](crate::Config::presence_events), each of its rooms gets
    /// `presence:update` `{"id", "meta"}`.
    ///
    /// ```
    /// # async fn f(socket: socket_serve::Socket) -> Result<(), socket_serve::Error> {
    /// socket.set_presence(serde_json::json!({"name": "ann", "color": "#e33"})).await?;
    /// socket.join("lobby").await?; // the lobby's list shows ann
    /// # Ok(()) }
    /// ```
    pub async fn set_presence<T: Serialize>(&self, meta: T) -> Result<(), Error> {
        let json = serde_json::to_string(&meta)?;
        let engine = self.engine();
        if !engine.store.set_presence(self.sid(), Some(&json)).await? {
            return Err(Error::UnknownSession);
        }
        if engine.config.presence_events {
            let meta = Some(json.as_str());
            for room in self.rooms().await? {
                announce(engine, &room, PRESENCE_UPDATE, self.id(), meta).await?;
            }
        }
        Ok(())
    }
}

/// Joins `room` for the session `sid` (public id `public_id`), as a handler or a server-side
/// call does: `presence:join` when it took effect (with `presence_events`),
/// [`Error::TooManyRooms`] when refused.
pub(crate) async fn join(
    engine: &Arc<Engine>,
    sid: &str,
    public_id: &str,
    room: &str,
) -> Result<(), Error> {
    validate_room(room)?;
    let max = engine.config.max_rooms_per_session;
    match engine.store.join(sid, public_id, room, max).await? {
        Join::Joined(joined) if engine.config.presence_events => {
            let meta = joined.presence.as_deref();
            announce(engine, room, PRESENCE_JOIN, public_id, meta).await
        }
        Join::Full => Err(Error::TooManyRooms(max)),
        Join::Joined(_) | Join::AlreadyIn | Join::Gone => Ok(()),
    }
}

/// Leaves `room`: `presence:leave` when it took effect (with `presence_events`).
pub(crate) async fn leave(
    engine: &Arc<Engine>,
    sid: &str,
    public_id: &str,
    room: &str,
) -> Result<(), Error> {
    validate_room(room)?;
    let left = engine.store.leave(sid, public_id, room).await?;
    if left && engine.config.presence_events {
        announce(engine, room, PRESENCE_LEAVE, public_id, None).await?;
    }
    Ok(())
}

/// Sends a presence event about `public_id` to `room`, leaving `public_id` out.
pub(crate) async fn announce(
    engine: &Arc<Engine>,
    room: &str,
    event: &str,
    public_id: &str,
    meta: Option<&str>,
) -> Result<(), Error> {
    #[derive(Serialize)]
    struct Note<'a> {
        id: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        meta: Option<Value>,
    }
    // Stored metadata is JSON written by `set_presence`; anything else is left out.
    let meta = meta.and_then(|m| serde_json::from_str::<Value>(m).ok());
    let note = Note {
        id: public_id,
        meta,
    };
    BroadcastOperator::new(engine.clone(), Some(room), None)
        .except(public_id)
        .emit(event, note)
        .await
}

//! The store: every piece of state and all fan-out.
//!
//! Nothing a request needs lives in an instance's memory; it lives behind [`Store`]. Two
//! implementations: [`MemoryStore`] (one process, the default) and `RedisStore` (any number
//! of stateless instances). Both keep the same model:
//!
//! - **Logs.** Every outgoing message is appended to one log: a session's own, a room's, or
//!   everyone's. Each entry gets a [`Cursor`] larger than every cursor before it *over all
//!   logs*, so a single cursor says what a client has seen. Logs keep entries for the
//!   recovery window.
//! - **Live feed.** Appends are announced to the [`Subscription`]s listening to that log, in
//!   cursor order, so a stream replays from its cursor and then goes live without gap or
//!   double.
//! - **Sessions.** Metadata, key/value state, room memberships and client-message dedup
//!   records, all expiring with the session.

mod deadlines;
mod hub;
mod memory;
mod rate;
#[cfg(feature = "redis")]
pub mod redis;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use socket_serve_protocol::Cursor;

pub use hub::{Backlog, Hub, Live, Subscription};
pub use memory::MemoryStore;
pub(crate) use rate::retry_after_secs;
pub use rate::RateLimit;

/// Milliseconds since the Unix epoch by this machine's clock (0 if it is before 1970).
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A shared, dynamically typed store.
pub type DynStore = Arc<dyn Store>;

/// Which log an entry belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LogId {
    /// One session's own log: direct emits, acks and control entries.
    Session(String),
    /// A room's log.
    Room(String),
    /// The log every session reads: broadcasts.
    All,
    /// The replies to one server emit that asked for an ack (`emit_with_ack`): written by
    /// the request that carries the client's reply, on any instance, read by the one
    /// waiting. The first reply is the only one (its append carries a dedup key).
    Ack {
        /// The session that was asked.
        sid: String,
        /// The `ackId` of the emit.
        id: String,
    },
}

impl LogId {
    /// The session a log belongs to, for logs that belong to one.
    ///
    /// ```
    /// use socket_serve::store::LogId;
    /// let ack = LogId::Ack { sid: "s1".into(), id: "a1".into() };
    /// assert_eq!(ack.session(), Some("s1"));
    /// assert_eq!(LogId::Room("lobby".into()).session(), None);
    /// ```
    pub fn session(&self) -> Option<&str> {
        match self {
            LogId::Session(sid) | LogId::Ack { sid, .. } => Some(sid),
            LogId::Room(_) | LogId::All => None,
        }
    }
}

/// One entry of a log.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Its position, unique over all logs.
    pub cursor: Cursor,
    /// What it says.
    pub kind: EntryKind,
}

/// What a log entry says.
#[derive(Debug, Clone, PartialEq)]
pub enum EntryKind {
    /// A message for clients: the envelope JSON, and the public id of a session that must
    /// not receive it (the sender of a broadcast or room message).
    Message {
        /// One line of envelope JSON, sent as-is as the SSE `data:`.
        json: Arc<str>,
        /// Who of the log's readers it is not for.
        audience: Audience,
    },
    /// Session log only: the session joined `room`; room entries after this cursor are its.
    Joined {
        /// The room.
        room: String,
    },
    /// Session log only: the session left `room`, which it had joined at `since`.
    Left {
        /// The room.
        room: String,
        /// The cursor of the matching join.
        since: Cursor,
    },
    /// Session log only: the session was removed; streams end.
    Disconnected {
        /// Why: "client disconnect", "server disconnect" or "expired".
        reason: String,
    },
}

/// Which of a log's readers a message is for: all of them but those `except` names (a
/// public id, or a room whose members are left out: the sender of a broadcast, and
/// `except(..)`), and, for a message sent to several rooms at once (appended to each
/// room's log), only from the first of `rooms` the reader is a member of, so a member of
/// several gets it once.
///
/// ```
/// use socket_serve::store::Audience;
/// let audience = Audience::except_sender("p-1");
/// assert_eq!(audience.except, vec!["p-1".to_owned()]);
/// assert!(Audience::default().is_everyone());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Audience {
    /// Public ids, or rooms, whose sessions do not get it.
    pub except: Vec<String>,
    /// Every room it was sent to, when more than one (else empty).
    pub rooms: Vec<String>,
}

impl Audience {
    /// Everyone but the session with this public id.
    pub fn except_sender(public_id: &str) -> Audience {
        Audience {
            except: vec![public_id.to_owned()],
            rooms: Vec::new(),
        }
    }

    /// Whether it is for every reader of its log.
    pub fn is_everyone(&self) -> bool {
        self.except.is_empty() && self.rooms.is_empty()
    }
}

/// A message to append to a log.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The log.
    pub log: LogId,
    /// The entry's content.
    pub kind: EntryKind,
    /// An idempotency key, scoped to a session: a second append with the same key stores
    /// nothing (a handler re-run after a crash does not emit twice).
    pub dedup: Option<(String, String)>,
}

/// A log range to read: entries with `after < cursor <= until`, at most `limit` of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRead {
    /// The log.
    pub log: LogId,
    /// Exclusive lower bound.
    pub after: Cursor,
    /// Inclusive upper bound; `None` for no bound.
    pub until: Option<Cursor>,
    /// The most entries to return; `None` for all.
    pub limit: Option<usize>,
}

/// The result of [`Store::read`]: entries of each requested range, and the position up to
/// which they are complete (every entry at or below it, in the ranges, is included).
#[derive(Debug, Clone, Default)]
pub struct ReadBatch {
    /// Entries with the log they came from, in no particular order. Some may lie above
    /// `position` (when a range was cut by its limit); they are read again next time.
    pub entries: Vec<(LogId, Entry)>,
    /// The store's position when it read, or, when a range was cut by its limit, the last
    /// cursor returned for the range cut lowest.
    pub position: Cursor,
    /// Whether a range was cut by its limit (there is more after `position`).
    pub truncated: bool,
    /// The store's clock, in milliseconds since the Unix epoch.
    pub now_ms: u64,
}

/// A session's public facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionMeta {
    /// Its public id.
    pub public_id: String,
    /// The position it started at (`/connect`).
    pub start: Cursor,
    /// The app's session data (JSON), read with every lookup at no extra cost.
    pub data: Option<String>,
}

/// How much state one session may hold ([`Store::set_state`]): keys, and bytes of keys
/// plus values.
///
/// ```
/// use socket_serve::store::{MemoryStore, StateQuota, Store};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryStore::new(std::time::Duration::from_secs(60), std::time::Duration::from_secs(60));
/// let sid = "00112233445566778899aabbccddeeff";
/// store.create_session(sid, "p1", None).await.unwrap();
/// let quota = StateQuota { max_keys: 1, max_bytes: 16 };
/// assert!(store.set_state(sid, "a", "1", quota).await.unwrap());
/// assert!(!store.set_state(sid, "b", "2", quota).await.unwrap(), "a second key");
/// assert!(!store.set_state(sid, "a", "\"far, far too long\"", quota).await.unwrap(), "20 bytes");
/// assert!(store.set_state(sid, "a", "2", quota).await.unwrap(), "a key rewritten");
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateQuota {
    /// The most keys.
    pub max_keys: usize,
    /// The most bytes of keys and values together.
    pub max_bytes: usize,
}

/// What [`Store::join`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Join {
    /// It joined now.
    Joined(Joined),
    /// It was in the room already.
    AlreadyIn,
    /// It is in as many rooms as it may be: refused.
    Full,
    /// The session is gone or closed.
    Gone,
}

/// A join that took effect ([`Store::join`]).
///
/// ```
/// use socket_serve::store::{Join, Store, MemoryStore};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryStore::new(std::time::Duration::from_secs(60), std::time::Duration::from_secs(60));
/// let sid = "00112233445566778899aabbccddeeff";
/// store.create_session(sid, "p1", None).await.unwrap();
/// store.set_presence(sid, Some(r#"{"name":"ann"}"#)).await.unwrap();
/// let Join::Joined(joined) = store.join(sid, "p1", "lobby", 100).await.unwrap() else {
///     panic!("not joined");
/// };
/// assert_eq!(joined.presence.as_deref(), Some(r#"{"name":"ann"}"#));
/// assert_eq!(store.join(sid, "p1", "lobby", 100).await.unwrap(), Join::AlreadyIn);
/// assert_eq!(store.join(sid, "p1", "other", 1).await.unwrap(), Join::Full);
/// let page = store.presence_page("lobby", None, 10).await.unwrap();
/// assert_eq!(page.members, vec![("p1".to_owned(), joined.presence)]);
/// assert_eq!(store.presence_count("lobby").await.unwrap(), 1);
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    /// The cursor of the join.
    pub cursor: Cursor,
    /// The session's presence metadata (JSON) as the room's list now has it.
    pub presence: Option<String>,
}

/// One page of a room's presence list ([`Store::presence_page`]); see [`Joined`] for an
/// example.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PresencePage {
    /// Public ids with their presence metadata (JSON), if any.
    pub members: Vec<(String, Option<String>)>,
    /// Where the next page starts; `None` after the last page.
    pub next: Option<String>,
}

/// A session found by its public id ([`Store::find_session`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundSession {
    /// Its private session id.
    pub sid: String,
    /// Its data (JSON), as [`SessionMeta::data`].
    pub data: Option<String>,
}

/// What [`Store::claim_message`] found for a client message id.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// Nobody handled it yet: the caller now holds it and runs the handler.
    New,
    /// Another request holds it and has not finished.
    InProgress,
    /// It was handled: this is the stored answer (JSON).
    Done(String),
}

/// The rooms a session is in, with the cursor of each join, as of `position`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoomSnapshot {
    /// `(room, joined_at)` pairs.
    pub rooms: Vec<(String, Cursor)>,
    /// The store's position when the snapshot was taken.
    pub position: Cursor,
}

/// How many streams one session may have open, and when a stream that stopped
/// refreshing its slot counts as dead ([`Store::open_stream`]).
///
/// ```
/// use std::time::Duration;
/// use socket_serve::store::{MemoryStore, Store, StreamSlots};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryStore::new(Duration::from_secs(60), Duration::from_secs(60));
/// let sid = "00112233445566778899aabbccddeeff";
/// store.create_session(sid, "p1", None).await.unwrap();
/// let slots = StreamSlots { max: 2, stale: Duration::from_secs(45) };
/// assert!(store.open_stream(sid, "a", slots).await.unwrap().is_empty());
/// assert!(store.open_stream(sid, "b", slots).await.unwrap().is_empty());
/// assert_eq!(store.open_stream(sid, "c", slots).await.unwrap(), vec!["a".to_owned()]);
/// assert!(!store.refresh_stream(sid, "a", slots).await.unwrap(), "a lost its slot");
/// store.close_stream(sid, "b").await.unwrap();
/// assert!(store.open_stream(sid, "d", slots).await.unwrap().is_empty(), "b's slot is free");
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamSlots {
    /// The most open streams; opening one more ends the oldest.
    pub max: usize,
    /// A slot not refreshed for this long belongs to a stream that died without saying so
    /// (its instance crashed): it is freed.
    pub stale: Duration,
}

/// Errors of the store layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backing service did not answer in time, or not at all.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The backing service answered something this code cannot read.
    #[error("store returned unexpected data: {0}")]
    Corrupt(String),
}

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, StoreError>;

/// All state and all fan-out. Implemented by [`MemoryStore`] and `RedisStore`; every
/// method is one atomic step (one round trip on Redis unless it says otherwise).
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Creates a session at the current position, with the app's session data (JSON, from
    /// an authorizer) if any; returns that position.
    async fn create_session(
        &self,
        sid: &str,
        public_id: &str,
        data: Option<&str>,
    ) -> StoreResult<Cursor>;

    /// Replaces the session's data (JSON); `false` if the session is gone or closed.
    async fn set_session_data(&self, sid: &str, json: &str) -> StoreResult<bool>;

    /// The session's facts, refreshing its last-seen time; `None` if it does not exist.
    async fn touch_session(&self, sid: &str) -> StoreResult<Option<SessionMeta>>;

    /// Closes the session: from now on it is unknown to requests, and a
    /// [`EntryKind::Disconnected`] entry in its log ends its streams. Its state and rooms stay
    /// readable (for `on_disconnect`) until [`Store::purge_session`]. Returns its facts to
    /// exactly one caller however many race; `None` to the others and for unknown sessions.
    async fn close_session(&self, sid: &str, reason: &str) -> StoreResult<Option<SessionMeta>>;

    /// Deletes a closed session's state and log and takes it out of its rooms. Why it was
    /// closed stays readable for the recovery window ([`Store::ended_reason`]).
    async fn purge_session(&self, sid: &str) -> StoreResult<()>;

    /// Why a session was closed, for the recovery window after [`Store::close_session`]
    /// (also once it is purged): a client that was between two streams then learns how
    /// its session ended instead of taking it for lost. `None` for sessions that are
    /// open, unknown, or closed longer ago.
    async fn ended_reason(&self, sid: &str) -> StoreResult<Option<String>>;

    /// Sessions not seen for longer than the session TTL, at most `limit`.
    async fn expired_sessions(&self, limit: usize) -> StoreResult<Vec<String>>;

    /// Spends one token of the bucket named `bucket` (one per session, one per client
    /// address), shared by every instance on this store. `None` when there was one (the
    /// request may go on); else how long until there is one.
    async fn spend_token(&self, bucket: &str, limit: RateLimit) -> StoreResult<Option<Duration>>;

    /// Reads one key of session state (JSON text).
    async fn get_state(&self, sid: &str, key: &str) -> StoreResult<Option<String>>;

    /// Writes one key of session state (JSON text), atomically and independently of other
    /// keys, unless the session's state would pass `quota`: then nothing changes and it
    /// returns `false`.
    async fn set_state(
        &self,
        sid: &str,
        key: &str,
        json: &str,
        quota: StateQuota,
    ) -> StoreResult<bool>;

    /// Deletes one key of session state.
    async fn delete_state(&self, sid: &str, key: &str) -> StoreResult<()>;

    /// Joins a room: its presence list gets the session with its presence metadata. Nothing
    /// changes when it is in the room already, in `max_rooms` rooms already, or gone or
    /// closed ([`Join`] says which).
    async fn join(
        &self,
        sid: &str,
        public_id: &str,
        room: &str,
        max_rooms: usize,
    ) -> StoreResult<Join>;

    /// Leaves a room; `false` (a no-op) if it was not in it.
    async fn leave(&self, sid: &str, public_id: &str, room: &str) -> StoreResult<bool>;

    /// Sets the session's presence metadata (JSON; `None` for none), in every room it is
    /// in and in the rooms it joins later. `false` if the session is gone or closed.
    async fn set_presence(&self, sid: &str, json: Option<&str>) -> StoreResult<bool>;

    /// How many sessions are in a room, in O(1).
    async fn presence_count(&self, room: &str) -> StoreResult<usize>;

    /// A page of a room's members with their presence metadata: about `limit` of them
    /// (Redis may return a few more or fewer), after the page that answered `after` as
    /// its `next`. One store command whatever the size of the room.
    async fn presence_page(
        &self,
        room: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<PresencePage>;

    /// The session's rooms, with the position the snapshot was taken at.
    async fn rooms(&self, sid: &str) -> StoreResult<RoomSnapshot>;

    /// Public ids of the sessions in a room.
    async fn room_members(&self, room: &str) -> StoreResult<Vec<String>>;

    /// The open session with this public id (to address one session from outside its
    /// requests), without refreshing it; `None` if there is none, or it was closed.
    async fn find_session(&self, public_id: &str) -> StoreResult<Option<FoundSession>>;

    /// Appends an entry and announces it, in one step. `None` when the dedup key had
    /// already been used (nothing stored).
    async fn append(&self, outgoing: Outgoing) -> StoreResult<Option<Cursor>>;

    /// Reads ranges of several logs at one instant.
    async fn read(&self, reads: &[LogRead]) -> StoreResult<ReadBatch>;

    /// Moves a session's drain position (0.6.0 polling) from `from` to `to`; `false` if
    /// it was no longer `from` (another poll took those messages).
    async fn advance_drain(&self, sid: &str, from: Cursor, to: Cursor) -> StoreResult<bool>;

    /// The session's drain position (0.6.0 polling).
    async fn drain_position(&self, sid: &str) -> StoreResult<Option<Cursor>>;

    /// Claims a client message id for handling.
    async fn claim_message(
        &self,
        sid: &str,
        message_id: &str,
        lease: Duration,
    ) -> StoreResult<Claim>;

    /// Stores the answer of a handled client message.
    async fn complete_message(&self, sid: &str, message_id: &str, answer: &str) -> StoreResult<()>;

    /// Releases a claim whose handler failed, so a retry runs it again.
    async fn release_message(&self, sid: &str, message_id: &str) -> StoreResult<()>;

    /// Takes a stream slot of the session for stream `stream` (an id unique to it): frees
    /// slots gone stale, adds this one as the newest, and takes the oldest away while more
    /// than `slots.max` are held. Returns the ids of the streams taken away, oldest first:
    /// the caller tells them to end.
    async fn open_stream(
        &self,
        sid: &str,
        stream: &str,
        slots: StreamSlots,
    ) -> StoreResult<Vec<String>>;

    /// Refreshes a stream's slot (its heartbeat); `false` when it holds none any more
    /// (taken away by a newer stream, or freed as stale).
    async fn refresh_stream(
        &self,
        sid: &str,
        stream: &str,
        slots: StreamSlots,
    ) -> StoreResult<bool>;

    /// Frees a stream's slot: the stream ended.
    async fn close_stream(&self, sid: &str, stream: &str) -> StoreResult<()>;

    /// A new live feed, cut off once more than `budget` bytes wait on it ([`Backlog`]);
    /// listen to logs on it.
    fn subscribe(&self, budget: usize) -> Subscription;

    /// Starts listening to logs on a subscription; returns once announcements of later
    /// appends are sure to reach it. Many logs at once cost one step, not one each (a
    /// session in many rooms must not hold up other sessions' streams).
    async fn listen(&self, subscription: &Subscription, logs: &[LogId]) -> StoreResult<()>;

    /// The process may have been frozen since the last call (a serverless instance between
    /// invocations): check the connections now and replace dead ones, so the next call
    /// does not fail on a connection that died meanwhile. The default does nothing (a
    /// store without connections).
    async fn refresh(&self) {}

    /// Announces a volatile message (one that is not logged: nobody can replay it) to the
    /// subscriptions of every process listening to `log` now. What a slow or absent
    /// reader misses is gone.
    async fn announce_volatile(
        &self,
        log: &LogId,
        json: Arc<str>,
        audience: Audience,
    ) -> StoreResult<()>;

    /// Announces the current position to every subscription of this process, in order with
    /// the appends before it ([`Live::Tick`]): streams use it to move idle clients' cursors.
    async fn tick(&self) -> StoreResult<()>;
}

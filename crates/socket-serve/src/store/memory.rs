//! The embedded in-memory store: the same model as Redis, inside one process.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use socket_serve_protocol::Cursor;

use super::deadlines::{Deadlines, Due};
use super::rate::{self, RateLimit};
use super::{
    now_ms, Audience, Claim, Entry, EntryKind, FoundSession, Hub, Join, Joined, LogId, LogRead,
    Outgoing, PresencePage, ReadBatch, RoomSnapshot, SessionMeta, StateQuota, Store, StoreResult,
    StreamSlots, Subscription,
};

/// An in-process [`Store`]: the default when `REDIS_URL` is not set.
///
/// It gives the guarantees of the Redis store to the clients of one process (exactly once,
/// in order, across stream cuts; idempotent emits; expiry), and nothing across processes:
/// run one instance with it, or use the Redis store.
///
/// ```
/// use std::time::Duration;
/// use socket_serve::store::{MemoryStore, Store};
///
/// # tokio_test_block_on(async {
/// let store = MemoryStore::new(Duration::from_secs(120), Duration::from_secs(120));
/// let start = store.create_session("00112233445566778899aabbccddeeff", "pub-1", None).await.unwrap();
/// let meta = store.touch_session("00112233445566778899aabbccddeeff").await.unwrap().unwrap();
/// assert_eq!(meta.start, start);
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Clone)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    hub: Hub,
    session_ttl: Duration,
    recovery_window: Duration,
}

#[derive(Default)]
struct State {
    last: Cursor,
    /// Boxed: under churn a table ends up about twice its peak, so its slots stay small.
    sessions: HashMap<String, Box<Session>>,
    logs: HashMap<LogId, VecDeque<Entry>>,
    /// Room → its members' public ids, each with its presence metadata (JSON), ordered so
    /// presence pages follow one another.
    room_members: HashMap<String, BTreeMap<String, Option<String>>>,
    /// Public id → session id.
    public_ids: HashMap<String, String>,
    /// Why closed sessions ended, with the time it may be forgotten.
    ended: HashMap<String, (String, u64)>,
    /// Idempotency keys of appends, with the time they may be forgotten.
    appended: HashMap<(String, String), u64>,
    /// Rate-limit buckets: their arrival time (µs since the epoch; see `rate::spend`).
    buckets: HashMap<String, u64>,
    /// What expires when: sessions, logs, keys, answers, buckets.
    deadlines: Deadlines,
}

struct Session {
    public_id: String,
    /// The app's session data (JSON).
    data: Option<String>,
    /// What other sessions see of it in its rooms' presence lists (JSON).
    presence: Option<String>,
    start: Cursor,
    last_seen_ms: u64,
    state: HashMap<String, String>,
    rooms: HashMap<String, Cursor>,
    drain: Cursor,
    messages: HashMap<String, MessageRecord>,
    /// Closed by `close_session`, waiting for `purge_session`.
    closed: bool,
    /// Its open streams' slots, oldest first: `(stream id, last refreshed ms)`.
    streams: VecDeque<(String, u64)>,
}

/// How many due things one step of the expiry pass handles under the lock.
const EXPIRY_STEP: usize = 256;

enum MessageRecord {
    Claimed { until_ms: u64 },
    Done { answer: String, at_ms: u64 },
}

impl MemoryStore {
    /// A store whose sessions expire after `session_ttl` without being seen and whose logs
    /// keep messages for `recovery_window`.
    pub fn new(session_ttl: Duration, recovery_window: Duration) -> Self {
        MemoryStore {
            inner: Arc::new(Inner {
                state: Mutex::new(State::default()),
                hub: Hub::default(),
                session_ttl,
                recovery_window,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn window_ms(&self) -> u64 {
        self.inner.recovery_window.as_millis() as u64
    }

    fn is_live(&self, session: &Session, now: u64) -> bool {
        now.saturating_sub(session.last_seen_ms) <= self.inner.session_ttl.as_millis() as u64
    }

    /// Appends under the lock and announces before releasing it, so announcements leave in
    /// cursor order.
    fn append_locked(&self, state: &mut State, log: LogId, kind: EntryKind) -> Cursor {
        let now = now_ms();
        let cursor = state.next_cursor(now);
        let entry = Entry { cursor, kind };
        self.inner.hub.dispatch(&log, &entry);
        let min_ms = now.saturating_sub(self.window_ms());
        let State {
            logs, deadlines, ..
        } = state;
        let entries = logs.entry(log).or_insert_with_key(|log| {
            // A new log: it comes due when its first entry leaves the window.
            deadlines.file(now + self.window_ms() + 1, Due::Log(log.clone()));
            VecDeque::new()
        });
        entries.push_back(entry);
        while entries.front().is_some_and(|e| e.cursor.ms < min_ms) {
            entries.pop_front();
        }
        cursor
    }

    /// Forgets what no reader can still need and is due now, at most `budget` things (so
    /// the lock is held for a bounded time); returns sessions gone unseen for the session
    /// TTL (filed again for `session_ttl`, should ending them fail), and whether more is due.
    fn expire_due(&self, state: &mut State, now: u64, budget: usize) -> (Vec<String>, bool) {
        let ttl = self.inner.session_ttl.as_millis() as u64;
        let window = self.window_ms();
        let mut expired = Vec::new();
        for _ in 0..budget {
            let Some(due) = state.deadlines.next_due(now) else {
                return (expired, false);
            };
            match due {
                Due::Session(sid) => {
                    let Some(session) = state.sessions.get(&sid).filter(|s| !s.closed) else {
                        continue;
                    };
                    if self.is_live(session, now) {
                        let at = session.last_seen_ms + ttl + 1;
                        state.deadlines.file(at, Due::Session(sid));
                    } else {
                        state.deadlines.file(now + ttl, Due::Session(sid.clone()));
                        expired.push(sid);
                    }
                }
                Due::Log(log) => {
                    let Some(entries) = state.logs.get_mut(&log) else {
                        continue;
                    };
                    let min_ms = now.saturating_sub(window);
                    while entries.front().is_some_and(|e| e.cursor.ms < min_ms) {
                        entries.pop_front();
                    }
                    match entries.front() {
                        Some(first) => {
                            let at = first.cursor.ms + window + 1;
                            state.deadlines.file(at, Due::Log(log));
                        }
                        None => {
                            state.logs.remove(&log);
                        }
                    }
                }
                Due::Appended(sid, key) => {
                    let key = (sid, key);
                    if state.appended.get(&key).is_some_and(|until| *until <= now) {
                        state.appended.remove(&key);
                    }
                }
                Due::Ended(sid) => {
                    if state
                        .ended
                        .get(&sid)
                        .is_some_and(|(_, until)| *until <= now)
                    {
                        state.ended.remove(&sid);
                    }
                }
                Due::Message(sid, id) => {
                    let Some(session) = state.sessions.get_mut(&sid) else {
                        continue;
                    };
                    let spent = match session.messages.get(&id) {
                        Some(MessageRecord::Claimed { until_ms }) => *until_ms <= now,
                        Some(MessageRecord::Done { at_ms, .. }) => at_ms + window < now,
                        None => false,
                    };
                    if spent {
                        session.messages.remove(&id);
                    }
                }
                Due::Bucket(name) => {
                    let now_us = now.saturating_mul(1000);
                    if state.buckets.get(&name).is_some_and(|at| *at <= now_us) {
                        state.buckets.remove(&name);
                    }
                }
            }
        }
        (expired, true)
    }
}

impl State {
    fn next_cursor(&mut self, now: u64) -> Cursor {
        self.last = if now > self.last.ms {
            Cursor::new(now, 0)
        } else {
            self.last.next()
        };
        self.last
    }
}

/// How many logs [`Store::listen`] adds between two yields.
const LISTEN_STEP: usize = 500;

#[async_trait]
impl Store for MemoryStore {
    async fn create_session(
        &self,
        sid: &str,
        public_id: &str,
        data: Option<&str>,
    ) -> StoreResult<Cursor> {
        let mut state = self.lock();
        let now = now_ms();
        let start = state.next_cursor(now);
        state
            .public_ids
            .insert(public_id.to_owned(), sid.to_owned());
        state.sessions.insert(
            sid.to_owned(),
            Box::new(Session {
                public_id: public_id.to_owned(),
                start,
                last_seen_ms: now,
                state: HashMap::new(),
                rooms: HashMap::new(),
                drain: start,
                messages: HashMap::new(),
                closed: false,
                streams: VecDeque::new(),
                data: data.map(str::to_owned),
                presence: None,
            }),
        );
        let ttl = self.inner.session_ttl.as_millis() as u64;
        state
            .deadlines
            .file(now + ttl + 1, Due::Session(sid.to_owned()));
        Ok(start)
    }

    async fn set_session_data(&self, sid: &str, json: &str) -> StoreResult<bool> {
        let mut state = self.lock();
        match state.sessions.get_mut(sid).filter(|s| !s.closed) {
            Some(session) => {
                session.data = Some(json.to_owned());
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn touch_session(&self, sid: &str) -> StoreResult<Option<SessionMeta>> {
        let now = now_ms();
        let mut state = self.lock();
        let Some(session) = state.sessions.get_mut(sid) else {
            return Ok(None);
        };
        if session.closed || !self.is_live(session, now) {
            // Expired: only the sweep may still see it, to run `on_disconnect`.
            return Ok(None);
        }
        session.last_seen_ms = now;
        Ok(Some(SessionMeta {
            public_id: session.public_id.clone(),
            start: session.start,
            data: session.data.clone(),
        }))
    }

    async fn close_session(&self, sid: &str, reason: &str) -> StoreResult<Option<SessionMeta>> {
        let mut state = self.lock();
        let Some(session) = state.sessions.get_mut(sid).filter(|s| !s.closed) else {
            return Ok(None);
        };
        session.closed = true;
        let until = now_ms() + self.window_ms();
        let meta = SessionMeta {
            public_id: session.public_id.clone(),
            start: session.start,
            data: session.data.clone(),
        };
        let kind = EntryKind::Disconnected {
            reason: reason.to_owned(),
        };
        self.append_locked(&mut state, LogId::Session(sid.to_owned()), kind);
        state
            .ended
            .insert(sid.to_owned(), (reason.to_owned(), until));
        state.deadlines.file(until, Due::Ended(sid.to_owned()));
        Ok(Some(meta))
    }

    async fn ended_reason(&self, sid: &str) -> StoreResult<Option<String>> {
        let now = now_ms();
        let state = self.lock();
        Ok(state
            .ended
            .get(sid)
            .filter(|(_, until)| *until > now)
            .map(|(reason, _)| reason.clone()))
    }

    async fn purge_session(&self, sid: &str) -> StoreResult<()> {
        let mut state = self.lock();
        let Some(session) = state.sessions.remove(sid) else {
            return Ok(());
        };
        // Its ack logs go with the recovery window (`prune`), like room logs.
        state.logs.remove(&LogId::Session(sid.to_owned()));
        state.public_ids.remove(&session.public_id);
        for room in session.rooms.keys() {
            if let Some(members) = state.room_members.get_mut(room) {
                members.remove(&session.public_id);
                if members.is_empty() {
                    state.room_members.remove(room);
                }
            }
        }
        // Its idempotency keys go with the recovery window (`expire_due`).
        Ok(())
    }

    async fn open_stream(
        &self,
        sid: &str,
        stream: &str,
        slots: StreamSlots,
    ) -> StoreResult<Vec<String>> {
        let now = now_ms();
        let stale_ms = slots.stale.as_millis() as u64;
        let mut state = self.lock();
        let Some(session) = state.sessions.get_mut(sid) else {
            return Ok(Vec::new());
        };
        let streams = &mut session.streams;
        streams.retain(|(_, seen)| now.saturating_sub(*seen) <= stale_ms);
        streams.push_back((stream.to_owned(), now));
        let over = streams.len().saturating_sub(slots.max.max(1));
        Ok(streams.drain(..over).map(|(id, _)| id).collect())
    }

    async fn refresh_stream(
        &self,
        sid: &str,
        stream: &str,
        _slots: StreamSlots,
    ) -> StoreResult<bool> {
        let mut state = self.lock();
        let slot = state
            .sessions
            .get_mut(sid)
            .and_then(|s| s.streams.iter_mut().find(|(id, _)| id == stream));
        Ok(slot.map(|(_, seen)| *seen = now_ms()).is_some())
    }

    async fn close_stream(&self, sid: &str, stream: &str) -> StoreResult<()> {
        if let Some(session) = self.lock().sessions.get_mut(sid) {
            session.streams.retain(|(id, _)| id != stream);
        }
        Ok(())
    }

    async fn expired_sessions(&self, limit: usize) -> StoreResult<Vec<String>> {
        let now = now_ms();
        let mut expired = Vec::new();
        // In steps that each hold the lock briefly, until nothing more is due or `limit`
        // sessions were found; what is due is all handled, however much it is.
        loop {
            let (found, more) = self.expire_due(&mut self.lock(), now, EXPIRY_STEP);
            expired.extend(found);
            if !more || expired.len() >= limit {
                return Ok(expired);
            }
            tokio::task::yield_now().await;
        }
    }

    async fn spend_token(&self, bucket: &str, limit: RateLimit) -> StoreResult<Option<Duration>> {
        let now_us = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0);
        let mut state = self.lock();
        let arrival = state.buckets.get(bucket).copied();
        match rate::spend(arrival, now_us, limit) {
            Ok(next) => {
                if arrival.is_none() {
                    state
                        .deadlines
                        .file(next.div_ceil(1000), Due::Bucket(bucket.to_owned()));
                }
                state.buckets.insert(bucket.to_owned(), next);
                Ok(None)
            }
            Err(wait_us) => Ok(Some(Duration::from_micros(wait_us))),
        }
    }

    async fn get_state(&self, sid: &str, key: &str) -> StoreResult<Option<String>> {
        let state = self.lock();
        Ok(state
            .sessions
            .get(sid)
            .and_then(|s| s.state.get(key).cloned()))
    }

    async fn set_state(
        &self,
        sid: &str,
        key: &str,
        json: &str,
        quota: StateQuota,
    ) -> StoreResult<bool> {
        let mut state = self.lock();
        let Some(session) = state.sessions.get_mut(sid) else {
            return Ok(true);
        };
        let values = &session.state;
        let new_key = !values.contains_key(key);
        let others: usize = values
            .iter()
            .filter(|(k, _)| k.as_str() != key)
            .map(|(k, v)| k.len() + v.len())
            .sum();
        if (new_key && values.len() >= quota.max_keys)
            || others + key.len() + json.len() > quota.max_bytes
        {
            return Ok(false);
        }
        session.state.insert(key.to_owned(), json.to_owned());
        Ok(true)
    }

    async fn delete_state(&self, sid: &str, key: &str) -> StoreResult<()> {
        let mut state = self.lock();
        if let Some(session) = state.sessions.get_mut(sid) {
            session.state.remove(key);
        }
        Ok(())
    }

    async fn join(
        &self,
        sid: &str,
        public_id: &str,
        room: &str,
        max_rooms: usize,
    ) -> StoreResult<Join> {
        let mut state = self.lock();
        let Some(session) = state.sessions.get(sid).filter(|s| !s.closed) else {
            return Ok(Join::Gone);
        };
        if session.rooms.contains_key(room) {
            return Ok(Join::AlreadyIn);
        }
        if session.rooms.len() >= max_rooms {
            return Ok(Join::Full);
        }
        let presence = session.presence.clone();
        let kind = EntryKind::Joined {
            room: room.to_owned(),
        };
        let cursor = self.append_locked(&mut state, LogId::Session(sid.to_owned()), kind);
        if let Some(session) = state.sessions.get_mut(sid) {
            session.rooms.insert(room.to_owned(), cursor);
        }
        let members = state.room_members.entry(room.to_owned()).or_default();
        members.insert(public_id.to_owned(), presence.clone());
        Ok(Join::Joined(Joined { cursor, presence }))
    }

    async fn leave(&self, sid: &str, public_id: &str, room: &str) -> StoreResult<bool> {
        let mut state = self.lock();
        let Some(since) = state
            .sessions
            .get_mut(sid)
            .and_then(|s| s.rooms.remove(room))
        else {
            return Ok(false);
        };
        let kind = EntryKind::Left {
            room: room.to_owned(),
            since,
        };
        self.append_locked(&mut state, LogId::Session(sid.to_owned()), kind);
        if let Some(members) = state.room_members.get_mut(room) {
            members.remove(public_id);
            if members.is_empty() {
                state.room_members.remove(room);
            }
        }
        Ok(true)
    }

    async fn set_presence(&self, sid: &str, json: Option<&str>) -> StoreResult<bool> {
        let mut state = self.lock();
        let State {
            sessions,
            room_members,
            ..
        } = &mut *state;
        let Some(session) = sessions.get_mut(sid).filter(|s| !s.closed) else {
            return Ok(false);
        };
        session.presence = json.map(str::to_owned);
        for room in session.rooms.keys() {
            if let Some(member) = room_members
                .get_mut(room)
                .and_then(|m| m.get_mut(&session.public_id))
            {
                member.clone_from(&session.presence);
            }
        }
        Ok(true)
    }

    async fn presence_count(&self, room: &str) -> StoreResult<usize> {
        Ok(self.lock().room_members.get(room).map_or(0, BTreeMap::len))
    }

    async fn presence_page(
        &self,
        room: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<PresencePage> {
        let state = self.lock();
        let Some(members) = state.room_members.get(room) else {
            return Ok(PresencePage::default());
        };
        let range = match after {
            Some(after) => members
                .range::<str, _>((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded)),
            None => members.range::<str, _>(..),
        };
        let members: Vec<(String, Option<String>)> = range
            .take(limit.max(1))
            .map(|(id, meta)| (id.clone(), meta.clone()))
            .collect();
        let next = members
            .last()
            .filter(|_| members.len() == limit.max(1))
            .map(|(id, _)| id.clone());
        Ok(PresencePage { members, next })
    }

    async fn rooms(&self, sid: &str) -> StoreResult<RoomSnapshot> {
        let state = self.lock();
        let mut rooms: Vec<(String, Cursor)> = state
            .sessions
            .get(sid)
            .map(|s| s.rooms.iter().map(|(r, c)| (r.clone(), *c)).collect())
            .unwrap_or_default();
        rooms.sort();
        Ok(RoomSnapshot {
            rooms,
            position: state.last,
        })
    }

    async fn room_members(&self, room: &str) -> StoreResult<Vec<String>> {
        let state = self.lock();
        let mut members: Vec<String> = state
            .room_members
            .get(room)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        members.sort();
        Ok(members)
    }

    async fn announce_volatile(
        &self,
        log: &LogId,
        json: Arc<str>,
        audience: Audience,
    ) -> StoreResult<()> {
        self.inner.hub.volatile(log, &json, &audience);
        Ok(())
    }

    async fn find_session(&self, public_id: &str) -> StoreResult<Option<FoundSession>> {
        let state = self.lock();
        let Some(sid) = state.public_ids.get(public_id) else {
            return Ok(None);
        };
        let open = state.sessions.get(sid).filter(|s| !s.closed);
        Ok(open.map(|session| FoundSession {
            sid: sid.clone(),
            data: session.data.clone(),
        }))
    }

    async fn append(&self, outgoing: Outgoing) -> StoreResult<Option<Cursor>> {
        let mut state = self.lock();
        if let Some(key) = outgoing.dedup {
            let until = now_ms() + self.window_ms();
            if state.appended.insert(key.clone(), until).is_some() {
                return Ok(None);
            }
            state.deadlines.file(until, Due::Appended(key.0, key.1));
        }
        if let Some(sid) = outgoing.log.session() {
            if state.sessions.get(sid).is_none_or(|s| s.closed) {
                // Nobody can read it: a message to a removed session is dropped.
                return Ok(Some(state.last));
            }
        }
        Ok(Some(self.append_locked(
            &mut state,
            outgoing.log,
            outgoing.kind,
        )))
    }

    async fn read(&self, reads: &[LogRead]) -> StoreResult<ReadBatch> {
        let state = self.lock();
        let mut entries: Vec<(LogId, Entry)> = Vec::new();
        let mut position = state.last;
        let mut truncated = false;
        for read in reads {
            let Some(log) = state.logs.get(&read.log) else {
                continue;
            };
            let from = log.partition_point(|e| e.cursor <= read.after);
            let in_range = log
                .range(from..)
                .take_while(|e| read.until.is_none_or(|until| e.cursor <= until));
            let limit = read.limit.filter(|l| *l > 0).unwrap_or(usize::MAX);
            for (taken, entry) in in_range.enumerate() {
                if taken == limit {
                    // More than the limit: complete only up to the last one taken.
                    truncated = true;
                    if let Some((_, last)) = entries.last() {
                        position = position.min(last.cursor);
                    }
                    break;
                }
                entries.push((read.log.clone(), entry.clone()));
            }
        }
        Ok(ReadBatch {
            entries,
            position,
            truncated,
            now_ms: now_ms(),
        })
    }

    async fn advance_drain(&self, sid: &str, from: Cursor, to: Cursor) -> StoreResult<bool> {
        let mut state = self.lock();
        match state.sessions.get_mut(sid) {
            Some(session) if session.drain == from => {
                session.drain = to;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn drain_position(&self, sid: &str) -> StoreResult<Option<Cursor>> {
        Ok(self.lock().sessions.get(sid).map(|s| s.drain))
    }

    async fn claim_message(
        &self,
        sid: &str,
        message_id: &str,
        lease: Duration,
    ) -> StoreResult<Claim> {
        let now = now_ms();
        let mut state = self.lock();
        let Some(session) = state.sessions.get_mut(sid) else {
            return Ok(Claim::New);
        };
        match session.messages.get(message_id) {
            Some(MessageRecord::Done { answer, .. }) => return Ok(Claim::Done(answer.clone())),
            Some(MessageRecord::Claimed { until_ms }) if *until_ms > now => {
                return Ok(Claim::InProgress)
            }
            _ => {}
        }
        let until_ms = now + lease.as_millis() as u64;
        session
            .messages
            .insert(message_id.to_owned(), MessageRecord::Claimed { until_ms });
        let due = Due::Message(sid.to_owned(), message_id.to_owned());
        state.deadlines.file(until_ms, due);
        Ok(Claim::New)
    }

    async fn complete_message(&self, sid: &str, message_id: &str, answer: &str) -> StoreResult<()> {
        let mut state = self.lock();
        if let Some(session) = state.sessions.get_mut(sid) {
            let at_ms = now_ms();
            let record = MessageRecord::Done {
                answer: answer.to_owned(),
                at_ms,
            };
            session.messages.insert(message_id.to_owned(), record);
            let due = Due::Message(sid.to_owned(), message_id.to_owned());
            state.deadlines.file(at_ms + self.window_ms() + 1, due);
        }
        Ok(())
    }

    async fn release_message(&self, sid: &str, message_id: &str) -> StoreResult<()> {
        let mut state = self.lock();
        if let Some(session) = state.sessions.get_mut(sid) {
            session.messages.remove(message_id);
        }
        Ok(())
    }

    fn subscribe(&self, budget: usize) -> Subscription {
        self.inner.hub.subscribe(budget)
    }

    async fn listen(&self, subscription: &Subscription, logs: &[LogId]) -> StoreResult<()> {
        for (n, log) in logs.iter().enumerate() {
            if n > 0 && n % LISTEN_STEP == 0 {
                // Nothing here waits: let other tasks run between steps of a long list.
                tokio::task::yield_now().await;
            }
            self.inner.hub.add(subscription.id(), log);
        }
        Ok(())
    }

    async fn tick(&self) -> StoreResult<()> {
        let state = self.lock();
        self.inner.hub.tick(state.last);
        Ok(())
    }
}

//! The reader: what one session receives, in cursor order, exactly once, whether replayed
//! from the logs or announced live.
//!
//! A session reads its own log, everyone's log, and each room's log for the time it was a
//! member. Membership intervals come from the rooms snapshot plus the `Joined`/`Left`
//! entries of the session log, so replay from any cursor is exact on any instance.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use socket_serve_protocol::Cursor;

use crate::store::{
    Audience, DynStore, EntryKind, Live, LogId, LogRead, ReadBatch, StoreResult, Subscription,
};

/// What the reader produced from a replay or an announcement.
#[derive(Debug, Default)]
pub(crate) struct Delivery {
    /// Messages to send, in cursor order.
    pub messages: Vec<(Cursor, Arc<str>)>,
    /// Volatile messages to send now (no cursor: they are not logged).
    pub volatile: Vec<Arc<str>>,
    /// The session was removed: send this reason and end.
    pub disconnected: Option<String>,
    /// A room was joined: the caller must catch up with
    /// [`Reader::replay_listening`] (which listens to the room, then replays from before
    /// the join) before it delivers anything more.
    pub resync: bool,
    /// The requested position was ahead of the store; the reader moved back to the store's.
    pub rewound: bool,
    /// The replay stopped at its batch size: there is more to replay.
    pub more: bool,
    /// A newer stream of the session took this stream's slot: end it with `__replaced`.
    pub replaced: bool,
}

/// One membership interval of a room: entries with `lo < cursor <= hi`.
#[derive(Debug, Clone)]
struct Interval {
    room: String,
    since: Cursor,
    lo: Cursor,
    hi: Option<Cursor>,
}

pub(crate) struct Reader {
    store: DynStore,
    sid: String,
    public_id: String,
    /// Everything at or below this cursor was delivered (or does not concern this session).
    pub position: Cursor,
    /// Rooms the session is in, with the cursor of the join.
    rooms: HashMap<String, Cursor>,
    /// Rooms whose log the subscription listens to.
    listened: HashSet<String>,
    /// How many entries of each room or broadcast log one replay reads at most.
    batch: usize,
    /// The id of the SSE stream this reader serves, to know its own `__replaced` notice
    /// (`None` for a poll, which holds no slot).
    stream: Option<String>,
}

impl Reader {
    pub(crate) fn new(
        store: DynStore,
        sid: &str,
        public_id: &str,
        position: Cursor,
        batch: usize,
    ) -> Self {
        Reader {
            store,
            sid: sid.to_owned(),
            public_id: public_id.to_owned(),
            position,
            rooms: HashMap::new(),
            listened: HashSet::new(),
            batch: batch.max(1),
            stream: None,
        }
    }

    /// Makes this the reader of SSE stream `stream` (see [`Delivery::replaced`]).
    pub(crate) fn for_stream(mut self, stream: &str) -> Self {
        self.stream = Some(stream.to_owned());
        self
    }

    fn session_log(&self) -> LogId {
        LogId::Session(self.sid.clone())
    }

    /// Listens to the session's logs and current rooms (call before the first replay).
    pub(crate) async fn listen_all(&mut self, sub: &Subscription) -> StoreResult<()> {
        let rooms = self.store.rooms(&self.sid).await?.rooms;
        let mut logs = vec![self.session_log(), LogId::All];
        logs.extend(rooms.iter().map(|(room, _)| LogId::Room(room.clone())));
        self.store.listen(sub, &logs).await?;
        self.listened
            .extend(rooms.into_iter().map(|(room, _)| room));
        Ok(())
    }

    /// [`replay`](Self::replay), then makes sure `sub` listens to every room the session
    /// is in. A room joined since the subscription was set up (whose `Joined` entry the
    /// replay already passed, so it will not come live) is listened to, then replayed
    /// again: its entries between the read and the listen were announced to nobody here.
    pub(crate) async fn replay_listening(&mut self, sub: &Subscription) -> StoreResult<Delivery> {
        let mut delivery = self.replay().await?;
        loop {
            let new: Vec<String> = self
                .rooms
                .keys()
                .filter(|room| !self.listened.contains(*room))
                .cloned()
                .collect();
            if new.is_empty() || delivery.rewound || delivery.disconnected.is_some() {
                return Ok(delivery);
            }
            let logs: Vec<LogId> = new.iter().map(|room| LogId::Room(room.clone())).collect();
            self.store.listen(sub, &logs).await?;
            self.listened.extend(new);
            let next = self.replay().await?;
            delivery.messages.extend(next.messages);
            delivery.disconnected = next.disconnected;
            delivery.more = next.more;
        }
    }

    /// Stops listening to rooms the session has left.
    pub(crate) fn unlisten_left_rooms(&mut self, sub: &Subscription) {
        let left: Vec<String> = self
            .listened
            .iter()
            .filter(|room| !self.rooms.contains_key(*room))
            .cloned()
            .collect();
        for room in left {
            sub.unlisten(&LogId::Room(room.clone()));
            self.listened.remove(&room);
        }
    }

    /// Reads what comes after `position` from the logs, up to `batch` entries of each room
    /// and broadcast log, and moves `position` to where the read is complete. When
    /// `Delivery::more` is set, call it again before going live.
    pub(crate) async fn replay(&mut self) -> StoreResult<Delivery> {
        let after = self.position;
        let snapshot = self.store.rooms(&self.sid).await?;
        let mut intervals: Vec<Interval> = snapshot
            .rooms
            .iter()
            .map(|(room, since)| Interval {
                room: room.clone(),
                since: *since,
                lo: after.max(*since),
                hi: None,
            })
            .collect();
        let limit = Some(self.batch);
        // The session's own log is read whole: its control entries say where every room
        // membership began and ended, whatever the cut of the other logs.
        let mut reads = vec![
            LogRead {
                log: self.session_log(),
                after,
                until: None,
                limit: None,
            },
            LogRead {
                log: LogId::All,
                after,
                until: None,
                limit,
            },
        ];
        reads.extend(intervals.iter().map(|i| LogRead {
            log: LogId::Room(i.room.clone()),
            after: i.lo,
            until: None,
            limit,
        }));
        let batch = read_in_chunks(&self.store, &reads).await?;
        let mut end = batch.position;
        let mut more = batch.truncated;
        if after > end {
            // A cursor from the future (a forged one, or from a store that lost its data):
            // nothing can be said to be delivered past the store's real position.
            self.position = end;
            return Ok(Delivery {
                rewound: true,
                ..Delivery::default()
            });
        }

        // Membership changes after the snapshot (or before it but after `after`) come from
        // the session log's control entries.
        let mut control: Vec<(Cursor, &EntryKind)> = batch
            .entries
            .iter()
            .filter(|(log, _)| *log == self.session_log())
            .map(|(_, e)| (e.cursor, &e.kind))
            .collect();
        control.sort_by_key(|(c, _)| *c);
        let mut extra = Vec::new();
        for (cursor, kind) in &control {
            match kind {
                EntryKind::Joined { room } if *cursor > snapshot.position => {
                    intervals.push(Interval {
                        room: room.clone(),
                        since: *cursor,
                        lo: *cursor,
                        hi: None,
                    });
                    extra.push(intervals.len() - 1);
                }
                EntryKind::Left { room, since } => {
                    let open = intervals
                        .iter_mut()
                        .find(|i| i.room == *room && i.since == *since && i.hi.is_none());
                    match open {
                        Some(interval) => interval.hi = Some(*cursor),
                        None => {
                            intervals.push(Interval {
                                room: room.clone(),
                                since: *since,
                                lo: after.max(*since),
                                hi: Some(*cursor),
                            });
                            extra.push(intervals.len() - 1);
                        }
                    }
                }
                _ => {}
            }
        }
        let mut entries = batch.entries;
        let extra: Vec<usize> = extra
            .into_iter()
            .filter(|&i| intervals[i].lo < end)
            .collect();
        if !extra.is_empty() {
            let reads: Vec<LogRead> = extra
                .iter()
                .map(|&i| LogRead {
                    log: LogId::Room(intervals[i].room.clone()),
                    after: intervals[i].lo,
                    until: Some(intervals[i].hi.unwrap_or(end).min(end)),
                    limit,
                })
                .collect();
            let batch = read_in_chunks(&self.store, &reads).await?;
            if batch.truncated {
                more = true;
                end = end.min(batch.position);
            }
            entries.extend(batch.entries);
        }

        let mut delivery = Delivery::default();
        let mut messages: BTreeMap<Cursor, Arc<str>> = BTreeMap::new();
        for (log, entry) in entries {
            if entry.cursor <= after || entry.cursor > end {
                continue;
            }
            match (&log, entry.kind) {
                (LogId::Session(_), EntryKind::Message { json, .. }) => {
                    messages.insert(entry.cursor, json);
                }
                (LogId::Session(_), EntryKind::Disconnected { reason }) => {
                    delivery.disconnected = Some(reason);
                }
                (LogId::All | LogId::Room(_), EntryKind::Message { json, audience }) => {
                    let cursor = entry.cursor;
                    let member = |room: &str| {
                        intervals.iter().any(|i| {
                            i.room == room && cursor > i.lo && i.hi.is_none_or(|hi| cursor <= hi)
                        })
                    };
                    if self.wants(&log, &audience, member) {
                        messages.insert(cursor, json);
                    }
                }
                _ => {}
            }
        }
        // The rooms the session is in as of `end`.
        self.rooms = intervals
            .into_iter()
            .filter(|i| i.since <= end && i.hi.is_none_or(|hi| hi > end))
            .map(|i| (i.room, i.since))
            .collect();
        delivery.messages = messages.into_iter().collect();
        delivery.more = more;
        self.position = self.position.max(end);
        Ok(delivery)
    }

    /// Handles one announcement. Announcements come in cursor order; anything at or below
    /// `position` was already delivered by a replay and is dropped.
    pub(crate) fn on_live(&mut self, live: Live) -> Delivery {
        let mut delivery = Delivery::default();
        let (log, entry) = match live {
            Live::Tick(position) => {
                self.position = self.position.max(position);
                return delivery;
            }
            Live::Volatile(LogId::Session(sid), json, _) if sid == self.sid => {
                if let Some(replaced) = super::replaced_stream(&json) {
                    // A notice for the session's streams, never for its client.
                    delivery.replaced = self.stream.as_deref() == Some(replaced);
                } else {
                    delivery.volatile.push(json);
                }
                return delivery;
            }
            Live::Volatile(log, json, audience) => {
                // Not logged, so no cursor: for whoever is a member right now.
                let rooms = &self.rooms;
                let member = |room: &str| rooms.contains_key(room);
                if self.wants(&log, &audience, member) {
                    delivery.volatile.push(json);
                }
                return delivery;
            }
            Live::Entry(log, entry) => (log, entry),
        };
        if let (LogId::Session(sid), EntryKind::Disconnected { reason }) = (&log, &entry.kind) {
            // The end is delivered even when a replay already moved past it: the session's
            // log may have been purged before that replay read it (a join announced, then
            // the session ended and purged, then the replay), and nothing follows an end.
            if *sid == self.sid {
                delivery.disconnected = Some(reason.clone());
                self.position = self.position.max(entry.cursor);
                return delivery;
            }
        }
        if entry.cursor <= self.position {
            return delivery;
        }
        let cursor = entry.cursor;
        match (&log, entry.kind) {
            (LogId::Session(sid), kind) if *sid == self.sid => match kind {
                EntryKind::Message { json, .. } => delivery.messages.push((cursor, json)),
                EntryKind::Joined { .. } => {
                    // Entries of the room between this join and our listening to it would be
                    // missed live: the caller listens, then replays from before the join.
                    delivery.resync = true;
                    return delivery;
                }
                EntryKind::Left { room, .. } => {
                    self.rooms.remove(&room);
                }
                EntryKind::Disconnected { reason } => delivery.disconnected = Some(reason),
            },
            (LogId::All | LogId::Room(_), EntryKind::Message { json, audience }) => {
                let rooms = &self.rooms;
                let member = |room: &str| rooms.get(room).is_some_and(|since| cursor > *since);
                if self.wants(&log, &audience, member) {
                    delivery.messages.push((cursor, json));
                }
            }
            _ => {}
        }
        self.position = cursor;
        delivery
    }

    /// Whether a message of `log` (everyone's or a room's) is for this session, given
    /// which rooms it was a member of when the message was stored (`member`).
    ///
    /// Left out: a session whose public id is in `except`, or that is in a room named in
    /// `except` (the sender of a broadcast does not get it back). Sent to several rooms at
    /// once, a message is in each room's log; a member of several takes it from the first
    /// of them in `rooms` only, so it arrives once.
    fn wants(&self, log: &LogId, audience: &Audience, member: impl Fn(&str) -> bool) -> bool {
        let left_out = audience
            .except
            .iter()
            .any(|x| *x == self.public_id || member(x));
        if left_out {
            return false;
        }
        match log {
            LogId::Room(room) if audience.rooms.len() > 1 => {
                audience.rooms.iter().find(|r| member(r)) == Some(room)
            }
            LogId::Room(room) => member(room),
            _ => true,
        }
    }
}

/// How many logs one store read takes at most: a session in 10,000 rooms reads them in
/// several short steps, so the store (one lock, or one Redis script) and this process's
/// threads serve other clients in between.
const LOGS_PER_READ: usize = 500;

/// [`Store::read`](crate::store::Store::read) of `reads` in steps of [`LOGS_PER_READ`]
/// logs. Complete up to the lowest position of the steps: entries above it are read
/// again by the next replay, or come live (the subscription listened before the first
/// step, so anything appended after it is announced).
async fn read_in_chunks(store: &DynStore, reads: &[LogRead]) -> StoreResult<ReadBatch> {
    let mut chunks = reads.chunks(LOGS_PER_READ);
    let first = chunks.next().unwrap_or(&[]);
    let mut batch = store.read(first).await?;
    for chunk in chunks {
        // The memory store answers without ever waiting: give other tasks their turn.
        tokio::task::yield_now().await;
        let next = store.read(chunk).await?;
        batch.entries.extend(next.entries);
        batch.position = batch.position.min(next.position);
        batch.truncated |= next.truncated;
    }
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::store::{MemoryStore, Outgoing, Store};

    const SID: &str = "0123456789abcdef0123456789abcdef";

    fn room_message(text: &str) -> Outgoing {
        Outgoing {
            log: LogId::Room("lobby".into()),
            kind: EntryKind::Message {
                json: Arc::from(format!(r#"{{"event":"say","data":"{text}"}}"#)),
                audience: Default::default(),
            },
            dedup: None,
        }
    }

    /// A join that lands after the stream subscribed but before its replay: the replay
    /// passes the `Joined` entry (so it never comes live), yet the room's later messages
    /// must still arrive live.
    #[tokio::test]
    async fn a_room_joined_while_the_stream_opens_is_followed_live() {
        let store = MemoryStore::new(Duration::from_secs(60), Duration::from_secs(60));
        let start = store.create_session(SID, "p1", None).await.unwrap();
        let store: DynStore = Arc::new(store);
        let mut sub = store.subscribe(1 << 20);
        let mut reader = Reader::new(store.clone(), SID, "p1", start, 100);
        reader.listen_all(&sub).await.unwrap();

        store.join(SID, "p1", "lobby", 100).await.unwrap();
        store.append(room_message("before")).await.unwrap();
        let replayed = reader.replay_listening(&sub).await.unwrap();
        assert_eq!(replayed.messages.len(), 1, "{replayed:?}");

        store.append(room_message("after")).await.unwrap();
        let mut live = Vec::new();
        while let Some(item) = sub.try_recv() {
            live.extend(reader.on_live(item).messages);
        }
        assert_eq!(live.len(), 1, "the room's next message did not come live");
        assert!(live[0].1.contains("after"));
    }
}

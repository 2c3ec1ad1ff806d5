//! The reader: what one session receives, in cursor order, exactly once, whether replayed
//! from the logs or announced live.
//!
//! A session reads its own log, everyone's log, and each room's log for the time it was a
//! member. Membership intervals come from the rooms snapshot plus the `Joined`/`Left`
//! entries of the session log, so replay from any cursor is exact on any instance.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use socket_serve_protocol::Cursor;

use crate::store::{DynStore, EntryKind, Live, LogId, LogRead, StoreResult, Subscription};

/// What the reader produced from a replay or an announcement.
#[derive(Debug, Default)]
pub(crate) struct Delivery {
    /// Messages to send, in cursor order.
    pub messages: Vec<(Cursor, Arc<str>)>,
    /// The session was removed: send this reason and end.
    pub disconnected: Option<String>,
    /// The reader joined a room live and must listen to it and replay (see `on_live`).
    pub joined: Option<String>,
    /// The position moved on without a message for this session.
    pub position_moved: bool,
    /// The requested position was ahead of the store; the reader moved back to the store's.
    pub rewound: bool,
    /// The replay stopped at its batch size: there is more to replay.
    pub more: bool,
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
    /// How many entries of each room or broadcast log one replay reads at most.
    batch: usize,
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
            batch: batch.max(1),
        }
    }

    fn session_log(&self) -> LogId {
        LogId::Session(self.sid.clone())
    }

    /// Listens to the session's logs and current rooms (call before the first replay).
    pub(crate) async fn listen_all(&self, sub: &Subscription) -> StoreResult<()> {
        self.store.listen(sub, &self.session_log()).await?;
        self.store.listen(sub, &LogId::All).await?;
        for (room, _) in self.store.rooms(&self.sid).await?.rooms {
            self.store.listen(sub, &LogId::Room(room)).await?;
        }
        Ok(())
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
        let batch = self.store.read(&reads).await?;
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
            let batch = self.store.read(&reads).await?;
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
                (LogId::All, EntryKind::Message { json, except }) if self.wants(&except) => {
                    messages.insert(entry.cursor, json);
                }
                (LogId::Room(room), EntryKind::Message { json, except }) => {
                    let member = intervals.iter().any(|i| {
                        i.room == *room
                            && entry.cursor > i.lo
                            && i.hi.is_none_or(|hi| entry.cursor <= hi)
                    });
                    if member && self.wants(&except) {
                        messages.insert(entry.cursor, json);
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
        delivery.position_moved = end > after && messages.keys().next_back() != Some(&end);
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
                if position > self.position {
                    self.position = position;
                    delivery.position_moved = true;
                }
                return delivery;
            }
            Live::Entry(log, entry) => (log, entry),
        };
        if entry.cursor <= self.position {
            return delivery;
        }
        let cursor = entry.cursor;
        match (&log, entry.kind) {
            (LogId::Session(sid), kind) if *sid == self.sid => match kind {
                EntryKind::Message { json, .. } => delivery.messages.push((cursor, json)),
                EntryKind::Joined { room } => {
                    // Entries of the room between this join and our listening to it would be
                    // missed live: the caller listens, then replays from before the join.
                    delivery.joined = Some(room);
                    return delivery;
                }
                EntryKind::Left { room, .. } => {
                    self.rooms.remove(&room);
                }
                EntryKind::Disconnected { reason } => delivery.disconnected = Some(reason),
            },
            (LogId::All, EntryKind::Message { json, except }) if self.wants(&except) => {
                delivery.messages.push((cursor, json));
            }
            (LogId::Room(room), EntryKind::Message { json, except }) => {
                let member = self.rooms.get(room).is_some_and(|since| cursor > *since);
                if member && self.wants(&except) {
                    delivery.messages.push((cursor, json));
                }
            }
            _ => {}
        }
        self.position = cursor;
        if delivery.messages.is_empty() {
            delivery.position_moved = true;
        }
        delivery
    }

    /// Whether a message that skips `except` is for this session (the sender of a
    /// broadcast or room message does not get it back).
    fn wants(&self, except: &Option<String>) -> bool {
        except.as_deref() != Some(self.public_id.as_str())
    }

    /// Whether the reader follows `room` live.
    pub(crate) fn in_room(&self, room: &str) -> bool {
        self.rooms.contains_key(room)
    }
}

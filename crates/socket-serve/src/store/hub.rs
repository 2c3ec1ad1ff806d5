//! The hub: this process's local fan-out of announced log entries to the subscriptions
//! listening to each log. A store feeds it (the memory store directly, the Redis store from
//! its one shared pub/sub connection), streams read from it.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use socket_serve_protocol::Cursor;
use tokio::sync::mpsc;

use super::{Entry, LogId};

/// How many announcements a subscription may have waiting before it is cut off, whatever
/// their size (ticks weigh almost nothing, so bytes alone would not bound them). A stream
/// that falls this far behind ends with `retry:` and resumes from the log, so nothing is
/// lost and a slow client cannot make the process buffer without bound.
const SUBSCRIPTION_CAPACITY: usize = 1024;

/// What an announcement weighs besides its payload (the enum, the queue slot).
const ANNOUNCEMENT_OVERHEAD: usize = 64;

/// The bytes a reader has waiting: announced to its subscription and not yet received,
/// plus whatever the reader counts on top (an SSE stream adds the frames the connection
/// has not written yet). One per subscription, shared by the hub and the reader.
///
/// Adding is refused when it would pass the budget while something is already waiting, so
/// a reader holds at most `max(budget, one item)`. The hub then cuts the subscription off
/// (it resumes from the logs); a reader waits for room ([`Backlog::reserve`]) instead,
/// which stops it taking more announcements, so the hub's queue fills and is cut.
///
/// ```
/// use socket_serve::store::Backlog;
/// let backlog = Backlog::new(100);
/// assert!(backlog.try_add(80));
/// assert!(!backlog.try_add(30), "over the budget with something waiting");
/// backlog.remove(80);
/// assert!(backlog.try_add(500), "one item alone always fits");
/// assert_eq!(backlog.queued(), 500);
/// ```
#[derive(Debug)]
pub struct Backlog {
    queued: AtomicUsize,
    budget: usize,
    /// Woken when bytes leave (one waiter: the subscription's reader).
    drained: tokio::sync::Notify,
}

impl Backlog {
    /// An empty backlog that may hold `budget` bytes.
    pub fn new(budget: usize) -> Backlog {
        Backlog {
            queued: AtomicUsize::new(0),
            budget,
            drained: tokio::sync::Notify::new(),
        }
    }

    /// Counts `bytes` in unless that passes the budget with something already waiting.
    pub fn try_add(&self, bytes: usize) -> bool {
        self.queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |queued| {
                let fits = queued == 0 || queued.saturating_add(bytes) <= self.budget;
                fits.then_some(queued.saturating_add(bytes))
            })
            .is_ok()
    }

    /// Waits until `bytes` fit ([`Backlog::try_add`]), and counts them in.
    pub async fn reserve(&self, bytes: usize) {
        // `notify_one` keeps a permit when nobody waits, so a removal between the check
        // and the wait is not missed.
        while !self.try_add(bytes) {
            self.drained.notified().await;
        }
    }

    /// Counts `bytes` in whatever the budget (a few small control frames).
    pub fn add(&self, bytes: usize) {
        self.queued.fetch_add(bytes, Ordering::AcqRel);
    }

    /// Counts `bytes` out (received, or taken by the HTTP body).
    pub fn remove(&self, bytes: usize) {
        let _ = self
            .queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |queued| {
                Some(queued.saturating_sub(bytes))
            });
        self.drained.notify_one();
    }

    /// The bytes waiting now.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }
}

/// What an announcement counts for in a [`Backlog`].
fn weight(live: &Live) -> usize {
    ANNOUNCEMENT_OVERHEAD
        + match live {
            Live::Entry(_, entry) => match &entry.kind {
                super::EntryKind::Message { json, .. } => json.len(),
                super::EntryKind::Joined { room } | super::EntryKind::Left { room, .. } => {
                    room.len()
                }
                super::EntryKind::Disconnected { reason } => reason.len(),
            },
            Live::Tick(_) => 0,
            Live::Volatile(_, json, _) => json.len(),
        }
}

/// One announcement on a subscription.
#[derive(Debug, Clone, PartialEq)]
pub enum Live {
    /// An entry appended to a log the subscription listens to.
    Entry(LogId, Entry),
    /// Every entry at or below this position has already been announced.
    Tick(Cursor),
    /// A volatile message of a log the subscription listens to: not logged, no cursor.
    Volatile(LogId, Arc<str>, super::Audience),
}

#[derive(Default)]
struct HubState {
    next_id: u64,
    listeners: HashMap<LogId, HashMap<u64, Listener>>,
    subscriptions: HashMap<u64, (Listener, HashSet<LogId>)>,
}

/// The sending side of one subscription.
#[derive(Clone)]
struct Listener {
    tx: mpsc::Sender<Live>,
    backlog: Arc<Backlog>,
}

impl Listener {
    /// Queues an announcement; `false` if the queue or the byte budget is full.
    fn offer(&self, live: Live) -> bool {
        let weight = weight(&live);
        if !self.backlog.try_add(weight) {
            return false;
        }
        if self.tx.try_send(live).is_err() {
            self.backlog.remove(weight);
            return false;
        }
        true
    }
}

/// Local fan-out shared by a store and the subscriptions it hands out.
#[derive(Clone, Default)]
pub struct Hub {
    state: Arc<Mutex<HubState>>,
}

/// A live feed of announcements for the logs it listens to, in cursor order.
///
/// `recv` returning `None` means the feed was lost (the subscriber fell too far behind, in
/// announcements or in bytes, or the store's connection dropped): the reader must resume
/// from the logs.
pub struct Subscription {
    id: u64,
    hub: Hub,
    rx: mpsc::Receiver<Live>,
    backlog: Arc<Backlog>,
}

impl Subscription {
    /// The next announcement; `None` once the feed is lost.
    pub async fn recv(&mut self) -> Option<Live> {
        let live = self.rx.recv().await?;
        self.backlog.remove(weight(&live));
        Some(live)
    }

    /// The next announcement if one is waiting.
    pub fn try_recv(&mut self) -> Option<Live> {
        let live = self.rx.try_recv().ok()?;
        self.backlog.remove(weight(&live));
        Some(live)
    }

    /// Its byte count, shared with the hub: a reader that buffers what it received (an
    /// SSE body) counts that in too, so the budget bounds both together.
    pub fn backlog(&self) -> &Arc<Backlog> {
        &self.backlog
    }

    /// Stops listening to `log`.
    pub fn unlisten(&self, log: &LogId) {
        self.hub.remove(self.id, log);
    }

    /// Its id in its [`Hub`], for [`Hub::add`] (a [`Store`](super::Store)'s `listen`).
    pub fn id(&self) -> u64 {
        self.id
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.drop_subscription(self.id);
    }
}

impl Hub {
    fn lock(&self) -> MutexGuard<'_, HubState> {
        // A panic while holding this lock cannot leave the maps half-updated in a way that
        // matters more than losing the process, so recover the guard.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new subscription, listening to nothing yet, cut off once more than `budget` bytes
    /// of announcements (and what its reader adds to its [`Backlog`]) wait.
    pub fn subscribe(&self, budget: usize) -> Subscription {
        let (tx, rx) = mpsc::channel(SUBSCRIPTION_CAPACITY);
        let backlog = Arc::new(Backlog::new(budget));
        let listener = Listener {
            tx,
            backlog: backlog.clone(),
        };
        let mut state = self.lock();
        state.next_id += 1;
        let id = state.next_id;
        state.subscriptions.insert(id, (listener, HashSet::new()));
        Subscription {
            id,
            hub: self.clone(),
            rx,
            backlog,
        }
    }

    /// Makes a subscription a listener of `log`'s announcements.
    pub fn add(&self, subscription: u64, log: &LogId) {
        let mut state = self.lock();
        let Some((listener, logs)) = state.subscriptions.get_mut(&subscription) else {
            return;
        };
        logs.insert(log.clone());
        let listener = listener.clone();
        state
            .listeners
            .entry(log.clone())
            .or_default()
            .insert(subscription, listener);
    }

    /// Whether any subscription of this process listens to `log`.
    pub fn is_listened(&self, log: &LogId) -> bool {
        self.lock()
            .listeners
            .get(log)
            .is_some_and(|l| !l.is_empty())
    }

    fn remove(&self, subscription: u64, log: &LogId) {
        let mut state = self.lock();
        if let Some((_, logs)) = state.subscriptions.get_mut(&subscription) {
            logs.remove(log);
        }
        remove_listener(&mut state, subscription, log);
    }

    fn drop_subscription(&self, subscription: u64) {
        let mut state = self.lock();
        if let Some((_, logs)) = state.subscriptions.remove(&subscription) {
            for log in logs {
                remove_listener(&mut state, subscription, &log);
            }
        }
    }

    /// Announces an entry to the listeners of its log (sharing its payload: an
    /// [`Entry`]'s JSON is an `Arc`). A listener whose queue or byte budget is full is cut
    /// off (its `recv` ends after what it has queued).
    pub fn dispatch(&self, log: &LogId, entry: &Entry) {
        let mut state = self.lock();
        let Some(listeners) = state.listeners.get(log) else {
            return;
        };
        let mut overflowed = Vec::new();
        for (id, listener) in listeners {
            if !listener.offer(Live::Entry(log.clone(), entry.clone())) {
                overflowed.push(*id);
            }
        }
        for id in overflowed {
            cut_off(&mut state, id);
        }
    }

    /// Announces a volatile message to the listeners of `log`. A listener whose queue is
    /// full just misses it (volatile messages may be dropped; nothing needs a resume).
    pub fn volatile(&self, log: &LogId, json: &Arc<str>, audience: &super::Audience) {
        let state = self.lock();
        let Some(listeners) = state.listeners.get(log) else {
            return;
        };
        for listener in listeners.values() {
            let live = Live::Volatile(log.clone(), json.clone(), audience.clone());
            let _ = listener.offer(live);
        }
    }

    /// Announces a position to every subscription.
    pub fn tick(&self, position: Cursor) {
        let mut state = self.lock();
        let mut overflowed = Vec::new();
        for (id, (listener, _)) in &state.subscriptions {
            if !listener.offer(Live::Tick(position)) {
                overflowed.push(*id);
            }
        }
        for id in overflowed {
            cut_off(&mut state, id);
        }
    }

    /// Cuts off every subscription: announcements may have been missed (a dropped pub/sub
    /// connection), so every reader must resume from the logs.
    pub fn fail_all(&self) {
        let mut state = self.lock();
        let ids: Vec<u64> = state.subscriptions.keys().copied().collect();
        for id in ids {
            cut_off(&mut state, id);
        }
    }
}

fn remove_listener(state: &mut HubState, subscription: u64, log: &LogId) {
    if let Some(listeners) = state.listeners.get_mut(log) {
        listeners.remove(&subscription);
        if listeners.is_empty() {
            state.listeners.remove(log);
        }
    }
}

/// Drops every sender of a subscription, so its receiver ends after what is queued.
fn cut_off(state: &mut HubState, subscription: u64) {
    if let Some((_, logs)) = state.subscriptions.remove(&subscription) {
        for log in logs {
            remove_listener(state, subscription, &log);
        }
    }
}

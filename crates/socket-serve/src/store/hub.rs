//! The hub: this process's local fan-out of announced log entries to the subscriptions
//! listening to each log. A store feeds it (the memory store directly, the Redis store from
//! its one shared pub/sub connection), streams read from it.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use socket_serve_protocol::Cursor;
use tokio::sync::mpsc;

use super::{Entry, LogId};

/// How many announcements a subscription may have waiting before it is cut off. A stream
/// that falls this far behind ends with `retry:` and resumes from the log, so nothing is
/// lost and a slow client cannot make the process buffer without bound.
const SUBSCRIPTION_CAPACITY: usize = 1024;

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
    listeners: HashMap<LogId, HashMap<u64, mpsc::Sender<Live>>>,
    subscriptions: HashMap<u64, (mpsc::Sender<Live>, HashSet<LogId>)>,
}

/// Local fan-out shared by a store and the subscriptions it hands out.
#[derive(Clone, Default)]
pub struct Hub {
    state: Arc<Mutex<HubState>>,
}

/// A live feed of announcements for the logs it listens to, in cursor order.
///
/// `recv` returning `None` means the feed was lost (the subscriber fell too far behind, or
/// the store's connection dropped): the reader must resume from the logs.
pub struct Subscription {
    id: u64,
    hub: Hub,
    rx: mpsc::Receiver<Live>,
}

impl Subscription {
    /// The next announcement; `None` once the feed is lost.
    pub async fn recv(&mut self) -> Option<Live> {
        self.rx.recv().await
    }

    /// The next announcement if one is waiting.
    pub fn try_recv(&mut self) -> Option<Live> {
        self.rx.try_recv().ok()
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

    /// A new subscription, listening to nothing yet.
    pub fn subscribe(&self) -> Subscription {
        let (tx, rx) = mpsc::channel(SUBSCRIPTION_CAPACITY);
        let mut state = self.lock();
        state.next_id += 1;
        let id = state.next_id;
        state.subscriptions.insert(id, (tx, HashSet::new()));
        Subscription {
            id,
            hub: self.clone(),
            rx,
        }
    }

    /// Makes a subscription a listener of `log`'s announcements.
    pub fn add(&self, subscription: u64, log: &LogId) {
        let mut state = self.lock();
        let Some((tx, logs)) = state.subscriptions.get_mut(&subscription) else {
            return;
        };
        logs.insert(log.clone());
        let tx = tx.clone();
        state
            .listeners
            .entry(log.clone())
            .or_default()
            .insert(subscription, tx);
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

    /// Announces an entry to the listeners of its log. A listener whose queue is full is
    /// cut off (its `recv` ends after what it has queued).
    pub fn dispatch(&self, log: &LogId, entry: &Entry) {
        let mut state = self.lock();
        let Some(listeners) = state.listeners.get(log) else {
            return;
        };
        let mut overflowed = Vec::new();
        for (id, tx) in listeners {
            if tx
                .try_send(Live::Entry(log.clone(), entry.clone()))
                .is_err()
            {
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
        for tx in listeners.values() {
            let live = Live::Volatile(log.clone(), json.clone(), audience.clone());
            let _ = tx.try_send(live);
        }
    }

    /// Announces a position to every subscription.
    pub fn tick(&self, position: Cursor) {
        let mut state = self.lock();
        let mut overflowed = Vec::new();
        for (id, (tx, _)) in &state.subscriptions {
            if tx.try_send(Live::Tick(position)).is_err() {
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

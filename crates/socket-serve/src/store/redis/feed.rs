//! The live feed: ONE pub/sub connection per process, shared by every stream it serves.
//! Channels are subscribed while some subscription listens to them; announcements go to
//! the [`Hub`]. If the connection drops, announcements may have been missed, so every
//! subscription is cut off ([`Hub::fail_all`]) and readers resume from the logs.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::PubSubSink;
use socket_serve_protocol::Cursor;

use super::codec::{decode_announcement, Announcement};
use super::unavailable;
use crate::store::{Hub, LogId, StoreError, StoreResult};

type Channels = Arc<Mutex<HashMap<String, LogId>>>;

/// Channels per SUBSCRIBE: one command for many rooms, in pieces small enough that other
/// commands on the shared connection are not held up behind one huge one.
const SUBSCRIBE_CHUNK: usize = 500;

pub(crate) struct Feed {
    client: redis::Client,
    hub: Hub,
    tick_channel: String,
    timeout: Duration,
    state: tokio::sync::Mutex<FeedState>,
}

#[derive(Default)]
struct FeedState {
    sink: Option<PubSubSink>,
    /// Channels subscribed (or being subscribed) on the current connection, shared with
    /// its reader task.
    channels: Channels,
    /// Channels whose SUBSCRIBE Redis confirmed on the current connection.
    confirmed: HashSet<String>,
    /// Counts connections (a new one subscribes nothing of the old one's).
    generation: u64,
    /// Counts UNSUBSCRIBEs: one may have crossed a SUBSCRIBE in flight.
    unsubscribes: u64,
}

impl Feed {
    pub(crate) fn new(
        client: redis::Client,
        hub: Hub,
        tick_channel: String,
        timeout: Duration,
    ) -> Feed {
        Feed {
            client,
            hub,
            tick_channel,
            timeout,
            state: tokio::sync::Mutex::new(FeedState::default()),
        }
    }

    /// In steps of [`SUBSCRIBE_CHUNK`] channels: adds the listener to each log, then
    /// subscribes the channels not confirmed yet in one SUBSCRIBE, without holding the
    /// feed's lock: one session in 10,000 rooms does not make other streams wait for its
    /// subscriptions.
    ///
    /// The listener is added under the lock first, so a clean-up ([`Feed::unsubscribe_idle`],
    /// which holds the lock throughout) either ran before or sees the logs listened. A
    /// channel another listen is still subscribing counts as not confirmed, so this one
    /// subscribes it too (Redis ignores the repeat) and never returns before announcements
    /// of its channels are sure to arrive.
    pub(crate) async fn listen(
        self: &Arc<Self>,
        subscription: u64,
        channels: Vec<(String, LogId)>,
    ) -> StoreResult<()> {
        for chunk in channels.chunks(SUBSCRIBE_CHUNK) {
            self.listen_chunk(subscription, chunk).await?;
        }
        Ok(())
    }

    async fn listen_chunk(
        self: &Arc<Self>,
        subscription: u64,
        channels: &[(String, LogId)],
    ) -> StoreResult<()> {
        let (mut sink, pending, generation) = {
            let mut state = self.state.lock().await;
            let sink = self.connected(&mut state).await?.clone();
            let mut known = lock(&state.channels);
            let mut pending = Vec::new();
            for (channel, log) in channels {
                self.hub.add(subscription, log);
                if !state.confirmed.contains(channel) {
                    // Known to the reader before the SUBSCRIBE, so no announcement of it
                    // is dropped as unknown once it is confirmed.
                    known.insert(channel.clone(), log.clone());
                    pending.push(channel.clone());
                }
            }
            drop(known);
            (sink, pending, (state.generation, state.unsubscribes))
        };
        if pending.is_empty() {
            return Ok(());
        }
        tokio::time::timeout(self.timeout, sink.subscribe(&pending))
            .await
            .map_err(|_| StoreError::Unavailable("SUBSCRIBE timed out".into()))?
            .map_err(unavailable)?;
        let mut state = self.state.lock().await;
        // On a newer connection these were not subscribed: the reset cut every
        // subscription off already, so its readers start over. After an UNSUBSCRIBE that
        // may have crossed ours, they stay unconfirmed: the next listen of them subscribes
        // again.
        if (state.generation, state.unsubscribes) == generation {
            state.confirmed.extend(pending);
        }
        Ok(())
    }

    /// Makes sure the connection (and so the tick channel) is up.
    pub(crate) async fn ensure_connected(self: &Arc<Self>) -> StoreResult<()> {
        let mut state = self.state.lock().await;
        self.connected(&mut state).await.map(|_| ())
    }

    /// Unsubscribes channels nobody listens to any more.
    pub(crate) async fn unsubscribe_idle(&self) {
        let mut state = self.state.lock().await;
        let Some(mut sink) = state.sink.clone() else {
            return;
        };
        let idle: Vec<String> = lock(&state.channels)
            .iter()
            .filter(|(_, log)| !self.hub.is_listened(log))
            .map(|(channel, _)| channel.clone())
            .collect();
        for chunk in idle.chunks(SUBSCRIBE_CHUNK) {
            let done = tokio::time::timeout(self.timeout, sink.unsubscribe(chunk)).await;
            if matches!(done, Ok(Ok(()))) {
                let FeedState {
                    channels,
                    confirmed,
                    unsubscribes,
                    ..
                } = &mut *state;
                let mut channels = lock(channels);
                for channel in chunk {
                    channels.remove(channel);
                    confirmed.remove(channel);
                }
                *unsubscribes += 1;
            }
        }
    }

    async fn connected<'a>(
        self: &Arc<Self>,
        state: &'a mut FeedState,
    ) -> StoreResult<&'a mut PubSubSink> {
        if state.sink.is_none() {
            let pubsub = tokio::time::timeout(self.timeout, self.client.get_async_pubsub())
                .await
                .map_err(|_| StoreError::Unavailable("pub/sub connect timed out".into()))?
                .map_err(unavailable)?;
            let (mut sink, stream) = pubsub.split();
            tokio::time::timeout(self.timeout, sink.subscribe(&self.tick_channel))
                .await
                .map_err(|_| StoreError::Unavailable("SUBSCRIBE timed out".into()))?
                .map_err(unavailable)?;
            state.generation += 1;
            state.channels = Channels::default();
            state.confirmed.clear();
            let generation = state.generation;
            let channels = state.channels.clone();
            let feed = self.clone();
            tokio::spawn(async move {
                feed.read(stream, channels).await;
                feed.connection_lost(generation).await;
            });
            state.sink = Some(sink);
        }
        // Just set when it was missing.
        state
            .sink
            .as_mut()
            .ok_or_else(|| StoreError::Unavailable("no pub/sub connection".into()))
    }

    async fn read(&self, mut stream: redis::aio::PubSubStream, channels: Channels) {
        while let Some(msg) = stream.next().await {
            let channel = msg.get_channel_name().to_owned();
            let Ok(payload) = msg.get_payload::<String>() else {
                tracing::warn!(%channel, "unreadable pub/sub payload");
                continue;
            };
            if channel == self.tick_channel {
                match payload.parse::<Cursor>() {
                    Ok(position) => self.hub.tick(position),
                    Err(_) => tracing::warn!(%payload, "bad tick"),
                }
                continue;
            }
            let Some(log) = lock(&channels).get(&channel).cloned() else {
                continue;
            };
            match decode_announcement(&payload) {
                Ok(Announcement::Entry(entry)) => self.hub.dispatch(&log, &entry),
                Ok(Announcement::Volatile(json, audience)) => {
                    self.hub.volatile(&log, &json, &audience)
                }
                Err(err) => tracing::warn!(%channel, error = %err, "bad announcement"),
            }
        }
    }

    async fn connection_lost(&self, generation: u64) {
        let mut state = self.state.lock().await;
        if state.generation == generation {
            self.reset(&mut state);
        }
    }

    fn reset(&self, state: &mut FeedState) {
        tracing::warn!("pub/sub connection lost; streams will resume from the logs");
        state.sink = None;
        lock(&state.channels).clear();
        state.confirmed.clear();
        self.hub.fail_all();
    }

    /// Pings the connection; a connection that does not answer is dropped (a half-open TCP
    /// connection would otherwise hang every stream silently).
    pub(crate) async fn check_health(&self) {
        let mut state = self.state.lock().await;
        let Some(sink) = state.sink.as_mut() else {
            return;
        };
        let pong = tokio::time::timeout(self.timeout, sink.ping::<redis::Value>()).await;
        if !matches!(pong, Ok(Ok(_))) {
            state.generation += 1;
            self.reset(&mut state);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

//! The live feed: ONE pub/sub connection per process, shared by every stream it serves.
//! Channels are subscribed while some subscription listens to them; announcements go to
//! the [`Hub`]. If the connection drops, announcements may have been missed, so every
//! subscription is cut off ([`Hub::fail_all`]) and readers resume from the logs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::PubSubSink;
use socket_serve_protocol::Cursor;

use super::codec::{decode_announcement, Announcement};
use super::unavailable;
use crate::store::{Hub, LogId, StoreError, StoreResult};

type Channels = Arc<Mutex<HashMap<String, LogId>>>;

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
    /// Channels subscribed on the current connection, shared with its reader task.
    channels: Channels,
    generation: u64,
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

    /// Subscribes `channel` (for `log`) unless it is already, then adds the listener. The
    /// lock is held throughout, so a second listener never returns before the first one's
    /// SUBSCRIBE is confirmed, and a clean-up never unsubscribes in between.
    pub(crate) async fn listen(
        self: &Arc<Self>,
        subscription: u64,
        channel: String,
        log: &LogId,
    ) -> StoreResult<()> {
        let mut state = self.state.lock().await;
        let mut sink = self.connected(&mut state).await?.clone();
        let known = lock(&state.channels).contains_key(&channel);
        if !known {
            tokio::time::timeout(self.timeout, sink.subscribe(&channel))
                .await
                .map_err(|_| StoreError::Unavailable("SUBSCRIBE timed out".into()))?
                .map_err(unavailable)?;
            lock(&state.channels).insert(channel, log.clone());
        }
        self.hub.add(subscription, log);
        Ok(())
    }

    /// Makes sure the connection (and so the tick channel) is up.
    pub(crate) async fn ensure_connected(self: &Arc<Self>) -> StoreResult<()> {
        let mut state = self.state.lock().await;
        self.connected(&mut state).await.map(|_| ())
    }

    /// Unsubscribes channels nobody listens to any more.
    pub(crate) async fn unsubscribe_idle(&self) {
        let state = self.state.lock().await;
        let Some(mut sink) = state.sink.clone() else {
            return;
        };
        let idle: Vec<String> = lock(&state.channels)
            .iter()
            .filter(|(_, log)| !self.hub.is_listened(log))
            .map(|(channel, _)| channel.clone())
            .collect();
        for channel in idle {
            let done = tokio::time::timeout(self.timeout, sink.unsubscribe(&channel)).await;
            if matches!(done, Ok(Ok(()))) {
                lock(&state.channels).remove(&channel);
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

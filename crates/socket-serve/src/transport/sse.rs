//! The SSE stream: a `connected` frame, the replay from the cursor, then live frames,
//! heartbeats, and a clean end with `retry:` (rotation, shutdown, lost feed).

use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::Body;
use bytes::Bytes;
use futures_util::StreamExt;
use http::{header, HeaderValue, Response, StatusCode};
use socket_serve_protocol::{sse, ConnectedData, Cursor, Envelope, CONNECTED_EVENT};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;

use super::reader::{Delivery, Reader};
use super::{disconnect_envelope, start_position, ticker};
use crate::engine::emit::now_ms;
use crate::engine::new_public_id;
use crate::engine::{lifecycle, Engine};
use crate::error::Error;
use crate::store::{Audience, Backlog, Live, LogId, StreamSlots, Subscription};

/// Frames buffered between the stream task and the HTTP body, at most. In bytes, a frame
/// counts in the subscription's [`Backlog`] from its making until the connection has
/// written it (hyper drops it), with what waits in the hub, so the budget
/// (`Config::stream_buffer_bytes`) bounds both. The task waits while the frames fill the
/// budget; a client that reads slower than that lets the hub's queue fill, and is cut
/// off: its stream ends with `retry:`, so memory stays bounded and nothing is lost.
const BODY_BUFFER: usize = 64;

/// Opens a stream for a session. Everything that can fail with a status happens before
/// the answer: after it, failures end the stream with `retry:`.
pub(crate) async fn open_stream(
    engine: &Arc<Engine>,
    sid: &str,
    cursor: Option<Cursor>,
    until: Option<super::Until>,
) -> Result<Response<Body>, Error> {
    // During a shutdown a stream is still opened (connected, replay), then ends at once
    // with `retry:`: its client moves on to another instance without seeing an error.
    let meta = match lifecycle::touch(engine, sid).await {
        Ok(meta) => meta,
        Err(err) => {
            let reason = super::ended(engine, sid, err).await?;
            let frame = sse::data_frame(None, &disconnect_envelope(&reason));
            return Ok(sse_response(Body::from(frame)));
        }
    };
    lifecycle::maybe_sweep(engine).await;
    let (start, mut recovered) = start_position(engine, &meta, cursor, now_ms());
    let subscription = engine.store.subscribe(engine.config.stream_buffer_bytes);
    let batch = engine.config.replay_batch;
    let stream_id = new_public_id();
    let mut reader = Reader::new(engine.store.clone(), sid, &meta.public_id, start, batch)
        .for_stream(&stream_id);
    reader.listen_all(&subscription).await?;
    let first = reader.replay_listening(&subscription).await?;
    recovered &= !first.rewound;
    let start = if first.rewound {
        reader.position
    } else {
        start
    };

    // Last of what can fail: a slot taken is freed by the stream task from here on.
    take_slot(engine, sid, &stream_id).await?;

    let (tx, rx) = mpsc::channel::<Bytes>(BODY_BUFFER);
    engine.open_streams.fetch_add(1, Ordering::AcqRel);
    ticker::ensure_running(engine);
    let stream = Stream {
        deadline: super::end_at(engine.config.max_stream_duration, until),
        engine: engine.clone(),
        sid: sid.to_owned(),
        stream_id,
        reader,
        subscription,
        tx,
        last_sent: start,
    };
    let connected = Envelope {
        timestamp: None,
        ..Envelope::new(
            CONNECTED_EVENT,
            serde_json::to_value(ConnectedData {
                id: meta.public_id.clone(),
                recovered,
            })?,
            0,
        )
    };
    tokio::spawn(stream.run(connected.to_json(), first));

    let body = Body::from_stream(ReceiverStream::new(rx).map(Ok::<_, Infallible>));
    Ok(sse_response(body))
}

/// The slots of `Config::max_streams_per_session`. A slot whose stream missed three
/// heartbeats belongs to a stream that died without saying so.
fn slots(engine: &Engine) -> StreamSlots {
    StreamSlots {
        max: engine.config.max_streams_per_session,
        stale: 3 * engine.config.heartbeat_interval,
    }
}

/// Takes a stream slot for `stream_id` and tells the streams it took slots from, on any
/// instance, to end (a notice on the session's log: see [`super::replaced_notice`]).
async fn take_slot(engine: &Engine, sid: &str, stream_id: &str) -> Result<(), Error> {
    let evicted = engine
        .store
        .open_stream(sid, stream_id, slots(engine))
        .await?;
    let log = LogId::Session(sid.to_owned());
    for old in evicted {
        let notice = Arc::from(super::replaced_notice(&old));
        engine
            .store
            .announce_volatile(&log, notice, Audience::default())
            .await?;
    }
    Ok(())
}

fn sse_response(body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-transform"),
    );
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// Why a stream ends when `max_stream_duration` is up.
const ROTATION: &str = "max_stream_duration";

struct Stream {
    /// When the stream ends with `retry:` (rotation before any platform limit).
    deadline: Option<Instant>,
    engine: Arc<Engine>,
    sid: String,
    /// Its slot's id (`Config::max_streams_per_session`).
    stream_id: String,
    reader: Reader,
    subscription: Subscription,
    tx: mpsc::Sender<Bytes>,
    last_sent: Cursor,
}

/// Why a stream ended (for the log).
#[derive(Debug)]
enum End {
    ClientGone,
    Retry(&'static str),
    Disconnected,
    /// A newer stream of the session took its slot (it holds none any more).
    Replaced,
}

impl Stream {
    async fn run(mut self, connected: String, first: Delivery) {
        let end = self.serve(connected, first).await;
        if let End::Retry(reason) = end {
            tracing::debug!(reason, "stream ended with retry");
            // A planned rotation resumes at once; anything else gives the client a pause.
            let retry = if reason == ROTATION {
                0
            } else {
                self.engine.config.retry_hint.as_millis() as u64
            };
            self.send_control(sse::retry(retry)).await;
        }
        if !matches!(end, End::Replaced) {
            // Freed at once, so a client that reconnects finds its slot free.
            let closed = self.engine.store.close_stream(&self.sid, &self.stream_id);
            if let Err(err) = closed.await {
                tracing::debug!(error = %err, "freeing a stream slot failed; it goes stale");
            }
        }
        self.engine.open_streams.fetch_sub(1, Ordering::AcqRel);
    }

    async fn serve(&mut self, connected: String, first: Delivery) -> End {
        let start = self.last_sent;
        if !self
            .send_control(sse::data_frame(Some(start), &connected))
            .await
        {
            return End::ClientGone;
        }
        if let Some(end) = self.catch_up(first).await {
            return end;
        }
        let mut shutdown = self.engine.shutdown_watch();
        let deadline = self.deadline;
        loop {
            let live = tokio::select! {
                _ = self.tx.closed() => return End::ClientGone,
                _ = shutdown.wait_for(|down| *down) => return End::Retry("shutdown"),
                _ = sleep_until(deadline) => return End::Retry(ROTATION),
                live = self.subscription.recv() => live,
            };
            let Some(live) = live else {
                // Cut off: its client fell behind by more than the byte budget, or the
                // store's feed dropped.
                return End::Retry("feed lost");
            };
            if let Live::Tick(_) = live {
                self.reader.on_live(live);
                if let Some(end) = self.heartbeat().await {
                    return end;
                }
                continue;
            }
            let mut delivery = self.reader.on_live(live);
            self.reader.unlisten_left_rooms(&self.subscription);
            if delivery.resync {
                match self.reader.replay_listening(&self.subscription).await {
                    Ok(d) => delivery = d,
                    Err(err) => {
                        tracing::warn!(error = %err, "catching up after a join failed");
                        return End::Retry("store error");
                    }
                }
            }
            if let Some(end) = self.catch_up(delivery).await {
                return end;
            }
        }
    }

    /// Keepalive, the position if it moved, and a refresh of the session's TTL.
    async fn heartbeat(&mut self) -> Option<End> {
        let mut frame = String::from(sse::heartbeat());
        if self.reader.position > self.last_sent {
            frame.push_str(&sse::position_frame(self.reader.position));
            self.last_sent = self.reader.position;
        }
        if !self.send_control(frame).await {
            return Some(End::ClientGone);
        }
        match self.engine.store.touch_session(&self.sid).await {
            Ok(Some(_)) => self.refresh_slot().await,
            // Removed without our seeing its Disconnected entry (expired and purged).
            Ok(None) => {
                self.send_control(sse::data_frame(None, &disconnect_envelope("expired")))
                    .await;
                Some(End::Disconnected)
            }
            Err(err) => {
                tracing::debug!(error = %err, "heartbeat could not refresh the session");
                None
            }
        }
    }

    /// Refreshes the stream's slot. A stream that lost it without hearing why (its notice
    /// missed, or the slot went stale while the store was unreachable) ends with `retry:`:
    /// its client comes back and takes a slot again.
    async fn refresh_slot(&mut self) -> Option<End> {
        let refreshed = self
            .engine
            .store
            .refresh_stream(&self.sid, &self.stream_id, slots(&self.engine))
            .await;
        match refreshed {
            Ok(true) => None,
            Ok(false) => Some(End::Retry("stream slot lost")),
            Err(err) => {
                tracing::debug!(error = %err, "heartbeat could not refresh the stream slot");
                None
            }
        }
    }

    /// Delivers a replay batch, and replays on while the logs have more.
    async fn catch_up(&mut self, mut delivery: Delivery) -> Option<End> {
        loop {
            let more = delivery.more;
            if let Some(end) = self.deliver(delivery).await {
                return Some(end);
            }
            if !more {
                return None;
            }
            delivery = match self.reader.replay_listening(&self.subscription).await {
                Ok(d) => d,
                Err(err) => {
                    tracing::warn!(error = %err, "replay failed");
                    return Some(End::Retry("store error"));
                }
            };
        }
    }

    async fn deliver(&mut self, delivery: Delivery) -> Option<End> {
        if delivery.replaced {
            let envelope = super::replaced_envelope();
            self.send_control(sse::data_frame(None, &envelope)).await;
            return Some(End::Replaced);
        }
        // Volatile messages carry no `id:`: they move no cursor and are never replayed.
        for json in delivery.volatile {
            if let Err(end) = self.send(sse::data_frame(None, &json)).await {
                return Some(end);
            }
        }
        for (cursor, json) in delivery.messages {
            if let Err(end) = self.send(sse::data_frame(Some(cursor), &json)).await {
                return Some(end);
            }
            self.last_sent = cursor;
        }
        if let Some(reason) = delivery.disconnected {
            self.send_control(sse::data_frame(None, &disconnect_envelope(&reason)))
                .await;
            return Some(End::Disconnected);
        }
        None
    }

    /// Sends a message frame once it fits the byte budget with what waits already.
    async fn send(&self, frame: String) -> Result<(), End> {
        let backlog = self.subscription.backlog();
        tokio::select! {
            _ = self.tx.closed() => return Err(End::ClientGone),
            _ = backlog.reserve(frame.len()) => {}
        }
        let frame = Bytes::from_owner(CountedFrame::new(frame, backlog.clone()));
        self.tx.send(frame).await.map_err(|_| End::ClientGone)
    }

    /// Sends a small control frame (connected, heartbeat, end) whatever the budget.
    async fn send_control(&self, frame: String) -> bool {
        let backlog = self.subscription.backlog();
        backlog.add(frame.len());
        let frame = Bytes::from_owner(CountedFrame::new(frame, backlog.clone()));
        self.tx.send(frame).await.is_ok()
    }
}

/// A frame counted in its stream's [`Backlog`] until the connection is done with it (the
/// last `Bytes` of it dropped).
struct CountedFrame {
    frame: String,
    backlog: Arc<Backlog>,
}

impl CountedFrame {
    /// `frame`, already counted in `backlog`.
    fn new(frame: String, backlog: Arc<Backlog>) -> Self {
        CountedFrame { frame, backlog }
    }
}

impl AsRef<[u8]> for CountedFrame {
    fn as_ref(&self) -> &[u8] {
        self.frame.as_bytes()
    }
}

impl Drop for CountedFrame {
    fn drop(&mut self) {
        self.backlog.remove(self.frame.len());
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

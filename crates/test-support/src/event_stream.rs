//! An open Server-Sent Events stream: a [`socket_serve_client::raw::FrameStream`] read by
//! a task, with bounded waits on its frames.

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::Value;
use socket_serve::protocol::Cursor;
use socket_serve_client::raw::FrameStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub use socket_serve_client::raw::Resume;

/// One SSE frame (an event block): its `id:`, `data:` and `retry:` fields, each `None` when
/// absent, and the data parsed as a JSON envelope. Comments (heartbeats) are not frames:
/// the parser skips them (see [`RawClient::read_raw`](crate::RawClient::read_raw) for the
/// bytes on the wire).
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// The `id:` field (a cursor).
    pub id: Option<String>,
    /// The `data:` field as sent.
    pub data: Option<String>,
    /// The `retry:` field, in milliseconds.
    pub retry: Option<u64>,
    /// The data as JSON (`Null` when there is no data or it is not JSON).
    pub envelope: Value,
}

impl Frame {
    /// The `id:` as a cursor; panics if it is present but not one.
    pub fn cursor(&self) -> Option<Cursor> {
        self.id.as_deref().map(|id| {
            id.parse()
                .unwrap_or_else(|e| panic!("frame id {id:?} is not a cursor ({e:?})"))
        })
    }

    /// The envelope's `event`.
    pub fn event(&self) -> Option<&str> {
        self.envelope["event"].as_str()
    }

    /// The envelope's `data`.
    pub fn payload(&self) -> &Value {
        &self.envelope["data"]
    }

    /// Whether it carries data (a message, as opposed to an `id:`-only or `retry:` frame).
    pub fn is_message(&self) -> bool {
        self.data.is_some()
    }
}

enum Item {
    Frame(Frame),
    /// The stream ended: cleanly (`None`) or with an error.
    End(Option<String>),
}

/// A stream opened by [`RawClient`](crate::RawClient). Frames are read by a background
/// task as they arrive; the methods here wait for them, each with a timeout.
///
/// Dropping it closes the connection.
pub struct EventStream {
    /// The answer's status (200).
    pub status: StatusCode,
    /// The answer's headers.
    pub headers: HeaderMap,
    rx: mpsc::UnboundedReceiver<Item>,
    pending: VecDeque<Frame>,
    received: Vec<Frame>,
    ended: Option<Option<String>>,
    task: JoinHandle<()>,
}

impl EventStream {
    pub(crate) fn new(frames: FrameStream) -> EventStream {
        let status = StatusCode::from_u16(frames.status()).expect("a valid status");
        let headers = frames.headers().clone();
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(read(frames, tx));
        EventStream {
            status,
            headers,
            rx,
            pending: VecDeque::new(),
            received: Vec::new(),
            ended: None,
            task,
        }
    }

    /// A header of the answer.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Every frame handed out so far, in order.
    pub fn received(&self) -> &[Frame] {
        &self.received
    }

    /// Every frame that has arrived so far, in order: those handed out, then those that
    /// arrived but were not read yet (taken without waiting; they stay queued for the next
    /// reads).
    pub fn arrived(&mut self) -> Vec<Frame> {
        while let Ok(item) = self.rx.try_recv() {
            self.take(item);
        }
        self.received
            .iter()
            .chain(self.pending.iter())
            .cloned()
            .collect()
    }

    /// The last `id:` handed out so far: what `EventSource` sends as `Last-Event-ID`.
    pub fn last_event_id(&self) -> Option<String> {
        self.received.iter().rev().find_map(|f| f.id.clone())
    }

    /// The next frame, or `None` if the stream ended first. Panics after `timeout`.
    pub async fn next_item(&mut self, timeout: Duration) -> Option<Frame> {
        match self.recv_until(Instant::now() + timeout).await {
            Ok(frame) => frame,
            Err(()) => panic!(
                "no frame within {timeout:?}; frames so far: {:#?}",
                self.received
            ),
        }
    }

    /// The next frame (recorded in `received`), `Ok(None)` at the end, `Err` at `deadline`.
    async fn recv_until(&mut self, deadline: Instant) -> Result<Option<Frame>, ()> {
        let frame = loop {
            if let Some(frame) = self.pending.pop_front() {
                break Some(frame);
            }
            if self.ended.is_some() {
                break None;
            }
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(item)) => self.take(item),
                Ok(None) => self.ended = Some(Some("the reader task stopped".into())),
                Err(_) => return Err(()),
            }
        };
        if let Some(frame) = &frame {
            self.received.push(frame.clone());
        }
        Ok(frame)
    }

    /// The next frame. Panics if the stream ends or nothing comes within `timeout`.
    pub async fn next_frame(&mut self, timeout: Duration) -> Frame {
        match self.next_item(timeout).await {
            Some(frame) => frame,
            None => panic!(
                "the stream ended ({}) while a frame was expected; frames: {:#?}",
                self.end_reason(),
                self.received
            ),
        }
    }

    /// The next frame with data (skipping `id:`-only and `retry:` frames).
    pub async fn next_message(&mut self, timeout: Duration) -> Frame {
        self.wait_for(Frame::is_message, timeout).await
    }

    /// Reads frames until one satisfies `predicate` and returns it (the frames before it
    /// are consumed). Panics if the stream ends or `timeout` passes first.
    pub async fn wait_for(
        &mut self,
        mut predicate: impl FnMut(&Frame) -> bool,
        timeout: Duration,
    ) -> Frame {
        let deadline = Instant::now() + timeout;
        loop {
            match self.recv_until(deadline).await {
                Ok(Some(frame)) if predicate(&frame) => return frame,
                Ok(Some(_)) => {}
                Ok(None) => panic!(
                    "the stream ended ({}) before the awaited frame; frames: {:#?}",
                    self.end_reason(),
                    self.received
                ),
                Err(()) => panic!(
                    "the awaited frame did not come within {timeout:?}; frames: {:#?}",
                    self.received
                ),
            }
        }
    }

    /// Reads frames until one has this `event`.
    pub async fn wait_for_event(&mut self, event: &str, timeout: Duration) -> Frame {
        self.wait_for(|f| f.event() == Some(event), timeout).await
    }

    /// Reads the first frame and asserts it is the protocol's `connected` frame: an `id:`
    /// that is a cursor, `data.id` a public id and `data.recovered` a bool.
    pub async fn expect_connected(&mut self, timeout: Duration) -> Frame {
        let frame = self.next_frame(timeout).await;
        assert_eq!(frame.event(), Some("connected"), "first frame: {frame:?}");
        assert!(
            frame.cursor().is_some(),
            "connected frame without id: {frame:?}"
        );
        assert!(
            frame.payload()["id"]
                .as_str()
                .is_some_and(|id| !id.is_empty()),
            "connected frame without a public id: {frame:?}"
        );
        assert!(
            frame.payload()["recovered"].is_boolean(),
            "connected frame without recovered: {frame:?}"
        );
        frame
    }

    /// Reads until the server ends the stream and returns the frames read on the way.
    /// Panics if it has not ended within `timeout`, or ended with a transport error.
    pub async fn expect_end(&mut self, timeout: Duration) -> Vec<Frame> {
        let deadline = Instant::now() + timeout;
        let mut frames = Vec::new();
        loop {
            match self.recv_until(deadline).await {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => break,
                Err(()) => {
                    panic!("the stream did not end within {timeout:?}; frames read: {frames:#?}")
                }
            }
        }
        if let Some(Some(error)) = &self.ended {
            panic!("the stream ended with an error: {error}; frames read: {frames:#?}");
        }
        frames
    }

    /// Handles an item; returns nothing (frames go to `pending`).
    fn take(&mut self, item: Item) {
        match item {
            Item::Frame(frame) => self.pending.push_back(frame),
            Item::End(error) => self.ended = Some(error),
        }
    }

    fn end_reason(&self) -> String {
        match &self.ended {
            Some(Some(error)) => format!("error: {error}"),
            Some(None) => "cleanly".into(),
            None => "not ended".into(),
        }
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("status", &self.status)
            .field("received", &self.received.len())
            .field("ended", &self.ended)
            .finish()
    }
}

/// The reader task: the frames of `FrameStream`, with the envelope parsed.
async fn read(mut frames: FrameStream, tx: mpsc::UnboundedSender<Item>) {
    while let Some(next) = frames.next().await {
        match next {
            Ok(frame) => {
                let envelope = frame
                    .data
                    .as_deref()
                    .and_then(|d| serde_json::from_str(d).ok())
                    .unwrap_or(Value::Null);
                let frame = Frame {
                    id: frame.id,
                    data: frame.data,
                    retry: frame.retry,
                    envelope,
                };
                if tx.send(Item::Frame(frame)).is_err() {
                    return;
                }
            }
            Err(e) => {
                let _ = tx.send(Item::End(Some(e.to_string())));
                return;
            }
        }
    }
    let _ = tx.send(Item::End(None));
}

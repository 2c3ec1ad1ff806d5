//! An open Server-Sent Events stream, read by a task into frames (parsed by the `sse-stream`
//! crate) and a transcript of every byte, so a test can wait on either.

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::Value;
use socket_serve::protocol::Cursor;
use sse_stream::SseByteStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Where a stream starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resume {
    /// No cursor: the session's starting position.
    Start,
    /// `Last-Event-ID: <cursor>` (what `EventSource` sends when it reconnects).
    Header(String),
    /// `?lastEventId=<cursor>` (for clients that cannot set headers).
    Query(String),
}

/// One SSE frame (an event block): its `id:`, `data:` and `retry:` fields, each `None` when
/// absent, and the data parsed as a JSON envelope. Comments (heartbeats) are not frames;
/// see [`EventStream::wait_for_raw`].
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
    /// Bytes arrived (the transcript grew).
    Bytes,
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
    transcript: Arc<Mutex<Vec<u8>>>,
    received: Vec<Frame>,
    ended: Option<Option<String>>,
    task: JoinHandle<()>,
}

impl EventStream {
    pub(crate) fn new(response: reqwest::Response) -> EventStream {
        let status = response.status();
        let headers = response.headers().clone();
        let transcript = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(read(response, transcript.clone(), tx));
        EventStream {
            status,
            headers,
            rx,
            pending: VecDeque::new(),
            transcript,
            received: Vec::new(),
            ended: None,
            task,
        }
    }

    /// A header of the answer.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Every byte received so far, as text: frames, comments and all.
    pub fn transcript(&self) -> String {
        let bytes = self.transcript.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Every frame handed out so far, in order.
    pub fn received(&self) -> &[Frame] {
        &self.received
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
                "no frame within {timeout:?}; frames so far: {:#?}\ntranscript: {:?}",
                self.received,
                self.transcript()
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

    /// Waits until the transcript (every byte so far) satisfies `predicate`; frames that
    /// arrive meanwhile stay queued for the next reads. For what SSE parsers hide, such as
    /// `: keepalive` comments.
    pub async fn wait_for_raw(&mut self, predicate: impl Fn(&str) -> bool, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if predicate(&self.transcript()) {
                return;
            }
            if self.ended.is_some() {
                panic!(
                    "the stream ended ({}) before the transcript matched: {:?}",
                    self.end_reason(),
                    self.transcript()
                );
            }
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(Item::Frame(frame))) => self.pending.push_back(frame),
                Ok(Some(item)) => {
                    self.take(item);
                }
                Ok(None) => self.ended = Some(Some("the reader task stopped".into())),
                Err(_) => panic!(
                    "the transcript did not match within {timeout:?}: {:?}",
                    self.transcript()
                ),
            }
        }
    }

    /// Handles an item; returns nothing (frames go to `pending`).
    fn take(&mut self, item: Item) {
        match item {
            Item::Bytes => {}
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

/// The reader task: chunks into the transcript, and through `sse-stream` into frames.
async fn read(
    response: reqwest::Response,
    transcript: Arc<Mutex<Vec<u8>>>,
    tx: mpsc::UnboundedSender<Item>,
) {
    let bytes_tx = tx.clone();
    let chunks = futures_util::stream::unfold(Some(response), |response| async move {
        let mut response = response?;
        match response.chunk().await {
            Ok(Some(bytes)) => Some((Ok::<Bytes, io::Error>(bytes), Some(response))),
            Ok(None) => None,
            Err(e) => Some((Err(io::Error::other(e)), None)),
        }
    })
    .inspect(move |chunk| {
        if let Ok(bytes) = chunk {
            transcript
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend_from_slice(bytes);
            let _ = bytes_tx.send(Item::Bytes);
        }
    });
    let mut frames = SseByteStream::new(Box::pin(chunks));
    while let Some(next) = frames.next().await {
        match next {
            Ok(sse) => {
                let envelope = sse
                    .data
                    .as_deref()
                    .and_then(|d| serde_json::from_str(d).ok())
                    .unwrap_or(Value::Null);
                let frame = Frame {
                    id: sse.id,
                    data: sse.data,
                    retry: sse.retry,
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

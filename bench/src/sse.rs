//! The load generator's clients for the SSE peers: a subscriber's stream, decoding a bench
//! message out of a frame, and the publisher. socket-serve (v1) and 0.6.0 speak the same
//! session protocol; the bare reference is just `GET /sse` and `POST /publish`.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sse_stream::{Sse, SseByteStream};

use crate::peers::Wire;

/// A subscriber's parsed SSE frames.
pub type Frames = Pin<Box<dyn Stream<Item = Result<Sse, sse_stream::Error>> + Send>>;

/// What the publisher sends: a sequence number (negative: warm-up, not counted) and the send
/// time in µs on the harness's clock.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct BenchMessage {
    pub s: i64,
    pub t: u64,
}

/// The one clock that send and receive times are read from.
#[derive(Debug, Clone, Copy)]
pub struct Clock(Instant);

impl Clock {
    /// A clock whose zero is now.
    pub fn start() -> Clock {
        Clock(Instant::now())
    }

    /// µs since its zero.
    pub fn now_us(&self) -> u64 {
        self.0.elapsed().as_micros() as u64
    }
}

/// The HTTP client every subscriber and the publisher share: loopback, no proxy, no Nagle.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .build()
        .expect("an HTTP client")
}

/// `POST /socket/connect`: a new session's id.
pub async fn connect_session(http: &reqwest::Client, url: &str) -> Result<String, String> {
    let answer: Value = http
        .post(format!("{url}/socket/connect"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .map_err(|e| format!("connect: {e}"))?
        .json()
        .await
        .map_err(|e| format!("connect answer: {e}"))?;
    answer["sessionId"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("connect answered {answer}"))
}

/// Opens a subscriber's stream on the instance at `url`; for the session protocol, after a
/// new session's `connected` frame.
pub async fn subscribe(http: &reqwest::Client, wire: Wire, url: &str) -> Result<Frames, String> {
    let target = match wire {
        Wire::Sessions => {
            let session = connect_session(http, url).await?;
            format!("{url}/socket/sse?sessionId={session}")
        }
        Wire::BareSse => format!("{url}/sse"),
        Wire::SocketIo(_) => return Err("Socket.IO streams are the Node driver's".into()),
    };
    let response = http
        .get(target)
        .header("accept", "text/event-stream")
        .send()
        .await
        .map_err(|e| format!("stream: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("stream answered {}", response.status()));
    }
    let mut frames: Frames = Box::pin(SseByteStream::new(response.bytes_stream()));
    if wire == Wire::Sessions {
        loop {
            match frames.next().await {
                Some(Ok(frame)) if event_of(&frame).as_deref() == Some("connected") => break,
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(format!("stream: {e}")),
                None => return Err("stream ended before `connected`".into()),
            }
        }
    }
    Ok(frames)
}

fn event_of(frame: &Sse) -> Option<String> {
    let envelope: Value = serde_json::from_str(frame.data.as_deref()?).ok()?;
    envelope["event"].as_str().map(str::to_owned)
}

/// The bench message a frame carries, if it carries one: on the session protocol a `chat`
/// envelope whose `data.text` is the message's JSON; on the bare SSE server the data itself.
pub fn decode(wire: Wire, frame: &Sse) -> Option<BenchMessage> {
    let data = frame.data.as_deref()?;
    match wire {
        Wire::BareSse => serde_json::from_str(data).ok(),
        Wire::Sessions => {
            #[derive(Deserialize)]
            struct Envelope<'a> {
                event: &'a str,
                #[serde(borrow)]
                data: Option<Chat<'a>>,
            }
            #[derive(Deserialize)]
            struct Chat<'a> {
                #[serde(borrow)]
                text: std::borrow::Cow<'a, str>,
            }
            let envelope: Envelope = serde_json::from_str(data).ok()?;
            if envelope.event != "chat" {
                return None;
            }
            serde_json::from_str(&envelope.data?.text).ok()
        }
        Wire::SocketIo(_) => None,
    }
}

/// Sends bench messages to one instance. On the session protocol it is itself a session (with
/// its own stream open, as a browser's would be) posting `chat`, which the server broadcasts to
/// every other session.
pub struct Publisher {
    http: reqwest::Client,
    wire: Wire,
    url: String,
    session: Option<String>,
    next_id: AtomicU64,
    _own_stream: Option<tokio::task::JoinHandle<()>>,
}

impl Publisher {
    /// A publisher on the instance at `url`.
    pub async fn new(http: &reqwest::Client, wire: Wire, url: &str) -> Result<Publisher, String> {
        let (session, own_stream) = match wire {
            Wire::Sessions => {
                let session = connect_session(http, url).await?;
                let response = http
                    .get(format!("{url}/socket/sse?sessionId={session}"))
                    .send()
                    .await
                    .map_err(|e| format!("publisher stream: {e}"))?;
                let mut body = response.bytes_stream();
                let drain = tokio::spawn(async move { while body.next().await.is_some() {} });
                (Some(session), Some(drain))
            }
            _ => (None, None),
        };
        Ok(Publisher {
            http: http.clone(),
            wire,
            url: url.to_owned(),
            session,
            next_id: AtomicU64::new(0),
            _own_stream: own_stream,
        })
    }

    /// Publishes `message`, answered once the server has taken it.
    pub async fn publish(&self, message: BenchMessage) -> Result<(), String> {
        let text = serde_json::to_string(&message).map_err(|e| e.to_string())?;
        let request = match self.wire {
            Wire::Sessions => {
                let id = self.next_id.fetch_add(1, Ordering::Relaxed);
                let body = json!({
                    "sessionId": self.session, "event": "chat",
                    "data": { "text": text }, "messageId": format!("b-{id}"),
                });
                self.http
                    .post(format!("{}/socket/message", self.url))
                    .header("content-type", "application/json")
                    .body(body.to_string())
            }
            _ => self.http.post(format!("{}/publish", self.url)).body(text),
        };
        let response = request.send().await.map_err(|e| format!("publish: {e}"))?;
        let status = response.status();
        let _ = response.bytes().await;
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("publish answered {status}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(data: &str) -> Sse {
        Sse::default().data(data)
    }

    #[test]
    fn decodes_a_chat_envelope_and_a_bare_frame() {
        let message = BenchMessage { s: 7, t: 1234 };
        let chat = json!({"event": "chat", "data": {"from": "x", "text": r#"{"s":7,"t":1234}"#}});
        assert_eq!(
            decode(Wire::Sessions, &frame(&chat.to_string())),
            Some(message)
        );
        assert_eq!(
            decode(Wire::BareSse, &frame(r#"{"s":7,"t":1234}"#)),
            Some(message)
        );
        let welcome = json!({"event": "welcome", "data": {"id": "x"}});
        assert_eq!(decode(Wire::Sessions, &frame(&welcome.to_string())), None);
    }
}

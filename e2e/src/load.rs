//! The workload: users that connect, join a room, hold a stream (resuming it by cursor on
//! any instance whenever it ends, and cutting it on purpose if asked), and send a mix of
//! direct emits (`echo`), broadcasts (`chat`) and room messages (`say`), each POST to a
//! random instance and retried with the same `messageId` until it is answered.
//!
//! Every frame received is recorded, then checked against what each user should get.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use rand::Rng;
use serde_json::{json, Value};
use socket_serve::protocol::Cursor;
use sse_stream::SseByteStream;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::Urls;

/// How long one request may take before it is retried elsewhere.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a request is retried before the run counts it as an error.
const GIVE_UP_AFTER: Duration = Duration::from_secs(60);

/// How long the run waits, after the last send, for every expected message to arrive.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(60);

/// The shape of a run.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Number of users (sessions).
    pub users: usize,
    /// Messages each user sends (a third each of echo, chat and say).
    pub messages: usize,
    /// Number of rooms; user `i` joins room `i % rooms`.
    pub rooms: usize,
    /// Cut each stream after a random time in this range, and resume it.
    pub cut_streams: Option<(Duration, Duration)>,
}

/// What a run found.
#[derive(Debug, Default)]
pub struct Report {
    /// Messages that should have arrived.
    pub expected: usize,
    /// Messages that arrived (counting duplicates).
    pub delivered: usize,
    /// Expected messages that never arrived.
    pub lost: usize,
    /// Messages that arrived more than once.
    pub duplicated: usize,
    /// Messages that arrived before one sent or stored earlier.
    pub reordered: usize,
    /// Streams opened (resumes included).
    pub streams_opened: usize,
    /// Requests answered with an error status (after retries where they are retried).
    pub errors: Vec<String>,
}

impl Report {
    /// Panics with the whole report unless nothing was lost, duplicated or reordered and
    /// nothing failed.
    pub fn assert_exact(&self) {
        assert!(
            self.lost == 0 && self.duplicated == 0 && self.reordered == 0 && self.errors.is_empty(),
            "delivery was not exact: {self:#?}"
        );
        assert_eq!(self.delivered, self.expected, "{self:#?}");
    }
}

/// What one message is: its kind, its sender and its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct MessageKey {
    event: Kind,
    sender: usize,
    n: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Echo,
    Chat,
    Say,
}

fn kind_of(n: usize) -> Kind {
    match n % 3 {
        0 => Kind::Echo,
        1 => Kind::Chat,
        _ => Kind::Say,
    }
}

#[derive(Default)]
struct Inbox {
    keys: Vec<MessageKey>,
    cursors: Vec<Cursor>,
    recovered_false: usize,
}

struct User {
    index: usize,
    room: String,
    session_id: String,
    inbox: Arc<Mutex<Inbox>>,
}

/// Runs the workload against `urls` while `chaos` runs beside the senders.
pub async fn run(urls: Urls, options: LoadOptions, chaos: impl Future<Output = ()>) -> Report {
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(2))
        .pool_idle_timeout(Duration::from_secs(5))
        .build()
        .expect("reqwest client");
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let streams_opened = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));

    // Everyone connects, joins and has a live stream before anyone sends.
    let mut users = Vec::new();
    let mut stream_tasks = Vec::new();
    for index in 0..options.users {
        let room = format!("room-{}", index % options.rooms.max(1));
        let answer = request(&http, &urls, "connect", json!({}), &errors).await;
        let session_id = answer["sessionId"].as_str().unwrap_or_default().to_owned();
        assert!(!session_id.is_empty(), "connect answered {answer}");
        let join = json!({"sessionId": session_id, "event": "join", "data": {"room": room},
                          "messageId": format!("join-{index}")});
        request(&http, &urls, "message", join, &errors).await;
        let user = User {
            index,
            room,
            session_id,
            inbox: Arc::default(),
        };
        let (ready_tx, ready_rx) = oneshot::channel();
        stream_tasks.push(tokio::spawn(follow_stream(
            http.clone(),
            urls.clone(),
            user.session_id.clone(),
            user.inbox.clone(),
            options.cut_streams,
            stop.clone(),
            streams_opened.clone(),
            ready_tx,
        )));
        tokio::time::timeout(Duration::from_secs(30), ready_rx)
            .await
            .expect("a stream did not open within 30 s")
            .expect("the stream task ended before it was ready");
        users.push(user);
    }

    let senders = users.iter().map(|user| {
        let (http, urls, errors) = (http.clone(), urls.clone(), errors.clone());
        let (index, room, sid) = (user.index, user.room.clone(), user.session_id.clone());
        let messages = options.messages;
        async move {
            for n in 0..messages {
                let (event, data) = match kind_of(n) {
                    Kind::Echo => ("echo", json!({"u": index, "n": n})),
                    Kind::Chat => ("chat", json!({"text": format!("{index}:{n}")})),
                    Kind::Say => ("say", json!({"room": room, "text": format!("{index}:{n}")})),
                };
                let body = json!({"sessionId": sid, "event": event, "data": data,
                                  "messageId": format!("m-{index}-{n}")});
                request(&http, &urls, "message", body, &errors).await;
            }
        }
    });
    tokio::join!(futures_util::future::join_all(senders), chaos);

    let expected = expected_inboxes(&users, options.messages);
    let total_expected: usize = expected.iter().map(HashSet::len).sum();
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    loop {
        let got: usize = users.iter().map(|u| lock(&u.inbox).keys.len()).sum();
        if got >= total_expected || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::SeqCst);
    for task in stream_tasks {
        task.abort();
    }

    let mut report = Report {
        expected: total_expected,
        streams_opened: streams_opened.load(Ordering::SeqCst),
        errors: lock(&errors).clone(),
        ..Report::default()
    };
    for (user, expected) in users.iter().zip(&expected) {
        let inbox = lock(&user.inbox);
        if inbox.recovered_false > 0 {
            report.errors.push(format!(
                "user {} was told recovered: false {} times",
                user.index, inbox.recovered_false
            ));
        }
        report.delivered += inbox.keys.len();
        let mut seen = HashSet::new();
        let mut last_n: HashMap<(Kind, usize), usize> = HashMap::new();
        for key in &inbox.keys {
            if !seen.insert(*key) {
                report.duplicated += 1;
                continue;
            }
            if !expected.contains(key) {
                report.errors.push(format!(
                    "user {} got a message not meant for it: {key:?}",
                    user.index
                ));
            }
            let last = last_n.entry((key.event, key.sender)).or_insert(key.n);
            if key.n < *last {
                report.reordered += 1;
            }
            *last = key.n;
        }
        report.reordered += inbox.cursors.windows(2).filter(|w| w[0] >= w[1]).count();
        report.lost += expected.difference(&seen).count();
    }
    report
}

fn expected_inboxes(users: &[User], messages: usize) -> Vec<HashSet<MessageKey>> {
    users
        .iter()
        .map(|receiver| {
            let mut keys = HashSet::new();
            for sender in users {
                for n in 0..messages {
                    let event = kind_of(n);
                    let gets = match event {
                        Kind::Echo => sender.index == receiver.index,
                        Kind::Chat => sender.index != receiver.index,
                        Kind::Say => sender.index != receiver.index && sender.room == receiver.room,
                    };
                    if gets {
                        keys.insert(MessageKey {
                            event,
                            sender: sender.index,
                            n,
                        });
                    }
                }
            }
            keys
        })
        .collect()
}

/// POSTs to a random live instance until it is answered: connection failures, timeouts,
/// 5xx and 409 are retried (the `messageId` makes a repeat harmless); other errors are
/// recorded.
async fn request(
    http: &reqwest::Client,
    urls: &Urls,
    endpoint: &str,
    body: Value,
    errors: &Mutex<Vec<String>>,
) -> Value {
    let started = Instant::now();
    let mut pause = Duration::from_millis(20);
    loop {
        if started.elapsed() > GIVE_UP_AFTER {
            lock(errors).push(format!("gave up on {endpoint} {body}"));
            return Value::Null;
        }
        let Some(url) = urls.pick() else {
            tokio::time::sleep(pause).await;
            continue;
        };
        let sent = http
            .post(format!("{url}/{endpoint}"))
            .json(&body)
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await;
        // A connection failure or timeout is retried like a 5xx.
        if let Ok(response) = sent {
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            if status.is_success() {
                return serde_json::from_str(&text).unwrap_or(Value::Null);
            }
            if !(status.is_server_error() || status.as_u16() == 409) {
                lock(errors).push(format!("{endpoint} {body} -> {status} {text}"));
                return Value::Null;
            }
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(500));
    }
}

/// Holds the user's stream: opens it on a random instance, resumes from the last cursor
/// with `Last-Event-ID` whenever it ends (or is cut on purpose), records every message.
#[allow(clippy::too_many_arguments)]
async fn follow_stream(
    http: reqwest::Client,
    urls: Urls,
    session_id: String,
    inbox: Arc<Mutex<Inbox>>,
    cut: Option<(Duration, Duration)>,
    stop: Arc<AtomicBool>,
    opened: Arc<AtomicUsize>,
    ready: oneshot::Sender<()>,
) {
    let mut ready = Some(ready);
    let mut cursor: Option<String> = None;
    while !stop.load(Ordering::SeqCst) {
        let Some(url) = urls.pick() else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let mut req = http.get(format!("{url}/sse?sessionId={session_id}"));
        if let Some(c) = &cursor {
            req = req.header("last-event-id", c.as_str());
        }
        let response = match req.send().await {
            Ok(r) if r.status().is_success() => r,
            _ => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        opened.fetch_add(1, Ordering::SeqCst);
        let cut_after = cut.map(|(lo, hi)| rand::rng().random_range(lo..=hi));
        let deadline = cut_after.map(|d| Instant::now() + d);
        let chunks = futures_util::stream::unfold(Some(response), |response| async move {
            let mut response = response?;
            match response.chunk().await {
                Ok(Some(bytes)) => Some((Ok::<_, std::io::Error>(bytes), Some(response))),
                Ok(None) => None,
                Err(e) => Some((Err(std::io::Error::other(e)), None)),
            }
        });
        let mut frames = SseByteStream::new(Box::pin(chunks));
        loop {
            let next = match deadline {
                Some(at) => match tokio::time::timeout_at(at, frames.next()).await {
                    Ok(next) => next,
                    Err(_) => break, // cut on purpose
                },
                None => frames.next().await,
            };
            let Some(Ok(sse)) = next else { break };
            if let Some(data) = &sse.data {
                let envelope: Value = serde_json::from_str(data).unwrap_or(Value::Null);
                record(&inbox, &envelope, sse.id.as_deref(), &mut ready);
            }
            if let Some(id) = sse.id {
                cursor = Some(id);
            }
        }
    }
}

fn record(
    inbox: &Mutex<Inbox>,
    envelope: &Value,
    id: Option<&str>,
    ready: &mut Option<oneshot::Sender<()>>,
) {
    let data = &envelope["data"];
    let key = match envelope["event"].as_str() {
        Some("connected") => {
            if data["recovered"] == json!(false) {
                lock(inbox).recovered_false += 1;
            }
            if let Some(tx) = ready.take() {
                let _ = tx.send(());
            }
            return;
        }
        Some("echo") => {
            let (Some(u), Some(n)) = (data["u"].as_u64(), data["n"].as_u64()) else {
                return;
            };
            MessageKey {
                event: Kind::Echo,
                sender: u as usize,
                n: n as usize,
            }
        }
        Some(event @ ("chat" | "say")) => {
            let Some((u, n)) = data["text"].as_str().and_then(|t| t.split_once(':')) else {
                return;
            };
            let (Ok(u), Ok(n)) = (u.parse(), n.parse()) else {
                return;
            };
            let event = if event == "chat" {
                Kind::Chat
            } else {
                Kind::Say
            };
            MessageKey {
                event,
                sender: u,
                n,
            }
        }
        _ => return,
    };
    let mut inbox = lock(inbox);
    inbox.keys.push(key);
    if let Some(cursor) = id.and_then(|id| id.parse().ok()) {
        inbox.cursors.push(cursor);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

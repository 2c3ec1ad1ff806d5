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
use socket_serve::protocol::{Cursor, MessageRequest};
use socket_serve_client::raw::{Api, Frame};
use socket_serve_client::{ClientOptions, Error};
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
    /// A pause after each send of each user, to spread a run over time (zero: flat out).
    pub pace: Duration,
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

/// One [`Api`] per instance URL, made on first use and kept (each holds a connection
/// pool), in front of the live instances of [`Urls`].
#[derive(Clone)]
struct Apis {
    urls: Urls,
    apis: Arc<Mutex<HashMap<String, Api>>>,
}

impl Apis {
    fn new(urls: Urls) -> Apis {
        Apis {
            urls,
            apis: Arc::default(),
        }
    }

    /// The API of a live instance at random (`None` while there is none).
    fn pick(&self) -> Option<Api> {
        let url = self.urls.pick()?;
        let mut apis = lock(&self.apis);
        let api = apis.entry(url).or_insert_with_key(|url| {
            let options = ClientOptions::default().request_timeout(REQUEST_TIMEOUT);
            Api::with_options(url, &options).expect("an instance URL")
        });
        Some(api.clone())
    }
}

/// Runs the workload against `urls` while `chaos` runs beside the senders.
pub async fn run(urls: Urls, options: LoadOptions, chaos: impl Future<Output = ()>) -> Report {
    let apis = Apis::new(urls);
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let streams_opened = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));

    // Everyone connects, joins and has a live stream before anyone sends.
    let mut users = Vec::new();
    let mut stream_tasks = Vec::new();
    for index in 0..options.users {
        let room = format!("room-{}", index % options.rooms.max(1));
        let answer = request(&apis, "connect", &errors, |api| async move {
            api.connect(None).await
        })
        .await;
        let session_id = answer.map(|a| a.session_id).unwrap_or_default();
        assert!(
            !session_id.is_empty(),
            "connect failed: {:?}",
            lock(&errors)
        );
        let join = MessageRequest {
            session_id: session_id.clone(),
            event: "join".into(),
            data: json!({"room": room}),
            message_id: Some(format!("join-{index}")),
            requires_ack: None,
        };
        send(&apis, &join, &errors).await;
        let user = User {
            index,
            room,
            session_id,
            inbox: Arc::default(),
        };
        let (ready_tx, ready_rx) = oneshot::channel();
        stream_tasks.push(tokio::spawn(follow_stream(
            apis.clone(),
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
        let (apis, errors) = (apis.clone(), errors.clone());
        let (index, room, sid) = (user.index, user.room.clone(), user.session_id.clone());
        let (messages, pace) = (options.messages, options.pace);
        async move {
            for n in 0..messages {
                let (event, data) = match kind_of(n) {
                    Kind::Echo => ("echo", json!({"u": index, "n": n})),
                    Kind::Chat => ("chat", json!({"text": format!("{index}:{n}")})),
                    Kind::Say => ("say", json!({"room": room, "text": format!("{index}:{n}")})),
                };
                let message = MessageRequest {
                    session_id: sid.clone(),
                    event: event.into(),
                    data,
                    message_id: Some(format!("m-{index}-{n}")),
                    requires_ack: None,
                };
                send(&apis, &message, &errors).await;
                if !pace.is_zero() {
                    tokio::time::sleep(pace).await;
                }
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

/// Sends one message (with its `messageId`) through [`request`].
async fn send(apis: &Apis, message: &MessageRequest, errors: &Mutex<Vec<String>>) {
    let what = format!("message {} {}", message.event, message.data);
    request(apis, &what, errors, |api| async move {
        api.message(message).await
    })
    .await;
}

/// Makes `call` on a random live instance until it is answered: connection failures,
/// timeouts, 5xx and 409 are retried (the `messageId` makes a repeat harmless); other
/// errors are recorded, and so is giving up after [`GIVE_UP_AFTER`].
async fn request<T, F, Fut>(
    apis: &Apis,
    what: &str,
    errors: &Mutex<Vec<String>>,
    call: F,
) -> Option<T>
where
    F: Fn(Api) -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let started = Instant::now();
    let mut pause = Duration::from_millis(20);
    loop {
        if started.elapsed() > GIVE_UP_AFTER {
            lock(errors).push(format!("gave up on {what}"));
            return None;
        }
        let Some(api) = apis.pick() else {
            tokio::time::sleep(pause).await;
            continue;
        };
        match call(api).await {
            Ok(answer) => return Some(answer),
            // A connection failure or timeout is retried like a 5xx.
            Err(Error::Transport(_)) => {}
            Err(e) if e.status().is_some_and(|s| s >= 500 || s == 409) => {}
            Err(e) => {
                lock(errors).push(format!("{what} -> {e}"));
                return None;
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
    apis: Apis,
    session_id: String,
    inbox: Arc<Mutex<Inbox>>,
    cut: Option<(Duration, Duration)>,
    stop: Arc<AtomicBool>,
    opened: Arc<AtomicUsize>,
    ready: oneshot::Sender<()>,
) {
    let mut ready = Some(ready);
    let mut cursor: Option<Cursor> = None;
    while !stop.load(Ordering::SeqCst) {
        let Some(api) = apis.pick() else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let Ok(mut frames) = api.open_stream(&session_id, cursor).await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        opened.fetch_add(1, Ordering::SeqCst);
        let cut_after = cut.map(|(lo, hi)| rand::rng().random_range(lo..=hi));
        let deadline = cut_after.map(|d| Instant::now() + d);
        loop {
            let next = match deadline {
                Some(at) => match tokio::time::timeout_at(at, frames.next()).await {
                    Ok(next) => next,
                    Err(_) => break, // cut on purpose
                },
                None => frames.next().await,
            };
            let Some(Ok(frame)) = next else { break };
            let Frame { id, data, .. } = &frame;
            if let Some(data) = data {
                let envelope: Value = serde_json::from_str(data).unwrap_or(Value::Null);
                record(&inbox, &envelope, id.as_deref(), &mut ready);
            }
            // Every id moves the cursor, id-only frames included.
            if let Some(c) = frame.cursor() {
                cursor = Some(c);
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

//! Resilience against the real server: stream rotation, network cuts, server restarts,
//! expired sessions, retried emits, long-polling and the fallback to it.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use common::*;
use serde_json::{json, Value};
use socket_serve::{Config, SocketServe};
use socket_serve_client::raw::{Api, FrameStream, Resume};
use socket_serve_client::{
    connect, Client, ClientEvent, ClientOptions, DisconnectReason, Error, EventStream, Transport,
};
use socket_serve_protocol::{Cursor, MessageRequest};
use tokio::task::JoinHandle;

/// Fast retries, so outages in tests are short.
fn quick() -> ClientOptions {
    ClientOptions::default()
        .reconnect_delay(Duration::from_millis(20))
        .reconnect_delay_max(Duration::from_millis(300))
}

/// The server broadcasts `tick` 0..n, one every `every`.
fn ticks(io: &SocketServe, n: u64, every: Duration) -> JoinHandle<()> {
    let io = io.clone();
    tokio::spawn(async move {
        for i in 0..n {
            io.emit("tick", &json!(i)).await.expect("emit tick");
            tokio::time::sleep(every).await;
        }
    })
}

/// Reads until tick `n - 1`; returns every tick seen (in order) and every other event.
async fn collect_ticks(events: &mut EventStream, n: u64) -> (Vec<u64>, Vec<ClientEvent>) {
    let mut got = Vec::new();
    let mut others = Vec::new();
    let done = tokio::time::timeout(WAIT * 2, async {
        while let Some(event) = events.recv().await {
            match event {
                ClientEvent::Message(m) if m.event == "tick" => {
                    let i = m.data.as_u64().expect("tick is a number");
                    got.push(i);
                    if i == n - 1 {
                        return true;
                    }
                }
                other => others.push(other),
            }
        }
        false
    })
    .await;
    assert!(
        matches!(done, Ok(true)),
        "did not get the last tick; ticks {got:?}, events {others:#?}"
    );
    (got, others)
}

/// No tick arrives after the last one (no late duplicate): a marker echo comes first.
async fn no_more_ticks(client: &Client, events: &mut EventStream) {
    client.emit("echo", "marker").unwrap();
    let (_, before) = until(
        events,
        "marker",
        |e| matches!(e, ClientEvent::Message(m) if m.event == "echo"),
    )
    .await;
    assert!(
        !before
            .iter()
            .any(|e| matches!(e, ClientEvent::Message(m) if m.event == "tick")),
        "late ticks: {before:?}"
    );
}

fn lifecycle(events: &[ClientEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Connect { recovered } => Some(format!("connect recovered={recovered}")),
            ClientEvent::Disconnect { reason } => Some(match reason {
                DisconnectReason::TransportError(_) | DisconnectReason::TransportClose => {
                    "disconnect transport".to_owned()
                }
                other => format!("disconnect {other}"),
            }),
            ClientEvent::Reconnect { .. } => Some("reconnect".to_owned()),
            ClientEvent::Reconnecting { .. } => Some("reconnecting".to_owned()),
            ClientEvent::ConnectError { .. } => Some("connect error".to_owned()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planned_stream_rotation_is_invisible_and_loses_nothing() {
    init_tracing();
    let config = Config {
        max_stream_duration: Some(Duration::from_millis(150)),
        retry_hint: Duration::from_millis(10),
        ..config()
    };
    let streams = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&streams);
    let store = Arc::new(socket_serve::store::MemoryStore::new(
        config.session_ttl,
        config.recovery_window,
    ));
    let (io, counters) = build_io(config, Arc::clone(&store));
    let server = Server::serve(io, counters, store, move |io| {
        chat::app(io).layer(axum::middleware::from_fn(
            move |req: Request, next: Next| {
                let counted = Arc::clone(&counted);
                async move {
                    if req.uri().path().ends_with("/sse") {
                        counted.fetch_add(1, Ordering::SeqCst);
                    }
                    next.run(req).await
                }
            },
        ))
    })
    .await;

    let client = Client::new(&server.url(), ClientOptions::default()).unwrap();
    let mut events = client.events();
    client.open().unwrap();
    assert!(!connected(&mut events).await);
    let n = 120;
    let sender = ticks(&server.io, n, Duration::from_millis(8));
    let (got, others) = collect_ticks(&mut events, n).await;
    sender.await.unwrap();
    assert_eq!(got, (0..n).collect::<Vec<_>>(), "every tick once, in order");
    assert_eq!(
        lifecycle(&others),
        Vec::<String>::new(),
        "rotation reports nothing"
    );
    assert!(client.connected());
    let opened = streams.load(Ordering::SeqCst);
    assert!(opened >= 4, "the stream was rotated ({opened} streams)");
    no_more_ticks(&client, &mut events).await;
    client.disconnect().await;
}

/// Reads ticks 0..n, cutting the proxy when tick `at` arrives for each `at` in `cuts`;
/// returns the ticks (in the order read) and every other event.
async fn ticks_with_cuts(
    events: &mut EventStream,
    proxy: &Proxy,
    n: u64,
    cuts: &[u64],
) -> (Vec<u64>, Vec<ClientEvent>) {
    let mut got = Vec::new();
    let mut others = Vec::new();
    let done = tokio::time::timeout(WAIT * 2, async {
        while let Some(e) = events.recv().await {
            match e {
                ClientEvent::Message(m) if m.event == "tick" => {
                    let i = m.data.as_u64().expect("tick is a number");
                    got.push(i);
                    if cuts.contains(&i) {
                        proxy.cut();
                    }
                    if i == n - 1 {
                        return true;
                    }
                }
                other => others.push(other),
            }
        }
        false
    })
    .await;
    assert!(
        matches!(done, Ok(true)),
        "did not get the last tick; ticks {got:?}, events {others:#?}"
    );
    (got, others)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_cuts_resume_the_same_session_without_loss_or_duplicates() {
    init_tracing();
    let server = Server::start(config()).await;
    let proxy = Proxy::start(server.addr).await;
    let client = Client::new(&proxy.url(), quick()).unwrap();
    let mut events = client.events();
    client.open().unwrap();
    assert!(!connected(&mut events).await);
    let id = client.id().unwrap();
    message(&mut events, "welcome").await;

    let n = 90;
    let sender = ticks(&server.io, n, Duration::from_millis(10));
    let (got, others) = ticks_with_cuts(&mut events, &proxy, n, &[10, 35, 60]).await;
    sender.await.unwrap();
    assert_eq!(got, (0..n).collect::<Vec<_>>(), "every tick once, in order");

    // Each cut is one reported outage; connect errors may come between attempts.
    let life: Vec<String> = lifecycle(&others)
        .into_iter()
        .filter(|s| s != "connect error")
        .collect();
    let mut squashed = life.clone();
    squashed.dedup();
    let outage = [
        "disconnect transport",
        "reconnecting",
        "reconnect",
        "connect recovered=true",
    ];
    let expected: Vec<String> = outage
        .iter()
        .cycle()
        .take(12)
        .map(|s| s.to_string())
        .collect();
    assert_eq!(squashed, expected, "{life:?}");
    assert!(client.recovered());
    assert_eq!(client.id().unwrap(), id, "the same session");
    no_more_ticks(&client, &mut events).await;
    client.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emits_survive_a_server_restart_on_the_same_store() {
    init_tracing();
    let server1 = Server::start(config()).await;
    let store = Arc::clone(&server1.store);
    let proxy = Proxy::start(server1.addr).await;
    let client = Client::new(&proxy.url(), quick()).unwrap();
    let mut events = client.events();
    client.open().unwrap();
    connected(&mut events).await;
    message(&mut events, "welcome").await;
    let id = client.id().unwrap();

    // The server goes away.
    proxy.set_upstream(None);
    proxy.cut();
    drop(server1);
    until(&mut events, "Disconnect", |e| {
        matches!(e, ClientEvent::Disconnect { .. })
    })
    .await;
    assert!(!client.connected());
    // Emits while it is down: buffered, retried.
    let deliveries: Vec<_> = (0..5).map(|i| client.emit("echo", i).unwrap()).collect();
    until(&mut events, "a failed attempt", |e| {
        matches!(e, ClientEvent::ConnectError { .. })
    })
    .await;

    // A new instance on the same store (as with Redis).
    let server2 = Server::start_with_store(config(), store).await;
    proxy.set_upstream(Some(server2.addr));
    for (i, d) in deliveries.into_iter().enumerate() {
        assert_eq!(
            tokio::time::timeout(WAIT, d).await.unwrap().unwrap(),
            Some(json!(i))
        );
    }
    let (_, before) = until(&mut events, "Connect", |e| {
        matches!(e, ClientEvent::Connect { .. })
    })
    .await;
    assert!(
        lifecycle(&before).contains(&"reconnect".to_owned()),
        "{before:?}"
    );
    assert!(client.recovered(), "same store: the session resumed");
    assert_eq!(client.id().unwrap(), id);
    for i in 0..5 {
        assert_eq!(
            message(&mut events, "echo").await,
            json!(i),
            "in order, once"
        );
    }
    no_more_ticks(&client, &mut events).await;
    client.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forgotten_session_is_replaced_and_reported() {
    init_tracing();
    let server1 = Server::start(config()).await;
    let proxy = Proxy::start(server1.addr).await;
    let client = Client::new(&proxy.url(), quick()).unwrap();
    let mut events = client.events();
    client.open().unwrap();
    assert!(!connected(&mut events).await);
    let old_id = client.id().unwrap();
    client
        .emit_with_ack::<Value>("join", json!({"room": "r"}))
        .await
        .unwrap();

    // A restart on a new memory store: the session is unknown there (404 unknown_session).
    let server2 = Server::start(config()).await;
    proxy.set_upstream(Some(server2.addr));
    proxy.cut();
    let pending = client.emit("echo", "after").unwrap();
    let (_, before) = until(&mut events, "Connect", |e| {
        matches!(e, ClientEvent::Connect { .. })
    })
    .await;
    let life = lifecycle(&before);
    assert_eq!(
        life.first().map(String::as_str),
        Some("disconnect transport"),
        "{life:?}"
    );
    assert!(
        !client.recovered(),
        "a new session is reported as not recovered"
    );
    let new_id = client.id().unwrap();
    assert_ne!(new_id, old_id);
    assert_eq!(message(&mut events, "welcome").await, json!({"id": new_id}));
    // The emit made during the outage went to the new session.
    assert_eq!(
        tokio::time::timeout(WAIT, pending).await.unwrap().unwrap(),
        Some(json!("after"))
    );
    assert_eq!(message(&mut events, "echo").await, json!("after"));
    drop(server1);
    client.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_session_is_replaced_and_reported() {
    init_tracing();
    let config = Config {
        session_ttl: Duration::from_millis(600),
        heartbeat_interval: Duration::from_millis(100),
        ..config()
    };
    let server = Server::start(config).await;
    let proxy = Proxy::start(server.addr).await;
    let client = Client::new(&proxy.url(), quick()).unwrap();
    let mut events = client.events();
    client.open().unwrap();
    assert!(!connected(&mut events).await);
    let old_id = client.id().unwrap();

    // The client is cut off; the server expires the session (on_disconnect runs).
    proxy.set_upstream(None);
    proxy.cut();
    let deadline = tokio::time::Instant::now() + WAIT;
    while server.counters.disconnects() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the session never expired"
        );
        server.io.sweep_expired().await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    proxy.set_upstream(Some(server.addr));
    let (_, before) = until(&mut events, "Connect", |e| {
        matches!(e, ClientEvent::Connect { .. })
    })
    .await;
    let life = lifecycle(&before);
    assert_eq!(
        life.first().map(String::as_str),
        Some("disconnect transport"),
        "{life:?}"
    );
    assert_eq!(
        life.last().map(String::as_str),
        Some("reconnect"),
        "{life:?}"
    );
    assert!(!client.recovered());
    assert_ne!(client.id().unwrap(), old_id);
    client.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_emit_runs_its_handler_once() {
    init_tracing();
    // The server runs the first two POSTs to /message completely (handler, stored answer),
    // then loses the answer: the client sees 503 and retries with the same messageId.
    let lose = Arc::new(AtomicUsize::new(0));
    let posts = Arc::new(AtomicUsize::new(0));
    let (lose2, posts2) = (Arc::clone(&lose), Arc::clone(&posts));
    let config = config();
    let store = Arc::new(socket_serve::store::MemoryStore::new(
        config.session_ttl,
        config.recovery_window,
    ));
    let (io, counters) = build_io(config, Arc::clone(&store));
    let server = Server::serve(io, counters, store, move |io| {
        chat::app(io).layer(axum::middleware::from_fn(
            move |req: Request, next: Next| {
                let (lose, posts) = (Arc::clone(&lose2), Arc::clone(&posts2));
                async move {
                    let is_message = req.uri().path().ends_with("/message");
                    let answer = next.run(req).await;
                    if is_message {
                        posts.fetch_add(1, Ordering::SeqCst);
                        let lost = lose
                            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
                        if lost.is_ok() {
                            let body = r#"{"error":"answer lost","code":"store_unavailable"}"#;
                            return (axum::http::StatusCode::SERVICE_UNAVAILABLE, body)
                                .into_response();
                        }
                    }
                    answer
                }
            },
        ))
    })
    .await;
    let client = Client::new(&server.url(), quick()).unwrap();
    client.open().unwrap();
    client.wait_connected(WAIT).await.unwrap();

    lose.store(2, Ordering::SeqCst);
    let ack: u64 = client.emit_with_ack("count", ()).await.unwrap();
    assert_eq!(ack, 1, "the first run's answer");
    assert_eq!(
        posts.load(Ordering::SeqCst),
        3,
        "two failed attempts, then the answer"
    );
    assert_eq!(server.counters.runs(), 1, "the handler ran once");
    // The next emit is a new message.
    let ack: u64 = client.emit_with_ack("count", ()).await.unwrap();
    assert_eq!(ack, 2);
    client.disconnect().await;
}

/// A client gives up on a slow POST (its request timeout) while the handler runs, and
/// retries with the same messageId: the retry should get the first run's answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_emit_is_answered_by_the_first_run() {
    init_tracing();
    let server = Server::start(config()).await;
    let options = quick().request_timeout(Duration::from_millis(300));
    let client = Client::new(&server.url(), options).unwrap();
    client.open().unwrap();
    client.wait_connected(WAIT).await.unwrap();
    let done: String = client.emit_with_ack("slow", 800).await.unwrap();
    assert_eq!(done, "done");
    assert_eq!(server.counters.runs(), 1, "the handler ran once");
    assert_eq!(
        server.counters.slow_done.load(Ordering::SeqCst),
        1,
        "and to its end"
    );
    client.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_raw_api_repeats_a_message_id() {
    init_tracing();
    let server = Server::start(config()).await;
    let api = Api::new(&server.url()).unwrap();
    let session = api.connect(None).await.unwrap();
    assert!(
        session.cursor.is_some(),
        "v1 servers send the starting cursor"
    );
    let request = |id: Option<&str>| MessageRequest {
        session_id: session.session_id.clone(),
        event: "count".into(),
        data: json!(null),
        message_id: id.map(str::to_owned),
        requires_ack: None,
    };
    let first = api.message(&request(Some("m-1"))).await.unwrap();
    let again = api.message(&request(Some("m-1"))).await.unwrap();
    assert_eq!(first, again);
    assert_eq!(first.ack, Some(json!(1)));
    assert_eq!(server.counters.runs(), 1);
    let other = api.message(&request(Some("m-2"))).await.unwrap();
    assert_eq!(other.ack, Some(json!(2)));

    // The stream, frame by frame: `connected` first, at the starting position.
    let mut frames = api.open_stream(&session.session_id, None).await.unwrap();
    use futures_util::StreamExt;
    let first = tokio::time::timeout(WAIT, frames.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first.envelope().unwrap().event, "connected");
    assert_eq!(first.cursor(), session.cursor);

    // Unknown sessions are 404 unknown_session everywhere.
    let gone = api
        .open_stream("0123456789abcdef0123456789abcdef", None)
        .await
        .unwrap_err();
    assert!(gone.is_unknown_session(), "{gone:?}");
    let gone = api
        .poll("0123456789abcdef0123456789abcdef", session.cursor)
        .await
        .unwrap_err();
    assert!(gone.is_unknown_session(), "{gone:?}");
    api.disconnect(&session.session_id).await.unwrap();
    let gone = api.message(&request(Some("m-3"))).await.unwrap_err();
    assert!(gone.is_unknown_session(), "{gone:?}");
}

/// Reads frames until the `tick` with payload `last`; returns every tick (payload, cursor).
async fn ticks_until(frames: &mut FrameStream, last: u64) -> Vec<(u64, Cursor)> {
    use futures_util::StreamExt;
    let mut ticks = Vec::new();
    loop {
        let frame = tokio::time::timeout(WAIT, frames.next())
            .await
            .expect("a frame in time")
            .expect("the stream goes on")
            .expect("a frame");
        let Some(envelope) = frame.envelope() else {
            continue;
        };
        if envelope.event == "tick" {
            let n = envelope.data.as_u64().expect("tick is a number");
            ticks.push((n, frame.cursor().expect("a message has a cursor")));
            if n == last {
                return ticks;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_raw_api_resumes_from_a_header_a_query_or_any_url() {
    init_tracing();
    let server = Server::start(config()).await;
    let api = Api::new(&server.url()).unwrap();
    let session = api.connect(None).await.unwrap();
    server.io.emit("tick", &json!(1)).await.unwrap();
    server.io.emit("tick", &json!(2)).await.unwrap();

    let mut frames = api.open_stream(&session.session_id, None).await.unwrap();
    assert_eq!(frames.status(), 200);
    assert_eq!(frames.header("content-type"), Some("text/event-stream"));
    assert!(frames.headers().contains_key("cache-control"), "{frames:?}");
    let all = ticks_until(&mut frames, 2).await;
    assert_eq!(all.iter().map(|t| t.0).collect::<Vec<_>>(), [1, 2]);
    drop(frames);

    // From the first tick's cursor, by header or by query: only the second.
    let after_first = all[0].1.to_string();
    for from in [
        Resume::Header(after_first.clone()),
        Resume::Query(after_first.clone()),
    ] {
        let mut frames = api
            .open_stream_from(&session.session_id, &from)
            .await
            .unwrap();
        assert_eq!(ticks_until(&mut frames, 2).await, [all[1]], "{from:?}");
    }

    // Any URL: the 0.6.0 form `GET {base}?sessionId=..`, with a header of the caller's.
    let mut url = api.base_url().clone();
    url.query_pairs_mut()
        .append_pair("sessionId", &session.session_id);
    let mut frames = api
        .open_stream_url(url, &[("Last-Event-ID", after_first.as_str())])
        .await
        .unwrap();
    assert_eq!(ticks_until(&mut frames, 2).await, [all[1]]);

    // Ids go as they are: one that is not a cursor is the server's 400 invalid_cursor.
    for from in [
        Resume::Header("yesterday".into()),
        Resume::Query("12-x".into()),
    ] {
        let refused = api
            .open_stream_from(&session.session_id, &from)
            .await
            .unwrap_err();
        assert_eq!(
            (refused.status(), refused.code()),
            (Some(400), Some("invalid_cursor")),
            "{from:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_polling_works_and_resumes() {
    init_tracing();
    let config = Config {
        poll_timeout: Duration::from_millis(500),
        ..config()
    };
    let server = Server::start(config).await;
    let proxy = Proxy::start(server.addr).await;
    let client = Client::new(&proxy.url(), quick().transport(Transport::Polling)).unwrap();
    let sse = Client::new(&server.url(), quick()).unwrap();
    let mut events = client.events();
    let mut sse_events = sse.events();
    client.open().unwrap();
    sse.open().unwrap();
    assert!(!connected(&mut events).await);
    connected(&mut sse_events).await;
    assert_eq!(client.transport(), Transport::Polling);
    assert_eq!(
        message(&mut events, "welcome").await,
        json!({"id": client.id().unwrap()})
    );
    let echoed: u32 = client.emit_with_ack("echo", 7).await.unwrap();
    assert_eq!(echoed, 7);
    assert_eq!(message(&mut events, "echo").await, json!(7));

    // Polling and SSE clients talk to each other.
    client
        .emit("chat", json!({"text": "from polling"}))
        .unwrap();
    assert_eq!(
        message(&mut sse_events, "chat").await,
        json!({"from": client.id().unwrap(), "text": "from polling"})
    );
    sse.emit("chat", json!({"text": "from sse"})).unwrap();
    assert_eq!(
        message(&mut events, "chat").await,
        json!({"from": sse.id().unwrap(), "text": "from sse"})
    );

    // Idle polls time out empty and poll again; a cut resumes from the cursor.
    let n = 40;
    let sender = ticks(&server.io, n, Duration::from_millis(20));
    let (got, _) = ticks_with_cuts(&mut events, &proxy, n, &[10, 25]).await;
    sender.await.unwrap();
    assert_eq!(got, (0..n).collect::<Vec<_>>());
    no_more_ticks(&client, &mut events).await;
    client.disconnect().await;
    sse.disconnect().await;
}

/// A proxy (or host) that answers the stream request with something that is not a stream.
fn no_sse(io: &SocketServe) -> axum::Router {
    chat::app(io).layer(axum::middleware::from_fn(
        |req: Request, next: Next| async move {
            let polling = req
                .uri()
                .query()
                .unwrap_or("")
                .contains("transport=polling");
            if req.uri().path().ends_with("/sse") && !polling {
                let r: Response = (
                    [("content-type", "text/plain")],
                    "streams are not allowed here",
                )
                    .into_response();
                return r;
            }
            next.run(req).await
        },
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_falls_back_to_long_polling() {
    init_tracing();
    let config = config();
    let store = Arc::new(socket_serve::store::MemoryStore::new(
        config.session_ttl,
        config.recovery_window,
    ));
    let (io, counters) = build_io(config, Arc::clone(&store));
    let server = Server::serve(io, counters, store, no_sse).await;

    let client = Client::new(&server.url(), quick()).unwrap();
    let mut events = client.events();
    client.open().unwrap();
    assert!(!connected(&mut events).await);
    assert_eq!(client.transport(), Transport::Polling);
    assert_eq!(
        message(&mut events, "welcome").await,
        json!({"id": client.id().unwrap()})
    );
    let n: u32 = client.emit_with_ack("echo", 3).await.unwrap();
    assert_eq!(n, 3);
    assert_eq!(message(&mut events, "echo").await, json!(3));
    client.disconnect().await;

    // With Transport::Sse there is no fallback: attempts fail (and are bounded here).
    let strict = Client::new(
        &server.url(),
        quick()
            .transport(Transport::Sse)
            .reconnect_attempts(Some(2)),
    )
    .unwrap();
    let mut events = strict.events();
    strict.open().unwrap();
    let mut errors = Vec::new();
    while let Some(e) = tokio::time::timeout(WAIT, events.recv()).await.unwrap() {
        if let ClientEvent::ConnectError { error } = e {
            errors.push(error);
        }
        assert!(!strict.connected());
    }
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(
        errors.iter().all(|e| matches!(e, Error::Protocol(_))),
        "{errors:?}"
    );
}

/// A resume from a position older than the recovery window keeps the session but reports
/// `recovered: false` (SSE: the `connected` frame; polling: the poll answer).
async fn resume_past_the_recovery_window(transport: Transport) {
    init_tracing();
    let window = Duration::from_millis(300);
    let config = Config {
        recovery_window: window,
        // The server answers a long-poll from a position past the window only when something
        // new comes or the poll times out (not at once, as the stream's `connected` frame
        // does): keep that wait short.
        poll_timeout: Duration::from_millis(500),
        ..config()
    };
    let server = Server::start(config).await;
    let proxy = Proxy::start(server.addr).await;
    let client = Client::new(&proxy.url(), quick().transport(transport)).unwrap();
    let mut events = client.events();
    client.open().unwrap();
    assert!(!connected(&mut events).await);
    message(&mut events, "welcome").await;
    let id = client.id().unwrap();

    proxy.set_upstream(None);
    proxy.cut();
    until(&mut events, "Disconnect", |e| {
        matches!(e, ClientEvent::Disconnect { .. })
    })
    .await;
    server.io.emit("tick", &json!(0)).await.unwrap();
    // Let the client's position fall out of the recovery window (a matter of time only).
    tokio::time::sleep(window * 3).await;
    proxy.set_upstream(Some(server.addr));
    let recovered = connected(&mut events).await;
    assert!(
        !recovered,
        "the server could not replay everything: reported"
    );
    assert!(!client.recovered());
    assert_eq!(client.id().unwrap(), id, "still the same session");
    client.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_resume_past_the_recovery_window_is_reported() {
    resume_past_the_recovery_window(Transport::Sse).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_resume_past_the_recovery_window_is_reported() {
    resume_past_the_recovery_window(Transport::Polling).await;
}

/// `id:`-only frames move the client's position while it gets no message: after other
/// clients' traffic, an idle client resumes from a fresh position (so within the recovery
/// window), not from its last message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn position_frames_keep_an_idle_client_fresh() {
    init_tracing();
    let window = Duration::from_millis(1000);
    let config = Config {
        recovery_window: window,
        heartbeat_interval: Duration::from_millis(100),
        ..config()
    };
    let server = Server::start(config).await;
    let proxy = Proxy::start(server.addr).await;
    let idle = Client::new(&proxy.url(), quick()).unwrap();
    let mut events = idle.events();
    idle.open().unwrap();
    connected(&mut events).await;
    message(&mut events, "welcome").await;

    // Someone else's traffic moves the position for 2.5 windows; none of it is for `idle`.
    let busy = connect(&server.url(), quick()).unwrap();
    let until_time = tokio::time::Instant::now() + window * 5 / 2;
    while tokio::time::Instant::now() < until_time {
        busy.emit_with_ack::<Value>("echo", 1).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Two heartbeats later the idle client has the position of the last echo.
    tokio::time::sleep(Duration::from_millis(250)).await;
    proxy.cut();
    let (_, before) = until(&mut events, "Connect", |e| {
        matches!(e, ClientEvent::Connect { .. })
    })
    .await;
    assert!(
        !before.iter().any(|e| matches!(e, ClientEvent::Message(_))),
        "nothing was for the idle client: {before:?}"
    );
    assert!(
        idle.recovered(),
        "resumed from its last position (moved by id-only frames), inside the window"
    );
    idle.disconnect().await;
    busy.disconnect().await;
}

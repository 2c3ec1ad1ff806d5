//! The client's API against the real server (the chat example, in-process).

mod common;

use std::time::Duration;

use common::*;
use serde::Deserialize;
use serde_json::{json, Value};
use socket_serve_client::{
    connect, Client, ClientEvent, ClientOptions, DisconnectReason, Error, Transport,
};

#[derive(Debug, Deserialize, PartialEq)]
struct Welcome {
    id: String,
}

#[derive(Debug, Deserialize, PartialEq)]
struct ChatOut {
    from: String,
    text: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connects_and_reports_identity() {
    init_tracing();
    let server = Server::start(config()).await;
    let client = Client::new(&server.url(), ClientOptions::default()).unwrap();
    assert!(!client.connected());
    assert_eq!(client.id(), None);
    let mut events = client.events();
    client.open().unwrap();
    client.open().unwrap(); // a second open does nothing

    assert!(
        !connected(&mut events).await,
        "a new session is not 'recovered'"
    );
    assert!(client.connected());
    assert!(!client.recovered());
    assert_eq!(client.transport(), Transport::Sse);
    let id = client.id().expect("an id once connected");
    assert_eq!(id.len(), 16, "public id is 16 characters: {id}");

    let welcome = message(&mut events, "welcome").await;
    assert_eq!(welcome, json!({ "id": id }));
    client.wait_connected(WAIT).await.unwrap();

    client.disconnect().await;
    assert!(client.is_closed());
    assert!(!client.connected());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_handlers_and_wrong_shapes() {
    init_tracing();
    let server = Server::start(config()).await;
    let client = Client::new(&server.url(), ClientOptions::default()).unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let tx2 = tx.clone();
    client.on("welcome", move |w: Welcome| {
        let _ = tx.send(format!("typed {}", w.id));
    });
    // The same event, decoded as a shape it does not have: an error value, not a panic.
    client.on("welcome", |_n: u64| panic!("must not be called"));
    client.on_message("welcome", move |m| {
        let _ = tx2.send(format!("raw {}", m.data["id"].as_str().unwrap_or("?")));
    });
    let mut events = client.events();
    client.open().unwrap();

    let (error, _) = until(&mut events, "payload error", |e| {
        matches!(e, ClientEvent::Error { .. })
    })
    .await;
    let ClientEvent::Error {
        error: Error::Payload {
            event,
            message: text,
        },
    } = error
    else {
        panic!("expected a payload error, got {error:?}");
    };
    assert_eq!(event, "welcome");
    assert!(
        text.contains("u64") || text.contains("invalid type"),
        "{text}"
    );

    let id = client.id().unwrap();
    let mut got = vec![rx.recv().await.unwrap(), rx.recv().await.unwrap()];
    got.sort();
    assert_eq!(got, [format!("raw {id}"), format!("typed {id}")]);

    // off() removes the handlers of an event.
    client.off("echo");
    client.on("echo", |v: Value| assert_eq!(v, json!("x")));
    client.emit("echo", "x").unwrap().await.unwrap();
    assert_eq!(message(&mut events, "echo").await, json!("x"));
    client.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emits_acks_and_errors() {
    init_tracing();
    let server = Server::start(config()).await;
    let client = connect(&server.url(), ClientOptions::default()).unwrap();
    let mut events = client.events();

    // The ack is the handler's reply (the POST answer's `ack`), decoded.
    #[derive(Deserialize, Debug, PartialEq)]
    struct Point {
        x: i32,
        y: i32,
    }
    let p: Point = client
        .emit_with_ack("echo", json!({"x": 1, "y": 2}))
        .await
        .unwrap();
    assert_eq!(p, Point { x: 1, y: 2 });
    assert_eq!(message(&mut events, "echo").await, json!({"x": 1, "y": 2}));

    // A reply of another shape is an error value.
    let wrong: Result<Vec<String>, _> = client.emit_with_ack("echo", json!({"x": 1})).await;
    assert!(
        matches!(wrong, Err(Error::Payload { ref event, .. }) if event == "echo"),
        "{wrong:?}"
    );

    // A handler without a reply acks null: () and Option fit it.
    let none: Option<u32> = client.emit_with_ack("spam", 0).await.unwrap();
    assert_eq!(none, None);
    let () = client.emit_with_ack("spam", 0).await.unwrap();

    // Plain emit: the delivery resolves with the ack too.
    let delivery = client.emit("echo", [1, 2, 3]).unwrap();
    assert!(!delivery.message_id().is_empty());
    assert_eq!(delivery.await.unwrap(), Some(json!([1, 2, 3])));

    // No reply in time: a timeout error.
    let slow: Result<String, _> = client
        .emit_with_ack_timeout("slow", 1500, Duration::from_millis(200))
        .await;
    assert_eq!(slow, Err(Error::Timeout(Duration::from_millis(200))));
    // ...and a longer wait gets it.
    let done: String = client.emit_with_ack("slow", 10).await.unwrap();
    assert_eq!(done, "done");

    // A payload the server's handler refuses: 400 invalid_payload, final for that emit.
    let refused = client.emit("chat", "not an object").unwrap().await;
    let err = refused.unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    assert_eq!(err.code(), Some("invalid_payload"));
    // The emits after it still go out.
    let n: u32 = client.emit_with_ack("echo", 5).await.unwrap();
    assert_eq!(n, 5);

    // Refused locally, at once.
    for bad in ["", "connected", "__ack", "bad\nname"] {
        assert!(
            matches!(client.emit(bad, 1), Err(Error::InvalidEvent(_))),
            "{bad:?}"
        );
    }
    let too_long = "a".repeat(129);
    assert!(matches!(
        client.emit(&too_long, 1),
        Err(Error::InvalidEvent(_))
    ));

    client.disconnect().await;
    assert_eq!(client.emit("echo", 1).unwrap_err(), Error::Closed);
    let after: Result<u32, _> = client.emit_with_ack("echo", 1).await;
    assert_eq!(after, Err(Error::Closed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_ack_timeout_comes_from_the_options() {
    init_tracing();
    let server = Server::start(config()).await;
    let options = ClientOptions::default().ack_timeout(Duration::from_millis(200));
    let client = connect(&server.url(), options).unwrap();
    let slow = client.emit_with_ack::<String>("slow", 1500).await;
    assert_eq!(slow, Err(Error::Timeout(Duration::from_millis(200))));
    // Per emit, a longer limit.
    let done = client
        .emit_with_ack_timeout::<String>("slow", 10, WAIT)
        .await
        .unwrap();
    assert_eq!(done, "done");
    client.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_handler_is_retried_then_reported() {
    init_tracing();
    let server = Server::start(config()).await;
    let options = ClientOptions::default().reconnect_delay(Duration::from_millis(20));
    let client = connect(&server.url(), options).unwrap();
    let mut events = client.events();
    let err = client.emit("fail", 1).unwrap().await.unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert_eq!(err.code(), Some("handler_error"));
    assert_eq!(
        server.counters.failures(),
        3,
        "a 500 is retried, a bounded number of times"
    );
    // A fire-and-forget emit that fails is reported as an event.
    drop(client.emit("fail", 2).unwrap());
    let (e, _) = until(&mut events, "error event", |e| {
        matches!(e, ClientEvent::Error { .. })
    })
    .await;
    assert!(matches!(e, ClientEvent::Error { error } if error.code() == Some("handler_error")));
    client.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emits_before_open_are_buffered_and_sent_in_order() {
    init_tracing();
    let server = Server::start(config()).await;
    let client = Client::new(&server.url(), ClientOptions::default().max_buffered(25)).unwrap();
    let mut events = client.events();
    let mut deliveries = Vec::new();
    for i in 0..25 {
        deliveries.push(client.emit("echo", i).unwrap());
    }
    assert_eq!(client.buffered(), 25);
    // Bounded: one more is an error value.
    assert_eq!(client.emit("echo", 25).unwrap_err(), Error::BufferFull(25));
    let ids: std::collections::HashSet<_> = deliveries
        .iter()
        .map(|d| d.message_id().to_owned())
        .collect();
    assert_eq!(ids.len(), 25, "every emit has its own messageId");

    client.open().unwrap();
    for (i, d) in deliveries.into_iter().enumerate() {
        assert_eq!(d.await.unwrap(), Some(json!(i)));
    }
    for i in 0..25 {
        assert_eq!(message(&mut events, "echo").await, json!(i), "in order");
    }
    assert_eq!(client.buffered(), 0);
    client.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_rooms_and_state_between_two_clients() {
    init_tracing();
    let server = Server::start(config()).await;
    let ann = Client::new(&server.url(), ClientOptions::default()).unwrap();
    let bob = Client::new(&server.url(), ClientOptions::default()).unwrap();
    let mut ann_events = ann.events();
    let mut bob_events = bob.events();
    ann.open().unwrap();
    bob.open().unwrap();
    connected(&mut ann_events).await;
    connected(&mut bob_events).await;
    let ann_id = ann.id().unwrap();
    let bob_id = bob.id().unwrap();
    assert_ne!(ann_id, bob_id);

    // Broadcast: everyone but the sender.
    ann.emit("chat", json!({"text": "hi bob"}))
        .unwrap()
        .await
        .unwrap();
    let (m, _) = until(
        &mut bob_events,
        "chat",
        |e| matches!(e, ClientEvent::Message(m) if m.event == "chat"),
    )
    .await;
    let ClientEvent::Message(m) = m else {
        unreachable!()
    };
    assert_eq!(
        m.decode::<ChatOut>().unwrap(),
        ChatOut {
            from: ann_id.clone(),
            text: "hi bob".into()
        }
    );
    assert!(m.cursor.is_some());
    assert!(m.timestamp.is_some());

    // Rooms: join, say (members but the sender), leave.
    bob.emit_with_ack::<Value>("join", json!({"room": "lobby"}))
        .await
        .unwrap();
    ann.emit_with_ack::<Value>("say", json!({"room": "lobby", "text": "in the lobby"}))
        .await
        .unwrap();
    let say = message(&mut bob_events, "say").await;
    assert_eq!(
        say,
        json!({"from": ann_id, "room": "lobby", "text": "in the lobby"})
    );
    bob.emit_with_ack::<Value>("leave", json!({"room": "lobby"}))
        .await
        .unwrap();
    ann.emit_with_ack::<Value>("say", json!({"room": "lobby", "text": "gone?"}))
        .await
        .unwrap();
    // Session state.
    bob.emit_with_ack::<Value>("remember", json!({"key": "color", "value": "green"}))
        .await
        .unwrap();
    bob.emit("recall", json!({"key": "color"})).unwrap();
    // Bob gets his recall, and no second `say` came before it.
    let (m, before) = until(
        &mut bob_events,
        "recall",
        |e| matches!(e, ClientEvent::Message(m) if m.event == "recall"),
    )
    .await;
    assert!(
        !before
            .iter()
            .any(|e| matches!(e, ClientEvent::Message(m) if m.event == "say")),
        "left the room, still got: {before:?}"
    );
    let ClientEvent::Message(m) = m else {
        unreachable!()
    };
    assert_eq!(m.data, json!({"key": "color", "value": "green"}));
    // Ann never sees her own broadcast.
    ann.emit("echo", "marker").unwrap();
    let (_, before) = until(
        &mut ann_events,
        "echo",
        |e| matches!(e, ClientEvent::Message(m) if m.event == "echo"),
    )
    .await;
    assert!(!before
        .iter()
        .any(|e| matches!(e, ClientEvent::Message(m) if m.event == "chat")));

    ann.disconnect().await;
    bob.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_ends_the_session_and_the_streams() {
    init_tracing();
    let server = Server::start(config()).await;
    let client = connect(&server.url(), ClientOptions::default()).unwrap();
    let mut events = client.events();
    let mut second = client.events();
    connected(&mut events).await;
    client.disconnect().await;
    let (e, _) = until(&mut events, "Disconnect", |e| {
        matches!(e, ClientEvent::Disconnect { .. })
    })
    .await;
    assert!(matches!(
        e,
        ClientEvent::Disconnect {
            reason: DisconnectReason::ClientDisconnect
        }
    ));
    assert!(
        events.recv().await.is_none(),
        "the stream ends after a disconnect"
    );
    let rest: Vec<_> = std::iter::from_fn(|| second.try_recv()).collect();
    assert!(
        matches!(rest.last(), Some(ClientEvent::Disconnect { .. })),
        "{rest:?}"
    );
    assert!(second.recv().await.is_none());
    assert!(
        client.events().recv().await.is_none(),
        "a closed client's new streams end at once"
    );
    assert_eq!(
        server.counters.disconnects(),
        1,
        "the server ran on_disconnect"
    );
    client.disconnect().await; // again: nothing
    assert_eq!(server.counters.disconnects(), 1);
    assert_eq!(client.open(), Err(Error::Closed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_disconnect_closes_the_client_for_good() {
    init_tracing();
    let server = Server::start(config()).await;
    let client = connect(&server.url(), ClientOptions::default()).unwrap();
    let mut events = client.events();
    connected(&mut events).await;
    client.emit("kick", ()).unwrap();
    let (e, _) = until(&mut events, "Disconnect", |e| {
        matches!(e, ClientEvent::Disconnect { .. })
    })
    .await;
    assert!(
        matches!(
            e,
            ClientEvent::Disconnect {
                reason: DisconnectReason::ServerDisconnect
            }
        ),
        "{e:?}"
    );
    assert!(
        events.recv().await.is_none(),
        "no reconnect after a server disconnect"
    );
    assert!(client.is_closed());
    assert_eq!(client.emit("echo", 1).unwrap_err(), Error::Closed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_errors() {
    init_tracing();
    // A 4xx on /connect (here: no socket API at that path) is final.
    let server = Server::start(config()).await;
    let wrong = format!("http://{}/nothing-here", server.addr);
    let client = Client::new(&wrong, ClientOptions::default()).unwrap();
    let mut events = client.events();
    client.open().unwrap();
    let (e, _) = until(&mut events, "ConnectError", |e| {
        matches!(e, ClientEvent::ConnectError { .. })
    })
    .await;
    let ClientEvent::ConnectError { error } = e else {
        unreachable!()
    };
    assert_eq!(error.status(), Some(404), "{error}");
    assert!(error.is_rejected(), "{error:?}");
    assert!(events.recv().await.is_none(), "gives up on a 4xx");
    let waited = client.wait_connected(WAIT).await.unwrap_err();
    assert_eq!(waited, error, "wait_connected says why");
    assert_eq!(
        client.open(),
        Err(error),
        "so does open on the closed client"
    );

    // Nobody listening: retried with backoff (ConnectError, Reconnecting...), bounded by
    // reconnect_attempts.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let options = ClientOptions::default()
        .reconnect_delay(Duration::from_millis(10))
        .reconnect_attempts(Some(3));
    let client = Client::new(&format!("http://127.0.0.1:{port}/socket"), options).unwrap();
    let mut events = client.events();
    client.open().unwrap();
    let mut kinds = Vec::new();
    while let Some(e) = tokio::time::timeout(WAIT, events.recv()).await.unwrap() {
        kinds.push(match e {
            ClientEvent::ConnectError { error } => {
                assert!(matches!(error, Error::Transport(_)), "{error:?}");
                "error".to_owned()
            }
            ClientEvent::Reconnecting { attempt, delay } => {
                assert!(delay <= Duration::from_millis(10 << (attempt - 1)));
                format!("retry {attempt}")
            }
            other => panic!("unexpected {other:?}"),
        });
    }
    assert_eq!(
        kinds,
        ["error", "retry 1", "error", "retry 2", "error", "retry 3", "error"]
    );
    assert!(client.is_closed());
    // The last failure, not just "closed".
    let waited = client.wait_connected(WAIT).await.unwrap_err();
    assert!(matches!(waited, Error::Transport(_)), "{waited:?}");

    // Timeout of wait_connected while it keeps trying.
    let client = connect(
        &format!("http://127.0.0.1:{port}/socket"),
        ClientOptions::default(),
    )
    .unwrap();
    assert_eq!(
        client.wait_connected(Duration::from_millis(100)).await,
        Err(Error::Timeout(Duration::from_millis(100)))
    );
    drop(client);

    // Bad URLs and options are refused up front.
    assert!(matches!(
        Client::new("localhost:3000", ClientOptions::default()),
        Err(Error::InvalidUrl { .. })
    ));
    assert!(matches!(
        Client::new(
            "http://127.0.0.1:1/socket",
            ClientOptions::default().header("bad header", "x")
        ),
        Err(Error::InvalidOption(_))
    ));
}

#[test]
fn connect_outside_a_runtime_is_an_error() {
    let result = connect("http://127.0.0.1:1/socket", ClientOptions::default());
    assert_eq!(result.unwrap_err(), Error::NoRuntime);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_and_headers_reach_the_server() {
    init_tracing();
    use std::sync::{Arc, Mutex};
    let config = config();
    let store = Arc::new(socket_serve::store::MemoryStore::new(
        config.session_ttl,
        config.recovery_window,
    ));
    let (io, counters) = build_io(config, Arc::clone(&store));
    let seen = Arc::new(Mutex::new(None::<Value>));
    let s = Arc::clone(&seen);
    io.on_connect(move |socket| {
        let s = Arc::clone(&s);
        async move {
            let auth = socket.auth().cloned();
            let ok = auth
                .as_ref()
                .and_then(|a| a.get("token"))
                .and_then(Value::as_str)
                == Some("let-me-in");
            *s.lock().unwrap() = auth;
            if ok {
                Ok(())
            } else {
                Err(socket_serve::HandlerError::reject("bad token"))
            }
        }
    });
    let server = Server::serve(io, counters, store, chat_router).await;

    let good = connect(
        &server.url(),
        ClientOptions::default().auth(json!({"token": "let-me-in"})),
    )
    .unwrap();
    good.wait_connected(WAIT).await.unwrap();
    assert_eq!(
        seen.lock().unwrap().clone(),
        Some(json!({"token": "let-me-in"}))
    );
    good.disconnect().await;

    let bad = Client::new(
        &server.url(),
        ClientOptions::default().auth(json!({"token": "nope"})),
    )
    .unwrap();
    let mut events = bad.events();
    bad.open().unwrap();
    let (e, _) = until(&mut events, "ConnectError", |e| {
        matches!(e, ClientEvent::ConnectError { .. })
    })
    .await;
    let ClientEvent::ConnectError { error } = e else {
        unreachable!()
    };
    assert_eq!(error.status(), Some(403));
    assert_eq!(error.code(), Some("connect_rejected"));
    assert!(events.recv().await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_last_handle_stops_the_client() {
    init_tracing();
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<Client>();
    assert_send_sync::<socket_serve_client::EventStream>();
    assert_send_sync::<socket_serve_client::Delivery>();

    let server = Server::start(config()).await;
    let client = connect(&server.url(), ClientOptions::default()).unwrap();
    let mut events = client.events();
    connected(&mut events).await;
    let clone = client.clone();
    drop(client);
    assert!(clone.connected(), "clones share the connection");
    drop(clone);
    let end = tokio::time::timeout(WAIT, async { while events.recv().await.is_some() {} }).await;
    assert!(
        end.is_ok(),
        "the event stream ends once every handle is gone"
    );
}

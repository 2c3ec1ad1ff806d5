//! Who receives what (issue 2 acceptance): broadcasts, rooms, leaving, server-side emits,
//! session state, and no private session id in anybody else's frames.

use serde_json::{json, Value};
use socket_serve_test_support::{
    EventStream, Frame, RawClient, Session, TestServer, DEFAULT_WAIT as WAIT,
};

/// The events of `frames`, for assertions.
fn events(frames: &[Frame]) -> Vec<&str> {
    frames.iter().filter_map(Frame::event).collect()
}

async fn listening(client: &RawClient, n: usize) -> Vec<(Session, EventStream)> {
    let mut out = Vec::new();
    for _ in 0..n {
        let (session, mut stream) = client.connect_and_listen().await;
        stream.wait_for_event("welcome", WAIT).await;
        out.push((session, stream));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_reaches_every_session_but_the_sender() {
    let server = TestServer::chat().await;
    let client = server.client();
    let mut clients = listening(&client, 3).await;
    let sender = clients[0].0.clone();

    let answer = client
        .emit(&sender, "chat", json!({"text": "hello all"}))
        .await;
    assert_eq!(answer["ack"], json!({"ok": true}));

    for (session, stream) in clients.iter_mut().skip(1) {
        let chat = stream.next_message(WAIT).await;
        assert_eq!(chat.event(), Some("chat"), "{session:?}");
        assert_eq!(
            chat.payload(),
            &json!({"from": sender.id, "text": "hello all"})
        );
        assert_eq!(chat.envelope["from"], json!(sender.id));
    }
    let (session, stream) = &mut clients[0];
    let before = client.flush(session, stream).await;
    assert!(
        before.is_empty(),
        "the sender got its own broadcast: {before:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn io_emit_reaches_every_session() {
    let server = TestServer::chat().await;
    let client = server.client();
    let mut clients = listening(&client, 3).await;
    server
        .io()
        .emit("announce", &json!({"v": 1}))
        .await
        .unwrap();
    for (_, stream) in clients.iter_mut() {
        let frame = stream.next_message(WAIT).await;
        assert_eq!(frame.event(), Some("announce"));
        assert_eq!(frame.payload(), &json!({"v": 1}));
        assert!(frame.envelope.get("from").is_none(), "{frame:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_message_reaches_members_but_not_the_sender_nor_others() {
    let server = TestServer::chat().await;
    let client = server.client();
    let mut clients = listening(&client, 4).await;
    for (session, _) in &clients[..3] {
        let ack = client.emit(session, "join", json!({"room": "lobby"})).await;
        assert_eq!(ack["ack"], json!({"ok": true, "room": "lobby"}));
    }
    let sender = clients[0].0.clone();
    client
        .emit(&sender, "say", json!({"room": "lobby", "text": "psst"}))
        .await;

    for (_, stream) in clients[1..3].iter_mut() {
        let say = stream.next_message(WAIT).await;
        assert_eq!(say.event(), Some("say"));
        assert_eq!(
            say.payload(),
            &json!({"from": sender.id, "room": "lobby", "text": "psst"})
        );
        assert_eq!(say.envelope["room"], "lobby");
        assert_eq!(say.envelope["from"], json!(sender.id));
    }
    for i in [0, 3] {
        let (session, stream) = &mut clients[i];
        let before = client.flush(session, stream).await;
        assert!(before.is_empty(), "client {i} got {:?}", events(&before));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn io_to_room_reaches_every_member() {
    let server = TestServer::chat().await;
    let client = server.client();
    let mut clients = listening(&client, 3).await;
    for (session, _) in &clients[..2] {
        client.emit(session, "join", json!({"room": "r"})).await;
    }
    server.io().to("r").emit("tick", &1).await.unwrap();
    for (_, stream) in clients[..2].iter_mut() {
        let tick = stream.next_message(WAIT).await;
        assert_eq!((tick.event(), tick.payload()), (Some("tick"), &json!(1)));
        assert_eq!(tick.envelope["room"], "r");
    }
    let (session, stream) = &mut clients[2];
    assert!(client.flush(session, stream).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leave_stops_room_delivery() {
    let server = TestServer::chat().await;
    let client = server.client();
    let mut clients = listening(&client, 2).await;
    let speaker = clients[0].0.clone();
    let (listener, stream) = &mut clients[1];
    client.emit(&speaker, "join", json!({"room": "r"})).await;
    client.emit(listener, "join", json!({"room": "r"})).await;
    client
        .emit(&speaker, "say", json!({"room": "r", "text": "one"}))
        .await;
    assert_eq!(stream.next_message(WAIT).await.payload()["text"], "one");

    let ack = client.emit(listener, "leave", json!({"room": "r"})).await;
    assert_eq!(ack["ack"], json!({"ok": true, "room": "r"}));
    assert_eq!(
        server.io().room_members("r").await.unwrap(),
        vec![speaker.id.clone()]
    );
    client
        .emit(&speaker, "say", json!({"room": "r", "text": "two"}))
        .await;
    let before = client.flush(listener, stream).await;
    assert!(before.is_empty(), "delivered after leave: {before:?}");

    // Joining again resumes delivery (of what comes after the join only).
    client.emit(listener, "join", json!({"room": "r"})).await;
    client
        .emit(&speaker, "say", json!({"room": "r", "text": "three"}))
        .await;
    assert_eq!(stream.next_message(WAIT).await.payload()["text"], "three");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_is_visible_in_room_members_and_is_idempotent() {
    let server = TestServer::chat().await;
    let client = server.client();
    let alice = client.connect().await;
    client.emit(&alice, "join", json!({"room": "r"})).await;
    client.emit(&alice, "join", json!({"room": "r"})).await;
    assert_eq!(
        server.io().room_members("r").await.unwrap(),
        vec![alice.id.clone()]
    );
    assert!(server.io().room_members("empty").await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_state_is_kept_per_session() {
    let server = TestServer::chat().await;
    let client = server.client();
    let (alice, mut stream) = client.connect_and_listen().await;
    let bob = client.connect().await;
    client
        .emit(
            &alice,
            "remember",
            json!({"key": "color", "value": {"name": "teal"}}),
        )
        .await;
    let ack = client.emit(&alice, "recall", json!({"key": "color"})).await;
    assert_eq!(
        ack["ack"],
        json!({"key": "color", "value": {"name": "teal"}})
    );
    let recall = stream.wait_for_event("recall", WAIT).await;
    assert_eq!(recall.payload()["value"], json!({"name": "teal"}));
    let ack = client.emit(&bob, "recall", json!({"key": "color"})).await;
    assert_eq!(
        ack["ack"]["value"],
        Value::Null,
        "state leaked across sessions"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_client_ever_receives_another_sessions_private_id() {
    let server = TestServer::chat().await;
    let client = server.client();
    let mut clients = listening(&client, 4).await;
    let sessions: Vec<Session> = clients.iter().map(|(s, _)| s.clone()).collect();
    let mut answers: Vec<Vec<String>> = vec![Vec::new(); sessions.len()];

    // Every kind of traffic: broadcasts, rooms, echoes (with ids as payloads), state, leave.
    for (i, s) in sessions.iter().enumerate() {
        let room = if i % 2 == 0 { "even" } else { "odd" };
        for (event, data) in [
            ("join", json!({"room": room})),
            ("join", json!({"room": "all"})),
            ("chat", json!({"text": format!("hi from {i}")})),
            ("say", json!({"room": room, "text": "room talk"})),
            ("say", json!({"room": "all", "text": "everyone's room"})),
            ("echo", json!({"me": s.id})),
            ("remember", json!({"key": "k", "value": i})),
            ("recall", json!({"key": "k"})),
            ("leave", json!({"room": "all"})),
        ] {
            let answer = client
                .post_message(&s.session_id, event, data, Some(&client.new_message_id()))
                .await;
            answer.ok();
            answers[i].push(answer.body);
        }
        let poll = client.poll_answer(&s.session_id, None).await;
        answers[i].push(poll.ok().to_string());
    }
    server.io().emit("announce", &json!("bye")).await.unwrap();
    for (session, stream) in clients.iter_mut() {
        stream.wait_for_event("announce", WAIT).await;
        client.flush(session, stream).await;
    }
    client.disconnect(&sessions[3].session_id).await;

    for (i, (_, stream)) in clients.iter_mut().enumerate() {
        // Every field of every frame that arrived, and every answer.
        let arrived = stream.arrived();
        let mut seen = format!("{arrived:?}");
        seen.push_str(&answers[i].join("\n"));
        let from_others = arrived
            .iter()
            .filter(|f| f.envelope["from"].is_string())
            .count();
        assert!(
            from_others >= 3,
            "client {i} heard too little to prove anything"
        );
        for (j, other) in sessions.iter().enumerate() {
            if i != j {
                assert!(
                    !seen.contains(&other.session_id),
                    "client {i} received client {j}'s private session id"
                );
            }
        }
        assert!(
            !seen.contains("sessionId"),
            "a frame of client {i} has a sessionId key"
        );
    }
}

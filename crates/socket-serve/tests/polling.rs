//! Long-polling (PROTOCOL.md section 2): the 0.6.0 drain without a cursor, and the v1
//! long-poll with one.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use socket_serve::protocol::{PollResponse, PolledMessage};
use socket_serve_test_support::{Cursor, TestServer};

/// The messages of a poll answer read whole by the HTTP tool.
fn messages(body: &Value) -> Vec<Value> {
    body["messages"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("no messages in {body}"))
}

/// The payloads of a poll's messages.
fn payloads(answer: &PollResponse) -> Vec<Value> {
    answer
        .messages
        .iter()
        .map(|m| m.envelope.data.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_without_cursor_gets_direct_broadcast_and_room_messages() {
    let server = TestServer::chat().await;
    let client = server.client();
    let alice = client.connect().await;
    let bob = client.connect().await;
    client.emit(&alice, "join", json!({"room": "lobby"})).await;
    client.emit(&bob, "join", json!({"room": "lobby"})).await;

    client.emit(&alice, "echo", json!("direct")).await;
    client.emit(&bob, "chat", json!({"text": "to all"})).await;
    client
        .emit(&bob, "say", json!({"room": "lobby", "text": "to the room"}))
        .await;
    server
        .io()
        .emit("announce", &json!("from the server"))
        .await
        .unwrap();

    // Through the HTTP tool, to see the answer's bytes and headers.
    let answer = client.poll_answer(&alice.session_id, None).await;
    let got = messages(answer.ok());
    let events: Vec<&str> = got.iter().map(|m| m["event"].as_str().unwrap()).collect();
    assert_eq!(
        events,
        ["welcome", "echo", "chat", "say", "announce"],
        "{answer}"
    );
    assert_eq!(got[2]["data"], json!({"from": bob.id, "text": "to all"}));
    assert_eq!(got[2]["from"], json!(bob.id));
    assert_eq!(got[3]["room"], json!("lobby"));
    assert!(
        got.iter().all(|m| m.get("cursor").is_none()),
        "0.6.0 shape: {answer}"
    );
    assert_eq!(answer.header("cache-control"), Some("no-store"));

    // Drained: the next poll starts after them.
    assert_eq!(
        client.poll(&alice.session_id).await.messages,
        Vec::<PolledMessage>::new()
    );
    client.emit(&alice, "echo", json!("later")).await;
    let later = client.poll(&alice.session_id).await.messages;
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].envelope.data, json!("later"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_drains_never_get_the_same_message() {
    let server = TestServer::chat().await;
    let client = server.client();
    let alice = client.connect().await;
    client.poll(&alice.session_id).await; // the welcome

    const ROUNDS: u64 = 10;
    const PER_ROUND: u64 = 5;
    let mut seen: HashMap<u64, usize> = HashMap::new();
    for round in 0..ROUNDS {
        for i in 0..PER_ROUND {
            client
                .emit(&alice, "echo", json!(round * PER_ROUND + i))
                .await;
        }
        // Two polls at once, while more messages are stored.
        let sender = async {
            client.emit(&alice, "echo", json!(1000 + round)).await;
        };
        let (a, b, ()) = tokio::join!(
            client.poll(&alice.session_id),
            client.poll(&alice.session_id),
            sender
        );
        for answer in [a, b] {
            for data in payloads(&answer) {
                *seen.entry(data.as_u64().unwrap()).or_default() += 1;
            }
        }
    }
    for data in payloads(&client.poll(&alice.session_id).await) {
        *seen.entry(data.as_u64().unwrap()).or_default() += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "messages delivered twice: {twice:?}");
    assert_eq!(
        seen.len() as u64,
        ROUNDS * PER_ROUND + ROUNDS,
        "messages lost"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_poll_with_a_cursor_answers_at_once_when_messages_are_there() {
    let server = TestServer::chat().await;
    let client = server.client();
    let alice = client.connect().await;
    let start = alice.cursor.expect("a start cursor").to_string();

    let answer = client.long_poll(&alice.session_id, &start).await;
    let got = &answer.messages;
    assert_eq!(got.len(), 1, "{answer:?}");
    assert_eq!(got[0].envelope.event, "welcome");
    let message_cursor: Cursor = got[0].cursor.expect("a cursor");
    let position: Cursor = answer.cursor.expect("a position");
    assert!(position >= message_cursor, "{answer:?}");
    assert_eq!(answer.recovered, Some(true));

    // It does not drain: the same cursor gets the same messages, and so does a 0.6.0 poll.
    let again = client.long_poll(&alice.session_id, &start).await;
    assert_eq!(&again.messages, got);
    assert_eq!(client.poll(&alice.session_id).await.messages.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_poll_with_a_cursor_waits_and_answers_when_a_message_arrives() {
    let server = TestServer::builder()
        .config(|c| c.poll_timeout = Duration::from_secs(20))
        .start()
        .await;
    let client = server.client();
    let alice = client.connect().await;
    let bob = client.connect().await;
    let start = alice.cursor.unwrap().to_string();
    let position = client
        .long_poll(&alice.session_id, &start)
        .await
        .cursor
        .unwrap()
        .to_string();

    let started = Instant::now();
    let mut poll = std::pin::pin!(client.long_poll(&alice.session_id, &position));
    // Nothing for Alice yet: the poll waits (this checks elapsed time on purpose).
    assert!(
        tokio::time::timeout(Duration::from_millis(300), &mut poll)
            .await
            .is_err(),
        "the long-poll answered with nothing to say"
    );
    client.emit(&bob, "chat", json!({"text": "wake up"})).await;
    let answer = poll.await;
    let got = &answer.messages;
    assert_eq!(got.len(), 1, "{answer:?}");
    assert_eq!(got[0].envelope.event, "chat");
    assert_eq!(got[0].envelope.data["text"], "wake up");
    assert!(got[0].cursor.is_some());
    assert_eq!(answer.recovered, Some(true));
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "answered at the timeout, not at the message"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_poll_answers_empty_after_poll_timeout() {
    let server = TestServer::builder()
        .config(|c| c.poll_timeout = Duration::from_millis(400))
        .start()
        .await;
    let client = server.client();
    let alice = client.connect().await;
    let start = alice.cursor.unwrap().to_string();
    let position = client
        .long_poll(&alice.session_id, &start)
        .await
        .cursor
        .unwrap()
        .to_string();

    let started = Instant::now();
    let answer = client.long_poll(&alice.session_id, &position).await;
    let elapsed = started.elapsed();
    assert!(answer.messages.is_empty(), "{answer:?}");
    assert!(answer.cursor.is_some(), "{answer:?}");
    assert_eq!(answer.recovered, Some(true));
    assert!(
        elapsed >= Duration::from_millis(390),
        "answered after {elapsed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_poll_gets_room_messages_after_a_join() {
    let server = TestServer::builder()
        .config(|c| c.poll_timeout = Duration::from_millis(400))
        .start()
        .await;
    let client = server.client();
    let alice = client.connect().await;
    let bob = client.connect().await;
    client.emit(&alice, "join", json!({"room": "r"})).await;
    client
        .emit(&bob, "say", json!({"room": "r", "text": "hi"}))
        .await;
    let answer = client
        .long_poll(&alice.session_id, &alice.cursor.unwrap().to_string())
        .await;
    let events: Vec<&str> = answer
        .messages
        .iter()
        .map(|m| m.envelope.event.as_str())
        .collect();
    assert_eq!(events, ["welcome", "say"], "{answer:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_of_an_unknown_session_answers_404_and_a_bad_cursor_400() {
    let server = TestServer::chat().await;
    let client = server.client();
    client
        .poll_answer("00112233445566778899aabbccddeeff", None)
        .await
        .error(404, "unknown_session");
    client
        .poll_answer("00112233445566778899aabbccddeeff", Some("1-0"))
        .await
        .error(404, "unknown_session");
    let alice = client.connect().await;
    client
        .poll_answer(&alice.session_id, Some("not-a-cursor"))
        .await
        .error(400, "invalid_cursor");
}

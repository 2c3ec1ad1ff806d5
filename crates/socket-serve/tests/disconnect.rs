//! `POST B/disconnect` (PROTOCOL.md section 2) and server-side disconnects: `on_disconnect`
//! once, rooms and state gone, streams ended with a `__disconnect` frame.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};
use socket_serve_test_support::reqwest::Method;
use socket_serve_test_support::{chat, Resume, TestServer, DEFAULT_WAIT as WAIT};

/// The chat app plus an `on_disconnect` that counts its runs and a `kick` handler that
/// disconnects the sender from the server.
async fn counting_server() -> (TestServer, Arc<AtomicUsize>) {
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = runs.clone();
    let server = TestServer::builder()
        .handlers(move |io| {
            chat::register(io);
            io.on_disconnect(move |_socket| {
                let runs = counted.clone();
                async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                }
            });
            io.on_message("kick", |socket, _: Value| async move {
                socket.disconnect().await
            });
        })
        .start()
        .await;
    (server, runs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_runs_on_disconnect_once() {
    let (server, runs) = counting_server().await;
    let client = server.client();
    let alice = client.connect().await;

    // Through the HTTP tool, to see the answer's body.
    assert_eq!(
        client
            .post_json("disconnect", &json!({"sessionId": alice.session_id}))
            .await
            .ok(),
        &json!({"success": true})
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    client.disconnect(&alice.session_id).await;
    assert_eq!(runs.load(Ordering::SeqCst), 1, "on_disconnect ran twice");

    // Concurrent disconnects of one session: still once.
    let bob = client.connect().await;
    // Each call asserts its own success.
    futures_util::future::join_all((0..4).map(|_| client.disconnect(&bob.session_id))).await;
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnected_session_is_unknown_afterwards_but_its_streams_learn_why() {
    let server = TestServer::chat().await;
    let client = server.client();
    let alice = client.connect().await;
    client.disconnect(&alice.session_id).await;

    client
        .post_message(&alice.session_id, "echo", json!(1), Some("m-1"))
        .await
        .error(404, "unknown_session");
    // A client between two streams when its session ended gets the end it missed, with
    // its reason, for the recovery window: not a 404 that reads as a lost session.
    let frame = r#"{"data":{"reason":"client disconnect"},"event":"__disconnect"}"#;
    let stream = client.stream_answer(&alice.session_id, Resume::Start).await;
    assert_eq!(stream.status, 200, "{stream}");
    assert_eq!(stream.body, format!("data: {frame}\n\n"));
    for cursor in [None, Some("1-0")] {
        let poll = client.poll_answer(&alice.session_id, cursor).await;
        assert_eq!(
            poll.ok()["messages"],
            json!([serde_json::from_str::<serde_json::Value>(frame).unwrap()])
        );
    }
    // Once the window is over, or for a session never seen, it is a 404.
    client
        .stream_answer(&"0".repeat(32), Resume::Start)
        .await
        .error(404, "unknown_session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ended_sessions_reason_is_forgotten_after_the_recovery_window() {
    let window = std::time::Duration::from_millis(300);
    let server = TestServer::builder()
        .config(move |c| c.recovery_window = window)
        .start()
        .await;
    let client = server.client();
    let alice = client.connect().await;
    client.disconnect(&alice.session_id).await;
    assert_eq!(
        client
            .stream_answer(&alice.session_id, Resume::Start)
            .await
            .status,
        200
    );
    // The window is the thing tested: let it pass on the real clock.
    tokio::time::sleep(window * 2).await;
    client
        .stream_answer(&alice.session_id, Resume::Start)
        .await
        .error(404, "unknown_session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_removes_room_memberships() {
    let server = TestServer::chat().await;
    let client = server.client();
    let alice = client.connect().await;
    let bob = client.connect().await;
    client.emit(&alice, "join", json!({"room": "lobby"})).await;
    client.emit(&alice, "join", json!({"room": "den"})).await;
    client.emit(&bob, "join", json!({"room": "lobby"})).await;
    let mut members = server.io().room_members("lobby").await.unwrap();
    members.sort();
    let mut expected = vec![alice.id.clone(), bob.id.clone()];
    expected.sort();
    assert_eq!(members, expected);

    client.disconnect(&alice.session_id).await;

    assert_eq!(
        server.io().room_members("lobby").await.unwrap(),
        vec![bob.id]
    );
    assert!(server.io().room_members("den").await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_ends_every_open_stream_with_a_disconnect_frame() {
    let server = TestServer::chat().await;
    let client = server.client();
    let alice = client.connect().await;
    let mut first = client.open_stream(&alice.session_id).await;
    let mut second = client.open_stream(&alice.session_id).await;
    for stream in [&mut first, &mut second] {
        stream.expect_connected(WAIT).await;
        stream.wait_for_event("welcome", WAIT).await;
    }

    client.disconnect(&alice.session_id).await;

    for stream in [&mut first, &mut second] {
        let rest = stream.expect_end(WAIT).await;
        let last = rest.last().expect("a __disconnect frame before the end");
        assert_eq!(last.event(), Some("__disconnect"), "{rest:?}");
        assert_eq!(last.payload(), &json!({"reason": "client disconnect"}));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_disconnect_runs_on_disconnect_and_ends_the_stream() {
    let (server, runs) = counting_server().await;
    let client = server.client();
    let (alice, mut stream) = client.connect_and_listen().await;

    client.emit(&alice, "kick", json!(null)).await;

    let rest = stream.expect_end(WAIT).await;
    let last = rest.last().expect("a __disconnect frame");
    assert_eq!(last.event(), Some("__disconnect"), "{rest:?}");
    assert_eq!(last.payload(), &json!({"reason": "server disconnect"}));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    client
        .post_message(&alice.session_id, "echo", json!(1), None)
        .await
        .error(404, "unknown_session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_of_an_unknown_session_answers_200() {
    let (server, runs) = counting_server().await;
    let client = server.client();
    for sid in ["00112233445566778899aabbccddeeff", "whatever"] {
        assert_eq!(
            client
                .post_json("disconnect", &json!({ "sessionId": sid }))
                .await
                .ok(),
            &json!({"success": true})
        );
        client.disconnect(sid).await;
    }
    assert_eq!(runs.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_without_session_id_answers_400_missing_field() {
    let server = TestServer::chat().await;
    let client = server.client();
    for body in [json!({}), json!({"sessionId": ""})] {
        let answer = client.post_json("disconnect", &body).await;
        assert!(
            answer.error(400, "missing_field").contains("sessionId"),
            "{answer}"
        );
    }
    client
        .post("disconnect", "{oops")
        .await
        .error(400, "invalid_json");
    client
        .post("disconnect", "")
        .await
        .error(400, "invalid_json");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_with_a_wrong_method_answers_405_with_allow_header() {
    let server = TestServer::chat().await;
    let answer = server
        .client()
        .request(Method::GET, "disconnect", &[], None)
        .await;
    answer.error(405, "method_not_allowed");
    assert_eq!(answer.header("allow"), Some("POST"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_disconnect_still_sees_the_sessions_state_and_rooms() {
    let server = TestServer::builder()
        .handlers(|io| {
            chat::register(io);
            io.on_disconnect(|socket| async move {
                let name: Option<Value> = socket.get("name").await?;
                let rooms = socket.rooms().await?;
                let reason = socket.disconnect_reason().map(str::to_owned);
                let left = json!({"name": name, "rooms": rooms, "reason": reason});
                socket.broadcast("left", &left).await
            });
        })
        .start()
        .await;
    let client = server.client();
    let alice = client.connect().await;
    let (_bob, mut bob_stream) = client.connect_and_listen().await;
    client
        .emit(&alice, "remember", json!({"key": "name", "value": "Alice"}))
        .await;
    client.emit(&alice, "join", json!({"room": "lobby"})).await;

    client.disconnect(&alice.session_id).await;

    let left = bob_stream.wait_for_event("left", WAIT).await;
    assert_eq!(
        left.payload(),
        &json!({"name": "Alice", "rooms": ["lobby"], "reason": "client disconnect"})
    );
    assert_eq!(left.envelope["from"], json!(alice.id));
}

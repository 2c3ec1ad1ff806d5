//! `POST B/message` (PROTOCOL.md section 2): handlers, acks, typed payloads, failures and
//! every error a client can cause.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};
use socket_serve::{Ack, HandlerError};
use socket_serve_test_support::chat;
use socket_serve_test_support::reqwest::Method;
use socket_serve_test_support::{TestServer, DEFAULT_WAIT as WAIT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_runs_the_handler_and_answers_success() {
    let server = TestServer::chat().await;
    let client = server.client();
    let (alice, mut stream) = client.connect_and_listen().await;
    stream.wait_for_event("welcome", WAIT).await;

    let answer = client
        .post_message(
            &alice.session_id,
            "remember",
            json!({"key": "k", "value": 7}),
            Some("m-1"),
        )
        .await;
    assert_eq!(answer.ok()["success"], json!(true));
    assert_eq!(answer.header("content-type"), Some("application/json"));
    client
        .post_message(&alice.session_id, "recall", json!({"key": "k"}), None)
        .await
        .ok();
    let recall = stream.wait_for_event("recall", WAIT).await;
    assert_eq!(recall.payload(), &json!({"key": "k", "value": 7}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_answer_carries_the_handlers_ack() {
    let server = TestServer::chat().await;
    let client = server.client();
    let alice = client.connect().await;
    let answer = client
        .post_message(&alice.session_id, "echo", json!({"n": [1, 2]}), Some("m-1"))
        .await;
    assert_eq!(answer.ok(), &json!({"success": true, "ack": {"n": [1, 2]}}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_without_a_handler_is_accepted() {
    let server = TestServer::chat().await;
    let client = server.client();
    let alice = client.connect().await;
    let answer = client
        .post_message(&alice.session_id, "nobody-listens", json!(1), None)
        .await;
    assert_eq!(answer.ok(), &json!({"success": true}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_data_defaults_to_null() {
    let server = TestServer::chat().await;
    let client = server.client();
    let alice = client.connect().await;
    let body = json!({"sessionId": alice.session_id, "event": "echo"});
    let answer = client.post_json("message", &body).await;
    assert_eq!(answer.ok(), &json!({"success": true, "ack": null}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_without_session_id_answers_400_missing_field() {
    let server = TestServer::chat().await;
    let client = server.client();
    for body in [
        json!({"event": "echo", "data": 1}),
        json!({"sessionId": "", "event": "echo", "data": 1}),
        json!({"sessionId": null, "event": "echo"}),
    ] {
        let answer = client.post_json("message", &body).await;
        let message = answer.error(400, "missing_field");
        assert!(message.contains("sessionId"), "{body}: {answer}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_without_event_answers_400_missing_field() {
    let server = TestServer::chat().await;
    let client = server.client();
    let alice = client.connect().await;
    for body in [
        json!({"sessionId": alice.session_id, "data": 1}),
        json!({"sessionId": alice.session_id, "event": "", "data": 1}),
    ] {
        let answer = client.post_json("message", &body).await;
        let message = answer.error(400, "missing_field");
        assert!(message.contains("event"), "{body}: {answer}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_with_a_bad_event_name_answers_400_invalid_event() {
    let server = TestServer::chat().await;
    let client = server.client();
    let alice = client.connect().await;
    let too_long = "e".repeat(129);
    for event in [
        "connected",
        "__ack",
        "__disconnect",
        "bad\u{7}name",
        "tab\there",
        &too_long,
    ] {
        client
            .post_message(&alice.session_id, event, json!(1), None)
            .await
            .error(400, "invalid_event");
    }
    // The longest allowed name is fine.
    client
        .post_message(&alice.session_id, &"e".repeat(128), json!(1), None)
        .await
        .ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_with_a_bad_message_id_answers_400_invalid_message_id() {
    let server = TestServer::chat().await;
    let client = server.client();
    let alice = client.connect().await;
    for id in [
        json!(""),
        json!("m".repeat(129)),
        json!({"a": 1}),
        json!([1]),
    ] {
        let body = json!({"sessionId": alice.session_id, "event": "echo", "messageId": id});
        client
            .post_json("message", &body)
            .await
            .error(400, "invalid_message_id");
    }
    let body =
        json!({"sessionId": alice.session_id, "event": "echo", "messageId": "m".repeat(128)});
    client.post_json("message", &body).await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_for_an_unknown_session_answers_404_unknown_session() {
    let server = TestServer::chat().await;
    let client = server.client();
    for sid in [
        "00112233445566778899aabbccddeeff",
        "not-a-session-id",
        "ABCDEF",
    ] {
        client
            .post_message(sid, "echo", json!(1), Some("m-1"))
            .await
            .error(404, "unknown_session");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_with_bad_json_answers_400_invalid_json() {
    let server = TestServer::chat().await;
    let client = server.client();
    client
        .post("message", "{nope")
        .await
        .error(400, "invalid_json");
    client.post("message", "").await.error(400, "invalid_json");
    client
        .post("message", "[1, 2]")
        .await
        .error(400, "invalid_json");
    client
        .post("message", r#"{"sessionId": 5, "event": "echo"}"#)
        .await
        .error(400, "invalid_json");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_with_a_wrong_method_answers_405_with_allow_header() {
    let server = TestServer::chat().await;
    let answer = server
        .client()
        .request(Method::GET, "message", &[], None)
        .await;
    answer.error(405, "method_not_allowed");
    assert_eq!(answer.header("allow"), Some("POST"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_body_over_max_body_size_answers_413() {
    let server = TestServer::builder()
        .config(|c| c.max_body_size = 512)
        .start()
        .await;
    let client = server.client();
    let alice = client.connect().await;
    client
        .post_message(&alice.session_id, "echo", json!("x".repeat(2000)), None)
        .await
        .error(413, "payload_too_large");
    client
        .post_message(&alice.session_id, "echo", json!("x".repeat(100)), None)
        .await
        .ok();
}

/// A server with an `add` handler that takes `(i64, i64)` and counts its runs.
async fn adding_server() -> (TestServer, Arc<AtomicUsize>) {
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = runs.clone();
    let server = TestServer::builder()
        .handlers(move |io| {
            chat::register(io);
            io.on_message("add", move |_socket, (a, b): (i64, i64)| {
                let runs = counted.clone();
                async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    Ok::<_, socket_serve::Error>(Ack(a + b))
                }
            });
        })
        .start()
        .await;
    (server, runs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_payload_mismatch_answers_400_invalid_payload_and_the_handler_does_not_run() {
    let (server, runs) = adding_server().await;
    let client = server.client();
    let alice = client.connect().await;

    for data in [json!("two"), json!([1]), json!({"a": 1}), Value::Null] {
        let answer = client
            .post_message(
                &alice.session_id,
                "add",
                data.clone(),
                Some(&client.new_message_id()),
            )
            .await;
        let message = answer.error(400, "invalid_payload");
        assert!(
            message.contains("add"),
            "the message names the event: {answer}"
        );
    }
    assert_eq!(
        runs.load(Ordering::SeqCst),
        0,
        "the handler ran on a bad payload"
    );

    let answer = client
        .post_message(&alice.session_id, "add", json!([2, 3]), Some("ok-1"))
        .await;
    assert_eq!(answer.ok()["ack"], json!(5));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_error_answers_500_and_other_sessions_are_unaffected() {
    let server = TestServer::builder()
        .handlers(|io| {
            chat::register(io);
            io.on_message("boom", |socket, _: Value| async move {
                socket.emit("before-boom", &1).await?;
                Err::<(), _>(HandlerError::from(std::io::Error::other("disk on fire")))
            });
        })
        .start()
        .await;
    let client = server.client();
    let (alice, mut alice_stream) = client.connect_and_listen().await;
    let (bob, mut bob_stream) = client.connect_and_listen().await;

    let answer = client
        .post_message(&alice.session_id, "boom", json!(null), Some("b-1"))
        .await;
    let message = answer.error(500, "handler_error");
    assert!(
        !message.contains("disk on fire"),
        "details stay in the log: {answer}"
    );

    // Bob's session and stream carry on.
    client
        .emit(&bob, "chat", json!({"text": "still here"}))
        .await;
    let chat = alice_stream.wait_for_event("chat", WAIT).await;
    assert_eq!(chat.payload()["text"], "still here");
    let before = client.flush(&bob, &mut bob_stream).await;
    assert!(
        before.iter().all(|f| f.event() == Some("welcome")),
        "bob got something of alice's failure: {before:?}"
    );
    // And so does Alice's.
    client.emit(&alice, "echo", json!("after")).await;
    alice_stream.wait_for_event("echo", WAIT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requires_ack_puts_an_ack_frame_on_the_stream() {
    let server = TestServer::builder()
        .handlers(|io| {
            chat::register(io);
            io.on_message("silent", |_socket, _: Value| async move {});
        })
        .start()
        .await;
    let client = server.client();
    let (alice, mut stream) = client.connect_and_listen().await;

    // A 0.6.0 client's emit with a callback.
    let body = json!({"sessionId": alice.session_id, "event": "echo", "data": {"x": 1},
                      "messageId": "legacy-1", "requiresAck": true});
    let answer = client.post_json("message", &body).await;
    assert_eq!(answer.ok()["ack"], json!({"x": 1}));
    let ack = stream.wait_for_event("__ack", WAIT).await;
    assert_eq!(ack.envelope["messageId"], "legacy-1");
    assert_eq!(ack.payload(), &json!({"x": 1}));
    assert!(ack.envelope["timestamp"].is_u64(), "{ack:?}");
    assert!(ack.cursor().is_some(), "{ack:?}");

    // A handler without a reply acks null.
    let body = json!({"sessionId": alice.session_id, "event": "silent", "data": 1,
                      "messageId": "legacy-2", "requiresAck": true});
    client.post_json("message", &body).await.ok();
    let ack = stream.wait_for_event("__ack", WAIT).await;
    assert_eq!(ack.envelope["messageId"], "legacy-2");
    assert_eq!(ack.payload(), &Value::Null);

    // Without requiresAck (or without a messageId) there is no ack frame.
    let body = json!({"sessionId": alice.session_id, "event": "silent", "messageId": "v1-1"});
    client.post_json("message", &body).await.ok();
    let body = json!({"sessionId": alice.session_id, "event": "silent", "requiresAck": true});
    client.post_json("message", &body).await.ok();
    let before = client.flush(&alice, &mut stream).await;
    assert!(before.is_empty(), "unexpected frames: {before:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numeric_message_id_of_old_clients_is_accepted() {
    let server = TestServer::chat().await;
    let client = server.client();
    let alice = client.connect().await;
    let body = json!({"sessionId": alice.session_id, "event": "echo", "data": 1, "messageId": 17});
    assert_eq!(
        client.post_json("message", &body).await.ok()["ack"],
        json!(1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_that_panics_answers_500_and_the_server_goes_on() {
    let server = TestServer::builder()
        .handlers(|io| {
            chat::register(io);
            io.on_message("boom", |_socket, _data: serde_json::Value| async move {
                if true {
                    panic!("handler bug");
                }
            });
        })
        .start()
        .await;
    let client = server.client();
    let alice = client.connect().await;
    let answer = client
        .post_message(&alice.session_id, "boom", json!(null), Some("b-1"))
        .await;
    answer.error(500, "handler_error");
    let echo = client.emit(&alice, "echo", json!("still here")).await;
    assert_eq!(echo["ack"], json!("still here"));
}

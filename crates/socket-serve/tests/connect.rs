//! `POST B/connect` (PROTOCOL.md section 2): new sessions, `auth`, `on_connect` and every
//! error a client can cause.

use serde_json::{json, Value};
use socket_serve::HandlerError;
use socket_serve_test_support::reqwest::Method;
use socket_serve_test_support::{TestServer, DEFAULT_WAIT as WAIT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_with_empty_body_answers_session_id_public_id_and_cursor() {
    let server = TestServer::chat().await;
    let client = server.client();

    let answer = client.post("connect", "").await;
    let body = answer.ok();
    assert_eq!(
        answer.header("content-type"),
        Some("application/json"),
        "{answer}"
    );
    let sid = body["sessionId"].as_str().expect("sessionId");
    assert_eq!(sid.len(), 32, "{answer}");
    assert!(
        sid.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
        "{answer}"
    );
    let id = body["id"].as_str().expect("public id");
    assert_eq!(
        id.len(),
        16,
        "public id of 16 URL-safe characters: {answer}"
    );
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{answer}"
    );
    let cursor = body["cursor"].as_str().expect("cursor");
    cursor
        .parse::<socket_serve::protocol::Cursor>()
        .expect("a cursor");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_connect_gets_a_new_session_and_public_id() {
    let server = TestServer::chat().await;
    let client = server.client();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..20 {
        let s = client.connect().await;
        assert_ne!(s.session_id, s.id);
        assert!(seen.insert(s.session_id), "a session id came twice");
        assert!(seen.insert(s.id), "a public id came twice");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_hands_auth_to_on_connect() {
    let server = TestServer::builder()
        .handlers(|io| {
            io.on_connect(|socket| async move {
                let auth = socket.auth().cloned().unwrap_or(Value::Null);
                socket.emit("auth", &auth).await
            });
        })
        .start()
        .await;
    let client = server.client();

    let session = client.connect_with_auth(json!({"token": "t-1"})).await;
    let mut stream = client.open_stream(&session.session_id).await;
    stream.expect_connected(WAIT).await;
    let auth = stream.next_message(WAIT).await;
    assert_eq!(auth.event(), Some("auth"));
    assert_eq!(auth.payload(), &json!({"token": "t-1"}));

    let session = client.connect().await;
    let mut stream = client.open_stream(&session.session_id).await;
    stream.expect_connected(WAIT).await;
    assert_eq!(stream.next_message(WAIT).await.payload(), &Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_with_a_json_body_without_auth_is_accepted() {
    let server = TestServer::chat().await;
    server.client().post("connect", "{}").await.ok();
    server.client().post("connect", "  \n").await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_with_bad_json_answers_400_invalid_json() {
    let server = TestServer::chat().await;
    let client = server.client();
    client
        .post("connect", "{nope")
        .await
        .error(400, "invalid_json");
    client
        .post("connect", "\"a string\"")
        .await
        .error(400, "invalid_json");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_with_a_wrong_method_answers_405_with_allow_header() {
    let server = TestServer::chat().await;
    let client = server.client();
    for method in [Method::GET, Method::PUT, Method::DELETE] {
        let answer = client.request(method.clone(), "connect", &[], None).await;
        answer.error(405, "method_not_allowed");
        assert_eq!(answer.header("allow"), Some("POST"), "{method}: {answer}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_body_over_max_body_size_answers_413() {
    let server = TestServer::builder()
        .config(|c| c.max_body_size = 256)
        .start()
        .await;
    let client = server.client();
    let big = json!({"auth": "x".repeat(1000)}).to_string();
    client
        .post("connect", big)
        .await
        .error(413, "payload_too_large");
    // Just under the limit is fine.
    let small = json!({"auth": "x".repeat(200)}).to_string();
    assert!(small.len() <= 256);
    client.post("connect", small).await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_connect_rejection_answers_403_connect_rejected() {
    let server = TestServer::builder()
        .handlers(|io| {
            io.on_connect(|socket| async move {
                match socket.auth() {
                    Some(auth) if auth["token"] == "good" => Ok(()),
                    _ => Err(HandlerError::reject("a valid token is required")),
                }
            });
        })
        .start()
        .await;
    let client = server.client();

    let answer = client
        .post_json("connect", &json!({"auth": {"token": "bad"}}))
        .await;
    let message = answer.error(403, "connect_rejected");
    assert_eq!(message, "a valid token is required");
    assert!(answer.json.get("sessionId").is_none(), "{answer}");
    client.connect_with_auth(json!({"token": "good"})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_connect_failure_answers_500_handler_error_without_details() {
    let server = TestServer::builder()
        .handlers(|io| {
            io.on_connect(|_socket| async move {
                let _n: u32 = "secret detail".parse()?;
                Ok::<_, HandlerError>(())
            });
        })
        .start()
        .await;
    let answer = server.client().post("connect", "").await;
    let message = answer.error(500, "handler_error");
    assert!(!message.contains("secret detail"), "{answer}");
}

//! `GET B/sse` and `GET B?sessionId=` (PROTOCOL.md sections 2 and 3): headers, the
//! `connected` frame, heartbeats, position frames, the end of a stream, and errors.

use std::time::Duration;

use serde_json::json;
use socket_serve_test_support::reqwest::Method;
use socket_serve_test_support::{Cursor, Resume, TestServer, DEFAULT_WAIT as WAIT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_answers_event_stream_headers() {
    let server = TestServer::chat().await;
    let client = server.client();
    let alice = client.connect().await;
    let stream = client.open_stream(&alice.session_id).await;
    assert_eq!(stream.status, 200);
    assert_eq!(stream.header("content-type"), Some("text/event-stream"));
    assert_eq!(
        stream.header("cache-control"),
        Some("no-cache, no-transform")
    );
    assert_eq!(stream.header("x-accel-buffering"), Some("no"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_opens_with_a_connected_frame_at_the_sessions_start() {
    let server = TestServer::chat().await;
    let client = server.client();
    let alice = client.connect().await;
    let mut stream = client.open_stream(&alice.session_id).await;

    let connected = stream.expect_connected(WAIT).await;
    assert_eq!(
        connected.payload(),
        &json!({"id": alice.id, "recovered": true})
    );
    assert_eq!(
        connected.cursor(),
        alice.cursor,
        "starts at the connect cursor"
    );

    // Then every frame: id + one line of envelope, cursors increasing.
    let welcome = stream.next_frame(WAIT).await;
    assert_eq!(welcome.event(), Some("welcome"));
    assert_eq!(welcome.payload(), &json!({"id": alice.id}));
    assert!(welcome.envelope["timestamp"].is_u64(), "{welcome:?}");
    assert!(welcome.cursor() > connected.cursor());
    // The bytes on the wire, which the frame parser hides: read by the HTTP tool.
    drop(stream);
    let transcript = client
        .read_raw_stream(&alice.session_id, |t| t.contains("welcome"), WAIT)
        .await;
    assert!(
        transcript.starts_with("id: "),
        "frames start with their id: {transcript:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn base_path_with_a_session_id_is_a_stream() {
    // The 0.6.0 Next.js form: GET B?sessionId=..
    let server = TestServer::chat().await;
    let client = server.client();
    let alice = client.connect().await;
    let mut url = client.url("");
    url.query_pairs_mut()
        .append_pair("sessionId", &alice.session_id);
    let mut stream = client
        .try_open_stream_url(url, &[])
        .await
        .expect("GET B?sessionId= opens a stream");
    stream.expect_connected(WAIT).await;
    assert_eq!(stream.next_frame(WAIT).await.event(), Some("welcome"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn base_path_without_a_session_id_answers_404_not_found() {
    let server = TestServer::chat().await;
    server.client().get("").await.error(404, "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_of_an_unknown_session_answers_404_json() {
    let server = TestServer::chat().await;
    let client = server.client();
    for sid in ["00112233445566778899aabbccddeeff", "nope"] {
        client
            .stream_answer(sid, Resume::Start)
            .await
            .error(404, "unknown_session");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_without_a_session_id_answers_400_missing_field() {
    let server = TestServer::chat().await;
    let client = server.client();
    client.get("sse").await.error(400, "missing_field");
    client
        .get("sse?sessionId=")
        .await
        .error(400, "missing_field");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_with_an_invalid_cursor_answers_400_invalid_cursor() {
    let server = TestServer::chat().await;
    let client = server.client();
    let alice = client.connect().await;
    for resume in [
        Resume::Header("yesterday".into()),
        Resume::Query("12-x".into()),
        Resume::Query("-1".into()),
    ] {
        client
            .stream_answer(&alice.session_id, resume.clone())
            .await
            .error(400, "invalid_cursor");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_with_a_wrong_method_answers_405_with_allow_header() {
    let server = TestServer::chat().await;
    let answer = server
        .client()
        .request(Method::POST, "sse", &[], Some(b"{}".to_vec()))
        .await;
    answer.error(405, "method_not_allowed");
    assert_eq!(answer.header("allow"), Some("GET, HEAD"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_comment_comes_every_heartbeat_interval() {
    let server = TestServer::builder()
        .config(|c| c.heartbeat_interval = Duration::from_millis(100))
        .start()
        .await;
    let client = server.client();
    // Comments are not frames: the bytes on the wire, read by the HTTP tool.
    let alice = client.connect().await;
    client
        .read_raw_stream(
            &alice.session_id,
            |t| t.matches(": keepalive\n\n").count() >= 3,
            WAIT,
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_moves_an_idle_clients_cursor_with_an_id_only_frame() {
    let server = TestServer::builder()
        .config(|c| c.heartbeat_interval = Duration::from_millis(100))
        .start()
        .await;
    let client = server.client();
    let (alice, mut stream) = client.connect_and_listen().await;
    let welcome = stream.wait_for_event("welcome", WAIT).await;

    // Bob's room traffic moves the store's position without a message for Alice.
    let bob = client.connect().await;
    client
        .emit(&bob, "join", json!({"room": "elsewhere"}))
        .await;
    client
        .emit(
            &bob,
            "say",
            json!({"room": "elsewhere", "text": "not for alice"}),
        )
        .await;

    let moved = stream
        .wait_for(|f| !f.is_message() && f.retry.is_none(), WAIT)
        .await;
    let position = moved.cursor().expect("an id-only frame carries a cursor");
    assert!(position > welcome.cursor().unwrap(), "{moved:?}");

    // Resuming from the moved position loses nothing that comes next.
    drop(stream);
    client.emit(&alice, "echo", json!("next")).await;
    let mut resumed = client
        .open_stream_from(&alice.session_id, Resume::Header(position.to_string()))
        .await;
    let connected = resumed.expect_connected(WAIT).await;
    assert_eq!(connected.payload()["recovered"], true);
    let next = resumed.next_message(WAIT).await;
    assert_eq!(
        (next.event(), next.payload()),
        (Some("echo"), &json!("next"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_stream_duration_ends_the_stream_with_a_retry_hint() {
    let server = TestServer::builder()
        .config(|c| c.max_stream_duration = Some(Duration::from_millis(300)))
        .start()
        .await;
    let client = server.client();
    let (alice, mut stream) = client.connect_and_listen().await;
    let rest = stream.expect_end(WAIT).await;
    let last = rest.last().expect("a retry frame before the end");
    assert!(
        last.retry.is_some(),
        "no retry: hint before the end: {rest:?}"
    );
    // The parser drops an incomplete last block: the bytes on the wire, read by the HTTP
    // tool until the server ends the stream again.
    let transcript = client
        .read_raw_stream(&alice.session_id, |_| false, WAIT)
        .await;
    assert!(transcript.contains("retry:"), "{transcript:?}");
    assert!(
        transcript.ends_with("\n\n"),
        "a complete last frame: {transcript:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_carry_cursors_in_increasing_order() {
    let server = TestServer::chat().await;
    let client = server.client();
    let (alice, mut stream) = client.connect_and_listen().await;
    for n in 0..20 {
        client.emit(&alice, "echo", json!(n)).await;
    }
    let mut last: Option<Cursor> = None;
    let mut echoes = Vec::new();
    while echoes.len() < 20 {
        let frame = stream.next_message(WAIT).await;
        let cursor = frame.cursor().expect("every message frame has an id");
        assert!(Some(cursor) > last, "cursor {cursor} after {last:?}");
        last = Some(cursor);
        if frame.event() == Some("echo") {
            echoes.push(frame.payload().clone());
        }
    }
    assert_eq!(echoes, (0..20).map(|n| json!(n)).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_ends_open_streams_with_a_retry_hint() {
    let mut server = TestServer::chat().await;
    let client = server.client();
    let (_alice, mut stream) = client.connect_and_listen().await;
    stream.wait_for_event("welcome", WAIT).await;

    server.stop().await;

    let rest = stream.expect_end(WAIT).await;
    assert_eq!(rest.last().and_then(|f| f.retry), Some(1000), "{rest:?}");
}

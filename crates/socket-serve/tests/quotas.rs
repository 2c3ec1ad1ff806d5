//! Storage quotas per session (issue 12 item 2), on the store SOCKET_SERVE_TEST_STORE
//! names (`memory`, `redis`, `redis-cluster`): state is bounded in keys and bytes (413
//! `state_too_large`, nothing written), and a handler answer larger than
//! `max_kept_answer` is answered once but not kept, so a retry of its `messageId` gets
//! 410 `answer_not_kept` and the handler does not run twice.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use socket_serve::{Ack, HandlerResult, Socket};
use socket_serve_test_support::TestServer;

const WAIT: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_past_its_key_or_byte_quota_is_refused_and_unchanged() {
    let server = TestServer::builder()
        .config(|c| {
            c.max_state_keys = 2;
            c.max_state_bytes = 64;
        })
        .start()
        .await;
    let client = server.client();
    let session = client.connect().await;
    let remember = |key: &str, value: Value| json!({ "key": key, "value": value });
    client
        .emit(&session, "remember", remember("a", json!(1)))
        .await;
    client
        .emit(&session, "remember", remember("b", json!(2)))
        .await;
    let third = client
        .post_message(
            &session.session_id,
            "remember",
            remember("c", json!(3)),
            Some("m-c"),
        )
        .await;
    third.error(413, "state_too_large");
    // A key it has may be rewritten, within the byte quota only.
    client
        .emit(&session, "remember", remember("a", json!(10)))
        .await;
    let big = "x".repeat(64);
    let too_big = client
        .post_message(
            &session.session_id,
            "remember",
            remember("b", json!(big)),
            Some("m-big"),
        )
        .await;
    too_big.error(413, "state_too_large");

    let mut stream = client.open_stream(&session.session_id).await;
    stream.expect_connected(WAIT).await;
    for (key, expected) in [("a", json!(10)), ("b", json!(2)), ("c", Value::Null)] {
        client.emit(&session, "recall", json!({ "key": key })).await;
        let recalled = stream.wait_for_event("recall", WAIT).await;
        assert_eq!(recalled.payload()["value"], expected, "key {key}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_answer_is_not_kept_and_its_retry_does_not_run_the_handler_again() {
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = runs.clone();
    let server = TestServer::builder()
        .config(|c| c.max_kept_answer = 1024)
        .handlers(move |io| {
            io.on_message("big", move |_socket: Socket, size: usize| {
                let runs = counted.clone();
                async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    HandlerResult::Ok(Ack("y".repeat(size)))
                }
            });
        })
        .start()
        .await;
    let client = server.client();
    let session = client.connect().await;

    let first = client
        .post_message(&session.session_id, "big", json!(4096), Some("big-1"))
        .await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(first.ok()["ack"].as_str().map(str::len), Some(4096));
    let retry = client
        .post_message(&session.session_id, "big", json!(4096), Some("big-1"))
        .await;
    retry.error(410, "answer_not_kept");

    // A small answer is kept: its retry gets it again without a run.
    let small = client
        .post_message(&session.session_id, "big", json!(10), Some("small-1"))
        .await;
    let again = client
        .post_message(&session.session_id, "big", json!(10), Some("small-1"))
        .await;
    assert_eq!(small.ok(), again.ok());
    assert_eq!(runs.load(Ordering::SeqCst), 2, "each message ran once");
}

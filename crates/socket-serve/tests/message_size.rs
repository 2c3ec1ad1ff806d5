//! The size of a message's data is its own limit (issue 12 item 2): 64 KiB by default,
//! under the 1 MiB body limit; past it a message or an ack reply is 413
//! `message_too_large` and runs no handler. On the store SOCKET_SERVE_TEST_STORE names.

use serde_json::json;
use socket_serve_test_support::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_past_max_message_size_is_refused_and_runs_no_handler() {
    let server = TestServer::chat().await;
    let client = server.client();
    let (session, mut stream) = client.connect_and_listen().await;
    let sid = session.session_id.as_str();

    // 64 KiB of JSON text: a string of 65,534 characters plus its quotes.
    let fits = "x".repeat(64 * 1024 - 2);
    client
        .post_message(sid, "echo", json!(fits), Some("fits"))
        .await
        .ok();
    let over = "x".repeat(64 * 1024 - 1);
    client
        .post_message(sid, "echo", json!(over), Some("over"))
        .await
        .error(413, "message_too_large");
    let ack = json!({ "sessionId": sid, "ackId": "k1", "data": over });
    client
        .post_json("ack", &ack)
        .await
        .error(413, "message_too_large");

    // Only the one that fits was echoed.
    let got = client.flush(&session, &mut stream).await;
    let echoes: Vec<usize> = got
        .iter()
        .filter(|f| f.event() == Some("echo"))
        .filter_map(|f| f.payload().as_str().map(str::len))
        .filter(|len| *len > 1000)
        .collect();
    assert_eq!(echoes, vec![fits.len()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limit_is_configurable() {
    let server = TestServer::builder()
        .config(|c| c.max_message_size = 256 * 1024)
        .start()
        .await;
    let client = server.client();
    let session = client.connect().await;
    let big = "x".repeat(200 * 1024);
    client
        .post_message(&session.session_id, "echo", json!(big), Some("big"))
        .await
        .ok();
}

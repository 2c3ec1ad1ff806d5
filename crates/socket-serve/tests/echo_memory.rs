//! 200 echoes of 900 KB (issue 12 item 2): each is logged once for the recovery window
//! (the session's log is the truth), but its 900 KB answer is past `max_kept_answer`, so
//! it is not kept for retries: the chat binary (a child process, memory store) grows by
//! at most one copy of each message plus 64 MB (VmRSS), where keeping the answers too
//! cost two copies; a retry of one of them answers 410 `answer_not_kept`.
//!
//! Needs `cargo build -p chat` first (as `chat_binary.rs`).

use serde_json::json;
use socket_serve_test_support::{ChatProcess, TestStore};

const ECHOES: u64 = 200;
const MESSAGE_BYTES: u64 = 900_000;
const SLACK: u64 = 64 * 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_echoes_are_logged_once_and_their_answers_not_kept() {
    // The chat process runs on its own memory store whatever the suite's store: under
    // the Redis runs this test would only repeat itself.
    if !TestStore::env_is_memory() {
        return;
    }
    let chat = ChatProcess::spawn(&[("SOCKET_SERVE_MAX_MESSAGE_BYTES", "1000000")]);
    let client = chat.client();
    let session = client.connect().await;
    let before = 1024 * chat.rss_kib();
    let text = "x".repeat(MESSAGE_BYTES as usize);
    for n in 0..ECHOES {
        // Written by hand: serializing 900 KB 200 times would be most of the test's time.
        let body = format!(
            r#"{{"sessionId":"{}","event":"echo","data":"{text}","messageId":"echo-{n}"}}"#,
            session.session_id
        );
        let answer = client.post("message", body).await;
        assert_eq!(answer.status, 200, "echo {n}: {}", answer.json["code"]);
    }
    let grown = (1024 * chat.rss_kib()).saturating_sub(before);
    let bound = ECHOES * MESSAGE_BYTES + SLACK;
    eprintln!("RSS grew {} MB (bound {} MB)", grown >> 20, bound >> 20);
    assert!(grown <= bound, "RSS grew {grown} bytes, above {bound}");

    let retry = json!({
        "sessionId": session.session_id,
        "event": "echo",
        "data": text,
        "messageId": "echo-0",
    });
    client
        .post_json("message", &retry)
        .await
        .error(410, "answer_not_kept");
}

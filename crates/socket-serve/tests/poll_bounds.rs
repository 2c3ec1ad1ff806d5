//! Bounded poll answers (issue 12 item 7): a long-poll or a 0.6.0 drain answers at most
//! 500 messages and about 1 MiB of them; the rest comes with the next poll, each message
//! once, in order. On the store SOCKET_SERVE_TEST_STORE names.

use serde_json::json;
use socket_serve_test_support::{RawClient, Session, TestServer};

/// Polls until `expect` messages of `event` came (at most 100 polls), checking each
/// answer's size; returns their `n`s in arrival order.
async fn poll_all(
    client: &RawClient,
    session: &Session,
    event: &str,
    expect: usize,
    drain: bool,
) -> Vec<u64> {
    let mut cursor = session.cursor.expect("a cursor").to_string();
    let mut got = Vec::new();
    for _ in 0..100 {
        let answer = if drain {
            client.poll(&session.session_id).await
        } else {
            client.long_poll(&session.session_id, &cursor).await
        };
        assert!(
            answer.messages.len() <= 500,
            "{} messages in one answer",
            answer.messages.len()
        );
        let bytes: usize = answer
            .messages
            .iter()
            .map(|m| serde_json::to_string(&m.envelope).unwrap().len())
            .sum();
        // 1 MiB, plus the one message that may go past it.
        assert!(
            bytes <= 1024 * 1024 + 150_000,
            "{bytes} bytes in one answer"
        );
        for m in &answer.messages {
            if m.envelope.event == event {
                got.push(m.envelope.data["n"].as_u64().expect("an n"));
            }
        }
        if let Some(next) = answer.cursor {
            cursor = next.to_string();
        }
        if got.len() >= expect {
            return got;
        }
    }
    panic!("only {} of {expect} after 100 polls", got.len());
}

async fn send(server: &TestServer, session: &Session, n: usize, size: usize) {
    let pad = "x".repeat(size);
    for i in 0..n {
        server
            .io()
            .to_session(&session.id)
            .emit("big", json!({ "n": i, "pad": pad }))
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_polls_answer_about_a_mebibyte_at_a_time_and_lose_nothing() {
    let server = TestServer::chat().await;
    let client = server.client();
    let session = client.connect().await;
    send(&server, &session, 30, 100_000).await; // about 3 MB in all
    let got = poll_all(&client, &session, "big", 30, false).await;
    assert_eq!(got, (0..30).collect::<Vec<_>>(), "each once, in order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drains_answer_about_a_mebibyte_at_a_time_and_lose_nothing() {
    let server = TestServer::chat().await;
    let client = server.client();
    let session = client.connect().await;
    send(&server, &session, 30, 100_000).await;
    let got = poll_all(&client, &session, "big", 30, true).await;
    assert_eq!(got, (0..30).collect::<Vec<_>>(), "each once, in order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_answers_at_most_500_messages() {
    let server = TestServer::chat().await;
    let client = server.client();
    let session = client.connect().await;
    send(&server, &session, 700, 0).await;
    let first = client
        .long_poll(&session.session_id, &session.cursor.unwrap().to_string())
        .await;
    assert_eq!(first.messages.len(), 500);
    let got = poll_all(&client, &session, "big", 700, false).await;
    assert_eq!(got, (0..700).collect::<Vec<_>>());
}

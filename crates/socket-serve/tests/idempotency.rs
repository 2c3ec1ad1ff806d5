//! Idempotent client emits (DESIGN.md section 2, PROTOCOL.md `POST B/message`): a repeated
//! `messageId` runs no handler again and gets the first answer.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use socket_serve::{Ack, HandlerError};
use socket_serve_test_support::{chat, TestServer, DEFAULT_WAIT as WAIT};
use tokio::sync::Notify;

/// Shared between a test and its handlers.
#[derive(Default)]
struct Probe {
    runs: AtomicUsize,
    started: Notify,
    release: Notify,
}

/// The chat app plus:
/// - `count`: acks the number of runs so far (this one included) and emits `counted`
/// - `gated`: counts, tells `started`, waits for `release`, acks the run number
/// - `flaky`: emits `progress`, then fails on its first run and succeeds on later ones
async fn probing_server() -> (TestServer, Arc<Probe>) {
    let probe = Arc::new(Probe::default());
    let p = probe.clone();
    let server = TestServer::builder()
        .handlers(move |io| {
            chat::register(io);
            let count = p.clone();
            io.on_message("count", move |socket, _: Value| {
                let probe = count.clone();
                async move {
                    let n = probe.runs.fetch_add(1, Ordering::SeqCst) + 1;
                    socket.emit("counted", &n).await?;
                    Ok::<_, socket_serve::Error>(Ack(n))
                }
            });
            let gated = p.clone();
            io.on_message("gated", move |_socket, _: Value| {
                let probe = gated.clone();
                async move {
                    let n = probe.runs.fetch_add(1, Ordering::SeqCst) + 1;
                    probe.started.notify_one();
                    probe.release.notified().await;
                    Ok::<_, socket_serve::Error>(Ack(n))
                }
            });
            let flaky = p.clone();
            io.on_message("flaky", move |socket, _: Value| {
                let probe = flaky.clone();
                async move {
                    let n = probe.runs.fetch_add(1, Ordering::SeqCst) + 1;
                    socket.emit("progress", &json!("step 1")).await?;
                    if n == 1 {
                        return Err(HandlerError::from(std::io::Error::other("first run fails")));
                    }
                    Ok(Ack(n))
                }
            });
        })
        .start()
        .await;
    (server, probe)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_id_posted_three_times_runs_its_handler_once_with_the_same_answer() {
    let (server, probe) = probing_server().await;
    let client = server.client();
    let (alice, mut stream) = client.connect_and_listen().await;

    let mut answers = Vec::new();
    for _ in 0..3 {
        let answer = client
            .post_message(
                &alice.session_id,
                "count",
                json!({"any": "data"}),
                Some("once"),
            )
            .await;
        answers.push(answer.ok().clone());
    }
    assert_eq!(
        probe.runs.load(Ordering::SeqCst),
        1,
        "the handler ran again"
    );
    assert_eq!(answers, vec![json!({"success": true, "ack": 1}); 3]);

    // Its emits were stored once.
    let before = client.flush(&alice, &mut stream).await;
    let counted: Vec<_> = before
        .iter()
        .filter(|f| f.event() == Some("counted"))
        .collect();
    assert_eq!(counted.len(), 1, "{before:?}");

    // A new messageId runs it again.
    let answer = client
        .post_message(&alice.session_id, "count", json!(null), Some("twice"))
        .await;
    assert_eq!(answer.ok()["ack"], json!(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_posts_of_one_message_id_run_the_handler_once() {
    let (server, probe) = probing_server().await;
    let client = server.client();
    let alice = client.connect().await;

    let post = || client.post_message(&alice.session_id, "gated", json!(null), Some("same"));
    let first = tokio::spawn({
        let client = client.clone();
        let sid = alice.session_id.clone();
        async move {
            client
                .post_message(&sid, "gated", json!(null), Some("same"))
                .await
        }
    });
    // The first copy is inside its handler; the repeats arrive while it runs.
    tokio::time::timeout(WAIT, probe.started.notified())
        .await
        .expect("the handler started");
    let repeats = async { tokio::join!(post(), post()) };
    let release = async {
        // Give the repeats time to reach the server while the first holds the id (if they
        // arrive later they find its answer stored: also correct, just a different path).
        tokio::time::sleep(Duration::from_millis(200)).await;
        probe.release.notify_one();
    };
    let ((second, third), ()) = tokio::join!(repeats, release);
    let first = first.await.expect("the first POST");

    assert_eq!(
        probe.runs.load(Ordering::SeqCst),
        1,
        "the handler ran more than once"
    );
    for answer in [&first, &second, &third] {
        assert_eq!(answer.ok(), &json!({"success": true, "ack": 1}), "{answer}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_simultaneous_posts_of_one_message_id_run_the_handler_once() {
    let (server, probe) = probing_server().await;
    let client = server.client();
    let alice = client.connect().await;
    let post = || client.post_message(&alice.session_id, "count", json!(null), Some("race"));
    let (a, b, c) = tokio::join!(post(), post(), post());
    assert_eq!(probe.runs.load(Ordering::SeqCst), 1);
    for answer in [a, b, c] {
        assert_eq!(answer.ok(), &json!({"success": true, "ack": 1}), "{answer}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_handler_runs_again_on_retry_without_storing_its_emits_twice() {
    let (server, probe) = probing_server().await;
    let client = server.client();
    let (alice, mut stream) = client.connect_and_listen().await;

    client
        .post_message(&alice.session_id, "flaky", json!(null), Some("f-1"))
        .await
        .error(500, "handler_error");
    let answer = client
        .post_message(&alice.session_id, "flaky", json!(null), Some("f-1"))
        .await;
    assert_eq!(answer.ok()["ack"], json!(2));
    assert_eq!(probe.runs.load(Ordering::SeqCst), 2);
    // Now done: a third copy gets the stored answer.
    let answer = client
        .post_message(&alice.session_id, "flaky", json!(null), Some("f-1"))
        .await;
    assert_eq!(answer.ok()["ack"], json!(2));
    assert_eq!(probe.runs.load(Ordering::SeqCst), 2);

    let before = client.flush(&alice, &mut stream).await;
    let progress = before
        .iter()
        .filter(|f| f.event() == Some("progress"))
        .count();
    assert_eq!(
        progress, 1,
        "the re-run's emit was stored again: {before:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_message_id_in_two_sessions_runs_twice() {
    let (server, probe) = probing_server().await;
    let client = server.client();
    let alice = client.connect().await;
    let bob = client.connect().await;
    for s in [&alice, &bob] {
        client
            .post_message(&s.session_id, "count", json!(null), Some("m-1"))
            .await
            .ok();
    }
    assert_eq!(probe.runs.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_broadcast_is_delivered_once() {
    let server = TestServer::chat().await;
    let client = server.client();
    let alice = client.connect().await;
    let (bob, mut bob_stream) = client.connect_and_listen().await;
    for _ in 0..3 {
        client
            .post_message(
                &alice.session_id,
                "chat",
                json!({"text": "once"}),
                Some("c-1"),
            )
            .await
            .ok();
    }
    let before = client.flush(&bob, &mut bob_stream).await;
    let chats = before.iter().filter(|f| f.event() == Some("chat")).count();
    assert_eq!(chats, 1, "{before:?}");
}

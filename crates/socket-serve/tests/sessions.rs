//! Session lifetime (PROTOCOL.md section 4): idle sessions expire after `session_ttl` with
//! `on_disconnect` run once; open streams keep theirs alive.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use socket_serve_test_support::{chat, Resume, TestServer, DEFAULT_WAIT as WAIT};

const TTL: Duration = Duration::from_secs(1);

/// The chat app with a short session TTL and an `on_disconnect` that records its reasons.
async fn expiring_server() -> (TestServer, Arc<Mutex<Vec<String>>>, Arc<AtomicUsize>) {
    let reasons = Arc::new(Mutex::new(Vec::new()));
    let runs = Arc::new(AtomicUsize::new(0));
    let (r, n) = (reasons.clone(), runs.clone());
    let server = TestServer::builder()
        .config(|c| {
            c.session_ttl = TTL;
            c.sweep_interval = Duration::from_millis(20);
            c.heartbeat_interval = Duration::from_millis(100);
        })
        .handlers(move |io| {
            chat::register(io);
            io.on_disconnect(move |socket| {
                let (reasons, runs) = (r.clone(), n.clone());
                async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    let reason = socket.disconnect_reason().unwrap_or("?").to_owned();
                    reasons.lock().unwrap().push(reason);
                }
            });
        })
        .start()
        .await;
    (server, reasons, runs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_session_gets_on_disconnect_once_and_then_404() {
    let (server, reasons, runs) = expiring_server().await;
    let client = server.client();
    let idle = client.connect().await;
    client.emit(&idle, "join", json!({"room": "r"})).await;

    // The TTL is the thing tested: let it pass on the real clock.
    tokio::time::sleep(TTL + TTL / 2).await;

    client
        .post_message(&idle.session_id, "echo", json!(1), None)
        .await
        .error(404, "unknown_session");

    // Some later request runs the sweep (no timer needed on a serverless host).
    client.connect().await;
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "on_disconnect for the expired session"
    );
    assert_eq!(*reasons.lock().unwrap(), ["expired"]);
    assert!(server.io().room_members("r").await.unwrap().is_empty());
    // Within the recovery window a stream learns why (a client between two streams
    // would otherwise take it for a lost session); messages stay refused.
    let ended = client.stream_answer(&idle.session_id, Resume::Start).await;
    assert_eq!(ended.status, 200, "{ended}");
    assert!(ended.body.contains(r#""event":"__disconnect""#), "{ended}");
    assert!(ended.body.contains(r#""reason":"expired""#), "{ended}");

    // Never again, however many requests and sweeps follow (past the 20 ms sweep
    // throttle, so the next connect sweeps again).
    tokio::time::sleep(Duration::from_millis(50)).await;
    client.connect().await;
    server.io().sweep_expired().await.unwrap();
    client.disconnect(&idle.session_id).await;
    assert_eq!(runs.load(Ordering::SeqCst), 1, "on_disconnect ran again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_keep_a_session_alive() {
    let (server, _reasons, runs) = expiring_server().await;
    let client = server.client();
    let alice = client.connect().await;
    for _ in 0..6 {
        tokio::time::sleep(TTL / 4).await;
        client.emit(&alice, "echo", json!("still here")).await;
    }
    assert_eq!(runs.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_stream_keeps_its_session_alive() {
    let (server, _reasons, runs) = expiring_server().await;
    let client = server.client();
    let (alice, mut stream) = client.connect_and_listen().await;

    // Several TTLs with no request from Alice, only her stream's heartbeats.
    tokio::time::sleep(TTL * 2).await;
    client.connect().await; // a sweep
    assert_eq!(
        runs.load(Ordering::SeqCst),
        0,
        "a listening session expired"
    );
    client.emit(&alice, "echo", json!("alive")).await;
    let echo = stream.wait_for_event("echo", WAIT).await;
    assert_eq!(echo.payload(), &json!("alive"));
}

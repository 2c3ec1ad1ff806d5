//! A store that does not answer (PROTOCOL.md section 5: 503 `store_unavailable`), on a real
//! `redis-server` that the test stops and restarts.

use std::time::Duration;

use serde_json::json;
use socket_serve_test_support::{TestServer, TestStore, DEFAULT_WAIT as WAIT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_outage_answers_503_store_unavailable_and_service_comes_back() {
    let mut server = TestServer::builder()
        .store(TestStore::redis())
        .config(|c| c.store_timeout = Duration::from_millis(500))
        .start()
        .await;
    let client = server.client();
    let alice = client.connect().await;
    client.emit(&alice, "echo", json!(1)).await;

    server.redis_mut().expect("a redis-server").stop();

    client
        .post_message(&alice.session_id, "echo", json!(2), Some("m-2"))
        .await
        .error(503, "store_unavailable");
    client
        .post("connect", "")
        .await
        .error(503, "store_unavailable");

    server.redis_mut().expect("a redis-server").restart();

    // The store reconnects by itself; new sessions work again (the restarted Redis is
    // empty, so Alice's session is gone: 404, and her client connects anew).
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let answer = client.post("connect", "").await;
        if answer.status == 200 {
            break;
        }
        answer.error(503, "store_unavailable");
        assert!(
            tokio::time::Instant::now() < deadline,
            "no recovery within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    client
        .post_message(&alice.session_id, "echo", json!(3), Some("m-3"))
        .await
        .error(404, "unknown_session");
}

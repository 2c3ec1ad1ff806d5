//! A Redis outage answers 503 `store_unavailable` within the documented bound on every
//! endpoint (issue 12 item 8): `store_timeout`, however many store calls the endpoint makes.

use std::time::{Duration, Instant};

use serde_json::json;
use socket_serve::{Config, StoreConfig};
use socket_serve_test_support::{Answer, RedisServer, Resume, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_answers_503_within_the_store_timeout_when_redis_is_down() {
    let mut redis = RedisServer::start();
    let timeout = Duration::from_millis(1000);
    let config = Config {
        store: StoreConfig::Redis(redis.url()),
        key_prefix: "outage".into(),
        store_timeout: timeout,
        // Sweeps on every request: the most store calls a request can make.
        sweep_interval: Duration::from_millis(1),
        ..Config::default()
    };
    let server = TestServer::start(config).await;
    let client = server.client();
    let session = client.connect().await;
    let sid = session.session_id.clone();
    tokio::task::block_in_place(|| redis.stop());

    // The bound, with room for the HTTP round trip on a loaded machine.
    let bound = timeout + Duration::from_millis(400);
    let mut slowest = Duration::ZERO;
    let checks: Vec<(&str, Answer, Duration)> = vec![
        timed("connect", client.post_json("connect", &json!({}))).await,
        timed(
            "message",
            client.post_message(&sid, "echo", json!(1), Some("m-9")),
        )
        .await,
        timed(
            "ack",
            client.post_json("ack", &json!({"sessionId": sid, "ackId": "k1", "data": 1})),
        )
        .await,
        timed("sse", client.stream_answer(&sid, Resume::Start)).await,
        timed("long-poll", client.poll_answer(&sid, Some("1-0"))).await,
        timed("0.6.0 poll", client.poll_answer(&sid, None)).await,
        timed(
            "disconnect",
            client.post_json("disconnect", &json!({ "sessionId": sid })),
        )
        .await,
    ];
    for (endpoint, answer, took) in checks {
        answer.error(503, "store_unavailable");
        assert!(
            took <= bound,
            "{endpoint}: 503 after {took:?} (bound {bound:?})"
        );
        slowest = slowest.max(took);
    }
    eprintln!("slowest 503: {slowest:?}");
}

async fn timed(
    endpoint: &str,
    request: impl std::future::Future<Output = Answer>,
) -> (&str, Answer, Duration) {
    let started = Instant::now();
    let answer = request.await;
    (endpoint, answer, started.elapsed())
}

//! Rate limits kept in the store (issue 12 item 3): a session past its bucket gets 429
//! `rate_limited` with `Retry-After`, also when it spreads its requests over three
//! instances on one Redis; `/connect` is limited per client address, where a spoofed
//! `X-Forwarded-For` counts only when the proxy in front is trusted.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use http::Method;
use serde_json::json;
use socket_serve::store::RateLimit;
use socket_serve::{serve, Config, RateLimits, ServeConfig, SocketServe};
use socket_serve_test_support::{RawClient, TestServer, TestStore};
use tokio::sync::oneshot;

fn session_limit(per_second: u32, burst: u32) -> RateLimits {
    RateLimits {
        per_session: Some(RateLimit { per_second, burst }),
        ..RateLimits::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_past_its_bucket_gets_429_with_retry_after() {
    let server = TestServer::builder()
        .config(|c| c.rate_limits = session_limit(1, 5))
        .start()
        .await;
    let client = server.client();
    let session = client.connect().await;
    for n in 0..5 {
        let id = format!("m-{n}");
        let answer = client
            .post_message(&session.session_id, "echo", json!(n), Some(&id))
            .await;
        answer.ok();
    }
    let refused = client
        .post_message(&session.session_id, "echo", json!(5), Some("m-5"))
        .await;
    refused.error(429, "rate_limited");
    assert_eq!(refused.header("retry-after"), Some("1"), "{refused}");
    // Streams and acks spend the same bucket.
    client
        .poll_answer(&session.session_id, None)
        .await
        .error(429, "rate_limited");
    // Another session has a bucket of its own.
    let other = client.connect().await;
    client.emit(&other, "echo", json!("hi")).await;
}

/// How many of `total` requests sent flat out over `instances` (round robin) got through,
/// and how long sending took; every refusal is a 429 with `Retry-After`.
async fn spread(clients: &[RawClient], session_id: &str, total: usize) -> (usize, Duration) {
    let started = Instant::now();
    let mut accepted = 0;
    for n in 0..total {
        let client = &clients[n % clients.len()];
        let id = format!("m-{n}");
        let answer = client
            .post_message(session_id, "echo", json!(n), Some(&id))
            .await;
        if answer.status.is_success() {
            accepted += 1;
        } else {
            answer.error(429, "rate_limited");
            let secs: u64 = answer
                .header("retry-after")
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("no Retry-After in {answer}"));
            assert!(secs >= 1, "{answer}");
        }
    }
    (accepted, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_limit_holds_across_three_instances_on_one_redis() {
    let store = TestStore::redis();
    let limit = RateLimit {
        per_second: 20,
        burst: 10,
    };
    let mut config = store.config();
    config.rate_limits.per_session = Some(limit);
    let mut servers = Vec::new();
    for _ in 0..3 {
        servers.push(TestServer::start(config.clone()).await);
    }
    let clients: Vec<RawClient> = servers.iter().map(TestServer::client).collect();
    let session = clients[0].connect().await;
    let (accepted, took) = spread(&clients, &session.session_id, 300).await;
    let bound = limit.allowed_within(took) as usize;
    assert!(
        accepted <= bound,
        "{accepted} accepted in {took:?}; the bucket allows {bound}"
    );
    assert!(accepted >= limit.burst as usize, "{accepted} accepted");
    assert!(accepted < 300, "nothing was refused");
}

/// A server with `serve` (which knows the peer's address) on the memory store.
async fn start(rate_limits: RateLimits) -> (SocketAddr, oneshot::Sender<()>) {
    let io = SocketServe::new(Config {
        rate_limits,
        ..Config::default()
    })
    .expect("a server");
    let app = axum::Router::new().nest("/socket", io.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("its address");
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(serve(listener, app, ServeConfig::default(), async move {
        let _ = stopped.await;
    }));
    (addr, stop)
}

async fn connect_from(client: &RawClient, forwarded_for: Option<&str>) -> u16 {
    let headers: Vec<(&str, &str)> = forwarded_for
        .map(|f| vec![("x-forwarded-for", f), ("content-type", "application/json")])
        .unwrap_or_else(|| vec![("content-type", "application/json")]);
    let answer = client
        .request(Method::POST, "connect", &headers, Some(b"{}".to_vec()))
        .await;
    if !answer.status.is_success() {
        answer.error(429, "rate_limited");
        assert!(answer.header("retry-after").is_some(), "{answer}");
    }
    answer.status.as_u16()
}

fn connect_limit(trusted_proxy_hops: usize) -> RateLimits {
    RateLimits {
        connect_per_address: Some(RateLimit {
            per_second: 1,
            burst: 3,
        }),
        trusted_proxy_hops,
        ..RateLimits::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connects_per_address_are_limited_and_a_spoofed_forwarded_for_is_ignored() {
    let (addr, _stop) = start(connect_limit(0)).await;
    let client = RawClient::new(&format!("http://{addr}/socket"));
    for _ in 0..3 {
        assert_eq!(connect_from(&client, None).await, 200);
    }
    assert_eq!(connect_from(&client, None).await, 429);
    // A forged header does not make a new client of it.
    assert_eq!(connect_from(&client, Some("203.0.113.7")).await, 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_each_forwarded_address_has_its_bucket() {
    let (addr, _stop) = start(connect_limit(1)).await;
    let client = RawClient::new(&format!("http://{addr}/socket"));
    for _ in 0..3 {
        assert_eq!(connect_from(&client, Some("203.0.113.7")).await, 200);
    }
    assert_eq!(connect_from(&client, Some("203.0.113.7")).await, 429);
    // The client wrote the left entry; the trusted proxy appended what it saw.
    let spoofed = "198.51.100.1, 203.0.113.7";
    assert_eq!(connect_from(&client, Some(spoofed)).await, 429);
    assert_eq!(connect_from(&client, Some("203.0.113.8")).await, 200);
}

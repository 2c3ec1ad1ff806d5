//! A 429 `rate_limited` is retried like a 503, but not before its `Retry-After`: over real
//! HTTP against the chat server in-process, with a session bucket of 3 at 1 a second.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use socket_serve::store::RateLimit;
use socket_serve_client::ClientOptions;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emit_past_the_rate_limit_waits_for_retry_after_then_goes_through() {
    init_tracing();
    let mut config = config();
    config.rate_limits.per_session = Some(RateLimit {
        per_second: 1,
        burst: 3,
    });
    let store = Arc::new(socket_serve::store::MemoryStore::new(
        config.session_ttl,
        config.recovery_window,
    ));
    let (io, counters) = build_io(config, Arc::clone(&store));
    let refused = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&refused);
    let server = Server::serve(io, counters, store, move |io| {
        chat_router(io).layer(axum::middleware::map_response(
            move |response: axum::response::Response| {
                if response.status() == 429 {
                    count.fetch_add(1, Ordering::SeqCst);
                }
                async move { response }
            },
        ))
    })
    .await;
    // The backoff alone would retry every 50 ms at most.
    let options = ClientOptions::default()
        .reconnect_delay(Duration::from_millis(20))
        .reconnect_delay_max(Duration::from_millis(50));
    let client = socket_serve_client::connect(&server.url(), options).unwrap();
    client.wait_connected(WAIT).await.unwrap();
    let started = Instant::now();
    // The stream took one token; these take the rest and then wait.
    for n in 0..4 {
        client.emit("echo", n).unwrap().await.unwrap();
    }
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(900), "4 emits in {took:?}");
    let refusals = refused.load(Ordering::SeqCst);
    assert!(
        (1..=2).contains(&refusals),
        "{refusals} refusals: the client did not wait for Retry-After"
    );
}

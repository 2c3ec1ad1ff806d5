//! Expiry keeps up (issue 12 item 5): 1,000 connects a second for 60 s at a session TTL
//! of 5 s keep the chat binary's RSS within 20% of its value after 10 s, on the memory
//! store. The one long test (~70 s): a binary of its own, so it runs beside the others.
//! It needs `cargo build -p chat` first.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use socket_serve_test_support::{http_client, ChatProcess};
use tokio::time::{interval, Instant, MissedTickBehavior};

const RATE: usize = 1000;
const WARM_UP: Duration = Duration::from_secs(10);
const RUN: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_connects_a_second_at_a_5s_ttl_keep_rss_flat() {
    if std::env::var("SOCKET_SERVE_TEST_STORE").is_ok_and(|s| !s.is_empty() && s != "memory") {
        eprintln!("a memory-store test: skipped on the other stores");
        return;
    }
    let chat = ChatProcess::spawn(&[
        ("SOCKET_SERVE_SESSION_TTL_MS", "5000"),
        // What ended sessions leave (why they ended) is kept for the recovery window: a
        // short one, so the steady state (TTL + window) comes before the first sample.
        ("SOCKET_SERVE_RECOVERY_WINDOW_MS", "2000"),
        ("SOCKET_SERVE_CONNECT_RATE", "0"),
        // Expired sessions are ended within 200 ms, so their number stays near 5,000.
        ("SOCKET_SERVE_SWEEP_INTERVAL_MS", "200"),
    ]);
    let url = format!("{}/socket/connect", chat.url());
    let http = http_client()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("a client");
    let sent = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let in_flight = Arc::new(tokio::sync::Semaphore::new(256));
    let started = Instant::now();
    let mut tick = interval(Duration::from_millis(10));
    tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut at_warm_up = None;
    let mut peak = 0;
    let mut samples = Vec::new();
    let mut next_sample = started + WARM_UP;
    while started.elapsed() < RUN {
        tick.tick().await;
        for _ in 0..RATE / 100 {
            let permit = in_flight.clone().acquire_owned().await.expect("open");
            let (http, url, failed) = (http.clone(), url.clone(), failed.clone());
            sent.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(async move {
                let ok = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .body("{}")
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                if !ok {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
                drop(permit);
            });
        }
        if Instant::now() >= next_sample {
            let rss = chat.rss_kib();
            samples.push(rss);
            match at_warm_up {
                None => at_warm_up = Some(rss),
                Some(_) => peak = peak.max(rss),
            }
            next_sample += Duration::from_secs(5);
        }
    }
    let at_warm_up = at_warm_up.expect("a sample after the warm-up");
    let sent = sent.load(Ordering::Relaxed);
    let failed = failed.load(Ordering::Relaxed);
    eprintln!(
        "{sent} connects ({failed} failed) in {:?}; RSS KiB every 5 s from 10 s: {samples:?}",
        started.elapsed()
    );
    assert!(
        sent >= RATE * RUN.as_secs() as usize * 9 / 10,
        "only {sent} connects sent"
    );
    assert!(failed * 100 <= sent, "{failed} of {sent} connects failed");
    assert!(
        peak * 5 <= at_warm_up * 6,
        "RSS grew from {at_warm_up} KiB after 10 s to {peak} KiB"
    );
}

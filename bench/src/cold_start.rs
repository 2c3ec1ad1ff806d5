//! Cold start: how long from starting a fresh server until its first `/connect` is answered,
//! median of 10 (and min, max), for
//! - the chat binary (axum) on the memory store and on Redis: process spawn to the first
//!   answered `POST /socket/connect`, connecting as early as the port accepts;
//! - the Lambda function through the test suite's local Lambda: a request reaching a front
//!   with no instance, so the front spawns one; to its answer.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use socket_serve_test_support::{LambdaOptions, LocalLambda, RedisServer};

use crate::peers::release_binary;

const RUNS: usize = 10;

/// One case's figures (one JSON line).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ColdStart {
    pub case: String,
    pub runs: usize,
    pub median_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Posts `/connect` until it is answered 200; the time from `t0`.
async fn first_connect(http: &reqwest::Client, url: &str, t0: Instant) -> Duration {
    let give_up = t0 + Duration::from_secs(30);
    loop {
        if let Ok(res) = http.post(url).body("{}").send().await {
            if res.status().is_success() {
                return t0.elapsed();
            }
        }
        assert!(Instant::now() < give_up, "no answer from {url} within 30 s");
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn axum_once(http: &reqwest::Client, redis: Option<&RedisServer>) -> Duration {
    let port = free_port();
    let mut command = Command::new(release_binary("chat"));
    command
        .env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("RUST_LOG", "error")
        .env_remove("REDIS_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    if let Some(redis) = redis {
        command.env("REDIS_URL", redis.url());
    }
    let t0 = Instant::now();
    let _child = Killed(command.spawn().expect("start chat"));
    first_connect(http, &format!("http://127.0.0.1:{port}/socket/connect"), t0).await
}

/// A cold invocation (the front spawns the instance), then a warm one (the same instance,
/// thawed): their difference is what starting an instance costs.
async fn lambda_once(http: &reqwest::Client, redis: &RedisServer) -> (Duration, Duration) {
    let options = LambdaOptions {
        env: vec![
            ("REDIS_URL".into(), redis.url()),
            ("RUST_LOG".into(), "error".into()),
        ],
        ..LambdaOptions::new(release_binary("chat-lambda"))
    };
    let lambda = LocalLambda::start(options).await.expect("a local Lambda");
    let url = format!("{}/socket/connect", lambda.url());
    let t0 = Instant::now();
    let cold = first_connect(http, &url, t0).await;
    let warm = first_connect(http, &url, Instant::now()).await;
    assert_eq!(lambda.stats().instances_started, 1);
    lambda.shutdown().await;
    (cold, warm)
}

fn summarize(case: &str, mut times: Vec<Duration>) -> ColdStart {
    times.sort();
    let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
    ColdStart {
        case: case.to_owned(),
        runs: times.len(),
        median_ms: (ms(&times[RUNS / 2 - 1]) + ms(&times[RUNS / 2])) / 2.0,
        min_ms: ms(&times[0]),
        max_ms: ms(&times[RUNS - 1]),
    }
}

/// Every case, `RUNS` times each, interleaved.
pub async fn run() -> Vec<ColdStart> {
    let http = socket_serve_test_support::http_client()
        .no_proxy()
        .build()
        .expect("an HTTP client");
    let redis = RedisServer::start();
    let (mut memory, mut on_redis, mut lambda, mut lambda_warm) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        memory.push(axum_once(&http, None).await);
        on_redis.push(axum_once(&http, Some(&redis)).await);
        let (cold, warm) = lambda_once(&http, &redis).await;
        lambda.push(cold);
        lambda_warm.push(warm);
    }
    vec![
        summarize("axum chat, memory store", memory),
        summarize("axum chat, Redis", on_redis),
        summarize("chat-lambda via the local Lambda, Redis", lambda),
        summarize(
            "(warm: the next /connect on that instance, thawed)",
            lambda_warm,
        ),
    ]
}

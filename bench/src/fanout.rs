//! Fan-out: N subscribers round-robin over K instances on one Redis, one publisher on the
//! first instance, M messages at a fixed rate or flat out (a window of publishes in flight).
//! Warm-up messages go first until every subscriber has one; the measured window is from the
//! first publish to the last delivery (or the drain's end).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{stream, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{watch, Semaphore};

use crate::peers::{self, Instance, Peer, Wire};
use crate::procfs;
use crate::redis_cost::RedisProbe;
use crate::sse::{self, BenchMessage, Clock, Frames, Publisher};
use crate::stats::Percentiles;

/// The load.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Load {
    /// Subscribers.
    pub n: usize,
    /// Messages published.
    pub m: usize,
    /// Messages per second, or 0: flat out.
    pub rate: u32,
    /// Publishes in flight when flat out.
    pub window: usize,
    /// Server instances.
    pub k: usize,
}

/// One run's figures (one JSON line).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FanoutRun {
    pub peer: String,
    pub mode: String,
    pub n: usize,
    pub m: usize,
    pub k: usize,
    pub received: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub disconnects: u64,
    pub deliveries_per_s: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub server_cpu_s: f64,
    pub cpu_us_per_delivery: f64,
    pub server_rss_mib: f64,
    pub redis_commands_per_message: f64,
    pub redis_reads_per_message: f64,
    /// The load generator's CPU over the run, % of one core: near 100 for the one-threaded
    /// Node driver means it, not the server, set the pace.
    pub generator_cpu_pct: f64,
}

/// A process's CPU use from a start, as % of one core.
struct Gauge {
    pid: u32,
    cpu: f64,
    at: std::time::Instant,
}

impl Gauge {
    fn start(pid: u32) -> Gauge {
        Gauge {
            pid,
            cpu: procfs::cpu_seconds(pid),
            at: std::time::Instant::now(),
        }
    }

    /// % of one core since the start (0 once the process is gone).
    fn read(g: &Gauge) -> f64 {
        let used = procfs::cpu_seconds(g.pid) - g.cpu;
        (used.max(0.0) / g.at.elapsed().as_secs_f64().max(1e-9)) * 100.0
    }
}

impl Load {
    /// `500/s` or `flat out (window 32)`.
    pub fn mode(&self) -> String {
        if self.rate == 0 {
            format!("flat out (window {})", self.window)
        } else {
            format!("{}/s", self.rate)
        }
    }
}

/// What the subscribers (wherever they run) saw.
struct Seen {
    generator_cpu_pct: f64,
    received: u64,
    duplicated: u64,
    disconnects: u64,
    elapsed_us: u64,
    latencies_us: Vec<u64>,
}

/// Runs `load` against `peer` (K fresh instances on `redis`).
pub async fn run(peer: Peer, load: Load, redis: &RedisProbe) -> FanoutRun {
    let servers = peers::start(peer, load.k, &redis.url, &[]);
    let pids: Vec<u32> = servers.iter().map(Instance::pid).collect();
    let urls: Vec<String> = servers.iter().map(Instance::url).collect();
    let cpu = || pids.iter().map(|p| procfs::cpu_seconds(*p)).sum::<f64>();
    let (seen, cpu_s, redis_delta) = match peer.wire() {
        Wire::SocketIo(transport) => {
            let mut driver = SioDriver::start(&urls, load, transport).await;
            redis.reset();
            let before = (cpu(), redis.snapshot());
            driver.go().await;
            let seen = driver.result().await;
            (seen, cpu() - before.0, redis.snapshot().since(&before.1))
        }
        wire => {
            let subscribers = Subscribers::open(wire, &urls, load).await;
            let publisher = Arc::new(
                Publisher::new(&subscribers.http, wire, &urls[0])
                    .await
                    .expect("a publisher"),
            );
            subscribers.warm_up(&publisher).await;
            redis.reset();
            let before = (cpu(), redis.snapshot(), Gauge::start(std::process::id()));
            let start = subscribers.clock.now_us();
            publish_all(&publisher, &subscribers.clock, load).await;
            subscribers.drain(load).await;
            let after = (cpu(), redis.snapshot());
            let generator_cpu = Gauge::read(&before.2);
            let mut seen = subscribers.close().await;
            seen.generator_cpu_pct = generator_cpu;
            seen.elapsed_us = seen.elapsed_us.saturating_sub(start);
            (seen, after.0 - before.0, after.1.since(&before.1))
        }
    };
    let rss_kib: u64 = pids.iter().map(|p| procfs::rss_kib(*p)).sum();
    drop(servers);
    summarize(peer, load, seen, cpu_s, rss_kib, redis_delta)
}

fn summarize(
    peer: Peer,
    load: Load,
    mut seen: Seen,
    cpu_s: f64,
    rss_kib: u64,
    redis: crate::redis_cost::Delta,
) -> FanoutRun {
    let expected = (load.n * load.m) as u64;
    let latency = Percentiles::of_micros(&mut seen.latencies_us);
    let per_delivery = |x: f64| {
        if seen.received == 0 {
            0.0
        } else {
            x / seen.received as f64
        }
    };
    FanoutRun {
        peer: peer.name().to_owned(),
        mode: load.mode(),
        n: load.n,
        m: load.m,
        k: load.k,
        received: seen.received,
        lost: expected.saturating_sub(seen.received),
        duplicated: seen.duplicated,
        disconnects: seen.disconnects,
        deliveries_per_s: seen.received as f64 / (seen.elapsed_us.max(1) as f64 / 1e6),
        p50_ms: latency.p50,
        p90_ms: latency.p90,
        p99_ms: latency.p99,
        max_ms: latency.max,
        server_cpu_s: cpu_s,
        cpu_us_per_delivery: per_delivery(cpu_s * 1e6),
        server_rss_mib: rss_kib as f64 / 1024.0,
        redis_commands_per_message: redis.commands as f64 / load.m.max(1) as f64,
        redis_reads_per_message: redis.reads as f64 / load.m.max(1) as f64,
        generator_cpu_pct: seen.generator_cpu_pct,
    }
}

async fn publish_all(publisher: &Arc<Publisher>, clock: &Clock, load: Load) {
    // Paced: an open loop on a fixed schedule (a late answer does not delay the next send).
    let window = if load.rate == 0 { load.window } else { 1024 };
    let in_flight = Arc::new(Semaphore::new(window));
    let start = tokio::time::Instant::now();
    for s in 0..load.m {
        if load.rate > 0 {
            let due = Duration::from_secs_f64(s as f64 / f64::from(load.rate));
            tokio::time::sleep_until(start + due).await;
        }
        let permit = in_flight.clone().acquire_owned().await.expect("open");
        let message = BenchMessage {
            s: s as i64,
            t: clock.now_us(),
        };
        let publisher = publisher.clone();
        tokio::spawn(async move {
            if let Err(e) = publisher.publish(message).await {
                eprintln!("{e}");
            }
            drop(permit);
        });
    }
    // Every send answered.
    let _all = in_flight.acquire_many(window as u32).await;
}

/// The SSE subscribers, each a task counting what it gets.
struct Subscribers {
    http: reqwest::Client,
    clock: Clock,
    received: Arc<AtomicU64>,
    last_us: Arc<AtomicU64>,
    warmed: Arc<AtomicUsize>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<SubscriberSeen>>,
    n: usize,
}

#[derive(Default)]
struct SubscriberSeen {
    received: u64,
    duplicated: u64,
    dropped: bool,
    latencies_us: Vec<u64>,
}

impl Subscribers {
    async fn open(wire: Wire, urls: &[String], load: Load) -> Subscribers {
        let http = sse::http_client();
        let streams: Vec<Frames> = stream::iter(0..load.n)
            .map(|i| {
                let (http, url) = (http.clone(), urls[i % urls.len()].clone());
                async move { sse::subscribe(&http, wire, &url).await }
            })
            .buffer_unordered(50)
            .map(|r| r.expect("a subscriber's stream"))
            .collect()
            .await;
        let clock = Clock::start();
        let (stop, _) = watch::channel(false);
        let received = Arc::new(AtomicU64::new(0));
        let last_us = Arc::new(AtomicU64::new(0));
        let warmed = Arc::new(AtomicUsize::new(0));
        let tasks = streams
            .into_iter()
            .map(|frames| {
                let counters = (received.clone(), last_us.clone(), warmed.clone());
                tokio::spawn(subscriber(
                    wire,
                    frames,
                    clock,
                    load.m,
                    counters,
                    stop.subscribe(),
                ))
            })
            .collect();
        Subscribers {
            http,
            clock,
            received,
            last_us,
            warmed,
            stop,
            tasks,
            n: load.n,
        }
    }

    async fn warm_up(&self, publisher: &Publisher) {
        let give_up = tokio::time::Instant::now() + Duration::from_secs(20);
        while self.warmed.load(Ordering::Relaxed) < self.n && tokio::time::Instant::now() < give_up
        {
            let warm = BenchMessage {
                s: -1,
                t: self.clock.now_us(),
            };
            publisher.publish(warm).await.expect("a warm-up publish");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until every delivery arrived, or none did for 2 s (30 s at most).
    async fn drain(&self, load: Load) {
        let expected = (load.n * load.m) as u64;
        let give_up = tokio::time::Instant::now() + Duration::from_secs(30);
        let (mut last, mut still) = (u64::MAX, tokio::time::Instant::now());
        loop {
            let now = self.received.load(Ordering::Relaxed);
            if now >= expected || tokio::time::Instant::now() > give_up {
                return;
            }
            if now != last {
                (last, still) = (now, tokio::time::Instant::now());
            } else if still.elapsed() > Duration::from_secs(2) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    async fn close(self) -> Seen {
        let _ = self.stop.send(true);
        let mut seen = Seen {
            generator_cpu_pct: 0.0,
            received: 0,
            duplicated: 0,
            disconnects: 0,
            elapsed_us: self.last_us.load(Ordering::Relaxed),
            latencies_us: Vec::new(),
        };
        for task in self.tasks {
            let one = task.await.unwrap_or_default();
            seen.received += one.received;
            seen.duplicated += one.duplicated;
            seen.disconnects += u64::from(one.dropped);
            seen.latencies_us.extend(one.latencies_us);
        }
        seen
    }
}

async fn subscriber(
    wire: Wire,
    mut frames: Frames,
    clock: Clock,
    m: usize,
    (received, last_us, warmed): (Arc<AtomicU64>, Arc<AtomicU64>, Arc<AtomicUsize>),
    mut stop: watch::Receiver<bool>,
) -> SubscriberSeen {
    let mut seen = SubscriberSeen {
        latencies_us: Vec::with_capacity(m),
        ..SubscriberSeen::default()
    };
    let mut got = vec![false; m];
    let mut was_warmed = false;
    loop {
        let frame = tokio::select! {
            frame = frames.next() => frame,
            _ = stop.changed() => return seen,
        };
        let Some(Ok(frame)) = frame else {
            seen.dropped = true;
            return seen;
        };
        let Some(message) = sse::decode(wire, &frame) else {
            continue;
        };
        let now = clock.now_us();
        let Ok(s) = usize::try_from(message.s) else {
            if !was_warmed {
                was_warmed = true;
                warmed.fetch_add(1, Ordering::Relaxed);
            }
            continue;
        };
        match got.get_mut(s) {
            Some(true) => seen.duplicated += 1,
            Some(slot) => {
                *slot = true;
                seen.received += 1;
                seen.latencies_us.push(now.saturating_sub(message.t));
                received.fetch_add(1, Ordering::Relaxed);
                last_us.fetch_max(now, Ordering::Relaxed);
            }
            None => {}
        }
    }
}

/// `peers/sio-driver.js`: Socket.IO's publisher and subscribers in one Node process.
struct SioDriver {
    child: tokio::process::Child,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

#[derive(Deserialize)]
struct DriverResult {
    generator_cpu_pct: f64,
    received: u64,
    duplicates: u64,
    disconnects: u64,
    elapsed_us: u64,
    latencies_us: Vec<u64>,
}

impl SioDriver {
    /// Starts it; back once every subscriber is connected (and warmed up).
    async fn start(urls: &[String], load: Load, transport: &str) -> SioDriver {
        let mut child = tokio::process::Command::new("node")
            .current_dir(peers::peers_dir())
            .arg("sio-driver.js")
            .args(["--urls", &urls.join(",")])
            .args(["--n", &load.n.to_string(), "--m", &load.m.to_string()])
            .args(["--rate", &load.rate.to_string()])
            .args(["--window", &load.window.to_string()])
            .args(["--transport", transport])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start node sio-driver.js");
        let stdout = child.stdout.take().expect("a piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(90), lines.next_line()).await;
        assert!(
            matches!(ready, Ok(Ok(Some(ref l))) if l == "READY"),
            "sio-driver.js did not get ready: {ready:?}"
        );
        SioDriver { child, lines }
    }

    async fn go(&mut self) {
        let stdin = self.child.stdin.as_mut().expect("a piped stdin");
        stdin.write_all(b"GO\n").await.expect("write GO");
        stdin.flush().await.expect("flush GO");
    }

    async fn result(mut self) -> Seen {
        let line = tokio::time::timeout(Duration::from_secs(120), self.lines.next_line())
            .await
            .ok()
            .and_then(Result::ok)
            .flatten()
            .unwrap_or_default();
        let _ = self.child.wait().await;
        match serde_json::from_str::<DriverResult>(&line) {
            Ok(r) => Seen {
                generator_cpu_pct: r.generator_cpu_pct,
                received: r.received,
                duplicated: r.duplicates,
                disconnects: r.disconnects,
                elapsed_us: r.elapsed_us,
                latencies_us: r.latencies_us,
            },
            Err(e) => {
                eprintln!("sio-driver.js gave no result ({e})");
                Seen {
                    generator_cpu_pct: 0.0,
                    received: 0,
                    duplicated: 0,
                    disconnects: 0,
                    elapsed_us: 0,
                    latencies_us: Vec::new(),
                }
            }
        }
    }
}

/// Opens `n` idle Socket.IO connections through the driver (`--m 0`); they stay open until
/// the returned driver is dropped.
pub async fn hold_sio_connections(urls: &[String], n: usize) -> impl Drop {
    struct Held(SioDriver);
    impl Drop for Held {
        fn drop(&mut self) {
            let _ = self.0.child.start_kill();
        }
    }
    let load = Load {
        n,
        m: 0,
        rate: 0,
        window: 1,
        k: urls.len(),
    };
    Held(SioDriver::start(urls, load, "websocket").await)
}

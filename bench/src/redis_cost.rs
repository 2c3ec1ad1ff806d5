//! What Redis does for a peer: commands from `INFO commandstats` deltas, and Redis's read
//! syscalls (`/proc/<pid>/io`), about one per round trip a client makes (pipelined commands
//! share one).

use std::collections::BTreeMap;
use std::sync::Mutex;

use futures_util::{stream, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::json;
use socket_serve_test_support::RedisServer;

use crate::peers::{self, Peer, Wire};
use crate::procfs;
use crate::sse::{self, Frames};

/// Commands the probe itself sends, left out of every count.
const PROBE_COMMANDS: [&str; 3] = ["info", "config", "memory"];

/// A Redis the harness started, watched through its own connection.
pub struct RedisProbe {
    /// `redis://127.0.0.1:<port>`.
    pub url: String,
    /// The `redis-server` process.
    pub pid: u32,
    connection: Mutex<redis::Connection>,
    _server: RedisServer,
}

/// Counters at one moment.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    calls: BTreeMap<String, u64>,
    reads: u64,
}

/// Counters between two moments.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Delta {
    /// Commands, all kinds but the probe's.
    pub commands: u64,
    /// Read syscalls by Redis (about the round trips).
    pub reads: u64,
    /// Commands by name.
    pub by_command: BTreeMap<String, u64>,
}

impl Snapshot {
    /// What happened since `before`.
    pub fn since(&self, before: &Snapshot) -> Delta {
        let mut by_command = BTreeMap::new();
        for (name, calls) in &self.calls {
            let n = calls.saturating_sub(before.calls.get(name).copied().unwrap_or(0));
            if n > 0 && !PROBE_COMMANDS.contains(&name.as_str()) {
                by_command.insert(name.clone(), n);
            }
        }
        Delta {
            commands: by_command.values().sum(),
            // The probe's own INFO is one read.
            reads: self.reads.saturating_sub(before.reads + 1),
            by_command,
        }
    }
}

impl RedisProbe {
    /// Starts a private `redis-server` and connects to it.
    pub fn start() -> RedisProbe {
        let server = RedisServer::start();
        let url = server.url();
        let client = redis::Client::open(url.as_str()).expect("a Redis URL");
        let mut connection = client.get_connection().expect("a Redis connection");
        let info: String = redis::cmd("INFO")
            .arg("server")
            .query(&mut connection)
            .expect("INFO server");
        let pid = info_field(&info, "process_id").unwrap_or(0) as u32;
        RedisProbe {
            url,
            pid,
            connection: Mutex::new(connection),
            _server: server,
        }
    }

    fn info(&self, section: &str) -> String {
        let mut c = self.connection.lock().expect("not poisoned");
        redis::cmd("INFO")
            .arg(section)
            .query(&mut *c)
            .unwrap_or_default()
    }

    /// `CONFIG RESETSTAT` and `FLUSHALL`-free: zeroes the command counters.
    pub fn reset(&self) {
        let mut c = self.connection.lock().expect("not poisoned");
        let _: redis::RedisResult<()> = redis::cmd("CONFIG").arg("RESETSTAT").query(&mut *c);
    }

    /// Command counters and Redis's read syscalls now.
    pub fn snapshot(&self) -> Snapshot {
        let reads = procfs::read_calls(self.pid);
        let text = self.info("commandstats");
        let calls = text
            .lines()
            .filter_map(|l| {
                let (name, rest) = l.strip_prefix("cmdstat_")?.split_once(':')?;
                let calls = rest
                    .strip_prefix("calls=")?
                    .split(',')
                    .next()?
                    .parse()
                    .ok()?;
                Some((name.to_owned(), calls))
            })
            .collect();
        Snapshot { calls, reads }
    }

    /// `used_memory` in bytes.
    pub fn used_memory(&self) -> u64 {
        info_field(&self.info("memory"), "used_memory").unwrap_or(0)
    }
}

fn info_field(info: &str, name: &str) -> Option<u64> {
    info.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|v| v.trim().parse().ok())
}

/// One operation's Redis cost (one JSON line).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cost {
    pub peer: String,
    pub operation: String,
    pub commands_per_op: f64,
    pub reads_per_op: f64,
    /// Commands per operation by name, e.g. `xadd 1.00 publish 1.00`.
    pub commands: String,
}

/// How many of each operation are timed.
const OPS: usize = 100;

/// Redis's cost per connect, per emit (the chat example's `echo`: one emit to the sender),
/// and per broadcast (`chat`) to 10 and to 1,000 open streams, on one instance of `peer`
/// (the session protocol) with a fresh Redis of its own; the bare SSE server's publish beside.
pub async fn run(peer: Peer) -> Vec<Cost> {
    let redis = RedisProbe::start();
    let servers = peers::start(peer, 1, &redis.url, &[]);
    let url = servers[0].url();
    let http = sse::http_client();
    let mut costs = Vec::new();
    let mut measure = |operation: &str, delta: Delta| {
        let per = |n: u64| n as f64 / OPS as f64;
        let commands = delta
            .by_command
            .iter()
            .map(|(name, n)| format!("{name} {:.2}", per(*n)))
            .collect::<Vec<_>>()
            .join(", ");
        costs.push(Cost {
            peer: peer.name().to_owned(),
            operation: operation.to_owned(),
            commands_per_op: per(delta.commands),
            reads_per_op: per(delta.reads),
            commands,
        });
    };
    if peer.wire() == Wire::BareSse {
        let _streams = open_streams(&http, peer.wire(), &url, 10).await;
        let before = redis.snapshot();
        for i in 0..OPS {
            let body = json!({"s": i, "t": 0}).to_string();
            let _ = http.post(format!("{url}/publish")).body(body).send().await;
        }
        measure("broadcast to 10", redis.snapshot().since(&before));
        return costs;
    }
    let before = redis.snapshot();
    let mut sessions = Vec::new();
    for _ in 0..OPS {
        sessions.push(sse::connect_session(&http, &url).await.expect("a session"));
    }
    measure("connect", redis.snapshot().since(&before));

    let sender = &sessions[0];
    let before = redis.snapshot();
    post_all(&http, &url, sender, "echo", "emit").await;
    measure("emit (echo to the sender)", redis.snapshot().since(&before));

    for recipients in [10usize, 1000] {
        let streams = open_streams(&http, peer.wire(), &url, recipients).await;
        let before = redis.snapshot();
        post_all(&http, &url, sender, "chat", &format!("to-{recipients}")).await;
        measure(
            &format!("broadcast to {recipients}"),
            redis.snapshot().since(&before),
        );
        drop(streams);
    }
    drop(servers);
    costs
}

async fn open_streams(http: &reqwest::Client, wire: Wire, url: &str, n: usize) -> Vec<Frames> {
    stream::iter(0..n)
        .map(|_| sse::subscribe(http, wire, url))
        .buffer_unordered(50)
        .map(|r| r.expect("a stream"))
        .collect()
        .await
}

/// Posts `OPS` messages of `event`, each with a `messageId` never used before (a repeated one
/// would run only once).
async fn post_all(http: &reqwest::Client, url: &str, session: &str, event: &str, case: &str) {
    for i in 0..OPS {
        let body = json!({
            "sessionId": session, "event": event,
            "data": { "text": format!("cost {i}") }, "messageId": format!("{case}-{i}"),
        });
        let _ = http
            .post(format!("{url}/socket/message"))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .and_then(|r| r.error_for_status());
    }
}

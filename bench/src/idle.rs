//! Idle streams: server memory (RSS) and Redis memory per open SSE stream with its session,
//! on one instance, at growing counts. Both ends of every stream are on this machine, and
//! `ulimit -n` caps each process: counts above what fits are left out (and say so).

use std::time::Duration;

use futures_util::{stream, StreamExt};
use serde::{Deserialize, Serialize};

use crate::fanout;
use crate::peers::{self, Peer, Wire};
use crate::procfs;
use crate::redis_cost::RedisProbe;
use crate::sse::{self, Frames};

/// Descriptors kept free for everything that is not a stream.
const SPARE_FDS: u64 = 400;

/// One count's figures (one JSON line).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdleRun {
    pub peer: String,
    pub streams: usize,
    pub server_rss_mib: f64,
    pub server_kib_per_stream: f64,
    pub redis_bytes_per_session: f64,
}

/// The most streams one process can hold beside its other descriptors (`ulimit -n`).
pub fn most_streams() -> usize {
    let soft = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .map_or(1024, |(soft, _)| soft);
    soft.saturating_sub(SPARE_FDS) as usize
}

/// Raises this process's descriptor limit to its hard limit (children inherit it).
pub fn raise_fd_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
}

/// Opens streams on one fresh instance of `peer` up to each of `counts` in turn and measures
/// at each: growth since one warm stream (its pools made), over the streams added.
pub async fn run(peer: Peer, counts: &[usize]) -> Vec<IdleRun> {
    let redis = RedisProbe::start();
    let env = [("SOCKET_SERVE_MAX_CONNECTIONS", "100000")];
    let servers = peers::start(peer, 1, &redis.url, &env);
    let (pid, url) = (servers[0].pid(), servers[0].url());
    let http = sse::http_client();
    let mut held: Vec<Frames> = Vec::new();
    let mut sio_held = Vec::new();
    let mut measured = Vec::new();
    let mut opened = 0;
    for &count in std::iter::once(&1).chain(counts) {
        let more = count.saturating_sub(opened);
        match peer.wire() {
            Wire::SocketIo(_) => {
                sio_held.push(fanout::hold_sio_connections(std::slice::from_ref(&url), more).await);
            }
            wire => held.extend(open(&http, wire, &url, more).await),
        }
        opened = count;
        settle().await;
        measured.push((count, procfs::rss_kib(pid), redis.used_memory()));
    }
    drop(held);
    drop(sio_held);
    drop(servers);
    per_stream(peer, &measured)
}

/// Per-stream figures from measurements at growing counts, the first (one stream) the base.
fn per_stream(peer: Peer, measured: &[(usize, u64, u64)]) -> Vec<IdleRun> {
    let Some(&(base_n, base_rss, base_redis)) = measured.first() else {
        return Vec::new();
    };
    measured[1..]
        .iter()
        .map(|&(n, rss, redis)| {
            let added = n.saturating_sub(base_n).max(1) as f64;
            IdleRun {
                peer: peer.name().to_owned(),
                streams: n,
                server_rss_mib: rss as f64 / 1024.0,
                server_kib_per_stream: rss.saturating_sub(base_rss) as f64 / added,
                redis_bytes_per_session: redis.saturating_sub(base_redis) as f64 / added,
            }
        })
        .collect()
}

async fn open(http: &reqwest::Client, wire: Wire, url: &str, n: usize) -> Vec<Frames> {
    stream::iter(0..n)
        .map(|_| sse::subscribe(http, wire, url))
        .buffer_unordered(64)
        .filter_map(|r| async move { r.map_err(|e| eprintln!("idle stream: {e}")).ok() })
        .collect()
        .await
}

/// Lets the server finish what opening left (buffers freed, tasks parked).
async fn settle() {
    tokio::time::sleep(Duration::from_millis(500)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_since_one_stream_over_the_streams_added() {
        let measured = [(1, 10_000, 1_000_000), (1001, 20_000, 3_000_000)];
        let out = per_stream(Peer::SocketServe, &measured);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].streams, 1001);
        assert_eq!(out[0].server_kib_per_stream, 10.0);
        assert_eq!(out[0].redis_bytes_per_session, 2000.0);
    }
}

//! The systems under test and their server processes: K instances of one peer on one Redis,
//! each on a port of its own choosing (port 0), stopped (SIGTERM, then SIGKILL) on drop.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// How long a server may take to say it listens.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// One system under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// This repository's chat example (release build) on the Redis store.
    SocketServe,
    /// The published JavaScript socket-serve 0.6.0 (`peers/servers/socket-serve-0.6.js`).
    SocketServe06,
    /// A bare Node SSE + Redis pub/sub server, no guarantees (`peers/servers/sse-ref.js`).
    SseRef,
    /// Socket.IO 4.8 with `@socket.io/redis-adapter`, clients over WebSocket.
    SocketIoWs,
    /// The same Socket.IO servers, clients over HTTP long-polling.
    SocketIoPolling,
}

/// How the load generator talks to a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// socket-serve's: `POST /socket/connect`, `GET /socket/sse`, `POST /socket/message`.
    Sessions,
    /// `GET /sse`, `POST /publish`.
    BareSse,
    /// Socket.IO, through `peers/sio-driver.js` with this transport.
    SocketIo(&'static str),
}

impl Peer {
    /// Every peer, socket-serve first.
    pub const ALL: [Peer; 5] = [
        Peer::SocketServe,
        Peer::SseRef,
        Peer::SocketIoWs,
        Peer::SocketIoPolling,
        Peer::SocketServe06,
    ];

    /// Its name in tables and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Peer::SocketServe => "socket-serve",
            Peer::SocketServe06 => "socket-serve 0.6.0 (JS)",
            Peer::SseRef => "bare SSE + Redis (Node)",
            Peer::SocketIoWs => "Socket.IO 4.8 ws",
            Peer::SocketIoPolling => "Socket.IO 4.8 polling",
        }
    }

    /// Its name on the command line (`--peers`).
    pub fn key(self) -> &'static str {
        match self {
            Peer::SocketServe => "socketserve",
            Peer::SocketServe06 => "ss06",
            Peer::SseRef => "sse-ref",
            Peer::SocketIoWs => "sio-ws",
            Peer::SocketIoPolling => "sio-polling",
        }
    }

    /// The peer named `key`.
    pub fn from_key(key: &str) -> Option<Peer> {
        Peer::ALL.into_iter().find(|p| p.key() == key)
    }

    /// How the load reaches it.
    pub fn wire(self) -> Wire {
        match self {
            Peer::SocketServe | Peer::SocketServe06 => Wire::Sessions,
            Peer::SseRef => Wire::BareSse,
            Peer::SocketIoWs => Wire::SocketIo("websocket"),
            Peer::SocketIoPolling => Wire::SocketIo("polling"),
        }
    }

    fn command(self, redis_url: &str, env: &[(&str, &str)]) -> Command {
        let mut command = match self {
            Peer::SocketServe => {
                let mut c = Command::new(release_binary("chat"));
                c.env("HOST", "127.0.0.1")
                    .env("PORT", "0")
                    .env("REDIS_URL", redis_url)
                    .env("RUST_LOG", "error");
                c
            }
            Peer::SocketServe06 => node_server("socket-serve-0.6.js", redis_url),
            Peer::SseRef => node_server("sse-ref.js", redis_url),
            Peer::SocketIoWs | Peer::SocketIoPolling => node_server("socketio.js", redis_url),
        };
        command.envs(env.iter().copied());
        command
    }
}

fn node_server(script: &str, redis_url: &str) -> Command {
    let mut c = Command::new("node");
    c.current_dir(peers_dir())
        .arg(format!("servers/{script}"))
        .args(["--port", "0", "--redis-url", redis_url]);
    c
}

/// `bench/peers` (its `node_modules` from `npm ci`).
pub fn peers_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("peers")
}

/// A binary of the same build as this one (`cargo build --release -p chat` puts `chat` beside
/// `bench`, whatever `CARGO_TARGET_DIR` is).
pub fn release_binary(name: &str) -> PathBuf {
    let here = std::env::current_exe().expect("the running binary's path");
    let path = here.with_file_name(name);
    assert!(
        path.exists(),
        "{} not found: cargo build --release -p {name}",
        path.display()
    );
    path
}

/// A started server process.
pub struct Instance {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl Instance {
    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
        for _ in 0..100 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `k` instances of `peer` on `redis_url` (and `env`), each ready to serve.
pub fn start(peer: Peer, k: usize, redis_url: &str, env: &[(&str, &str)]) -> Vec<Instance> {
    (0..k).map(|_| start_one(peer, redis_url, env)).collect()
}

fn start_one(peer: Peer, redis_url: &str, env: &[(&str, &str)]) -> Instance {
    let mut child = peer
        .command(redis_url, env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", peer.name()));
    let stdout = child.stdout.take().expect("a piped stdout");
    let (tx, rx) = mpsc::channel();
    // Reads the line naming the port, then keeps draining so the server never blocks on it.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(port) = listening_port(&line) {
                let _ = tx.send(port);
            }
        }
    });
    let port = rx
        .recv_timeout(READY_TIMEOUT)
        .unwrap_or_else(|_| panic!("{} did not say it listens", peer.name()));
    Instance { child, port }
}

/// The port in `READY <port>` (the Node peers) or `... listening on http://127.0.0.1:<port>`
/// (the chat example).
fn listening_port(line: &str) -> Option<u16> {
    if let Some(port) = line.strip_prefix("READY ") {
        return port.trim().parse().ok();
    }
    let (_, addr) = line.split_once("listening on http://")?;
    addr.rsplit_once(':')?.1.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_both_ready_lines() {
        assert_eq!(super::listening_port("READY 4312"), Some(4312));
        assert_eq!(
            super::listening_port("socket-serve chat listening on http://127.0.0.1:39001"),
            Some(39001)
        );
        assert_eq!(super::listening_port("something else"), None);
    }
}

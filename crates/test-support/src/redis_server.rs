//! A private `redis-server` for one test: a free loopback port, its own directory, killed on
//! drop. Tests never depend on a Redis the machine happens to run.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How long a started `redis-server` may take to answer `PING`.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a stopped `redis-server` may take to exit after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// How a [`RedisServer`] runs.
#[derive(Debug, Clone, Default)]
pub struct RedisOptions {
    /// `--appendonly yes`: writes survive [`RedisServer::stop`] + [`RedisServer::restart`]
    /// (the default, `no`, starts every restart empty, as a cache would).
    pub appendonly: bool,
    /// `--cluster-enabled yes`, one node serving every slot: a Redis Cluster of one, which
    /// refuses what a cluster refuses (a command or script whose keys span slots).
    pub cluster: bool,
}

/// A `redis-server` child process on `127.0.0.1:<free port>`.
///
/// The binary comes from `PATH` (`/usr/bin/redis-server` on Debian's `redis-server`
/// package); `--save ''` keeps it from writing snapshots, so a restart without
/// `appendonly` starts empty.
///
/// ```no_run
/// use socket_serve_test_support::RedisServer;
///
/// let mut redis = RedisServer::start();
/// let url = redis.url(); // redis://127.0.0.1:<port>
/// redis.stop();          // SIGTERM, wait
/// redis.restart();       // same port, same directory
/// # let _ = url;
/// ```
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    options: RedisOptions,
    dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts one with the default options (no persistence).
    pub fn start() -> RedisServer {
        Self::start_with(RedisOptions::default())
    }

    /// Starts one with `options`. Panics (naming the cause) if `redis-server` is missing or
    /// does not answer `PING` within 10 s.
    pub fn start_with(options: RedisOptions) -> RedisServer {
        let dir = tempfile::Builder::new()
            .prefix("socket-serve-redis-")
            .tempdir()
            .expect("create a temporary directory for redis-server");
        // A port found free may be taken before redis binds it: try a few.
        let mut last_error = String::new();
        for _ in 0..5 {
            let port = free_port();
            let mut child = spawn(port, dir.path(), &options);
            let ready = wait_until_ready(port, &mut child).and_then(|()| {
                if options.cluster {
                    serve_every_slot(port)
                } else {
                    Ok(())
                }
            });
            match ready {
                Ok(()) => {
                    return RedisServer {
                        child: Some(child),
                        port,
                        options,
                        dir,
                    }
                }
                Err(err) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    last_error = err;
                }
            }
        }
        panic!("redis-server did not start: {last_error}");
    }

    /// Its port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Its working directory (the AOF lives there with `appendonly`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Whether the process is running (between [`stop`](Self::stop) and
    /// [`restart`](Self::restart) it is not).
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Stops it gracefully (SIGTERM: Redis flushes its AOF and exits) and waits for the
    /// exit, killing it if it takes longer than 10 s. A no-op if it is not running.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Kills it (SIGKILL), as a crash would: nothing is flushed.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and directory, with the same options (stopping it
    /// first if it runs). Panics if it does not answer `PING` within 10 s.
    pub fn restart(&mut self) {
        self.stop();
        let mut child = spawn(self.port, self.dir.path(), &self.options);
        if let Err(err) = wait_until_ready(self.port, &mut child) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("redis-server did not restart on port {}: {err}", self.port);
        }
        self.child = Some(child);
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

impl std::fmt::Debug for RedisServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisServer")
            .field("port", &self.port)
            .field("running", &self.is_running())
            .finish()
    }
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("find a free loopback port")
}

fn spawn(port: u16, dir: &Path, options: &RedisOptions) -> Child {
    let dir: PathBuf = dir.to_owned();
    Command::new("redis-server")
        .args(["--port", &port.to_string()])
        .args(["--bind", "127.0.0.1"])
        .args(["--save", ""])
        .args(["--appendonly", if options.appendonly { "yes" } else { "no" }])
        .args(if options.cluster {
            // The bus port is chosen too: the default, port + 10000, may be taken or
            // past 65535.
            vec![
                "--cluster-enabled".to_owned(),
                "yes".to_owned(),
                "--cluster-config-file".to_owned(),
                "nodes.conf".to_owned(),
                "--cluster-port".to_owned(),
                free_port().to_string(),
            ]
        } else {
            Vec::new()
        })
        .arg("--dir")
        .arg(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("could not run redis-server ({e}); install it (Debian: apt-get install redis-server)")
        })
}

/// Polls `PING` until `+PONG`, the process exits, or the startup timeout passes.
fn wait_until_ready(port: u16, child: &mut Child) -> Result<(), String> {
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("it exited with {status} (port {port} taken?)"));
        }
        if ping(port) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "no +PONG on port {port} within {STARTUP_TIMEOUT:?}"
            ));
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Assigns every slot to this node and waits for `cluster_state:ok`.
fn serve_every_slot(port: u16) -> Result<(), String> {
    let added = command(port, "CLUSTER ADDSLOTSRANGE 0 16383")?;
    if !added.starts_with("+OK") {
        return Err(format!("CLUSTER ADDSLOTSRANGE answered {added:?}"));
    }
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    while Instant::now() < deadline {
        if command(port, "CLUSTER INFO")?.contains("cluster_state:ok") {
            return Ok(());
        }
        thread::sleep(Duration::from_millis(20));
    }
    Err(format!("the cluster on port {port} did not become ok"))
}

/// One inline command, and the first read of its answer (enough for short answers).
fn command(port: u16, line: &str) -> Result<String, String> {
    let addr = (Ipv4Addr::LOCALHOST, port).into();
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500))
        .map_err(|e| format!("connect: {e}"))?;
    let _ = stream.set_read_timeout(Some(Duration::from_millis(1000)));
    stream
        .write_all(format!("{line}\r\n").as_bytes())
        .map_err(|e| format!("write: {e}"))?;
    let mut answer = vec![0u8; 8192];
    let n = stream.read(&mut answer).map_err(|e| format!("read: {e}"))?;
    Ok(String::from_utf8_lossy(&answer[..n]).into_owned())
}

fn ping(port: u16) -> bool {
    let addr = (Ipv4Addr::LOCALHOST, port).into();
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut answer = [0u8; 7];
    stream.read_exact(&mut answer).is_ok() && &answer == b"+PONG\r\n"
}

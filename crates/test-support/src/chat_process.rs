//! The chat example's binary as a child process, started as the README starts it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, SystemTime};

use crate::RawClient;

/// How long the binary may take to print its listening line.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);

/// What the binary prints once it listens (the README and tests rely on it).
const LISTENING: &str = "socket-serve chat listening on ";

/// `target/debug/chat` running with `HOST=127.0.0.1 PORT=0`, killed on drop (also when the
/// test panics).
///
/// It must be built first: `cargo build -p chat` (the README's test command does it). A
/// binary older than the sources it is built from is refused, so a test never passes
/// against stale code.
///
/// ```no_run
/// use socket_serve_test_support::ChatProcess;
///
/// # async fn example() {
/// let chat = ChatProcess::spawn(&[]);
/// let client = chat.client(); // http://127.0.0.1:<port>/socket
/// let session = client.connect().await;
/// # let _ = session;
/// # }
/// ```
pub struct ChatProcess {
    child: Child,
    url: String,
}

impl ChatProcess {
    /// Starts the binary with `HOST=127.0.0.1`, `PORT=0`, `RUST_LOG=warn` and `env`, and
    /// waits (20 s at most) for `socket-serve chat listening on http://HOST:PORT`.
    pub fn spawn(env: &[(&str, &str)]) -> ChatProcess {
        Self::spawn_binary(&chat_binary(), env)
    }

    /// [`ChatProcess::spawn`] for another binary that serves the chat app and prints the
    /// same listening line (`chat-vercel`, `local-lambda`; see [`built_binary`]).
    pub fn spawn_binary(binary: &Path, env: &[(&str, &str)]) -> ChatProcess {
        let binary = binary.to_owned();
        let mut command = Command::new(&binary);
        command
            .env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .env("RUST_LOG", "warn")
            .env_remove("REDIS_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {}: {e}", binary.display()));
        let stdout = child.stdout.take().expect("the child's stdout");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        // Guard first, so a failed start still kills the child.
        let mut process = ChatProcess {
            child,
            url: String::new(),
        };
        loop {
            match rx.recv_timeout(STARTUP_TIMEOUT) {
                Ok(line) => {
                    if let Some(url) = line.trim().strip_prefix(LISTENING) {
                        process.url = url.trim_end_matches('/').to_owned();
                        return process;
                    }
                }
                Err(_) => panic!(
                    "{} did not print {LISTENING:?}<url> within {STARTUP_TIMEOUT:?} (or exited)",
                    binary.display()
                ),
            }
        }
    }

    /// `http://HOST:PORT` as the binary printed it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A protocol-level client of its API at `/socket`.
    pub fn client(&self) -> RawClient {
        RawClient::new(&format!("{}/socket", self.url))
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its resident memory now (`VmRSS` of `/proc/<pid>/status`), in KiB.
    pub fn rss_kib(&self) -> u64 {
        rss_kib(self.pid())
    }
}

/// The resident memory of process `pid` now (`VmRSS` of `/proc/<pid>/status`), in KiB;
/// for a sampler thread that holds only the pid.
///
/// ```
/// let own = socket_serve_test_support::rss_kib(std::process::id());
/// assert!(own > 0);
/// ```
pub fn rss_kib(pid: u32) -> u64 {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the process's /proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/<pid>/status")
}

impl Drop for ChatProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `SOCKET_SERVE_CHAT_BIN` if set, else the chat binary of this workspace (see
/// [`built_binary`]).
fn chat_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("SOCKET_SERVE_CHAT_BIN") {
        return PathBuf::from(path);
    }
    built_binary("chat", &["examples/chat/src", "examples/chat/static"])
}

/// `target/debug/<name>` of this workspace (or of `CARGO_TARGET_DIR`), checked to exist
/// and to be newer than the library's sources and `sources` (directories relative to the
/// workspace), so a test never runs stale code. Panics with the `cargo build` to run.
///
/// ```no_run
/// let function = socket_serve_test_support::built_binary("chat-lambda", &["examples/chat-lambda/src"]);
/// # let _ = function;
/// ```
pub fn built_binary(name: &str, sources: &[&str]) -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir
        .parent()
        .and_then(Path::parent)
        .expect("crates/test-support sits two levels below the workspace");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| {
            if dir.is_relative() {
                workspace.join(dir)
            } else {
                dir
            }
        })
        .unwrap_or_else(|| workspace.join("target"));
    let binary = target.join("debug").join(name);
    let built = std::fs::metadata(&binary)
        .and_then(|m| m.modified())
        .unwrap_or_else(|e| {
            panic!(
                "{} not found ({e}): run `cargo build --bin {name}` before the tests",
                binary.display()
            )
        });
    let library = [
        "examples/chat/src",
        "examples/chat/static",
        "crates/socket-serve/src",
        "crates/protocol/src",
        "crates/socket-serve/assets",
    ];
    for dir in library.iter().chain(sources) {
        if let Some((path, modified)) = newest_file(&workspace.join(dir)) {
            assert!(
                modified <= built,
                "{} is older than {}: run `cargo build --bin {name}` before the tests",
                binary.display(),
                path.display()
            );
        }
    }
    binary
}

fn newest_file(dir: &Path) -> Option<(PathBuf, SystemTime)> {
    let mut newest: Option<(PathBuf, SystemTime)> = None;
    let mut todo = vec![dir.to_owned()];
    while let Some(dir) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                todo.push(path);
            } else if let Ok(modified) = meta.modified() {
                match &newest {
                    Some((_, t)) if *t >= modified => {}
                    _ => newest = Some((path, modified)),
                }
            }
        }
    }
    newest
}

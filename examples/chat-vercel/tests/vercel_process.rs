//! The `chat-vercel` binary as a process: real HTTP through `vercel_runtime`, a real Redis.
//!
//! Run `cargo build -p chat` first: the two-process test also starts the `chat` binary
//! (`ChatProcess` refuses a binary older than its sources). `chat-vercel` itself is built
//! by cargo for these tests.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use serde_json::json;
use socket_serve_test_support::reqwest::{Method, StatusCode, Url};
use socket_serve_test_support::{ChatProcess, RawClient, RedisServer, DEFAULT_WAIT};

/// How long the binary may take to print its listening line.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);

/// What it prints once the port accepts connections (the `chat` binary's line).
const LISTENING: &str = "socket-serve chat listening on ";

/// `target/debug/chat-vercel` with `HOST=127.0.0.1 PORT=0` and `env`, killed on drop.
struct VercelProcess {
    child: Child,
    url: String,
    /// Its stdout, line by line; disconnected once the process has exited.
    stdout: mpsc::Receiver<String>,
}

impl VercelProcess {
    /// Starts it and waits for its listening line.
    fn spawn(env: &[(&str, &str)]) -> VercelProcess {
        let mut child = command(env)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start chat-vercel");
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
        let mut process = VercelProcess {
            child,
            url: String::new(),
            stdout: rx,
        };
        loop {
            match process.stdout.recv_timeout(STARTUP_TIMEOUT) {
                Ok(line) => {
                    if let Some(url) = line.trim().strip_prefix(LISTENING) {
                        process.url = url.trim_end_matches('/').to_owned();
                        return process;
                    }
                }
                Err(_) => panic!(
                    "chat-vercel did not print {LISTENING:?}<url> within {STARTUP_TIMEOUT:?} (or exited)"
                ),
            }
        }
    }

    /// Sends it SIGTERM, as a platform stopping an instance does.
    fn terminate(&self) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -TERM {pid}");
    }

    /// Waits (at most `timeout`) for it to exit: its stdout closes then.
    fn wait_for_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(_) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!("chat-vercel did not exit within {timeout:?}")
                }
            }
        }
        self.child.wait().expect("wait for chat-vercel")
    }

    /// The chat page's URL (`/`).
    fn page_url(&self) -> Url {
        let url = format!("{}/", self.url);
        url.parse()
            .unwrap_or_else(|e| panic!("bad URL {url:?}: {e}"))
    }

    /// A protocol client of its API at `/socket`.
    fn client(&self) -> RawClient {
        RawClient::new(&format!("{}/socket", self.url))
    }
}

impl Drop for VercelProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn command(env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_chat-vercel"));
    command
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .env("RUST_LOG", "warn")
        .env_remove("REDIS_URL")
        .env_remove("VERCEL")
        .env_remove("VERCEL_DEV_PORT")
        .env_remove("VERCEL_IPC_PATH")
        .stdin(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

#[tokio::test]
async fn serves_the_chat_over_streamed_sse_on_redis() {
    let redis = RedisServer::start();
    let server = VercelProcess::spawn(&[("REDIS_URL", &redis.url())]);
    let client = server.client();

    let page = client
        .request_url(Method::GET, server.page_url(), &[], None)
        .await;
    assert_eq!(page.status, StatusCode::OK, "the page: {page}");
    assert!(page.body.contains("socket-serve chat"), "the page: {page}");

    let alice = client.connect().await;
    let mut stream = client.open_stream(&alice.session_id).await;
    assert_eq!(stream.header("content-type"), Some("text/event-stream"));
    assert_eq!(
        stream.header("cache-control"),
        Some("no-cache, no-transform")
    );
    assert_eq!(stream.header("x-accel-buffering"), Some("no"));

    // The stream has no end of its own here (no platform limit locally), so a body the
    // runtime buffered would never deliver a frame: each one arriving proves streaming.
    stream.expect_connected(DEFAULT_WAIT).await;
    let welcome = stream.wait_for_event("welcome", DEFAULT_WAIT).await;
    assert_eq!(welcome.payload(), &json!({ "id": alice.id }));

    let answer = client.emit(&alice, "echo", json!({ "n": 1 })).await;
    assert_eq!(answer["ack"], json!({ "n": 1 }));
    let echo = stream.wait_for_event("echo", DEFAULT_WAIT).await;
    assert_eq!(echo.payload(), &json!({ "n": 1 }));
}

#[tokio::test]
async fn long_polls_answer_through_the_runtime() {
    let redis = RedisServer::start();
    let server = VercelProcess::spawn(&[
        ("REDIS_URL", &redis.url()),
        ("SOCKET_SERVE_POLL_TIMEOUT_MS", "2000"),
    ]);
    let client = server.client();
    let alice = client.connect().await;
    let cursor = alice.cursor.expect("connect answers a cursor").to_string();

    client.emit(&alice, "echo", json!("ping")).await;
    let answer = client.poll_answer(&alice.session_id, Some(&cursor)).await;
    let content_type = answer.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}: {answer}"
    );
    let events: Vec<&str> = answer.ok()["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("no messages in {answer}"))
        .iter()
        .filter_map(|m| m["event"].as_str())
        .collect();
    assert!(events.contains(&"echo"), "long-poll answer: {answer}");
}

#[tokio::test]
async fn a_chat_process_and_a_vercel_process_on_one_redis_chat_with_each_other() {
    let redis = RedisServer::start();
    let url = redis.url();
    let axum_server = ChatProcess::spawn(&[("REDIS_URL", &url)]);
    let vercel_server = VercelProcess::spawn(&[("REDIS_URL", &url)]);
    let on_axum = axum_server.client();
    let on_vercel = vercel_server.client();
    let (ann, mut ann_stream) = on_axum.connect_and_listen().await;
    let (bob, mut bob_stream) = on_vercel.connect_and_listen().await;

    on_axum
        .emit(&ann, "chat", json!({ "text": "hi from axum" }))
        .await;
    let heard = bob_stream.wait_for_event("chat", DEFAULT_WAIT).await;
    assert_eq!(
        heard.payload(),
        &json!({ "from": ann.id, "text": "hi from axum" })
    );

    on_vercel
        .emit(&bob, "chat", json!({ "text": "hi from vercel" }))
        .await;
    let heard = ann_stream.wait_for_event("chat", DEFAULT_WAIT).await;
    assert_eq!(
        heard.payload(),
        &json!({ "from": bob.id, "text": "hi from vercel" })
    );
}

#[tokio::test]
async fn streams_end_with_retry_before_the_functions_max_duration() {
    let redis = RedisServer::start();
    // As deployed, with maxDuration 3 s: the stream must end by itself before it.
    let server = VercelProcess::spawn(&[
        ("REDIS_URL", &redis.url()),
        ("VERCEL", "1"),
        ("SOCKET_SERVE_PLATFORM_MAX_DURATION_MS", "3000"),
    ]);
    let client = server.client();
    let (_alice, mut stream) = client.connect_and_listen().await;
    let frames = stream.expect_end(Duration::from_secs(3)).await;
    assert!(
        frames.iter().any(|f| f.retry.is_some()),
        "the stream ended without retry: {frames:#?}"
    );
}

#[tokio::test]
async fn sigterm_ends_open_streams_with_retry_and_exits() {
    let redis = RedisServer::start();
    let mut server = VercelProcess::spawn(&[("REDIS_URL", &redis.url())]);
    let client = server.client();
    let (_alice, mut stream) = client.connect_and_listen().await;

    server.terminate();
    let frames = stream.expect_end(DEFAULT_WAIT).await;
    assert!(
        frames.iter().any(|f| f.retry.is_some()),
        "the stream ended without retry: {frames:#?}"
    );
    let status = server.wait_for_exit(DEFAULT_WAIT);
    assert!(
        status.success(),
        "chat-vercel exited with {status} after SIGTERM"
    );
}

#[test]
fn refuses_to_start_on_vercel_without_redis() {
    let child = command(&[("VERCEL", "1")])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chat-vercel");
    let (status, stderr) = exit_of(child, STARTUP_TIMEOUT);
    assert!(
        !status.success(),
        "it started without Redis; stderr: {stderr}"
    );
    assert!(
        stderr.contains("REDIS_URL"),
        "the error does not name REDIS_URL: {stderr}"
    );
}

/// Waits (at most `timeout`) for `child` to exit; its status and stderr.
fn exit_of(mut child: Child, timeout: Duration) -> (ExitStatus, String) {
    let mut stderr = child.stderr.take().expect("the child's stderr");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        let _ = tx.send(text);
    });
    // stderr closes when the process exits (or when it is killed below).
    let text = match rx.recv_timeout(timeout) {
        Ok(text) => text,
        Err(_) => {
            let _ = child.kill();
            panic!("chat-vercel did not exit within {timeout:?}");
        }
    };
    let status = child.wait().expect("wait for chat-vercel");
    (status, text)
}

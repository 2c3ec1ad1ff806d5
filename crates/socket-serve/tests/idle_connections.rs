//! 20,000 idle TCP connections leave normal clients served within 1 s (issue 12 item 4):
//! the chat binary, served by `socket_serve::serve` with its cap and header-read timeout,
//! in a child process; the idle sockets held by this test (10,000) and by a Python child
//! (10,000: one process may hold only 20,000 descriptors here). Needs `cargo build -p chat`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use socket_serve_test_support::ChatProcess;
use tokio::net::TcpStream;

const IN_TEST: usize = 10_000;
const IN_CHILD: usize = 10_000;
const NORMAL_CLIENTS: usize = 20;

/// A Python process that opens `n` connections to `port`, says so, and holds them until
/// its stdin closes (when it is dropped with the test).
const HOLDER: &str = r#"
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
held = []
for _ in range(n):
    held.append(socket.create_connection(("127.0.0.1", port)))
print("holding", len(held), flush=True)
sys.stdin.read()
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_thousand_idle_connections_leave_normal_clients_served_within_1s() {
    if std::env::var("SOCKET_SERVE_TEST_STORE").is_ok_and(|s| !s.is_empty() && s != "memory") {
        eprintln!("a connection test: skipped on the other stores");
        return;
    }
    let chat = ChatProcess::spawn(&[
        ("SOCKET_SERVE_MAX_CONNECTIONS", "8000"),
        ("SOCKET_SERVE_HEADER_READ_TIMEOUT_MS", "300"),
        ("SOCKET_SERVE_CONNECT_RATE", "0"),
    ]);
    let port = chat
        .url()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse::<u16>().ok())
        .expect("a port in the URL");

    let mut holder = Command::new("python3")
        .args(["-c", HOLDER, &port.to_string(), &IN_CHILD.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut held = Vec::with_capacity(IN_TEST);
    for _ in 0..IN_TEST {
        held.push(
            TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("connect"),
        );
    }
    let stdout = holder.stdout.take().expect("its stdout");
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    })
    .await
    .expect("joined")
    .expect("a line");
    assert_eq!(line.trim(), format!("holding {IN_CHILD}"));

    // Every idle socket is held now: normal clients connect and echo, each within 1 s.
    let client = chat.client();
    let mut slowest = Duration::ZERO;
    for n in 0..NORMAL_CLIENTS {
        let started = Instant::now();
        let echoed = tokio::time::timeout(Duration::from_secs(1), async {
            loop {
                let answer = client
                    .request(
                        http::Method::POST,
                        "connect",
                        &[("content-type", "application/json")],
                        Some(b"{}".to_vec()),
                    )
                    .await;
                if answer.status == 503 {
                    // Over the cap for a moment: the refusal is quick, try again.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
                let sid = answer.ok()["sessionId"]
                    .as_str()
                    .expect("a sessionId")
                    .to_owned();
                let id = format!("e-{n}");
                return client.post_message(&sid, "echo", json!(n), Some(&id)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("client {n} was not served within 1 s"));
        echoed.ok();
        slowest = slowest.max(started.elapsed());
    }
    eprintln!(
        "{} idle sockets held; slowest normal client: {slowest:?}",
        IN_TEST + IN_CHILD
    );
    drop(held);
    drop(holder.stdin.take());
    let _ = holder.wait();
}

//! Streams are bounded in bytes (issue 12 item 1): 30 clients open their stream and never
//! read while 900 KB messages are broadcast to them. The server (the chat binary, a child
//! process, so its memory is its own) grows by at most 30 x `stream_buffer_bytes` + 64 MB
//! (VmRSS of `/proc/<pid>/status`); every stream is cut with `retry:`, and a client that
//! resumes from the last cursor it got receives every message exactly once.
//!
//! Needs `cargo build -p chat` first (as `chat_binary.rs`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use socket_serve_test_support::{rss_kib, ChatProcess, Resume, TestStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const STREAMS: usize = 30;
const MESSAGES: usize = 20;
const MESSAGE_BYTES: usize = 900_000;
const BUDGET: u64 = 1024 * 1024;
const SLACK: u64 = 64 * 1024 * 1024;
const WAIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_reading_streams_are_cut_within_their_byte_budget_and_resume_without_loss() {
    // The chat process runs on its own memory store whatever the suite's store: under
    // the Redis runs this test would only repeat itself.
    if !TestStore::env_is_memory() {
        return;
    }
    let chat = ChatProcess::spawn(&[
        ("SOCKET_SERVE_MAX_MESSAGE_BYTES", "1000000"),
        ("SOCKET_SERVE_STREAM_BUFFER_BYTES", &BUDGET.to_string()),
        ("SOCKET_SERVE_HEARTBEAT_MS", "60000"),
    ]);
    let client = chat.client();
    let sender = client.connect().await;
    let mut sessions = Vec::new();
    let mut sockets = Vec::new();
    for _ in 0..STREAMS {
        let session = client.connect().await;
        sockets.push(open_unread_stream(chat.url(), &session.session_id).await);
        sessions.push(session);
    }
    let before = 1024 * chat.rss_kib();
    let peak = Arc::new(AtomicU64::new(before));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, sampling, pid) = (peak.clone(), sampling.clone(), chat.pid());
        std::thread::spawn(move || {
            while sampling.load(Ordering::Acquire) {
                peak.fetch_max(1024 * rss_kib(pid), Ordering::AcqRel);
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    for n in 0..MESSAGES {
        let text = format!("{n}:{}", "x".repeat(MESSAGE_BYTES));
        client.emit(&sender, "chat", json!({ "text": text })).await;
    }
    // Every stream was cut: what it had buffered, then `retry:`, then the end.
    let mut resume_from = Vec::new();
    for socket in &mut sockets {
        let frames = read_to_end(socket).await;
        assert!(
            frames.iter().any(|f| f.starts_with("retry:")),
            "a stream was not cut; its last frames: {:?}",
            frames
                .iter()
                .rev()
                .take(3)
                .map(|f| short(f))
                .collect::<Vec<_>>()
        );
        resume_from.push((last_id(&frames), chat_numbers(&frames)));
    }
    sampling.store(false, Ordering::Release);
    sampler.join().expect("the sampler");
    let grown = peak.load(Ordering::Acquire).saturating_sub(before);
    let bound = STREAMS as u64 * BUDGET + SLACK;
    eprintln!("RSS grew {} MB (bound {} MB)", grown >> 20, bound >> 20);
    assert!(grown <= bound, "RSS grew {grown} bytes, above {bound}");

    // Resuming from its cursor, a client gets each message exactly once.
    for (i, (id, mut seen)) in resume_from.into_iter().enumerate().step_by(10) {
        let mut stream = client
            .open_stream_from(&sessions[i].session_id, Resume::Header(id))
            .await;
        while seen.len() < MESSAGES {
            let frame = stream.wait_for_event("chat", WAIT).await;
            let text = frame.payload()["text"].as_str().unwrap_or_default();
            *seen.entry(number(text)).or_default() += 1;
        }
        let expected: BTreeMap<usize, usize> = (0..MESSAGES).map(|n| (n, 1)).collect();
        assert_eq!(seen, expected, "stream {i}: each message once");
    }
}

/// A stream request over a socket with a small receive buffer, read up to the `connected`
/// frame and then never again. HTTP/1.0, so the body ends with the connection.
async fn open_unread_stream(base: &str, session_id: &str) -> TcpStream {
    let addr = base.trim_start_matches("http://");
    let socket = TcpSocket::new_v4().expect("a socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let mut tcp = socket
        .connect(addr.parse().expect("host:port"))
        .await
        .expect("connect");
    let request = format!(
        "GET /socket/sse?sessionId={session_id} HTTP/1.0\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await.expect("request");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !String::from_utf8_lossy(&head).contains("\"connected\"") || !head.ends_with(b"\n\n") {
        let read = tokio::time::timeout(WAIT, tcp.read(&mut byte)).await;
        let n = read.expect("the connected frame in time").expect("read");
        assert!(n > 0, "the stream ended before its connected frame");
        head.push(byte[0]);
    }
    tcp
}

/// The rest of the stream's frames, after the `connected` one.
async fn read_to_end(tcp: &mut TcpStream) -> Vec<String> {
    let mut body = Vec::new();
    tokio::time::timeout(WAIT, tcp.read_to_end(&mut body))
        .await
        .expect("the stream ended in time")
        .expect("read");
    String::from_utf8_lossy(&body)
        .split("\n\n")
        .filter(|f| !f.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

fn last_id(frames: &[String]) -> String {
    frames
        .iter()
        .flat_map(|f| f.lines())
        .filter_map(|l| l.strip_prefix("id: "))
        .next_back()
        .expect("at least the id of a heartbeat or message")
        .to_owned()
}

/// How many times each chat message number came in these frames.
fn chat_numbers(frames: &[String]) -> BTreeMap<usize, usize> {
    let mut seen = BTreeMap::new();
    for data in frames
        .iter()
        .flat_map(|f| f.lines())
        .filter_map(|l| l.strip_prefix("data: "))
    {
        let envelope: serde_json::Value = serde_json::from_str(data).unwrap_or_default();
        if envelope["event"] == "chat" {
            let text = envelope["data"]["text"].as_str().unwrap_or_default();
            *seen.entry(number(text)).or_default() += 1;
        }
    }
    seen
}

fn number(text: &str) -> usize {
    text.split(':')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a numbered message")
}

fn short(frame: &str) -> &str {
    &frame[..frame.len().min(80)]
}

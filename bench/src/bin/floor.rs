//! The floor: a bare program writing 150-byte frames to N loopback TCP connections, the least
//! a server can spend to deliver a frame. One write per frame, or `--coalesce B` frames per
//! write; paced (`--rate` messages/s, each message one frame to every connection) or flat out
//! (`--rate 0`). Readers on other threads drain every connection; the figure is the writing
//! thread's own CPU (`CLOCK_THREAD_CPUTIME_ID`), which on loopback includes the kernel's
//! delivery to the reading socket. Prints one JSON line.
//!
//!   floor --conns 100 --messages 2000 --rate 500 --coalesce 1

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use socket_serve_bench::procfs::thread_cpu_seconds;

/// An SSE frame of the size a chat delivery is.
const FRAME_BYTES: usize = 150;

fn flag(args: &[String], name: &str, default: u64) -> u64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let conns = flag(&args, "--conns", 100) as usize;
    let messages = flag(&args, "--messages", 2000) as usize;
    let rate = flag(&args, "--rate", 500);
    let coalesce = flag(&args, "--coalesce", 1).max(1) as usize;

    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback listener");
    let addr = listener.local_addr().expect("its address");
    let mut writers = Vec::with_capacity(conns);
    let mut readers = Vec::with_capacity(conns);
    for _ in 0..conns {
        let client = TcpStream::connect(addr).expect("connect");
        let (server, _) = listener.accept().expect("accept");
        server.set_nodelay(true).expect("TCP_NODELAY");
        writers.push(server);
        readers.push(std::thread::spawn(move || drain(client)));
    }

    let mut frame = [b' '; FRAME_BYTES];
    frame[..6].copy_from_slice(b"data: ");
    frame[FRAME_BYTES - 2..].copy_from_slice(b"\n\n");
    let batch: Vec<u8> = frame.repeat(coalesce);

    let started = Instant::now();
    let cpu_before = thread_cpu_seconds();
    let mut writes = 0u64;
    let mut sent = 0usize;
    while sent < messages {
        let group = coalesce.min(messages - sent);
        if rate > 0 {
            let due = Duration::from_secs_f64((sent + group - 1) as f64 / rate as f64);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        for w in &mut writers {
            w.write_all(&batch[..group * FRAME_BYTES]).expect("write");
            writes += 1;
        }
        sent += group;
    }
    let cpu = thread_cpu_seconds() - cpu_before;
    let wall = started.elapsed().as_secs_f64();
    drop(writers);
    let read: u64 = readers.into_iter().map(|r| r.join().unwrap_or(0)).sum();
    let frames = (messages * conns) as u64;
    assert_eq!(read, frames * FRAME_BYTES as u64, "every byte read back");
    let line = serde_json::json!({
        "scenario": "floor", "conns": conns, "messages": messages, "rate": rate,
        "coalesce": coalesce, "frames": frames, "writes": writes, "cpu_s": cpu,
        "cpu_us_per_frame": cpu * 1e6 / frames as f64, "wall_s": wall,
    });
    println!("{line}");
}

/// Reads a connection to its end; the bytes read.
fn drain(mut stream: TcpStream) -> u64 {
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            break;
        }
        total += n as u64;
    }
    total
}

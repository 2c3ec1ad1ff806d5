//! `chat-cli` end to end: two processes chatting through an in-process chat server.

mod common;

use std::path::PathBuf;
use std::process::Stdio;

use common::*;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// The example binary, next to this test's binary (cargo builds examples for `cargo test`);
/// built on demand otherwise.
fn chat_cli() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let debug_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir");
    let bin = debug_dir
        .join("examples")
        .join(format!("chat-cli{}", std::env::consts::EXE_SUFFIX));
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = std::process::Command::new(cargo)
            .args([
                "build",
                "-p",
                "socket-serve-client",
                "--example",
                "chat-cli",
            ])
            .status()
            .expect("run cargo build");
        assert!(status.success(), "building chat-cli failed");
    }
    assert!(bin.exists(), "no chat-cli at {}", bin.display());
    bin
}

struct Cli {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Lines<BufReader<ChildStdout>>,
    id: String,
}

impl Cli {
    async fn start(url: &str, args: &[&str]) -> Cli {
        let mut child = Command::new(chat_cli())
            .arg(url)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start chat-cli");
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut cli = Cli {
            child,
            stdin,
            stdout,
            id: String::new(),
        };
        let welcome = cli.line_starting("* welcome ").await;
        cli.id = welcome.trim_start_matches("* welcome ").to_owned();
        assert_eq!(cli.id.len(), 16, "{welcome:?}");
        cli
    }

    /// The next stdout line that starts with `prefix` (earlier lines are skipped).
    async fn line_starting(&mut self, prefix: &str) -> String {
        let read = async {
            while let Some(line) = self.stdout.next_line().await.expect("read stdout") {
                if line.starts_with(prefix) {
                    return line;
                }
            }
            panic!("chat-cli ended before printing a line starting with {prefix:?}");
        };
        tokio::time::timeout(WAIT, read)
            .await
            .unwrap_or_else(|_| panic!("no line starting with {prefix:?}"))
    }

    async fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .expect("write stdin");
        stdin.flush().await.expect("flush stdin");
    }

    /// Closes stdin: the program sends what is left, disconnects and exits 0.
    async fn finish(mut self) {
        drop(self.stdin.take());
        let status = tokio::time::timeout(WAIT, self.child.wait())
            .await
            .expect("chat-cli exits after stdin ends")
            .expect("wait");
        assert!(status.success(), "{status}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_chat_clis_talk_through_the_chat_server() {
    let server = Server::start(config()).await;
    let mut ann = Cli::start(&server.url(), &["--name", "ann"]).await;
    let mut bob = Cli::start(&server.url(), &["--name", "bob", "--polling"]).await;
    assert_ne!(ann.id, bob.id);

    ann.type_line("hello bob").await;
    let got = bob.line_starting("[").await;
    assert_eq!(got, format!("[{}] ann: hello bob", ann.id));

    bob.type_line("hi ann").await;
    let got = ann.line_starting("[").await;
    assert_eq!(got, format!("[{}] bob: hi ann", bob.id));

    // Rooms: bob joins, ann says something there. Bob's join is answered before his next
    // line is sent, and that line reaching ann proves it.
    bob.type_line("/join lobby").await;
    bob.type_line("joined").await;
    assert_eq!(
        ann.line_starting("[").await,
        format!("[{}] bob: joined", bob.id)
    );
    ann.type_line("/say lobby anyone here?").await;
    assert_eq!(
        bob.line_starting("[#").await,
        format!("[#lobby] [{}] ann: anyone here?", ann.id)
    );

    // The last line before the end of input still gets out.
    ann.type_line("bye").await;
    let ann_id = ann.id.clone();
    ann.finish().await;
    assert_eq!(bob.line_starting("[").await, format!("[{ann_id}] ann: bye"));
    bob.finish().await;
    eventually("both sessions ended on the server", || {
        server.counters.disconnects() == 2
    })
    .await;
}

#[tokio::test]
async fn chat_cli_explains_its_usage() {
    let out = Command::new(chat_cli())
        .output()
        .await
        .expect("run chat-cli");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("usage: chat-cli URL"), "{err}");
}

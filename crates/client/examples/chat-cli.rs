//! A terminal chat against the chat example.
//!
//! ```text
//! cargo run -p chat                      # the server, on 127.0.0.1:3000
//! cargo run -p socket-serve-client --example chat-cli -- http://127.0.0.1:3000/socket --name ann
//! ```
//!
//! Every line read from stdin is sent as `chat {"text": "<name>: <line>"}`, except these:
//! `/join ROOM`, `/leave ROOM`, `/say ROOM TEXT`, `/quit`. Incoming messages are printed to
//! stdout, one a line:
//!
//! ```text
//! * welcome <your public id>
//! [<sender's public id>] ann: hello
//! [#lobby] [<sender's public id>] hi room
//! ```
//!
//! Connection changes go to stderr. At the end of stdin (or `/quit`) it waits until every
//! line was accepted by the server, disconnects and exits. Options: `--name NAME` (default
//! `anon`), `--polling` (long-polling instead of Server-Sent Events).

use std::process::ExitCode;
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;
use socket_serve_client::{Client, ClientEvent, ClientOptions, Delivery, Transport};
use tokio::io::{AsyncBufReadExt, BufReader};

#[derive(Deserialize)]
struct Welcome {
    id: String,
}

#[derive(Deserialize)]
struct Chat {
    from: String,
    text: String,
}

#[derive(Deserialize)]
struct Say {
    from: String,
    room: String,
    text: String,
}

struct Args {
    url: String,
    name: String,
    polling: bool,
}

const USAGE: &str = "usage: chat-cli URL [--name NAME] [--polling]\n  e.g. chat-cli http://127.0.0.1:3000/socket --name ann";

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut url = None;
    let mut name = String::from("anon");
    let mut polling = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--name" => name = args.next().ok_or("--name needs a value")?,
            "--polling" => polling = true,
            "-h" | "--help" => return Err(String::new()),
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
            _ if url.is_none() => url = Some(arg),
            _ => return Err(format!("unexpected argument {arg:?}")),
        }
    }
    Ok(Args {
        url: url.ok_or("missing URL")?,
        name,
        polling,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(problem) => {
            if !problem.is_empty() {
                eprintln!("chat-cli: {problem}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chat-cli: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), socket_serve_client::Error> {
    let transport = if args.polling {
        Transport::Polling
    } else {
        Transport::Auto
    };
    let client = Client::new(&args.url, ClientOptions::default().transport(transport))?;
    client.on("welcome", |w: Welcome| println!("* welcome {}", w.id));
    client.on("chat", |c: Chat| println!("[{}] {}", c.from, c.text));
    client.on("say", |s: Say| {
        println!("[#{}] [{}] {}", s.room, s.from, s.text)
    });
    let mut events = client.events();
    client.open()?;

    // Lifecycle to stderr, until the client closes.
    let status = tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            match event {
                ClientEvent::Connect { recovered } => {
                    eprintln!("* connected (recovered: {recovered})")
                }
                ClientEvent::Disconnect { reason } => eprintln!("* disconnected: {reason}"),
                ClientEvent::Reconnecting { attempt, delay } => {
                    eprintln!("* reconnecting (attempt {attempt}) in {delay:?}")
                }
                ClientEvent::ConnectError { error } => eprintln!("* cannot connect: {error}"),
                ClientEvent::Error { error } => eprintln!("* error: {error}"),
                _ => {}
            }
        }
    });

    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut last: Option<Delivery> = None;
    loop {
        let line = match lines.next_line().await {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(e) => {
                eprintln!("chat-cli: stdin: {e}");
                break;
            }
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let mut words = line.splitn(3, ' ');
        let sent = match (words.next(), words.next(), words.next()) {
            (Some("/quit"), _, _) => break,
            (Some("/join"), Some(room), None) => client.emit("join", json!({ "room": room })),
            (Some("/leave"), Some(room), None) => client.emit("leave", json!({ "room": room })),
            (Some("/say"), Some(room), Some(text)) => client.emit(
                "say",
                json!({ "room": room, "text": format!("{}: {text}", args.name) }),
            ),
            (Some(cmd), _, _) if cmd.starts_with('/') => {
                eprintln!("* commands: /join ROOM, /leave ROOM, /say ROOM TEXT, /quit");
                continue;
            }
            _ => client.emit("chat", json!({ "text": format!("{}: {line}", args.name) })),
        };
        match sent {
            Ok(delivery) => last = Some(delivery),
            Err(e) => eprintln!("* not sent: {e}"),
        }
    }

    // Emits go out in order: once the last one is answered, all of them are.
    if let Some(last) = last {
        match tokio::time::timeout(Duration::from_secs(30), last).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => eprintln!("* last message failed: {e}"),
            Err(_) => eprintln!("* gave up waiting for the server"),
        }
    }
    client.disconnect().await;
    let _ = status.await;
    Ok(())
}

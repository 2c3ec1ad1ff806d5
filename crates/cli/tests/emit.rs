//! `socket-serve emit` as a separate process against a running chat server on Redis: one
//! session by public id, a room, everyone; each message exactly once, also on resume; and
//! clear errors for what a user gets wrong.

use std::process::{Command, Output};

use serde_json::json;
use socket_serve_test_support::{ChatProcess, Frame, RedisServer, Resume, DEFAULT_WAIT as WAIT};

fn emit(redis: &RedisServer, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_socket-serve"))
        .arg("emit")
        .args(args)
        .env("REDIS_URL", redis.url())
        .env_remove("SOCKET_SERVE_KEY_PREFIX")
        .output()
        .expect("the socket-serve binary runs")
}

fn succeeded(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "socket-serve emit failed: {stderr}"
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn failed(output: &Output) -> String {
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The events of frames, leaving out the ones every test sees.
fn events(frames: &[Frame]) -> Vec<(String, serde_json::Value)> {
    frames
        .iter()
        .filter_map(|f| Some((f.event()?.to_owned(), f.payload().clone())))
        .filter(|(e, _)| !["welcome", "echo", "connected"].contains(&e.as_str()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emit_reaches_a_session_a_room_and_everyone_exactly_once() {
    let redis = RedisServer::start();
    let chat = ChatProcess::spawn(&[("REDIS_URL", &redis.url())]);
    let client = chat.client();
    let (ann, mut ann_stream) = client.connect_and_listen().await;
    let (bob, mut bob_stream) = client.connect_and_listen().await;
    client.emit(&ann, "join", json!({"room": "ops"})).await;

    let said = succeeded(&emit(&redis, &["--to", &ann.id, "notice", r#"{"n":1}"#]));
    assert!(said.contains("session"), "{said}");
    succeeded(&emit(&redis, &["--room", "ops", "alert", r#"{"level":2}"#]));
    succeeded(&emit(&redis, &["news", r#""hello""#]));
    // A retried job with the same key sends once.
    for _ in 0..2 {
        succeeded(&emit(&redis, &["--once", "job-9", "job", "9"]));
    }

    let expect_ann = vec![
        ("notice".to_owned(), json!({"n": 1})),
        ("alert".to_owned(), json!({"level": 2})),
        ("news".to_owned(), json!("hello")),
        ("job".to_owned(), json!(9)),
    ];
    assert_eq!(
        events(&client.flush(&ann, &mut ann_stream).await),
        expect_ann
    );
    assert_eq!(
        events(&client.flush(&bob, &mut bob_stream).await),
        vec![
            ("news".to_owned(), json!("hello")),
            ("job".to_owned(), json!(9))
        ]
    );

    // Resuming from the start replays each of them once more, and nothing else.
    let start = ann.cursor.expect("a start cursor").to_string();
    let mut resumed = client
        .open_stream_from(&ann.session_id, Resume::Query(start))
        .await;
    resumed.expect_connected(WAIT).await;
    assert_eq!(events(&client.flush(&ann, &mut resumed).await), expect_ann);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emit_explains_a_bad_url_bad_json_and_an_unknown_id() {
    let redis = RedisServer::start();
    let unknown = failed(&emit(&redis, &["--to", "nobody", "notice", "{}"]));
    assert!(unknown.contains("no open session"), "{unknown}");
    let bad_json = failed(&emit(&redis, &["notice", "{oops"]));
    assert!(bad_json.contains("not JSON"), "{bad_json}");

    let no_url = Command::new(env!("CARGO_BIN_EXE_socket-serve"))
        .args(["emit", "notice"])
        .env_remove("REDIS_URL")
        .output()
        .unwrap();
    assert!(failed(&no_url).contains("REDIS_URL is not set"));
    let bad_url = Command::new(env!("CARGO_BIN_EXE_socket-serve"))
        .args(["emit", "notice"])
        .env("REDIS_URL", "redis://[::1")
        .output()
        .unwrap();
    assert!(failed(&bad_url).contains("REDIS_URL"));
    let usage = Command::new(env!("CARGO_BIN_EXE_socket-serve"))
        .args(["emit", "--room", "a", "--to", "b", "x"])
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2), "{usage:?}");
}

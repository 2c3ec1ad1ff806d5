//! The chat app inside serverless runtimes, on one Redis: `chat-lambda` under the local
//! Lambda of test-support (one invocation per instance, frozen between invocations,
//! killed at a 20 s timeout, behind a Function URL front) and `chat-vercel` as a real
//! process. Build the binaries first: `cargo build -p chat -p chat-lambda -p chat-vercel`
//! (scripts/test.sh does).

use std::time::Duration;

use serde_json::json;
use socket_serve_e2e::{load, LoadOptions, Urls};
use socket_serve_test_support::{
    built_binary, ChatProcess, LambdaOptions, LambdaStats, LocalLambda, RawClient, RedisOptions,
    RedisServer, Resume, DEFAULT_WAIT as WAIT,
};

/// The function's timeout: every stream must rotate before it.
const TIMEOUT: Duration = Duration::from_secs(20);

async fn lambda(redis: &RedisServer) -> LocalLambda {
    let function = built_binary("chat-lambda", &["examples/chat-lambda/src"]);
    let options = LambdaOptions {
        timeout: TIMEOUT,
        freeze: true,
        env: vec![
            ("REDIS_URL".into(), redis.url()),
            ("RUST_LOG".into(), "warn".into()),
            ("SOCKET_SERVE_HEARTBEAT_MS".into(), "1000".into()),
        ],
        ..LambdaOptions::new(function)
    };
    LocalLambda::start(options)
        .await
        .expect("the local Lambda starts")
}

fn api(lambda: &LocalLambda) -> String {
    format!("{}/socket", lambda.url())
}

fn no_timeouts(stats: &LambdaStats) {
    assert_eq!(
        stats.timeouts_killed, 0,
        "an invocation hit its timeout: {stats:#?}"
    );
    assert!(stats.init_errors.is_empty(), "{stats:#?}");
    assert_eq!(stats.crashed, 0, "{stats:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_clients_for_three_minutes_through_the_local_lambda_lose_nothing() {
    let redis = RedisServer::start();
    let lambda = lambda(&redis).await;
    let options = LoadOptions {
        users: 20,
        messages: 450,
        rooms: 4,
        cut_streams: None,
        // 450 sends 400 ms apart: three minutes, so every stream rotates many times.
        pace: Duration::from_millis(400),
    };
    let report = load::run(Urls::fixed(vec![api(&lambda)]), options, async {}).await;
    report.assert_exact();
    let stats = lambda.stats();
    eprintln!("{report:#?}\n{stats:#?}");
    no_timeouts(&stats);
    assert!(
        stats.instances_started > 20,
        "requests were not spread over instances: {stats:#?}"
    );
    // Three minutes of streams that rotate every 18 s: each was reopened several times.
    assert!(
        report.streams_opened >= 20 * 6,
        "streams did not rotate: {report:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thawed_instance_whose_redis_connections_died_serves_its_next_invocation() {
    // Append-only, so the session survives the restart; its connections do not.
    let mut redis = RedisServer::start_with(RedisOptions {
        appendonly: true,
        ..RedisOptions::default()
    });
    let lambda = lambda(&redis).await;
    let client = RawClient::new(&api(&lambda));
    let session = client.connect().await;
    // A long-poll opens the instance's pub/sub connection too.
    let cursor = session.cursor.expect("a cursor").to_string();
    let first = client.long_poll(&session.session_id, &cursor).await;
    assert_eq!(first.messages[0].envelope.event, "welcome");
    assert_eq!(lambda.stats().instances_started, 1);

    // Both connections die while the instance is frozen.
    tokio::task::block_in_place(|| redis.restart());

    let answer = client.emit(&session, "echo", json!("after the thaw")).await;
    assert_eq!(answer["ack"], json!("after the thaw"));
    let cursor = first.cursor.expect("a cursor").to_string();
    let next = client.long_poll(&session.session_id, &cursor).await;
    let events: Vec<_> = next
        .messages
        .iter()
        .map(|m| m.envelope.data.clone())
        .collect();
    assert_eq!(events, vec![json!("after the thaw")]);
    let stats = lambda.stats();
    assert_eq!(
        stats.instances_started, 1,
        "the thawed instance was not the one serving: {stats:#?}"
    );
    assert_eq!(stats.function_errors, 0, "{stats:#?}");

    // Live delivery after the thaw: a waiting stream gets a message sent meanwhile.
    let after = next.cursor.expect("a cursor").to_string();
    let mut stream = client
        .open_stream_from(&session.session_id, Resume::Header(after))
        .await;
    stream.expect_connected(WAIT).await;
    client.emit(&session, "echo", json!("live")).await;
    let live = stream.wait_for_event("echo", WAIT).await;
    assert_eq!(live.payload(), &json!("live"));
    no_timeouts(&lambda.stats());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_of_a_vercel_process_and_of_the_lambda_front_chat_on_one_redis() {
    let redis = RedisServer::start();
    let lambda = lambda(&redis).await;
    let vercel_bin = built_binary(
        "chat-vercel",
        &["examples/chat-vercel/src", "examples/chat-vercel/api"],
    );
    let vercel = ChatProcess::spawn_binary(&vercel_bin, &[("REDIS_URL", &redis.url())]);
    let on_lambda = RawClient::new(&api(&lambda));
    let on_vercel = vercel.client();
    let (ann, mut ann_stream) = on_lambda.connect_and_listen().await;
    let (bob, mut bob_stream) = on_vercel.connect_and_listen().await;

    on_lambda
        .emit(&ann, "chat", json!({"text": "hi from lambda"}))
        .await;
    let got = bob_stream.wait_for_event("chat", WAIT).await;
    assert_eq!(
        got.payload(),
        &json!({"from": ann.id, "text": "hi from lambda"})
    );
    on_vercel
        .emit(&bob, "chat", json!({"text": "hi from vercel"}))
        .await;
    let got = ann_stream.wait_for_event("chat", WAIT).await;
    assert_eq!(
        got.payload(),
        &json!({"from": bob.id, "text": "hi from vercel"})
    );

    on_lambda.emit(&ann, "join", json!({"room": "r"})).await;
    on_vercel.emit(&bob, "join", json!({"room": "r"})).await;
    on_vercel
        .emit(&bob, "say", json!({"room": "r", "text": "in the room"}))
        .await;
    let got = ann_stream.wait_for_event("say", WAIT).await;
    assert_eq!(
        got.payload(),
        &json!({"from": bob.id, "room": "r", "text": "in the room"})
    );
    no_timeouts(&lambda.stats());
}

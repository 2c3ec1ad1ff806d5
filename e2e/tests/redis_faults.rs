//! Faults between instances and Redis (issue 16 item 3): latency on every packet, a
//! connection that stalls without closing, and a primary demoted to a read-only replica.
//! Each must end in 503s that clients retry, never in a 500, a lost or duplicated message,
//! or a stuck stream.

use std::time::{Duration, Instant};

use serde_json::json;
use socket_serve::{Config, StoreConfig};
use socket_serve_e2e::{load, Cluster, FaultProxy, LoadOptions};
use socket_serve_test_support::{RawClient, RedisOptions, RedisServer, Resume, TestServer};

/// Runs `command` on the Redis at `url`.
async fn redis_command(url: &str, args: &[&str]) {
    let client = redis::Client::open(url).unwrap();
    let mut con = client.get_multiplexed_async_connection().await.unwrap();
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    let _: redis::Value = cmd.query_async(&mut con).await.unwrap();
}

/// Emits `echo` until the server answers 200, asserting that every other answer is a 503
/// `store_unavailable` (never a 500); returns the number of 503s.
async fn echo_until_served(client: &RawClient, session_id: &str, within: Duration) -> usize {
    let deadline = Instant::now() + within;
    let mut unavailable = 0;
    let message_id = client.new_message_id();
    loop {
        let answer = client
            .post_message(session_id, "echo", json!("after"), Some(&message_id))
            .await;
        if answer.status == 200 {
            return unavailable;
        }
        answer.error(503, "store_unavailable");
        unavailable += 1;
        assert!(
            Instant::now() < deadline,
            "not served again within {within:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_ms_each_way_between_instances_and_redis_loses_nothing() {
    let redis = RedisServer::start_with(RedisOptions {
        appendonly: true,
        ..RedisOptions::default()
    });
    let proxy = FaultProxy::start(redis.port()).await;
    proxy.set_delay(Duration::from_millis(50));
    let env = [("SOCKET_SERVE_HEARTBEAT_MS", "1000")];
    let cluster = Cluster::start_on(redis, proxy.url(), 2, &env);
    let options = LoadOptions {
        users: 8,
        messages: 10,
        rooms: 2,
        cut_streams: Some((Duration::from_secs(1), Duration::from_secs(2))),
        pace: Duration::ZERO,
    };
    let report = load::run(cluster.urls(), options, async {}).await;
    report.assert_exact();
    assert!(report.expected >= 8 * 10, "{report:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_connections_answer_503_then_are_replaced_and_streams_resume() {
    let redis = RedisServer::start();
    let proxy = FaultProxy::start(redis.port()).await;
    let timeout = Duration::from_millis(800);
    let config = Config {
        store: StoreConfig::Redis(proxy.url()),
        key_prefix: "stall".into(),
        store_timeout: timeout,
        heartbeat_interval: Duration::from_millis(300),
        ..Config::default()
    };
    let server = TestServer::start(config).await;
    let client = server.client();
    let (session, mut stream) = client.connect_and_listen().await;
    let welcome = stream
        .wait_for_event("welcome", Duration::from_secs(5))
        .await;
    let cursor = welcome.id.clone().expect("a cursor");

    // Both the command connection and the pub/sub connection stop answering.
    assert!(proxy.stall_open_connections() >= 2);
    let started = Instant::now();
    let unavailable =
        echo_until_served(&client, &session.session_id, Duration::from_secs(15)).await;
    assert!(
        unavailable >= 1,
        "a stalled connection must be noticed, not waited on"
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "served again after {:?}",
        started.elapsed()
    );

    // The stream's feed was stalled too: it ends (with retry:), and its resume from the
    // last cursor it delivered gets the echo once.
    let ended = stream.expect_end(Duration::from_secs(10)).await;
    let last = ended
        .iter()
        .rev()
        .find_map(|f| f.id.clone())
        .unwrap_or(cursor);
    let mut resumed = client
        .open_stream_from(&session.session_id, Resume::Header(last))
        .await;
    let got = client.flush(&session, &mut resumed).await;
    let echoes = ended
        .iter()
        .chain(&got)
        .filter(|f| f.event() == Some("echo") && f.payload() == &json!("after"))
        .count();
    assert_eq!(echoes, 1, "the echo once: {ended:?} {got:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_primary_demoted_to_a_replica_answers_503_never_500_and_recovers() {
    let primary = RedisServer::start();
    let other = RedisServer::start();
    let config = Config {
        store: StoreConfig::Redis(primary.url()),
        key_prefix: "demoted".into(),
        ..Config::default()
    };
    let server = TestServer::start(config).await;
    let client = server.client();
    let session = client.connect().await;
    client.emit(&session, "echo", json!(1)).await;

    // A failover elsewhere demotes it: writes now answer READONLY (and LOADING while it
    // syncs from its new primary).
    let port = other.port().to_string();
    redis_command(&primary.url(), &["REPLICAOF", "127.0.0.1", &port]).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = client.post_json("connect", &json!({})).await;
        if answer.status == 503 {
            answer.error(503, "store_unavailable");
            break;
        }
        assert_eq!(answer.status, 200, "only 200 or 503, never {answer}");
        assert!(
            Instant::now() < deadline,
            "writes still accepted by a replica"
        );
    }
    // Promoted again: new sessions work (the replica took its primary's data, so the old
    // session is gone: a 404, which clients answer with a new session).
    redis_command(&primary.url(), &["REPLICAOF", "NO", "ONE"]).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = client.post_json("connect", &json!({})).await;
        if answer.status == 200 {
            break;
        }
        answer.error(503, "store_unavailable");
        assert!(Instant::now() < deadline, "not served after the promotion");
    }
    let answer = client
        .post_message(&session.session_id, "echo", json!(2), None)
        .await;
    assert!(answer.status == 200 || answer.status == 404, "{answer}");
}

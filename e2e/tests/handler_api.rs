//! The handler API where it meets Redis (issue 10): a refused connect stores nothing,
//! session data rides on the lookup every request makes, `to_session` across instances,
//! and a Redis outage inside a handler is a 503 that both clients retry.

use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use socket_serve::{Ack, Config, HandlerError, HandlerResult, Handshake, StoreConfig};
use socket_serve_client::{Client, ClientOptions};
use socket_serve_e2e::RedisProxy;
use socket_serve_test_support::reqwest;
use socket_serve_test_support::{RedisOptions, RedisServer, TestServer, DEFAULT_WAIT as WAIT};
use tokio::sync::{mpsc, Notify};

/// Keys under `prefix`, by SCAN.
async fn keys(redis_url: &str, prefix: &str) -> Vec<String> {
    let client = redis::Client::open(redis_url).unwrap();
    let mut con = client.get_multiplexed_async_connection().await.unwrap();
    let mut cursor = 0u64;
    let mut found = Vec::new();
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{{{prefix}}}:*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut con)
            .await
            .unwrap();
        found.extend(batch);
        if next == 0 {
            return found;
        }
        cursor = next;
    }
}

fn config_on(url: String, prefix: &str) -> Config {
    Config {
        store: StoreConfig::Redis(url),
        key_prefix: prefix.into(),
        ..Config::default()
    }
}

async fn only_tokens(handshake: Handshake) -> Result<String, HandlerError> {
    match handshake.bearer_token() {
        Some("good") => Ok("ann".into()),
        Some(_) => Err(HandlerError::forbidden("bad token")),
        None => Err(HandlerError::unauthorized("no token")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connect_leaves_no_key_in_redis() {
    let redis = RedisServer::start();
    let server = TestServer::start_with(config_on(redis.url(), "refused"), |io| {
        io.authorize(only_tokens);
    })
    .await;
    let client = server.client();
    let json = ("content-type", "application/json");
    for headers in [vec![json], vec![json, ("authorization", "Bearer bad")]] {
        let answer = client
            .request(
                reqwest::Method::POST,
                "connect",
                &headers,
                Some(b"{}".to_vec()),
            )
            .await;
        assert!(answer.status == 401 || answer.status == 403, "{answer}");
    }
    assert_eq!(keys(&redis.url(), "refused").await, Vec::<String>::new());
    // The scan does see what an accepted connect stores.
    let answer = client
        .request(
            reqwest::Method::POST,
            "connect",
            &[json, ("authorization", "Bearer good")],
            Some(b"{}".to_vec()),
        )
        .await;
    assert_eq!(answer.status, 200, "{answer}");
    assert!(!keys(&redis.url(), "refused").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_session_data_costs_no_redis_round_trip() {
    let redis = RedisServer::start();
    let proxy = RedisProxy::start(redis.port()).await;
    let server = TestServer::start_with(config_on(proxy.url(), "data"), |io| {
        io.authorize(only_tokens);
        io.on_message("plain", |_socket, _: Value| async move {
            HandlerResult::Ok(Ack(1))
        });
        io.on_message("with-data", |socket, _: Value| async move {
            let user: Option<String> = socket.data()?;
            HandlerResult::Ok(Ack(user))
        });
    })
    .await;
    let client = server.client();
    let answer = client
        .request(
            reqwest::Method::POST,
            "connect",
            &[
                ("authorization", "Bearer good"),
                ("content-type", "application/json"),
            ],
            Some(b"{}".to_vec()),
        )
        .await;
    let session = socket_serve_test_support::Session {
        session_id: answer.json["sessionId"].as_str().unwrap().to_owned(),
        id: answer.json["id"].as_str().unwrap().to_owned(),
        cursor: None,
    };
    let cost = |event: &'static str| {
        let (client, session) = (client.clone(), session.clone());
        let proxy = &proxy;
        async move {
            let before = proxy.requests();
            let ack = client.emit(&session, event, Value::Null).await;
            (proxy.requests() - before, ack)
        }
    };
    // Warm up: a script's first call may cost an EVAL after NOSCRIPT.
    cost("plain").await;
    cost("with-data").await;
    let (plain, _) = cost("plain").await;
    let (with_data, ack) = cost("with-data").await;
    assert_eq!(ack["ack"], json!("ann"));
    assert_eq!(
        with_data, plain,
        "reading socket.data() cost {with_data} round trips against {plain}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn to_session_from_another_instance_reaches_only_that_session() {
    let redis = RedisServer::start();
    let config = config_on(redis.url(), "addr");
    let one = TestServer::start(config.clone()).await;
    let two = TestServer::start(config).await;
    let (target, mut target_stream) = one.client().connect_and_listen().await;
    let (other, mut other_stream) = two.client().connect_and_listen().await;
    two.io()
        .to_session(&target.id)
        .emit("notice", json!({"for": "target"}))
        .await
        .unwrap();
    let got = target_stream.wait_for_event("notice", WAIT).await;
    assert_eq!(got.payload(), &json!({"for": "target"}));
    let leaked: Vec<_> = two
        .client()
        .flush(&other, &mut other_stream)
        .await
        .into_iter()
        .filter(|f| f.event() == Some("notice"))
        .collect();
    assert!(leaked.is_empty(), "{leaked:?}");
}

/// The chat app plus `outage`, a handler whose first run loses Redis halfway: it tells
/// the test to stop Redis, waits until it has, writes session state (`?` on the outage),
/// and tells the test it failed. Later runs ack `"done"`.
struct Outage {
    server: TestServer,
    events: mpsc::UnboundedReceiver<&'static str>,
    stopped: Arc<Notify>,
    runs: Arc<AtomicUsize>,
}

async fn outage_server(redis: &RedisServer, prefix: &str) -> Outage {
    let (tx, events) = mpsc::unbounded_channel();
    let stopped = Arc::new(Notify::new());
    let runs = Arc::new(AtomicUsize::new(0));
    let (counted, notified) = (runs.clone(), stopped.clone());
    let config = Config {
        // The first run's claim outlives its failed release (Redis was down): a retry may
        // claim the message again soon.
        handler_lease: Duration::from_millis(500),
        ..config_on(redis.url(), prefix)
    };
    let server = TestServer::start_with(config, move |io| {
        socket_serve_test_support::chat::register(io);
        io.on_message("outage", move |socket, _: Value| {
            let run = counted.fetch_add(1, Ordering::SeqCst);
            let (tx, stopped) = (tx.clone(), notified.clone());
            async move {
                if run == 0 {
                    let _ = tx.send("stop redis");
                    stopped.notified().await;
                    let result = socket.set("k", 1).await;
                    let _ = tx.send("failed");
                    result?;
                }
                HandlerResult::Ok(Ack("done"))
            }
        });
    })
    .await;
    Outage {
        server,
        events,
        stopped,
        runs,
    }
}

impl Outage {
    /// Plays the outage: Redis down while the first run is inside the handler, back up
    /// once that run has failed.
    async fn play(&mut self, redis: &mut RedisServer) {
        assert_eq!(self.events.recv().await, Some("stop redis"));
        tokio::task::block_in_place(|| redis.stop());
        self.stopped.notify_one();
        assert_eq!(self.events.recv().await, Some("failed"));
        tokio::task::block_in_place(|| redis.restart());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_inside_a_handler_answers_503_store_unavailable() {
    let mut redis = RedisServer::start_with(RedisOptions {
        appendonly: true,
        ..RedisOptions::default()
    });
    let mut outage = outage_server(&redis, "outage-raw").await;
    let client = outage.server.client();
    let session = client.connect().await;
    let body = json!({"sessionId": session.session_id, "event": "outage", "messageId": "m1"});
    let post = {
        let client = client.clone();
        tokio::spawn(async move { client.post_json("message", &body).await })
    };
    outage.play(&mut redis).await;
    let answer = post.await.unwrap();
    answer.error(503, "store_unavailable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rust_client_retries_a_handlers_503_until_it_passes() {
    let mut redis = RedisServer::start_with(RedisOptions {
        appendonly: true,
        ..RedisOptions::default()
    });
    let mut outage = outage_server(&redis, "outage-rs").await;
    let client = Client::new(&outage.server.base_url(), ClientOptions::default()).unwrap();
    client.open().unwrap();
    client.wait_connected(WAIT).await.unwrap();
    let pending = {
        let client = client.clone();
        tokio::spawn(async move { client.emit_with_ack::<String>("outage", Value::Null).await })
    };
    outage.play(&mut redis).await;
    let ack = pending.await.unwrap().expect("the retry succeeds");
    assert_eq!(ack, "done");
    assert_eq!(outage.runs.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_js_client_retries_a_handlers_503_until_it_passes() {
    let mut redis = RedisServer::start_with(RedisOptions {
        appendonly: true,
        ..RedisOptions::default()
    });
    let mut outage = outage_server(&redis, "outage-js").await;
    let client_js = concat!(env!("CARGO_MANIFEST_DIR"), "/../clients/js/src/index.js");
    let script = format!(
        r#"
import {{ connect }} from "{client_js}";
const socket = connect("{base}", {{ reconnectionDelay: 100, reconnectionDelayMax: 500 }});
const ack = await socket.emitWithAck("outage", null);
console.log(JSON.stringify(ack));
socket.disconnect();
"#,
        base = outage.server.base_url()
    );
    let node = tokio::process::Command::new("node")
        .args(["--input-type=module", "-e", &script])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");
    outage.play(&mut redis).await;
    let output = tokio::time::timeout(Duration::from_secs(30), node.wait_with_output())
        .await
        .expect("node finished within 30 s")
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), r#""done""#);
    assert_eq!(outage.runs.load(Ordering::SeqCst), 2);
}

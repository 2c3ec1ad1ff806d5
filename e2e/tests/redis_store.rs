//! The Redis store's own promises: what an emit costs, state under concurrency and across
//! instances, expiry with several sweepers, Redis going away and coming back, and the chat
//! example running on it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use socket_serve::protocol::Cursor;
use socket_serve::store::redis::{RedisOptions as StoreOptions, RedisStore};
use socket_serve::store::{EntryKind, Live, LogId, Outgoing, Store};
use socket_serve::{Config, StoreConfig};
use socket_serve_e2e::RedisProxy;
use socket_serve_test_support::{
    ChatProcess, RedisOptions, RedisServer, Resume, TestServer, TestStore,
};

const WAIT: Duration = Duration::from_secs(10);

/// `INFO commandstats` as command → calls, leaving out INFO itself.
async fn command_stats(redis_url: &str) -> HashMap<String, u64> {
    let client = redis::Client::open(redis_url).expect("redis url");
    let mut con = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect to redis");
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut con)
        .await
        .expect("INFO commandstats");
    info.lines()
        .filter_map(|line| {
            let (name, rest) = line.strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = rest
                .strip_prefix("calls=")?
                .split(',')
                .next()?
                .parse()
                .ok()?;
            (name != "info").then(|| (name.to_owned(), calls))
        })
        .collect()
}

fn delta(before: &HashMap<String, u64>, after: &HashMap<String, u64>) -> HashMap<String, u64> {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0)))
        .filter(|(_, v)| *v > 0)
        .collect()
}

fn message(text: &str) -> EntryKind {
    EntryKind::Message {
        json: Arc::from(format!(r#"{{"event":"m","data":"{text}"}}"#)),
        audience: Default::default(),
    }
}

#[tokio::test]
async fn an_emit_is_one_round_trip_and_a_broadcast_costs_the_same_for_10_or_1000_sessions() {
    let redis = RedisServer::start();
    let proxy = RedisProxy::start(redis.port()).await;
    let store = RedisStore::open(&proxy.url(), StoreOptions::from_config(&Config::default()))
        .expect("store");

    // Warm up: the first call of a script may cost an EVAL after NOSCRIPT (lazy loading).
    let sid = "0123456789abcdef0123456789abcdef";
    store
        .create_session(sid, "p0", None)
        .await
        .expect("session");
    let direct = || Outgoing {
        log: LogId::Session(sid.to_owned()),
        kind: message("direct"),
        dedup: None,
    };
    store.append(direct()).await.expect("append");
    let broadcast = || Outgoing {
        log: LogId::All,
        kind: message("all"),
        dedup: None,
    };
    store.append(broadcast()).await.expect("append");

    let before = proxy.requests();
    store.append(direct()).await.expect("append");
    assert_eq!(
        proxy.requests() - before,
        1,
        "an emit to one session is one round trip"
    );

    let mut costs = Vec::new();
    let mut subscriptions = Vec::new();
    for sessions in [10usize, 1000] {
        // Every session has a live subscription, as an open stream would.
        while subscriptions.len() < sessions {
            let sid = format!("{:032x}", subscriptions.len() + 1);
            store
                .create_session(&sid, "p", None)
                .await
                .expect("session");
            let subscription = store.subscribe(1 << 20);
            store
                .listen(&subscription, &[LogId::Session(sid), LogId::All])
                .await
                .expect("listen");
            subscriptions.push(subscription);
        }
        let stats_before = command_stats(&redis.url()).await;
        let requests_before = proxy.requests();
        let cursor = store
            .append(broadcast())
            .await
            .expect("broadcast")
            .expect("stored");
        let requests = proxy.requests() - requests_before;
        let commands = delta(&stats_before, &command_stats(&redis.url()).await);
        // Every subscriber got it, from the one announcement.
        for subscription in &mut subscriptions {
            let got = tokio::time::timeout(WAIT, async {
                loop {
                    match subscription.recv().await {
                        Some(Live::Entry(LogId::All, entry)) if entry.cursor == cursor => break,
                        Some(_) => continue,
                        None => panic!("subscription lost"),
                    }
                }
            })
            .await;
            assert!(got.is_ok(), "a subscriber did not get the broadcast");
        }
        costs.push((sessions, requests, commands));
    }
    let (_, requests_10, commands_10) = &costs[0];
    let (_, requests_1000, commands_1000) = &costs[1];
    assert_eq!(*requests_10, 1, "{costs:?}");
    assert_eq!(*requests_1000, 1, "{costs:?}");
    assert_eq!(
        commands_10, commands_1000,
        "broadcast cost grew with recipients: {costs:?}"
    );
}

#[tokio::test]
async fn concurrent_sets_on_different_keys_all_survive_and_any_instance_reads_them() {
    let store = TestStore::redis();
    let config = store.config();
    let a = TestServer::start(config.clone()).await;
    let b = TestServer::start(config).await;
    let (ca, cb) = (a.client(), b.client());
    let session = ca.connect().await;

    // Two clients share one session here, so message ids are spelled out: they must be
    // unique within the session.
    let writes = (0..20).map(|i| {
        let client = if i % 2 == 0 { &ca } else { &cb };
        let sid = &session.session_id;
        async move {
            let data = json!({"key": format!("k{i}"), "value": i});
            let id = format!("set-{i}");
            client.post_message(sid, "remember", data, Some(&id)).await
        }
    });
    for answer in futures_util::future::join_all(writes).await {
        assert_eq!(answer.status, 200, "{answer}");
    }

    for i in 0..20 {
        // Read on the other instance than the one that wrote.
        let client = if i % 2 == 0 { &cb } else { &ca };
        let data = json!({"key": format!("k{i}")});
        let id = format!("get-{i}");
        let answer = client
            .post_message(&session.session_id, "recall", data, Some(&id))
            .await;
        assert_eq!(answer.json["ack"]["value"], json!(i), "key k{i}: {answer}");
    }
}

#[tokio::test]
async fn an_expired_session_gets_on_disconnect_once_though_three_instances_sweep() {
    let store = TestStore::redis();
    let config = Config {
        session_ttl: Duration::from_millis(500),
        sweep_interval: Duration::from_millis(20),
        ..store.config()
    };
    let disconnects = Arc::new(AtomicUsize::new(0));
    let mut servers = Vec::new();
    for _ in 0..3 {
        let counter = disconnects.clone();
        let server = TestServer::start_with(config.clone(), move |io| {
            chat::register(io);
            io.on_disconnect(move |socket| {
                let counter = counter.clone();
                async move {
                    assert_eq!(socket.disconnect_reason(), Some("expired"));
                    counter.fetch_add(1, Ordering::SeqCst);
                }
            });
        })
        .await;
        servers.push(server);
    }
    let client = servers[0].client();
    let session = client.connect().await;
    client
        .emit(&session, "join", json!({"room": "lobby"}))
        .await;
    assert_eq!(
        servers[1].io().room_members("lobby").await.unwrap(),
        vec![session.id.clone()]
    );

    // All three sweep at once, again and again, until the session is gone and beyond.
    let started = Instant::now();
    let mut rounds_after = 0;
    while rounds_after < 20 {
        assert!(started.elapsed() < WAIT, "the session never expired");
        let sweeps = servers.iter().map(|s| s.io().sweep_expired());
        for result in futures_util::future::join_all(sweeps).await {
            result.expect("sweep");
        }
        if disconnects.load(Ordering::SeqCst) > 0 {
            rounds_after += 1;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(disconnects.load(Ordering::SeqCst), 1);
    assert!(servers[2]
        .io()
        .room_members("lobby")
        .await
        .unwrap()
        .is_empty());
    let answer = client
        .post_message(&session.session_id, "echo", json!(1), None)
        .await;
    answer.error(404, "unknown_session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_stopped_requests_answer_503_in_time_and_the_session_survives_a_restart() {
    let mut redis = RedisServer::start_with(RedisOptions {
        appendonly: true,
        ..RedisOptions::default()
    });
    let config = Config {
        store: StoreConfig::Redis(redis.url()),
        ..Config::default()
    };
    let server = TestServer::start(config).await;
    let client = server.client();
    let session = client.connect().await;
    let mut stream = client.open_stream(&session.session_id).await;
    stream.wait_for_event("welcome", WAIT).await;
    let seen: Cursor = stream.last_event_id().expect("a cursor").parse().unwrap();
    drop(stream);

    tokio::task::block_in_place(|| redis.stop());
    let started = Instant::now();
    let answer = client
        .post_message(&session.session_id, "echo", json!("lost?"), Some("m-1"))
        .await;
    let took = started.elapsed();
    answer.error(503, "store_unavailable");
    assert!(took < Duration::from_secs(3), "503 took {took:?}");

    tokio::task::block_in_place(|| redis.restart());
    // The same session goes on, with the same message id, once Redis is back.
    let deadline = Instant::now() + WAIT;
    loop {
        let answer = client
            .post_message(&session.session_id, "echo", json!("after"), Some("m-1"))
            .await;
        if answer.status == 200 {
            assert_eq!(answer.json["ack"], json!("after"));
            break;
        }
        answer.error(503, "store_unavailable");
        assert!(
            Instant::now() < deadline,
            "Redis came back but requests still fail"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut resumed = client
        .open_stream_from(&session.session_id, Resume::Header(seen.to_string()))
        .await;
    let connected = resumed.expect_connected(WAIT).await;
    assert_eq!(connected.payload()["recovered"], json!(true));
    let echo = resumed.wait_for_event("echo", WAIT).await;
    assert_eq!(echo.payload(), &json!("after"));
}

#[tokio::test]
async fn two_chat_binaries_on_one_redis_let_their_clients_chat() {
    let redis = RedisServer::start();
    let url = redis.url();
    let one = ChatProcess::spawn(&[("REDIS_URL", url.as_str())]);
    let two = ChatProcess::spawn(&[("REDIS_URL", url.as_str())]);
    let (c1, c2) = (one.client(), two.client());
    let ann = c1.connect().await;
    let bob = c2.connect().await;
    let mut ann_stream = c1.open_stream(&ann.session_id).await;
    let mut bob_stream = c2.open_stream(&bob.session_id).await;
    ann_stream.wait_for_event("welcome", WAIT).await;
    bob_stream.wait_for_event("welcome", WAIT).await;

    c1.emit(&ann, "chat", json!({"text": "hi bob"})).await;
    let got = bob_stream.wait_for_event("chat", WAIT).await;
    assert_eq!(got.payload(), &json!({"from": ann.id, "text": "hi bob"}));
    c2.emit(&bob, "chat", json!({"text": "hi ann"})).await;
    let got = ann_stream.wait_for_event("chat", WAIT).await;
    assert_eq!(got.payload(), &json!({"from": bob.id, "text": "hi ann"}));
}

#[tokio::test]
async fn every_key_but_the_clock_and_the_session_index_expires_by_itself() {
    let store = TestStore::redis();
    let TestStore::Redis(redis) = &store else {
        unreachable!()
    };
    let redis_url = redis.url();
    let config = store.config();
    let prefix = config.key_prefix.clone();
    let server = TestServer::start(config).await;
    let client = server.client();
    let (ann, bob) = (client.connect().await, client.connect().await);
    let mut stream = client.open_stream(&bob.session_id).await;
    stream.wait_for_event("welcome", WAIT).await;
    for session in [&ann, &bob] {
        client.emit(session, "join", json!({"room": "lobby"})).await;
        client
            .emit(session, "remember", json!({"key": "k", "value": 1}))
            .await;
    }
    client.emit(&ann, "chat", json!({"text": "hi"})).await;
    client
        .emit(&ann, "say", json!({"room": "lobby", "text": "hi"}))
        .await;
    client.emit(&bob, "echo", json!(1)).await;
    client.poll(&ann.session_id).await;
    stream.wait_for_event("say", WAIT).await;
    client.disconnect(&ann.session_id).await;

    let redis = redis::Client::open(redis_url).expect("redis url");
    let mut con = redis
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{{{prefix}}}:*"))
        .query_async(&mut con)
        .await
        .expect("KEYS");
    assert!(
        keys.len() > 5,
        "expected the workload to leave keys: {keys:?}"
    );
    let lasting = [
        format!("{{{prefix}}}:clock"),
        format!("{{{prefix}}}:sessions"),
    ];
    for key in keys {
        let ttl: i64 = redis::cmd("PTTL")
            .arg(&key)
            .query_async(&mut con)
            .await
            .expect("PTTL");
        assert!(
            ttl > 0 || lasting.contains(&key),
            "{key} has no expiry (PTTL {ttl})"
        );
    }
}

//! What an idle session costs on Redis (issue 12 item 5): at most 1 KB of Redis memory
//! once its welcome has left the recovery window. Measured as the `used_memory` delta of
//! 1,000 idle sessions of the chat app, and per key with `MEMORY USAGE`. Always on Redis.

use std::time::Duration;

use futures_util::future::join_all;
use socket_serve_test_support::{RawClient, TestServer, TestStore};

const SESSIONS: usize = 1000;
const WINDOW: Duration = Duration::from_millis(1500);

async fn used_memory(con: &mut redis::aio::MultiplexedConnection) -> i64 {
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(con)
        .await
        .expect("INFO memory");
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("used_memory in INFO")
}

/// The bytes `MEMORY USAGE` gives each of the session's own keys (0 for absent ones).
async fn session_keys(
    con: &mut redis::aio::MultiplexedConnection,
    prefix: &str,
    sid: &str,
) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for part in ["meta", "log", "state", "rooms", "ended"] {
        let key = format!("{{{prefix}}}:s:{sid}:{part}");
        let bytes: Option<i64> = redis::cmd("MEMORY")
            .arg("USAGE")
            .arg(&key)
            .query_async(con)
            .await
            .expect("MEMORY USAGE");
        out.push((part.to_owned(), bytes.unwrap_or(0)));
    }
    out
}

async fn connect_many(client: &RawClient, n: usize) -> Vec<String> {
    let mut sids = Vec::new();
    for _ in 0..n / 50 {
        let batch = join_all((0..50).map(|_| client.connect())).await;
        sids.extend(batch.into_iter().map(|s| s.session_id));
    }
    sids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_session_costs_at_most_1_kb_of_redis_memory() {
    let store = TestStore::redis();
    let mut config = store.config();
    config.recovery_window = WINDOW;
    let prefix = config.key_prefix.clone();
    let socket_serve::StoreConfig::Redis(url) = config.store.clone() else {
        unreachable!("a Redis config");
    };
    let server = TestServer::builder()
        .store(store)
        .config(move |c| *c = config)
        .start()
        .await;
    let client = server.client();
    let mut con = redis::Client::open(url)
        .expect("a Redis URL")
        .get_multiplexed_async_connection()
        .await
        .expect("a connection");

    // Warm up (scripts loaded, shared keys made), then measure.
    let (first, mut stream) = client.connect_and_listen().await;
    stream
        .wait_for_event("welcome", Duration::from_secs(5))
        .await;
    let with_welcome = session_keys(&mut con, &prefix, &first.session_id).await;
    let before = used_memory(&mut con).await;
    let sids = connect_many(&client, SESSIONS).await;
    // Wait until every welcome has left the window: their logs expired. (EXISTS also makes
    // Redis reclaim an expired key now rather than at its next active-expiry cycle.)
    let log_keys: Vec<String> = sids
        .iter()
        .map(|sid| format!("{{{prefix}}}:s:{sid}:log"))
        .collect();
    let deadline = tokio::time::Instant::now() + WINDOW * 4;
    loop {
        let exists: i64 = redis::cmd("EXISTS")
            .arg(&log_keys)
            .query_async(&mut con)
            .await
            .expect("EXISTS");
        if exists == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{exists} session logs never expired"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let after = used_memory(&mut con).await;
    let idle = session_keys(&mut con, &prefix, &sids[0]).await;
    let per_session = (after - before) / SESSIONS as i64;
    eprintln!("with its welcome: {with_welcome:?}; idle: {idle:?}; used_memory per idle session: {per_session} B");
    assert!(per_session <= 1024, "an idle session costs {per_session} B");
    let own: i64 = idle.iter().map(|(_, b)| b).sum();
    assert!(own <= 1024, "an idle session's keys take {own} B: {idle:?}");
    // Still a live session: it answers.
    client.poll_answer(&sids[0], None).await.ok();
}

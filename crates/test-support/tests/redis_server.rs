//! The test machinery tests itself: `RedisServer` starts, answers, stops, restarts, and
//! keeps data across a restart only with `appendonly`.

use socket_serve_test_support::{RedisOptions, RedisServer};

fn set(url: &str, key: &str, value: &str) {
    let mut conn = redis::Client::open(url).unwrap().get_connection().unwrap();
    redis::cmd("SET")
        .arg(key)
        .arg(value)
        .exec(&mut conn)
        .unwrap();
}

fn get(url: &str, key: &str) -> Option<String> {
    let mut conn = redis::Client::open(url).unwrap().get_connection().unwrap();
    redis::cmd("GET").arg(key).query(&mut conn).unwrap()
}

#[test]
fn redis_server_answers_on_its_own_port_and_dies_on_drop() {
    let redis = RedisServer::start();
    assert_eq!(redis.url(), format!("redis://127.0.0.1:{}", redis.port()));
    set(&redis.url(), "k", "v");
    assert_eq!(get(&redis.url(), "k").as_deref(), Some("v"));
    let port = redis.port();
    drop(redis);
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "still listening after drop"
    );
}

#[test]
fn two_redis_servers_are_independent() {
    let a = RedisServer::start();
    let b = RedisServer::start();
    assert_ne!(a.port(), b.port());
    set(&a.url(), "k", "a");
    assert_eq!(get(&b.url(), "k"), None);
}

#[test]
fn restart_without_appendonly_starts_empty() {
    let mut redis = RedisServer::start();
    set(&redis.url(), "k", "v");
    redis.stop();
    assert!(!redis.is_running());
    redis.restart();
    assert!(redis.is_running());
    assert_eq!(get(&redis.url(), "k"), None);
}

#[test]
fn restart_with_appendonly_keeps_the_data_on_the_same_port() {
    let mut redis = RedisServer::start_with(RedisOptions {
        appendonly: true,
        ..RedisOptions::default()
    });
    let port = redis.port();
    set(&redis.url(), "k", "kept");
    redis.stop();
    redis.restart();
    assert_eq!(redis.port(), port);
    assert_eq!(get(&redis.url(), "k").as_deref(), Some("kept"));
}

#[test]
fn a_cluster_of_one_serves_every_slot_and_refuses_keys_across_slots() {
    let started = std::time::Instant::now();
    let redis = RedisServer::start_with(RedisOptions {
        cluster: true,
        ..RedisOptions::default()
    });
    let took = started.elapsed();
    set(&redis.url(), "{a}:x", "1");
    assert_eq!(get(&redis.url(), "{a}:x").as_deref(), Some("1"));
    let mut conn = redis::Client::open(redis.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let same: redis::RedisResult<()> = redis::cmd("MSET")
        .arg("{a}:1")
        .arg("1")
        .arg("{a}:2")
        .arg("2")
        .exec(&mut conn);
    assert!(same.is_ok(), "{same:?}");
    let across: redis::RedisResult<()> = redis::cmd("MSET")
        .arg("a1")
        .arg("1")
        .arg("b2")
        .arg("2")
        .exec(&mut conn);
    let err = across.expect_err("keys in two slots");
    assert!(
        err.to_string().to_lowercase().contains("crossslot"),
        "{err}"
    );
    eprintln!("cluster of one started in {took:?}");
}

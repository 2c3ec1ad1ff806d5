//! Presence (issue 11 item 4): a room's list of members with the metadata each chose, its
//! count, pages, and the opt-in `presence:join` / `presence:update` / `presence:leave`
//! events, also for a session that ends or vanishes (expiry). Over real HTTP, on the store
//! SOCKET_SERVE_TEST_STORE names.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use socket_serve_test_support::{RawClient, Session, TestServer, DEFAULT_WAIT as WAIT};

async fn present_in(client: &RawClient, session: &Session, meta: Value, room: &str) {
    client.emit(session, "present", meta).await;
    client.emit(session, "join", json!({ "room": room })).await;
}

fn ids(members: &Value) -> Vec<String> {
    let mut ids: Vec<String> = members
        .as_array()
        .expect("members")
        .iter()
        .map(|m| m["id"].as_str().expect("an id").to_owned())
        .collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rooms_list_shows_its_members_with_their_metadata() {
    let server = TestServer::chat().await;
    let client = server.client();
    let ann = client.connect().await;
    let bob = client.connect().await;
    let cy = client.connect().await;
    present_in(&client, &ann, json!({"name": "ann"}), "lobby").await;
    // Joined first, metadata after: the list follows.
    client.emit(&bob, "join", json!({ "room": "lobby" })).await;
    client.emit(&bob, "present", json!({"name": "bob"})).await;
    client.emit(&cy, "join", json!({ "room": "lobby" })).await;

    let who = client.emit(&ann, "who", json!({ "room": "lobby" })).await;
    assert_eq!(who["ack"]["count"], 3);
    let mut expect = vec![ann.id.clone(), bob.id.clone(), cy.id.clone()];
    expect.sort();
    assert_eq!(ids(&who["ack"]["members"]), expect);
    for member in who["ack"]["members"].as_array().unwrap() {
        let want = match member["id"].as_str() {
            Some(id) if id == ann.id => json!({"name": "ann"}),
            Some(id) if id == bob.id => json!({"name": "bob"}),
            _ => Value::Null,
        };
        assert_eq!(member["meta"], want, "{member}");
    }

    let io = server.io();
    client.emit(&bob, "leave", json!({ "room": "lobby" })).await;
    client.disconnect(&cy.session_id).await;
    assert_eq!(io.presence("lobby").count().await.unwrap(), 1);
    assert_eq!(io.presence("empty").count().await.unwrap(), 0);
    let page = io.presence("lobby").page(None, 10).await.unwrap();
    assert_eq!(page.members.len(), 1);
    assert_eq!(page.members[0].id(), ann.id);
    assert_eq!(page.next, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_walk_the_whole_list_once() {
    let server = TestServer::chat().await;
    let client = server.client();
    let mut expect = Vec::new();
    for i in 0..25 {
        let s = client.connect().await;
        present_in(&client, &s, json!(i), "big").await;
        expect.push(s.id);
    }
    expect.sort();
    let presence = server.io().presence("big");
    assert_eq!(presence.count().await.unwrap(), 25);
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..100 {
        let page = presence.page(after.as_deref(), 10).await.unwrap();
        seen.extend(page.members.iter().map(|m| m.id().to_owned()));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(seen, expect, "every member once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_events_follow_joins_updates_leaves_ends_and_expiry() {
    let ttl = Duration::from_millis(1500);
    let heartbeat = Duration::from_millis(500);
    let server = TestServer::builder()
        .config(move |c| {
            c.presence_events = true;
            c.session_ttl = ttl;
            c.heartbeat_interval = heartbeat;
            c.sweep_interval = Duration::from_millis(100);
        })
        .start()
        .await;
    let client = server.client();
    let (watcher, mut stream) = client.connect_and_listen().await;
    client.emit(&watcher, "join", json!({ "room": "r" })).await;

    let ann = client.connect().await;
    present_in(&client, &ann, json!({"name": "ann"}), "r").await;
    let joined = stream.wait_for_event("presence:join", WAIT).await;
    assert_eq!(
        joined.payload(),
        &json!({"id": ann.id, "meta": {"name": "ann"}})
    );
    client.emit(&ann, "present", json!({"name": "Ann"})).await;
    let updated = stream.wait_for_event("presence:update", WAIT).await;
    assert_eq!(
        updated.payload(),
        &json!({"id": ann.id, "meta": {"name": "Ann"}})
    );
    // A second join of the same room announces nothing; a leave does.
    client.emit(&ann, "join", json!({ "room": "r" })).await;
    client.emit(&ann, "leave", json!({ "room": "r" })).await;
    let left = stream.wait_for_event("presence:leave", WAIT).await;
    assert_eq!(left.payload(), &json!({"id": ann.id}));
    // An ended session leaves its rooms.
    client.emit(&ann, "join", json!({ "room": "r" })).await;
    stream.wait_for_event("presence:join", WAIT).await;
    client.disconnect(&ann.session_id).await;
    let left = stream.wait_for_event("presence:leave", WAIT).await;
    assert_eq!(left.payload(), &json!({"id": ann.id}));

    // A session that vanishes (no stream, no request) leaves within two heartbeats of
    // its expiry.
    let ghost = client.connect().await;
    client.emit(&ghost, "join", json!({ "room": "r" })).await;
    let last_seen = Instant::now();
    let gone = stream.wait_for_event("presence:join", WAIT).await;
    assert_eq!(gone.payload()["id"], json!(ghost.id));
    let bound = ttl + 2 * heartbeat;
    let left = stream.wait_for_event("presence:leave", bound + WAIT).await;
    assert_eq!(left.payload(), &json!({"id": ghost.id}));
    let took = last_seen.elapsed();
    assert!(
        took <= bound,
        "left {took:?} after it was last seen (bound {bound:?})"
    );
    assert_eq!(server.io().presence("r").count().await.unwrap(), 1);
}

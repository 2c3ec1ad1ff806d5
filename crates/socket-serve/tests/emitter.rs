//! Emitting from outside any request: `to_session` by public id, the `Emitter` of another
//! process's store handle, and idempotent `once` emits.

use serde_json::json;
use socket_serve::{Emitter, Error, StoreConfig};
use socket_serve_test_support::{Resume, TestServer, DEFAULT_WAIT as WAIT};

/// An emitter as a separate process would build it: its own store handle on Redis; on
/// the memory store (one process by nature) the server's own.
fn emitter_of(server: &TestServer) -> Emitter {
    let config = server.io().config().clone();
    match config.store {
        StoreConfig::Redis(_) => Emitter::new(config).expect("an emitter on the same Redis"),
        StoreConfig::Memory => server.io().emitter(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn to_session_reaches_only_the_session_with_that_public_id() {
    let server = TestServer::chat().await;
    let client = server.client();
    let (target, mut target_stream) = client.connect_and_listen().await;
    let (other, mut other_stream) = client.connect_and_listen().await;
    target_stream.wait_for_event("welcome", WAIT).await;
    other_stream.wait_for_event("welcome", WAIT).await;

    server
        .io()
        .to_session(&target.id)
        .emit("notice", json!({"n": 1}))
        .await
        .expect("emit to a live session");
    emitter_of(&server)
        .to_session(&target.id)
        .emit("notice", json!({"n": 2}))
        .await
        .expect("emit from another store handle");

    let got = client.flush(&target, &mut target_stream).await;
    let notices: Vec<_> = got.iter().map(|f| f.payload().clone()).collect();
    assert_eq!(notices, vec![json!({"n": 1}), json!({"n": 2})]);
    let elsewhere = client.flush(&other, &mut other_stream).await;
    assert!(elsewhere.is_empty(), "another session got {elsewhere:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn to_session_of_an_unknown_or_ended_session_is_unknown_session() {
    let server = TestServer::chat().await;
    let client = server.client();
    let err = server
        .io()
        .to_session("nobody")
        .emit("notice", 1)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UnknownSession), "{err:?}");

    let session = client.connect().await;
    client.disconnect(&session.session_id).await;
    let err = emitter_of(&server)
        .to_session(&session.id)
        .emit("notice", 1)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UnknownSession), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emitter_reaches_rooms_and_everyone_once_and_a_resuming_client_too() {
    let server = TestServer::chat().await;
    let client = server.client();
    let (member, mut member_stream) = client.connect_and_listen().await;
    let (outsider, mut outsider_stream) = client.connect_and_listen().await;
    client.emit(&member, "join", json!({"room": "ops"})).await;
    let emitter = emitter_of(&server);

    emitter
        .to("ops")
        .emit("alert", json!({"level": 1}))
        .await
        .unwrap();
    emitter.emit("news", json!({"v": 1})).await.unwrap();
    // An emit retried with the same key is stored once.
    for _ in 0..3 {
        emitter
            .once("job-7")
            .emit("job", json!({"id": 7}))
            .await
            .unwrap();
    }

    let events = |frames: &[socket_serve_test_support::Frame]| -> Vec<String> {
        frames
            .iter()
            .filter_map(|f| f.event().map(str::to_owned))
            .filter(|e| !["welcome", "echo", "connected"].contains(&e.as_str()))
            .collect()
    };
    let got = client.flush(&member, &mut member_stream).await;
    assert_eq!(events(&got), ["alert", "news", "job"]);
    let got = client.flush(&outsider, &mut outsider_stream).await;
    assert_eq!(events(&got), ["news", "job"]);

    // A client that resumes from its start gets each of them again exactly once.
    let start = member.cursor.expect("a start cursor").to_string();
    let mut resumed = client
        .open_stream_from(&member.session_id, Resume::Header(start))
        .await;
    let replayed = client.flush(&member, &mut resumed).await;
    assert_eq!(events(&replayed), ["alert", "news", "job"]);
}

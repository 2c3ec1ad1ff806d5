//! Broadcast operators (issue 11): several rooms at once (each member once), `except` a
//! room or a public id, and volatile emits (live only, never replayed). On the store
//! SOCKET_SERVE_TEST_STORE names.

use serde_json::{json, Value};
use socket_serve_test_support::{
    EventStream, Frame, RawClient, Resume, Session, TestServer, DEFAULT_WAIT as WAIT,
};

/// The payloads of `event` among `frames`.
fn payloads(frames: &[Frame], event: &str) -> Vec<Value> {
    frames
        .iter()
        .filter(|f| f.event() == Some(event))
        .map(|f| f.payload().clone())
        .collect()
}

async fn member_of(client: &RawClient, rooms: &[&str]) -> (Session, EventStream) {
    let (session, stream) = client.connect_and_listen().await;
    for room in rooms {
        client.emit(&session, "join", json!({ "room": room })).await;
    }
    (session, stream)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn to_several_rooms_reaches_each_member_once_live_and_on_replay() {
    let server = TestServer::chat().await;
    let client = server.client();
    let (only_a, mut a_stream) = member_of(&client, &["a"]).await;
    let (only_b, mut b_stream) = member_of(&client, &["b"]).await;
    let (both, mut both_stream) = member_of(&client, &["a", "b"]).await;
    let (outsider, mut out_stream) = member_of(&client, &["c"]).await;

    server
        .io()
        .to("a")
        .to("b")
        .emit("news", json!(1))
        .await
        .unwrap();
    server
        .io()
        .to("b")
        .to("a")
        .to("c")
        .emit("news", json!(2))
        .await
        .unwrap();

    for (session, stream, expect) in [
        (&only_a, &mut a_stream, vec![json!(1), json!(2)]),
        (&only_b, &mut b_stream, vec![json!(1), json!(2)]),
        (&both, &mut both_stream, vec![json!(1), json!(2)]),
        (&outsider, &mut out_stream, vec![json!(2)]),
    ] {
        let got = client.flush(session, stream).await;
        assert_eq!(payloads(&got, "news"), expect, "{session:?}");
    }
    // A resume from the start replays them once too.
    let start = both.cursor.expect("a cursor").to_string();
    let mut resumed = client
        .open_stream_from(&both.session_id, Resume::Header(start))
        .await;
    let replayed = client.flush(&both, &mut resumed).await;
    assert_eq!(payloads(&replayed, "news"), vec![json!(1), json!(2)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn except_leaves_out_a_rooms_members_or_a_public_id() {
    let server = TestServer::chat().await;
    let client = server.client();
    let (player, mut player_stream) = member_of(&client, &["game"]).await;
    let (watcher, mut watcher_stream) = member_of(&client, &["game", "spectators"]).await;
    let (lurker, mut lurker_stream) = member_of(&client, &["spectators"]).await;

    let io = server.io();
    io.to("game")
        .except("spectators")
        .emit("move", 1)
        .await
        .unwrap();
    io.except("spectators")
        .emit("everyone-but", 2)
        .await
        .unwrap();
    io.except(&player.id).emit("not-player", 3).await.unwrap();

    let got = client.flush(&player, &mut player_stream).await;
    assert_eq!(payloads(&got, "move"), vec![json!(1)]);
    assert_eq!(payloads(&got, "everyone-but"), vec![json!(2)]);
    assert!(payloads(&got, "not-player").is_empty());
    for (session, stream) in [
        (&watcher, &mut watcher_stream),
        (&lurker, &mut lurker_stream),
    ] {
        let got = client.flush(session, stream).await;
        assert!(payloads(&got, "move").is_empty(), "{got:?}");
        assert!(payloads(&got, "everyone-but").is_empty(), "{got:?}");
        assert_eq!(payloads(&got, "not-player"), vec![json!(3)]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volatile_emits_reach_connected_clients_and_are_never_replayed() {
    let server = TestServer::chat().await;
    let client = server.client();
    let (live, mut live_stream) = member_of(&client, &["doc"]).await;
    // Connected but with no stream open: nobody is there to take it.
    let absent = client.connect().await;
    client.emit(&absent, "join", json!({ "room": "doc" })).await;
    let before = client.flush(&live, &mut live_stream).await;
    drop(before);

    server
        .io()
        .to("doc")
        .volatile()
        .emit("cursor", json!([1, 2]))
        .await
        .unwrap();
    let got = live_stream.wait_for_event("cursor", WAIT).await;
    assert_eq!(got.payload(), &json!([1, 2]));
    assert_eq!(got.id, None, "a volatile frame moves no cursor");
    server
        .io()
        .volatile()
        .emit("load", json!(0.5))
        .await
        .unwrap();
    let got = live_stream.wait_for_event("load", WAIT).await;
    assert_eq!(got.payload(), &json!(0.5));

    // Neither a resume of the live session nor the absent one's first stream replays it.
    let start = live.cursor.expect("a cursor").to_string();
    let mut resumed = client
        .open_stream_from(&live.session_id, Resume::Header(start))
        .await;
    let replayed = client.flush(&live, &mut resumed).await;
    assert!(payloads(&replayed, "cursor").is_empty(), "{replayed:?}");
    let mut late = client.open_stream(&absent.session_id).await;
    let got = client.flush(&absent, &mut late).await;
    assert!(payloads(&got, "cursor").is_empty(), "{got:?}");
    assert!(payloads(&got, "load").is_empty(), "{got:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_long_poll_gets_a_volatile_emit() {
    let server = TestServer::builder()
        .config(|c| c.poll_timeout = std::time::Duration::from_secs(10))
        .start()
        .await;
    let client = server.client();
    let session = client.connect().await;
    let first = client
        .long_poll(&session.session_id, &session.cursor.unwrap().to_string())
        .await;
    let cursor = first.cursor.expect("a cursor").to_string();
    let poll = {
        let (client, sid) = (client.clone(), session.session_id.clone());
        tokio::spawn(async move { client.long_poll(&sid, &cursor).await })
    };
    // Once the poll waits (its subscription is up), a volatile emit answers it.
    let io = server.io().clone();
    let answer = loop {
        io.volatile().emit("ping", json!("v")).await.unwrap();
        if poll.is_finished() {
            break poll.await.unwrap();
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let events: Vec<_> = answer
        .messages
        .iter()
        .map(|m| m.envelope.event.clone())
        .collect();
    assert!(events.iter().all(|e| e == "ping"), "{events:?}");
    assert!(answer.messages.iter().all(|m| m.cursor.is_none()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_join_leave_fetch_and_disconnect_work_from_anywhere() {
    let server = TestServer::chat().await;
    let client = server.client();
    let (ann, mut ann_stream) = member_of(&client, &["lobby"]).await;
    let (bob, mut bob_stream) = member_of(&client, &["lobby"]).await;
    let io = server.io();

    io.to_session(&ann.id).join("vip").await.unwrap();
    io.to("vip").emit("perk", 1).await.unwrap();
    let got = ann_stream.wait_for_event("perk", WAIT).await;
    assert_eq!(got.payload(), &json!(1));

    assert_eq!(io.to("lobby").sockets_join("game").await.unwrap(), 2);
    let mut ids: Vec<String> = io
        .to("game")
        .fetch_sockets()
        .await
        .unwrap()
        .iter()
        .map(|s| s.id().to_owned())
        .collect();
    ids.sort();
    let mut expect = vec![ann.id.clone(), bob.id.clone()];
    expect.sort();
    assert_eq!(ids, expect);
    io.to_session(&bob.id).leave("game").await.unwrap();
    assert_eq!(io.to("game").members().await.unwrap(), vec![ann.id.clone()]);

    // Everyone in the lobby but bob is ended from the server.
    let ended = io
        .to("lobby")
        .except(&bob.id)
        .disconnect_sockets()
        .await
        .unwrap();
    assert_eq!(ended, 1);
    assert!(
        io.to_session(&ann.id).fetch().await.unwrap().is_none(),
        "ann still open"
    );
    let frames = ann_stream.expect_end(WAIT).await;
    assert!(
        frames.iter().any(|f| f.event() == Some("__disconnect")),
        "{frames:?}"
    );
    client.emit(&bob, "echo", json!("still here")).await;
    let got = bob_stream.wait_for_event("echo", WAIT).await;
    assert_eq!(got.payload(), &json!("still here"));
    assert!(io.to_session(&ann.id).fetch().await.unwrap().is_none());
}

/// Regression: a join announced to a stream, then the session ended and purged before the
/// stream's catch-up replay read the log: the end was dropped as "already replayed" and
/// the stream hung until a heartbeat noticed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_ends_when_its_session_ends_right_after_a_server_side_join() {
    let server = TestServer::chat().await;
    let client = server.client();
    let (ann, mut ann_stream) = member_of(&client, &["lobby"]).await;
    ann_stream.wait_for_event("welcome", WAIT).await;
    server.io().to_session(&ann.id).join("vip").await.unwrap();
    server.io().to("vip").emit("perk", 1).await.unwrap();
    ann_stream.wait_for_event("perk", WAIT).await;
    assert_eq!(
        server.io().to("lobby").sockets_join("game").await.unwrap(),
        1
    );
    server.io().to_session(&ann.id).disconnect().await.unwrap();
    let frames = ann_stream.expect_end(WAIT).await;
    assert!(
        frames.iter().any(|f| f.event() == Some("__disconnect")),
        "{frames:?}"
    );
}

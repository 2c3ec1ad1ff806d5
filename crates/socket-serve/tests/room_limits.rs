//! Rooms per session are capped (issue 12 item 2): a join past
//! `max_rooms_per_session` is refused with 403 `too_many_rooms` and changes nothing; a
//! leave makes room again. On the store SOCKET_SERVE_TEST_STORE names.

use serde_json::json;
use socket_serve_test_support::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_past_the_cap_is_refused_and_a_leave_makes_room() {
    let server = TestServer::builder()
        .config(|c| c.max_rooms_per_session = 3)
        .start()
        .await;
    let client = server.client();
    let session = client.connect().await;
    for room in ["a", "b", "c"] {
        client.emit(&session, "join", json!({ "room": room })).await;
    }
    let refused = client
        .post_message(
            &session.session_id,
            "join",
            json!({"room": "d"}),
            Some("j-d"),
        )
        .await;
    refused.error(403, "too_many_rooms");
    // At the cap, a room it is in already is no join.
    client.emit(&session, "join", json!({ "room": "a" })).await;
    let io = server.io();
    assert!(io.room_members("d").await.unwrap().is_empty());
    assert_eq!(io.presence("d").count().await.unwrap(), 0);
    // From the server too, and a bulk join skips the full member.
    let err = io.to_session(&session.id).join("d").await.unwrap_err();
    assert_eq!(err.code(), "too_many_rooms");
    assert_eq!(io.to("a").sockets_join("d").await.unwrap(), 0);

    client.emit(&session, "leave", json!({ "room": "c" })).await;
    client.emit(&session, "join", json!({ "room": "d" })).await;
    assert_eq!(
        io.room_members("d").await.unwrap(),
        vec![session.id.clone()]
    );
}

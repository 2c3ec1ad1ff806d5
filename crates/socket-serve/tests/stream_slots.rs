//! Open streams per session are capped (issue 12 item 2): past
//! `max_streams_per_session` the OLDEST stream ends with a `__replaced` frame (no
//! `retry:`), on whichever instance it runs, and the others stay live. A stream that ends
//! frees its slot at once. On the store SOCKET_SERVE_TEST_STORE names (the two-instance
//! test needs a shared store: Redis, started for it on the memory run).

use std::time::Duration;

use serde_json::json;
use socket_serve_test_support::{
    within, EventStream, Frame, RawClient, Session, TestServer, TestStore, DEFAULT_WAIT,
};

const WAIT: Duration = DEFAULT_WAIT;

async fn open(client: &RawClient, session: &Session) -> EventStream {
    let mut stream = client.open_stream(&session.session_id).await;
    stream.expect_connected(WAIT).await;
    stream
}

/// The oldest stream's end: a `__replaced` frame with the reason, then the end of the
/// body, and no `retry:` anywhere (its client must not come back for the slot).
async fn expect_replaced(stream: &mut EventStream) {
    let frames = stream.expect_end(WAIT).await;
    let replaced: Vec<&Frame> = frames
        .iter()
        .filter(|f| f.event() == Some("__replaced"))
        .collect();
    assert_eq!(replaced.len(), 1, "{frames:#?}");
    assert_eq!(replaced[0].payload(), &json!({"reason": "replaced"}));
    assert!(frames.iter().all(|f| f.retry.is_none()), "{frames:#?}");
}

/// Every stream gets the session's next echo.
async fn expect_live(client: &RawClient, session: &Session, streams: &mut [EventStream], n: i64) {
    client.emit(session, "echo", json!(n)).await;
    for stream in streams.iter_mut() {
        let echo = |f: &Frame| f.event() == Some("echo") && f.payload() == &json!(n);
        stream.wait_for(echo, WAIT).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifth_stream_ends_the_oldest_and_four_stay_live() {
    let server = TestServer::chat().await;
    assert_eq!(server.io().config().max_streams_per_session, 4);
    let client = server.client();
    let session = client.connect().await;
    let mut first = open(&client, &session).await;
    let mut others = Vec::new();
    for _ in 0..4 {
        others.push(open(&client, &session).await);
    }
    expect_replaced(&mut first).await;
    expect_live(&client, &session, &mut others, 1).await;
    // The replaced stream's slot is gone with it: 4 streams, 4 slots.
    within(WAIT, "the replaced stream to be counted out", async {
        while server.io().open_streams() != 4 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_oldest_stream_ends_on_another_instance() {
    let store = match TestStore::from_env() {
        TestStore::Memory => TestStore::redis(),
        shared => shared,
    };
    let config = store.config();
    let a = TestServer::start(config.clone()).await;
    let b = TestServer::start(config).await;
    let (on_a, on_b) = (a.client(), b.client());
    let session = on_a.connect().await;
    let mut first = open(&on_a, &session).await;
    let mut others = vec![open(&on_a, &session).await, open(&on_b, &session).await];
    others.push(open(&on_a, &session).await);
    others.push(open(&on_b, &session).await);
    expect_replaced(&mut first).await;
    expect_live(&on_b, &session, &mut others, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_whose_client_went_away_frees_its_slot() {
    let server = TestServer::chat().await;
    let client = server.client();
    let session = client.connect().await;
    let mut streams = Vec::new();
    for _ in 0..4 {
        streams.push(open(&client, &session).await);
    }
    // The newest goes (its TCP connection closed): were its slot kept, the 5th would
    // end the oldest.
    drop(streams.pop());
    let mut n = 0;
    within(WAIT, "the server to notice the closed stream", async {
        while server.io().open_streams() != 3 {
            // A write is what shows a closed connection to the server.
            n += 1;
            client.emit(&session, "echo", json!(n)).await;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    streams.push(open(&client, &session).await);
    expect_live(&client, &session, &mut streams, 1000).await;
    let frames = streams[0].received();
    assert!(
        frames.iter().all(|f| f.event() != Some("__replaced")),
        "{frames:#?}"
    );
    assert_eq!(server.io().open_streams(), 4);
}

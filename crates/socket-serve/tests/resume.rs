//! Resuming a stream (PROTOCOL.md 3.4, DESIGN.md section 2: exactly once, in order): a late
//! first stream, cuts, `Last-Event-ID` and `?lastEventId=`, the recovery window, and cursors
//! that make no sense.

use std::time::Duration;

use serde_json::{json, Value};
use socket_serve_test_support::{
    Cursor, EventStream, Frame, RawClient, Resume, Session, TestServer, DEFAULT_WAIT as WAIT,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn welcome_reaches_a_stream_opened_5s_after_connect() {
    let server = TestServer::chat().await;
    let client = server.client();
    let alice = client.connect().await;

    // The point of the test: the stream opens well after /connect answered.
    tokio::time::sleep(Duration::from_secs(5)).await;

    let mut stream = client.open_stream(&alice.session_id).await;
    let connected = stream.expect_connected(WAIT).await;
    assert_eq!(connected.payload()["recovered"], true);
    let welcome = stream.next_frame(WAIT).await;
    assert_eq!(welcome.event(), Some("welcome"));
    assert_eq!(welcome.payload(), &json!({"id": alice.id}));
}

/// Alice (in room `r`) receives `count` numbered messages, alternately a direct `echo` of
/// her own, a broadcast `chat` from Bob and a `say` from Bob to the room, sent one after the
/// other so their order is known. Returns `(kind, n)` as Alice should see them.
async fn send_mixed(
    client: &RawClient,
    alice: &Session,
    bob: &Session,
    range: std::ops::Range<u64>,
) -> Vec<(String, u64)> {
    let mut expected = Vec::new();
    for n in range {
        let kind = match n % 3 {
            0 => {
                client.emit(alice, "echo", json!({ "n": n })).await;
                "echo"
            }
            1 => {
                client
                    .emit(bob, "chat", json!({ "text": n.to_string() }))
                    .await;
                "chat"
            }
            _ => {
                client
                    .emit(bob, "say", json!({ "room": "r", "text": n.to_string() }))
                    .await;
                "say"
            }
        };
        expected.push((kind.to_owned(), n));
    }
    expected
}

/// `(kind, n)` of a frame made by [`send_mixed`].
fn numbered(frame: &Frame) -> (String, u64) {
    let event = frame.event().expect("an event").to_owned();
    let n = match event.as_str() {
        "echo" => frame.payload()["n"].as_u64(),
        _ => frame.payload()["text"]
            .as_str()
            .and_then(|t| t.parse().ok()),
    };
    (
        event,
        n.unwrap_or_else(|| panic!("not a numbered frame: {frame:?}")),
    )
}

/// Reads message frames until `count` numbered ones came, checking cursors increase.
async fn read_numbered(stream: &mut EventStream, count: usize) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut last: Option<Cursor> = None;
    while out.len() < count {
        let frame = stream.next_message(WAIT).await;
        assert!(
            frame.cursor() > last,
            "cursors go up: {frame:?} after {last:?}"
        );
        last = frame.cursor();
        out.push(numbered(&frame));
    }
    out
}

async fn resumes_after_a_cut_exactly_once_in_order(
    resume: fn(String) -> Resume,
    replay_batch: usize,
) {
    const K: usize = 7;
    let server = TestServer::builder()
        .config(move |c| c.replay_batch = replay_batch)
        .start()
        .await;
    let client = server.client();
    let (alice, mut stream) = client.connect_and_listen().await;
    let bob = client.connect().await;
    client.emit(&alice, "join", json!({"room": "r"})).await;
    stream.wait_for_event("welcome", WAIT).await;

    let mut expected = send_mixed(&client, &alice, &bob, 0..15).await;
    let first = read_numbered(&mut stream, K).await;
    assert_eq!(first, expected[..K]);
    let last_seen = stream.last_event_id().expect("the last frame's id");
    drop(stream); // the cut: frames K+1.. may have been in flight

    // More while no stream is open.
    expected.extend(send_mixed(&client, &alice, &bob, 15..21).await);

    let mut resumed = client
        .open_stream_from(&alice.session_id, resume(last_seen.clone()))
        .await;
    let connected = resumed.expect_connected(WAIT).await;
    assert_eq!(connected.payload()["recovered"], true);
    assert_eq!(connected.id.as_deref(), Some(last_seen.as_str()));
    let rest = read_numbered(&mut resumed, expected.len() - K).await;
    assert_eq!(rest, expected[K..], "frames K+1.. exactly once, in order");

    // Then live, with nothing extra in between.
    expected.extend(send_mixed(&client, &alice, &bob, 21..24).await);
    let live = read_numbered(&mut resumed, 3).await;
    assert_eq!(live, expected[expected.len() - 3..]);
    let extra = client.flush(&alice, &mut resumed).await;
    assert!(extra.is_empty(), "duplicates or strays: {extra:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_cut_after_k_frames_resumes_with_last_event_id_header_exactly_once_in_order() {
    resumes_after_a_cut_exactly_once_in_order(Resume::Header, 1000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_cut_after_k_frames_resumes_with_last_event_id_query_exactly_once_in_order() {
    resumes_after_a_cut_exactly_once_in_order(Resume::Query, 1000).await;
}

/// A resume reads the logs in steps of `replay_batch` (here 2 entries per room or
/// broadcast log): the steps join up with nothing lost or doubled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_replayed_in_small_batches_is_exactly_once_in_order() {
    resumes_after_a_cut_exactly_once_in_order(Resume::Header, 2).await;
}

/// A page that put `lastEventId` in its EventSource URL reconnects with a newer
/// `Last-Event-ID` header: whichever of the two is later counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_later_of_last_event_id_query_and_header_wins() {
    let server = TestServer::chat().await;
    let client = server.client();
    let (alice, mut stream) = client.connect_and_listen().await;
    let welcome = stream.wait_for_event("welcome", WAIT).await;
    client.emit(&alice, "echo", json!(1)).await;
    let one = stream.wait_for_event("echo", WAIT).await;
    client.emit(&alice, "echo", json!(2)).await;
    drop(stream);

    let older = welcome.id.clone().unwrap();
    let newer = one.id.clone().unwrap();
    for (query, header) in [(&newer, &older), (&older, &newer)] {
        let mut url = client.url("sse");
        url.query_pairs_mut()
            .append_pair("sessionId", &alice.session_id)
            .append_pair("lastEventId", query);
        let mut resumed = client
            .try_open_stream_url(url, &[("Last-Event-ID", header)])
            .await
            .expect("a stream");
        resumed.expect_connected(WAIT).await;
        let next = resumed.next_message(WAIT).await;
        assert_eq!(
            next.payload(),
            &json!(2),
            "query {query}, header {header}: resumed after the later cursor"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_from_a_cursor_older_than_the_recovery_window_says_recovered_false() {
    let server = TestServer::builder()
        .config(|c| c.recovery_window = Duration::from_secs(1))
        .start()
        .await;
    let client = server.client();
    let (alice, mut stream) = client.connect_and_listen().await;
    let welcome = stream.wait_for_event("welcome", WAIT).await;
    drop(stream);
    client.emit(&alice, "echo", json!("lost?")).await;

    // The window is the thing tested: let it pass on the real clock.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    client.emit(&alice, "echo", json!("fresh")).await;

    let mut resumed = client
        .open_stream_from(&alice.session_id, Resume::Header(welcome.id.unwrap()))
        .await;
    let connected = resumed.expect_connected(WAIT).await;
    assert_eq!(connected.payload()["recovered"], false, "{connected:?}");
    // What is still kept is delivered.
    let fresh = resumed
        .wait_for(|f| f.payload() == &json!("fresh"), WAIT)
        .await;
    assert_eq!(fresh.event(), Some("echo"));

    // A cursor inside the window is recovered.
    drop(resumed);
    let mut again = client
        .open_stream_from(&alice.session_id, Resume::Query(fresh.id.unwrap()))
        .await;
    assert_eq!(
        again.expect_connected(WAIT).await.payload()["recovered"],
        true
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cursor_from_the_future_is_handled_without_loss_afterwards() {
    let server = TestServer::builder()
        .config(|c| c.poll_timeout = Duration::from_millis(300))
        .start()
        .await;
    let client = server.client();
    let (alice, mut stream) = client.connect_and_listen().await;
    stream.wait_for_event("welcome", WAIT).await;
    drop(stream);

    let future = Cursor::new(u64::MAX / 2, 7).to_string();
    let mut resumed = client
        .open_stream_from(&alice.session_id, Resume::Header(future.clone()))
        .await;
    let connected = resumed.expect_connected(WAIT).await;
    let position = connected.cursor().expect("a position");
    assert!(
        position < future.parse().unwrap(),
        "the stream does not claim the forged position: {connected:?}"
    );

    // Everything after the open arrives, and a resume from the position it gave loses nothing.
    client.emit(&alice, "echo", json!(1)).await;
    let one = resumed.wait_for_event("echo", WAIT).await;
    assert_eq!(one.payload(), &json!(1));
    drop(resumed);
    client.emit(&alice, "echo", json!(2)).await;
    let mut again = client
        .open_stream_from(&alice.session_id, Resume::Query(one.id.unwrap()))
        .await;
    again.expect_connected(WAIT).await;
    let two = again.next_message(WAIT).await;
    assert_eq!(two.payload(), &json!(2));

    // The same through a long-poll: it answers (empty, after poll_timeout) with the real
    // position, and the next poll from there gets what came after.
    let answer = client.long_poll(&alice.session_id, &future).await;
    assert!(answer.messages.is_empty(), "{answer:?}");
    let position = answer.cursor.expect("a cursor");
    assert!(position < future.parse().unwrap(), "{answer:?}");
    client.emit(&alice, "echo", json!(3)).await;
    let answer = client
        .long_poll(&alice.session_id, &position.to_string())
        .await;
    let messages = &answer.messages;
    assert_eq!(messages.len(), 1, "{answer:?}");
    assert_eq!(messages[0].envelope.data, json!(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_ended_by_max_stream_duration_resumes_without_loss() {
    let server = TestServer::builder()
        .config(|c| c.max_stream_duration = Some(Duration::from_millis(400)))
        .start()
        .await;
    let client = server.client();
    let (alice, mut stream) = client.connect_and_listen().await;
    let mut seen: Vec<Value> = Vec::new();
    let mut cursor = None;
    let mut n = 0;
    // Keep sending across several stream ends; every resume continues where it stopped.
    for _round in 0..3 {
        client.emit(&alice, "echo", json!(n)).await;
        n += 1;
        let frames = stream.expect_end(WAIT).await;
        assert!(
            frames.last().and_then(|f| f.retry).is_some(),
            "no retry: hint before the end: {frames:?}"
        );
        seen.extend(
            frames
                .iter()
                .filter(|f| f.event() == Some("echo"))
                .map(|f| f.payload().clone()),
        );
        cursor = stream.last_event_id().or(cursor);
        client.emit(&alice, "echo", json!(n)).await; // while no stream is open
        n += 1;
        stream = client
            .open_stream_from(&alice.session_id, Resume::Header(cursor.clone().unwrap()))
            .await;
        stream.expect_connected(WAIT).await;
    }
    let frames = stream.expect_end(WAIT).await;
    seen.extend(
        frames
            .iter()
            .filter(|f| f.event() == Some("echo"))
            .map(|f| f.payload().clone()),
    );
    assert_eq!(seen, (0..n).map(|i| json!(i)).collect::<Vec<_>>());
}

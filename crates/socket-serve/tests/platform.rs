//! Platform limits: a buffering host gets no SSE stream (501, clients poll instead), and a
//! runtime's request deadline ends streams and long-polls a safety margin before it.

use std::time::{Duration, Instant};

use socket_serve::platform::{Deadline, ResponseStreaming};
use socket_serve::{Platform, SocketServe};
use socket_serve_test_support::{chat, RawClient, Resume, TestServer, TestStore, DEFAULT_WAIT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buffering_host_answers_sse_with_501_and_serves_long_polls() {
    let server = TestServer::builder()
        .config(|c| {
            c.platform = Platform::Netlify;
            c.poll_timeout = Duration::from_millis(200);
        })
        .start()
        .await;
    let client = server.client();
    let session = client.connect().await;
    let answer = client
        .stream_answer(&session.session_id, Resume::Start)
        .await;
    let message = answer.error(501, "sse_unsupported");
    assert!(message.contains("long-polling"), "{message}");

    let cursor = session.cursor.expect("a cursor").to_string();
    let poll = client.poll_answer(&session.session_id, Some(&cursor)).await;
    assert_eq!(poll.status, 200, "{poll}");
    assert_eq!(poll.json["messages"][0]["event"], "welcome", "{poll}");
}

/// The chat app behind a layer that marks requests as a runtime would: `deadline_in` from
/// each request's arrival, and the streaming mark when `streams`.
async fn behind_runtime(deadline_in: Duration, streams: bool) -> (RawClient, TestStore) {
    let store = TestStore::from_env();
    let config = store.config().for_platform(Platform::Lambda, None);
    let io = SocketServe::new(config).unwrap();
    chat::register(&io);
    let app = chat::app(&io).layer(axum::middleware::map_request(
        move |mut request: axum::extract::Request| async move {
            request
                .extensions_mut()
                .insert(Deadline(Instant::now() + deadline_in));
            if streams {
                request.extensions_mut().insert(ResponseStreaming);
            }
            request
        },
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (RawClient::new(&format!("http://{addr}/socket")), store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_lambda_a_request_without_the_streaming_mark_gets_no_stream() {
    let (client, _store) = behind_runtime(Duration::from_secs(30), false).await;
    let session = client.connect().await;
    let answer = client
        .stream_answer(&session.session_id, Resume::Start)
        .await;
    answer.error(501, "sse_unsupported");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_ends_with_retry_a_margin_before_its_invocation_deadline() {
    // A 3 s deadline: the margin is 1 s, so the stream must end after about 2 s, well
    // before the runtime would cut it.
    let deadline = Duration::from_secs(3);
    let (client, _store) = behind_runtime(deadline, true).await;
    let session = client.connect().await;
    let opened = Instant::now();
    let mut stream = client.open_stream(&session.session_id).await;
    stream.expect_connected(DEFAULT_WAIT).await;
    let frames = stream.expect_end(deadline).await;
    let lived = opened.elapsed();
    assert!(
        lived < deadline,
        "the stream outlived its deadline: {lived:?}"
    );
    assert!(
        lived >= Duration::from_millis(1500),
        "ended too early: {lived:?}"
    );
    let last = frames.last().expect("frames before the end");
    assert_eq!(
        last.retry,
        Some(0),
        "a rotation ends with retry: 0: {frames:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_answers_a_margin_before_its_invocation_deadline() {
    let deadline = Duration::from_secs(3);
    let (client, _store) = behind_runtime(deadline, true).await;
    let session = client.connect().await;
    let cursor = session.cursor.expect("a cursor");
    // Take the welcome first, so the next poll has nothing to answer at once.
    let first = client
        .long_poll(&session.session_id, &cursor.to_string())
        .await;
    let cursor = first.cursor.expect("a cursor");
    let asked = Instant::now();
    let second = client
        .long_poll(&session.session_id, &cursor.to_string())
        .await;
    let waited = asked.elapsed();
    assert!(second.messages.is_empty(), "{second:?}");
    assert!(
        waited < deadline,
        "the poll outlived its deadline: {waited:?}"
    );
    assert!(
        waited >= Duration::from_millis(1500),
        "answered too early: {waited:?}"
    );
}

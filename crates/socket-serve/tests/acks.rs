//! Server-to-client acks (issue 11 item 1): `emit_with_ack` resolves with the client's
//! `POST /ack` reply, times out into an error value, survives a stream cut (the question is
//! replayed on resume, the first reply is the one taken), and ends when the session does.
//! Over real HTTP, on the store SOCKET_SERVE_TEST_STORE names.

use std::time::Duration;

use serde_json::{json, Value};
use socket_serve::Error;
use socket_serve_test_support::{
    Frame, RawClient, Resume, Session, TestServer, DEFAULT_WAIT as WAIT,
};
use tokio::task::JoinHandle;

/// Emits the chat example's `ask` (its handler waits for the `question`'s ack) in a task.
fn ask(
    client: &RawClient,
    session: &Session,
    question: Value,
    timeout_ms: u64,
) -> JoinHandle<Value> {
    let client = client.clone();
    let session = session.clone();
    tokio::spawn(async move {
        let body = json!({ "question": question, "timeoutMs": timeout_ms });
        let answer = client.emit(&session, "ask", body).await;
        answer["ack"].clone()
    })
}

fn ack_id(frame: &Frame) -> String {
    frame.envelope["ackId"]
        .as_str()
        .unwrap_or_else(|| panic!("no ackId in {frame:?}"))
        .to_owned()
}

async fn reply(client: &RawClient, session: &Session, ack_id: &str, data: Value) -> Value {
    let body = json!({ "sessionId": session.session_id, "ackId": ack_id, "data": data });
    client.post_json("ack", &body).await.ok().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emit_with_ack_resolves_with_the_first_reply_of_the_client() {
    let server = TestServer::chat().await;
    let client = server.client();
    let (session, mut stream) = client.connect_and_listen().await;
    let asked = ask(&client, &session, json!({"q": "ready?"}), 10_000);

    let question = stream.wait_for_event("question", WAIT).await;
    assert_eq!(question.payload(), &json!({"q": "ready?"}));
    assert!(
        question.id.is_some(),
        "a question is logged like any message"
    );
    let id = ack_id(&question);
    assert_eq!(
        reply(&client, &session, &id, json!("yes")).await["duplicate"],
        false
    );
    assert_eq!(
        reply(&client, &session, &id, json!("no")).await["duplicate"],
        true
    );
    let answer = tokio::time::timeout(WAIT, asked)
        .await
        .expect("ask answered")
        .unwrap();
    assert_eq!(answer, json!({ "answer": "yes" }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emit_with_ack_without_a_reply_times_out_as_an_error_value() {
    let server = TestServer::chat().await;
    let client = server.client();
    let (session, mut stream) = client.connect_and_listen().await;
    let asked = ask(&client, &session, json!(1), 300);
    stream.wait_for_event("question", WAIT).await;
    let answer = tokio::time::timeout(WAIT, asked)
        .await
        .expect("ask answered")
        .unwrap();
    assert_eq!(answer, json!({ "error": "ack_timeout" }));

    // From outside a handler too, as the error value.
    let io = server.io();
    let waited = io
        .to_session(&session.id)
        .emit_with_ack::<Value>("question", 2, Duration::from_millis(200))
        .await;
    match waited {
        Err(err @ Error::AckTimeout { .. }) => {
            assert_eq!(err.code(), "ack_timeout");
            assert_eq!(err.status(), http::StatusCode::GATEWAY_TIMEOUT);
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ack_outlives_a_stream_cut_and_only_the_first_reply_counts() {
    let server = TestServer::chat().await;
    let client = server.client();
    let (session, mut stream) = client.connect_and_listen().await;
    let welcome = stream.wait_for_event("welcome", WAIT).await;
    let before = welcome.id.clone().expect("a cursor");
    drop(stream); // the stream is cut before the question is sent

    let asked = ask(&client, &session, json!("still there?"), 10_000);
    let mut resumed = client
        .open_stream_from(&session.session_id, Resume::Header(before.clone()))
        .await;
    let question = resumed.wait_for_event("question", WAIT).await;
    let id = ack_id(&question);
    drop(resumed);
    // Cut again, resumed from before it: the same question, under the same id.
    let mut again = client
        .open_stream_from(&session.session_id, Resume::Header(before))
        .await;
    let replayed = again.wait_for_event("question", WAIT).await;
    assert_eq!(ack_id(&replayed), id);
    assert_eq!(replayed.id, question.id);
    assert_eq!(
        reply(&client, &session, &id, json!(1)).await["duplicate"],
        false
    );
    assert_eq!(
        reply(&client, &session, &id, json!(2)).await["duplicate"],
        true
    );
    let answer = tokio::time::timeout(WAIT, asked)
        .await
        .expect("ask answered")
        .unwrap();
    assert_eq!(answer, json!({ "answer": 1 }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_ends_when_the_session_does() {
    let server = TestServer::chat().await;
    let client = server.client();
    let (session, mut stream) = client.connect_and_listen().await;
    let io = server.io().clone();
    let id = session.id.clone();
    let waiting = tokio::spawn(async move {
        io.to_session(&id)
            .emit_with_ack::<Value>("question", 0, Duration::from_secs(30))
            .await
    });
    stream.wait_for_event("question", WAIT).await;
    client.disconnect(&session.session_id).await;
    let waited = tokio::time::timeout(WAIT, waiting)
        .await
        .expect("the wait ended")
        .unwrap();
    assert!(matches!(waited, Err(Error::UnknownSession)), "{waited:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_ack_requests_get_clear_errors() {
    let server = TestServer::chat().await;
    let client = server.client();
    let session = client.connect().await;
    let sid = session.session_id.as_str();
    client
        .post_json("ack", &json!({ "sessionId": sid }))
        .await
        .error(400, "missing_field");
    for bad in ["a:b", "", &"x".repeat(65)] {
        let body = json!({ "sessionId": sid, "ackId": bad, "data": 1 });
        let answer = client.post_json("ack", &body).await;
        let code = if bad.is_empty() {
            "missing_field"
        } else {
            "invalid_ack_id"
        };
        answer.error(400, code);
    }
    let unknown = json!({ "sessionId": "0".repeat(32), "ackId": "k1", "data": 1 });
    client
        .post_json("ack", &unknown)
        .await
        .error(404, "unknown_session");
    client
        .post("ack", "not json")
        .await
        .error(400, "invalid_json");
    client.get("ack").await.error(405, "method_not_allowed");
}

//! Paths and methods (PROTOCOL.md sections 2 and 5): `client.js`, unknown paths, wrong
//! methods, and the tower service under a serverless-style base path.

use http_body_util::BodyExt;
use serde_json::{json, Value};
use socket_serve::SocketServe;
use socket_serve_test_support::reqwest::Method;
use socket_serve_test_support::{Mount, TestServer, TestStore, DEFAULT_WAIT as WAIT};
use tower::ServiceExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_js_is_served_as_javascript_with_an_etag() {
    let server = TestServer::chat().await;
    let answer = server.client().get("client.js").await;
    assert_eq!(answer.status, 200);
    let content_type = answer.header("content-type").unwrap_or("");
    assert!(
        content_type.starts_with("text/javascript"),
        "{content_type}"
    );
    let etag = answer.header("etag").expect("an ETag");
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    assert!(answer.body.contains("export"), "an ES module");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_js_answers_304_to_a_matching_if_none_match() {
    let server = TestServer::chat().await;
    let client = server.client();
    let first = client.get("client.js").await;
    let etag = first.header("etag").expect("an ETag").to_owned();

    let again = client
        .request(Method::GET, "client.js", &[("If-None-Match", &etag)], None)
        .await;
    assert_eq!(again.status, 304, "{again}");
    assert!(again.body.is_empty());
    assert_eq!(again.header("etag"), Some(etag.as_str()));

    let other = client
        .request(
            Method::GET,
            "client.js",
            &[("If-None-Match", "\"other\"")],
            None,
        )
        .await;
    assert_eq!(other.status, 200);
    assert_eq!(other.body, first.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_path_answers_404_json() {
    let server = TestServer::chat().await;
    let client = server.client();
    client.get("nope").await.error(404, "not_found");
    client
        .get("connect/more/deeply")
        .await
        .error(404, "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_to_an_unknown_path_answers_404_json() {
    let server = TestServer::chat().await;
    server
        .client()
        .post("nope", "{}")
        .await
        .error(404, "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_path_with_a_session_id_answers_404_json() {
    let server = TestServer::chat().await;
    let client = server.client();
    let alice = client.connect().await;
    let mut url = client.url("nope");
    url.query_pairs_mut()
        .append_pair("sessionId", &alice.session_id);
    client
        .stream_answer_url(url, &[])
        .await
        .error(404, "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_methods_answer_405_json_with_an_allow_header() {
    let server = TestServer::chat().await;
    let client = server.client();
    for (method, path, allow) in [
        (Method::GET, "connect", "POST"),
        (Method::PUT, "message", "POST"),
        (Method::DELETE, "disconnect", "POST"),
        (Method::POST, "sse", "GET, HEAD"),
        (Method::PATCH, "client.js", "GET, HEAD"),
        (Method::POST, "", "GET, HEAD"),
    ] {
        let answer = client.request(method.clone(), path, &[], None).await;
        answer.error(405, "method_not_allowed");
        assert_eq!(
            answer.header("allow"),
            Some(allow),
            "{method} {path}: {answer}"
        );
    }
}

fn request(method: Method, uri: &str, body: &str) -> http::Request<String> {
    http::Request::builder()
        .method(method.as_str())
        .uri(uri)
        .body(body.to_owned())
        .unwrap()
}

async fn json_of(response: http::Response<axum::body::Body>) -> (u16, Value) {
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tower_service_answers_under_a_serverless_base_path_via_oneshot() {
    let store = TestStore::from_env();
    let io = SocketServe::new(store.config()).unwrap();
    socket_serve_test_support::chat::register(&io);
    let svc = io.service();

    let (status, body) = json_of(
        svc.clone()
            .oneshot(request(Method::POST, "/api/socket/connect", ""))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let sid = body["sessionId"].as_str().unwrap().to_owned();

    let message = json!({"sessionId": sid, "event": "echo", "data": 5, "messageId": "m"});
    let (status, body) = json_of(
        svc.clone()
            .oneshot(request(
                Method::POST,
                "/api/socket/message",
                &message.to_string(),
            ))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body), (200, json!({"success": true, "ack": 5})));

    let (status, body) = json_of(
        svc.clone()
            .oneshot(request(
                Method::GET,
                &format!("/api/socket/sse?sessionId={sid}&transport=polling"),
                "",
            ))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let events: Vec<&str> = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["welcome", "echo"]);

    let response = svc
        .clone()
        .oneshot(request(
            Method::GET,
            &format!("/api/socket/sse?sessionId={sid}"),
            "",
        ))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut body = response.into_body();
    let first = tokio::time::timeout(WAIT, body.frame())
        .await
        .expect("a first frame")
        .unwrap()
        .unwrap()
        .into_data()
        .unwrap();
    let first = String::from_utf8_lossy(&first);
    assert!(first.contains("\"event\":\"connected\""), "{first}");

    let (status, body) = json_of(
        svc.oneshot(request(Method::GET, "/api/socket/connect", ""))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (405, Some("method_not_allowed"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tower_service_serves_a_whole_chat_under_api_socket() {
    let server = TestServer::builder()
        .mount(Mount::Service("/api/socket".into()))
        .start()
        .await;
    assert!(server.base_url().ends_with("/api/socket"));
    let client = server.client();
    let (alice, mut alice_stream) = client.connect_and_listen().await;
    let bob = client.connect().await;
    // Bob listens through the Next.js form: GET /api/socket?sessionId=..
    let mut url = client.url("");
    url.query_pairs_mut()
        .append_pair("sessionId", &bob.session_id);
    let mut bob_stream = client
        .try_open_stream_url(url, &[])
        .await
        .expect("a stream");
    bob_stream.expect_connected(WAIT).await;
    bob_stream.wait_for_event("welcome", WAIT).await;

    client
        .emit(&alice, "chat", json!({"text": "over the catch-all"}))
        .await;
    let chat = bob_stream.wait_for_event("chat", WAIT).await;
    assert_eq!(chat.payload()["from"], json!(alice.id));
    client.emit(&bob, "chat", json!({"text": "back"})).await;
    let chat = alice_stream.wait_for_event("chat", WAIT).await;
    assert_eq!(chat.payload()["text"], "back");
    client.get("client.js").await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_at_a_base_path_serves_its_endpoints_and_404_elsewhere() {
    let server = TestServer::builder()
        .mount(Mount::ServiceAt("/api/socket".into()))
        .start()
        .await;
    let client = server.client();
    let (alice, mut stream) = client.connect_and_listen().await;
    client.emit(&alice, "echo", json!("strict")).await;
    assert_eq!(
        stream.wait_for_event("echo", WAIT).await.payload(),
        &json!("strict")
    );
    let mut base = client.url("");
    base.query_pairs_mut()
        .append_pair("sessionId", &alice.session_id);
    let mut by_base = client
        .try_open_stream_url(base, &[])
        .await
        .expect("GET /api/socket?sessionId= is a stream");
    by_base.expect_connected(WAIT).await;

    client.post("nope", "{}").await.error(404, "not_found");
    client.get("connect/deeper").await.error(404, "not_found");
    let mut unknown = client.url("nope");
    unknown
        .query_pairs_mut()
        .append_pair("sessionId", &alice.session_id);
    client
        .stream_answer_url(unknown, &[])
        .await
        .error(404, "not_found");
    let elsewhere = format!("{}/other/connect", server.root_url());
    client
        .request_url(Method::POST, elsewhere.parse().unwrap(), &[], None)
        .await
        .error(404, "not_found");
}

//! The chat example as the README runs it: the binary, the page, the client module, and two
//! clients chatting through it. Needs `cargo build -p chat` first (`scripts/test.sh` does).

use serde_json::json;
use socket_serve_test_support::reqwest::{Method, Url};
use socket_serve_test_support::{ChatProcess, TestStore, DEFAULT_WAIT as WAIT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_example_binary_serves_the_page_the_client_and_a_chat_between_two_clients() {
    // On the store SOCKET_SERVE_TEST_STORE names, as `REDIS_URL=.. cargo run -p chat` would.
    let store = TestStore::from_env();
    let redis_url = match &store {
        TestStore::Redis(redis) => Some(redis.url()),
        TestStore::External(url) => Some(url.clone()),
        TestStore::Memory => None,
    };
    let env: Vec<(&str, &str)> = redis_url
        .iter()
        .map(|url| ("REDIS_URL", url.as_str()))
        .collect();
    let chat = ChatProcess::spawn(&env);
    let url = chat.url();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let client = chat.client();

    let page = client
        .request_url(
            Method::GET,
            Url::parse(&format!("{url}/")).unwrap(),
            &[],
            None,
        )
        .await;
    assert_eq!(page.status, 200, "{page}");
    assert!(page
        .header("content-type")
        .unwrap_or("")
        .starts_with("text/html"));
    assert!(page.body.contains("<html"), "an HTML page");
    assert!(
        page.body.contains("/socket/client.js"),
        "the page loads the client"
    );

    let module = client.get("client.js").await;
    assert_eq!(module.status, 200);
    assert!(module
        .header("content-type")
        .unwrap_or("")
        .starts_with("text/javascript"));

    let (alice, mut alice_stream) = client.connect_and_listen().await;
    let welcome = alice_stream.next_message(WAIT).await;
    assert_eq!(welcome.event(), Some("welcome"));
    assert_eq!(welcome.payload(), &json!({"id": alice.id}));
    let (bob, mut bob_stream) = client.connect_and_listen().await;
    bob_stream.wait_for_event("welcome", WAIT).await;

    client.emit(&alice, "chat", json!({"text": "hi bob"})).await;
    let heard = bob_stream.wait_for_event("chat", WAIT).await;
    assert_eq!(
        heard.payload(),
        &json!({"from": alice.id, "text": "hi bob"})
    );

    client.emit(&bob, "chat", json!({"text": "hi alice"})).await;
    let heard = alice_stream.wait_for_event("chat", WAIT).await;
    assert_eq!(
        heard.payload(),
        &json!({"from": bob.id, "text": "hi alice"})
    );

    // Neither heard itself.
    let own = client.flush(&alice, &mut alice_stream).await;
    assert!(own.is_empty(), "{own:?}");
    let own = client.flush(&bob, &mut bob_stream).await;
    assert!(own.is_empty(), "{own:?}");
}

//! CORS over real HTTP: preflights allowed and refused, a disallowed `Origin` refused
//! before anything is created (also a simple `text/plain` POST that skips the preflight),
//! same-origin and origin-less clients unaffected, the headers on the stream too.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use socket_serve::{AllowedOrigins, CorsConfig};
use socket_serve_test_support::reqwest::Method;
use socket_serve_test_support::{Answer, TestServer};

const APP: &str = "https://app.example";
const EVIL: &str = "https://evil.example";

/// A server allowing `APP` (with credentials), counting authorizations and connects: a
/// refused request must run neither.
async fn server(cors: CorsConfig) -> (TestServer, Arc<AtomicUsize>) {
    let created = Arc::new(AtomicUsize::new(0));
    let (in_authorize, in_connect) = (created.clone(), created.clone());
    let server = TestServer::builder()
        .config(move |c| c.cors = cors)
        .handlers(move |io| {
            io.authorize(move |_| {
                in_authorize.fetch_add(1, Ordering::SeqCst);
                async { Ok(()) }
            });
            io.on_connect(move |_| {
                in_connect.fetch_add(1, Ordering::SeqCst);
                async {}
            });
        })
        .start()
        .await;
    (server, created)
}

fn app_only() -> CorsConfig {
    CorsConfig {
        allowed_origins: AllowedOrigins::list([APP]).expect("an origin"),
        allow_credentials: true,
        ..CorsConfig::default()
    }
}

async fn preflight(server: &TestServer, origin: &str) -> Answer {
    let headers = [
        ("origin", origin),
        ("access-control-request-method", "POST"),
        ("access-control-request-headers", "content-type"),
    ];
    server
        .client()
        .request(Method::OPTIONS, "connect", &headers, None)
        .await
}

#[tokio::test]
async fn preflights_are_answered_for_allowed_origins_and_refused_for_others() {
    let (server, created) = server(app_only()).await;
    let allowed = preflight(&server, APP).await;
    assert!(allowed.status.is_success(), "{allowed}");
    assert_eq!(allowed.header("access-control-allow-origin"), Some(APP));
    assert_eq!(
        allowed.header("access-control-allow-credentials"),
        Some("true")
    );
    let methods = allowed.header("access-control-allow-methods").unwrap_or("");
    assert!(methods.contains("POST"), "{allowed}");
    let headers = allowed.header("access-control-allow-headers").unwrap_or("");
    assert!(headers.contains("content-type"), "{allowed}");

    let refused = preflight(&server, EVIL).await;
    refused.error(403, "origin_forbidden");
    assert_eq!(refused.header("access-control-allow-origin"), None);
    assert_eq!(created.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_disallowed_origin_creates_no_session_even_without_a_preflight() {
    let (server, created) = server(CorsConfig::default()).await;
    let client = server.client();
    // What a form or `fetch(.., {mode: "no-cors"})` on another site sends: no preflight.
    let simple = [("origin", EVIL), ("content-type", "text/plain")];
    for path in ["connect", "message", "disconnect"] {
        let body = br#"{"sessionId":"00000000000000000000000000000000","event":"x"}"#;
        let answer = client
            .request(Method::POST, path, &simple, Some(body.to_vec()))
            .await;
        answer.error(403, "origin_forbidden");
    }
    let stream = client
        .request(Method::GET, "sse?sessionId=x", &[("origin", "null")], None)
        .await;
    stream.error(403, "origin_forbidden");
    assert_eq!(
        created.load(Ordering::SeqCst),
        0,
        "a refused origin ran a handler"
    );

    // The server's own origin (what a browser sends on a same-origin POST) and clients
    // that send no Origin at all (curl, Node, the Rust client) still connect.
    let own = server.root_url();
    let same = client
        .request(
            Method::POST,
            "connect",
            &[("origin", &own)],
            Some(Vec::new()),
        )
        .await;
    assert!(same.ok()["sessionId"].is_string(), "{same}");
    client.connect().await;
    assert_eq!(
        created.load(Ordering::SeqCst),
        4,
        "two authorize + two on_connect"
    );
}

#[tokio::test]
async fn an_allowed_origin_gets_the_cors_headers_on_the_stream_too() {
    let (server, _) = server(app_only()).await;
    let client = server.client();
    let posted = client
        .request(
            Method::POST,
            "connect",
            &[("origin", APP)],
            Some(Vec::new()),
        )
        .await;
    assert_eq!(posted.header("access-control-allow-origin"), Some(APP));
    let session_id = posted.ok()["sessionId"]
        .as_str()
        .expect("a session id")
        .to_owned();

    let url = client.url(&format!("sse?sessionId={session_id}"));
    let stream = socket_serve_test_support::http_client()
        .build()
        .expect("a client")
        .get(url)
        .header("origin", APP)
        .header("accept", "text/event-stream")
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("the stream opens");
    assert_eq!(stream.status(), 200);
    let headers = stream.headers();
    assert_eq!(headers["content-type"], "text/event-stream");
    assert_eq!(headers["access-control-allow-origin"], APP);
    assert_eq!(headers["access-control-allow-credentials"], "true");
}

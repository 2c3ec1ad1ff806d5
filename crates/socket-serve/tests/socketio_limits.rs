//! The Socket.IO endpoint has the limits of the socket-serve endpoints: it spends the same
//! rate-limit tokens (a handshake one of the client address's connect bucket, every other
//! request one of its Engine.IO session's bucket; past them, 429 `rate_limited` with
//! `Retry-After`), and answers allowed other origins with CORS headers.

use std::net::SocketAddr;

use serde_json::Value;
use socket_serve::store::RateLimit;
use socket_serve::{AllowedOrigins, CorsConfig, RateLimits, SocketIo, SocketServe};
use socket_serve_test_support::{http_client, TestStore};

async fn serve(limits: RateLimits) -> (String, TestStore) {
    serve_with(|c| c.rate_limits = limits).await
}

async fn serve_with(set: impl FnOnce(&mut socket_serve::Config)) -> (String, TestStore) {
    let store = TestStore::from_env();
    let mut config = store.config();
    set(&mut config);
    let io = SocketServe::new(config).unwrap();
    let sio = SocketIo::new(&io).unwrap();
    let router: axum::Router = axum::Router::new().nest_service("/socket.io", sio.service());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router.into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (
        format!("http://{addr}/socket.io/?EIO=4&transport=polling"),
        store,
    )
}

fn limited(per_second: u32, burst: u32) -> Option<RateLimit> {
    Some(RateLimit { per_second, burst })
}

async fn assert_rate_limited(res: reqwest::Response) {
    assert_eq!(res.status(), 429);
    let retry_after = res.headers().get("retry-after").expect("Retry-After");
    let secs: u64 = retry_after.to_str().unwrap().parse().unwrap();
    assert!(secs >= 1, "{secs}");
    let body: Value = serde_json::from_str(&res.text().await.unwrap()).unwrap();
    assert_eq!(body["code"], "rate_limited", "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshakes_spend_the_addresss_connect_tokens() {
    let limits = RateLimits {
        connect_per_address: limited(1, 2),
        ..Default::default()
    };
    let (url, _store) = serve(limits).await;
    let http = http_client().build().unwrap();
    for _ in 0..2 {
        assert_eq!(http.get(&url).send().await.unwrap().status(), 200);
    }
    assert_rate_limited(http.get(&url).send().await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_and_polls_spend_their_sessions_tokens() {
    let limits = RateLimits {
        per_session: limited(1, 3),
        ..Default::default()
    };
    let (url, _store) = serve(limits).await;
    let http = http_client().build().unwrap();
    let open = http.get(&url).send().await.unwrap().text().await.unwrap();
    let open: Value = serde_json::from_str(&open[1..]).unwrap();
    let url = format!("{url}&sid={}", open["sid"].as_str().unwrap());
    assert_eq!(
        http.post(&url).body("40").send().await.unwrap().status(),
        200
    );
    // The CONNECT answer is queued: this poll answers at once.
    assert_eq!(http.get(&url).send().await.unwrap().status(), 200);
    assert_eq!(
        http.post(&url).body("6").send().await.unwrap().status(),
        200
    );
    assert_rate_limited(http.post(&url).body("6").send().await.unwrap()).await;
    assert_rate_limited(http.get(&url).send().await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allowed_other_origin_gets_cors_headers_and_preflights() {
    const APP: &str = "https://app.example";
    let cors = CorsConfig {
        allowed_origins: AllowedOrigins::list([APP]).unwrap(),
        ..CorsConfig::default()
    };
    let (url, _store) = serve_with(|c| c.cors = cors).await;
    let http = http_client().build().unwrap();
    let open = http.get(&url).header("origin", APP).send().await.unwrap();
    assert_eq!(open.status(), 200);
    let allowed = open.headers().get("access-control-allow-origin");
    assert_eq!(allowed.map(|v| v.to_str().unwrap()), Some(APP));
    let open: Value = serde_json::from_str(&open.text().await.unwrap()[1..]).unwrap();
    let url = format!("{url}&sid={}", open["sid"].as_str().unwrap());
    let preflight = http
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", APP)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 200);
    let methods = preflight.headers().get("access-control-allow-methods");
    assert!(methods.unwrap().to_str().unwrap().contains("POST"));
    let post = http
        .post(&url)
        .header("origin", APP)
        .body("40")
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 200);
    assert!(post.headers().contains_key("access-control-allow-origin"));
    let other = http
        .get(&url)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_over_the_message_limit_is_refused_in_its_ack_and_a_body_over_max_payload_413() {
    let (url, _store) = serve_with(|c| c.max_message_size = 1000).await;
    let http = http_client().build().unwrap();
    let open = http.get(&url).send().await.unwrap().text().await.unwrap();
    let open: Value = serde_json::from_str(&open[1..]).unwrap();
    let max_payload = open["maxPayload"].as_u64().unwrap() as usize;
    let url = format!("{url}&sid={}", open["sid"].as_str().unwrap());
    assert_eq!(
        http.post(&url).body("40").send().await.unwrap().status(),
        200
    );
    let big = "x".repeat(2000);
    let event = format!("425[\"anything\",\"{big}\"]\u{1e}6");
    assert_eq!(
        http.post(&url).body(event).send().await.unwrap().status(),
        200
    );
    let mut seen = String::new();
    for _ in 0..5 {
        if seen.contains("435[") {
            break;
        }
        seen.push_str(&http.get(&url).send().await.unwrap().text().await.unwrap());
    }
    let ack = seen.split('\u{1e}').find(|p| p.starts_with("435["));
    let ack = ack.unwrap_or_else(|| panic!("no ack in {seen}"));
    let reply: Value = serde_json::from_str(&ack[3..]).unwrap();
    assert_eq!(reply[0]["error"], "message_too_large", "{reply}");

    let huge = format!("4{}", "y".repeat(max_payload + 1));
    let res = http.post(&url).body(huge).send().await.unwrap();
    assert_eq!(res.status(), 413);
    let body: Value = serde_json::from_str(&res.text().await.unwrap()).unwrap();
    assert_eq!(body["code"], "payload_too_large", "{body}");
}

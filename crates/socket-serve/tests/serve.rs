//! `socket_serve::serve` over real TCP on loopback: sockets that never finish their headers
//! are closed within the header-read timeout, an open stream outlives the idle timeout, and
//! past the connection cap a new connection gets a quick 503 with `Retry-After` until
//! connections drop.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use socket_serve::{serve, Config, ServeConfig, SocketServe};
use socket_serve_test_support::reqwest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// A server on a free port with these limits; it stops when the sender is dropped.
async fn start(limits: ServeConfig, config: Config) -> (SocketAddr, oneshot::Sender<()>) {
    let io = SocketServe::new(config).expect("a server");
    let app = axum::Router::new().nest("/socket", io.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("its address");
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(serve(listener, app, limits, async move {
        let _ = stopped.await;
    }));
    (addr, stop)
}

/// Reads until the server closes the socket; how long that took.
async fn closed_after(mut socket: TcpStream, bound: Duration) -> Duration {
    let started = Instant::now();
    let mut buf = [0_u8; 1024];
    let read = tokio::time::timeout(bound, async {
        loop {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    });
    read.await
        .expect("the server closed the stalled socket in time");
    started.elapsed()
}

async fn json(response: reqwest::Response) -> serde_json::Value {
    let text = response.text().await.expect("a body");
    serde_json::from_str(&text).expect("a JSON body")
}

fn client() -> reqwest::Client {
    socket_serve_test_support::http_client()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(5))
        .build()
        .expect("a client")
}

#[tokio::test]
async fn sockets_that_never_finish_their_headers_are_closed_but_streams_stay() {
    let timeout = Duration::from_millis(300);
    let limits = ServeConfig {
        header_read_timeout: timeout,
        idle_timeout: timeout,
        ..ServeConfig::default()
    };
    let config = Config {
        heartbeat_interval: Duration::from_millis(100),
        ..Config::default()
    };
    let (addr, _stop) = start(limits, config).await;

    let silent = TcpStream::connect(addr).await.expect("connect");
    let mut slowloris = TcpStream::connect(addr).await.expect("connect");
    slowloris
        .write_all(b"GET /socket/client.js HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .expect("write part of the headers");
    let bound = Duration::from_secs(3);
    let (silent, slowloris) =
        tokio::join!(closed_after(silent, bound), closed_after(slowloris, bound));
    for took in [silent, slowloris] {
        assert!(took >= timeout / 2, "closed before the timeout: {took:?}");
    }

    // A keep-alive connection that was served, then says nothing, is closed once idle.
    let mut served = TcpStream::connect(addr).await.expect("connect");
    served
        .write_all(b"GET /socket/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write a request");
    let mut head = [0_u8; 12];
    served.read_exact(&mut head).await.expect("an answer");
    assert_eq!(&head, b"HTTP/1.1 200");
    let idle = closed_after(served, bound).await;
    assert!(
        idle >= timeout / 2,
        "closed before the idle timeout: {idle:?}"
    );

    // A stream is a request in flight: three heartbeats later (past both timeouts) it is
    // still open.
    let http = client();
    let base = format!("http://{addr}/socket");
    let connect = http
        .post(format!("{base}/connect"))
        .send()
        .await
        .expect("connect");
    let session = json(connect).await;
    let sid = session["sessionId"].as_str().expect("a session id");
    let mut stream = http
        .get(format!("{base}/sse?sessionId={sid}"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("the stream opens");
    let mut text = String::new();
    let started = Instant::now();
    while text.matches(": keepalive").count() < 4 {
        let chunk = tokio::time::timeout(Duration::from_secs(3), stream.chunk())
            .await
            .expect("a heartbeat in time")
            .expect("the stream is still open");
        let chunk = chunk.expect("the stream did not end");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(
        started.elapsed() > timeout,
        "the heartbeats came too fast to prove anything"
    );
}

#[tokio::test]
async fn past_the_cap_new_connections_get_503_with_retry_after_until_some_close() {
    let limits = ServeConfig {
        max_connections: 2,
        header_read_timeout: Duration::from_secs(30),
        ..ServeConfig::default()
    };
    let (addr, _stop) = start(limits, Config::default()).await;
    let url = format!("http://{addr}/socket/client.js");
    let holders = [
        TcpStream::connect(addr).await.expect("connect"),
        TcpStream::connect(addr).await.expect("connect"),
    ];

    let started = Instant::now();
    let refused = client()
        .get(&url)
        .send()
        .await
        .expect("an answer, not a stall");
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "1");
    let body = json(refused).await;
    assert_eq!(body["code"], "over_capacity");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the refusal was slow"
    );

    drop(holders);
    // The server notices the closed sockets on its own; then clients are served again.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let status = client().get(&url).send().await.expect("an answer").status();
        if status == 200 {
            break;
        }
        assert_eq!(status, 503);
        assert!(
            Instant::now() < deadline,
            "still refused after the holders closed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

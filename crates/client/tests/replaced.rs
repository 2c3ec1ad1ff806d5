//! The server's per-session stream cap: a newer stream of the same session ends this
//! client's stream with `__replaced`; the client reports `Disconnect { reason: Replaced }`
//! and stays closed (it does not reconnect and take the slot back).

mod common;

use common::*;
use socket_serve::store::Store;
use socket_serve_client::{connect, ClientEvent, ClientOptions, DisconnectReason};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_stream_of_the_session_ends_the_client_for_good() {
    init_tracing();
    let mut config = config();
    config.max_streams_per_session = 1;
    let server = Server::start(config).await;
    let client = connect(&server.url(), ClientOptions::default()).unwrap();
    let mut events = client.events();
    connected(&mut events).await;
    let public_id = client.id().expect("an id once connected");
    let sid = server
        .store
        .find_session(&public_id)
        .await
        .unwrap()
        .expect("the client's session")
        .sid;

    // Another client of the same session (a second tab) opens its stream: plain HTTP/1.1
    // over TCP, read until its `connected` frame.
    let mut other = TcpStream::connect(server.addr).await.unwrap();
    let request = format!("GET /socket/sse?sessionId={sid} HTTP/1.1\r\nHost: test\r\n\r\n");
    other.write_all(request.as_bytes()).await.unwrap();
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("\"connected\"") {
        let mut buf = [0u8; 4096];
        let n = tokio::time::timeout(WAIT, other.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(
            n > 0,
            "the other stream ended: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }

    let (event, _) = until(&mut events, "Disconnect", |e| {
        matches!(e, ClientEvent::Disconnect { .. })
    })
    .await;
    assert!(matches!(
        event,
        ClientEvent::Disconnect {
            reason: DisconnectReason::Replaced
        }
    ));
    assert!(client.is_closed());
    // Its events end: no Reconnecting, no second Connect.
    assert!(events.recv().await.is_none());
    assert_eq!(server.io.open_streams(), 1, "only the newer stream is open");
}

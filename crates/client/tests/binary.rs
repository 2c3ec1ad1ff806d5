//! Binary payloads through the Rust client (issue 11, item 6): bytes sent as `Binary` and as
//! `#[serde(with = "socket_serve_client::binary")]` fields reach the server's typed handlers,
//! and come back decoded in typed handlers, acks and `Message::decode`, over SSE and
//! long-polling.

mod common;

use std::sync::Arc;

use common::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use socket_serve::store::MemoryStore;
use socket_serve::{Ack, HandlerResult, Socket};
use socket_serve_client::{binary, Binary, Client, ClientEvent, ClientOptions, Transport};
use tokio::sync::mpsc;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Upload {
    name: String,
    #[serde(with = "socket_serve_client::binary")]
    bytes: Vec<u8>,
    #[serde(with = "socket_serve_client::binary")]
    shared: bytes::Bytes,
    parts: Vec<Binary>,
}

/// The test server plus:
/// - `reverse` (`Binary` on the server): emits `reversed` with the bytes reversed, and
///   acks them reversed too
/// - `upload` (`Upload` on the server): emits `upload` with it; the ack is its name
///
/// and the chat app's `echo`, which takes any JSON (the marker passes through as it is).
async fn server() -> Server {
    let config = config();
    let store = Arc::new(MemoryStore::new(config.session_ttl, config.recovery_window));
    let (io, counters) = build_io(config, Arc::clone(&store));
    io.on_message("reverse", |socket: Socket, bytes: Binary| async move {
        let mut reversed = bytes.to_vec();
        reversed.reverse();
        let reversed = Binary::from(reversed);
        socket.emit("reversed", &reversed).await?;
        HandlerResult::Ok(Ack(reversed))
    });
    io.on_message("upload", |socket: Socket, upload: Upload| async move {
        socket.emit("upload", &upload).await?;
        HandlerResult::Ok(Ack(upload.name))
    });
    Server::serve(io, counters, store, chat_router).await
}

fn every_byte() -> Vec<u8> {
    (0..=255u8).chain((0..=255).rev()).collect()
}

async fn round_trips(transport: Transport) {
    init_tracing();
    let server = server().await;
    let options = ClientOptions::default().transport(transport);
    let client = Client::new(&server.url(), options).unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel::<(&'static str, Vec<u8>)>();
    let reversed = tx.clone();
    client.on("reversed", move |b: Binary| {
        let _ = reversed.send(("reversed", b.into_vec()));
    });
    let uploaded = tx.clone();
    client.on("upload", move |u: Upload| {
        let mut all = u.bytes;
        all.extend_from_slice(&u.shared);
        for part in u.parts {
            all.extend_from_slice(&part);
        }
        let _ = uploaded.send(("upload", all));
    });
    client.on("echo", move |b: Binary| {
        let _ = tx.send(("echo", b.into_vec()));
    });
    let mut events = client.events();
    client.open().unwrap();
    client.wait_connected(WAIT).await.unwrap();
    assert_eq!(client.transport(), transport);

    // A Binary handler on the server; the reply decoded as Binary and as Vec<u8>.
    let bytes = every_byte();
    let reply: Binary = client
        .emit_with_ack("reverse", Binary::from(bytes.clone()))
        .await
        .unwrap();
    let mut expected = bytes.clone();
    expected.reverse();
    assert_eq!(reply, expected);
    assert_eq!(next(&mut rx).await, ("reversed", expected));

    // A struct with serde-module fields, both ways.
    let upload = Upload {
        name: "a.bin".into(),
        bytes: vec![0, 1, 2],
        shared: bytes::Bytes::from_static(b"\xff\xfe"),
        parts: vec![Binary::from_static(b"x"), Binary::default()],
    };
    let name: String = client.emit_with_ack("upload", &upload).await.unwrap();
    assert_eq!(name, "a.bin");
    assert_eq!(
        next(&mut rx).await,
        ("upload", vec![0, 1, 2, 0xff, 0xfe, b'x'])
    );

    // Through an untyped (serde_json::Value) handler on the server: the marker passes
    // through, and the client decodes it in a typed handler, an ack and Message::decode.
    let reply: Binary = client
        .emit_with_ack("echo", Binary::from_static(b"\x00echo"))
        .await
        .unwrap();
    assert_eq!(reply, b"\x00echo".to_vec());
    assert_eq!(next(&mut rx).await, ("echo", b"\x00echo".to_vec()));
    let echo = until(
        &mut events,
        "echo",
        |e| matches!(e, ClientEvent::Message(m) if m.event == "echo"),
    )
    .await
    .0;
    let ClientEvent::Message(m) = echo else {
        unreachable!()
    };
    assert_eq!(m.data, json!({"__ssbin": "AGVjaG8="}));
    assert_eq!(m.decode::<Binary>().unwrap(), b"\x00echo".to_vec());
    assert_eq!(
        binary::from_value(&m.data).unwrap(),
        Some(Binary::from_static(b"\x00echo"))
    );

    // Bytes nested in JSON built by hand.
    let nested: serde_json::Value = client
        .emit_with_ack(
            "echo",
            json!({"files": [{"name": "a", "data": binary::to_value([1, 2])}]}),
        )
        .await
        .unwrap();
    let file: Binary = serde_json::from_value(nested["files"][0]["data"].clone()).unwrap();
    assert_eq!(file, vec![1, 2]);
    client.disconnect().await;
}

/// The next `(event, bytes)` a handler saw, within [`WAIT`].
async fn next(
    rx: &mut mpsc::UnboundedReceiver<(&'static str, Vec<u8>)>,
) -> (&'static str, Vec<u8>) {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("a handler within the wait")
        .expect("the handlers are alive")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_round_trip_over_sse() {
    round_trips(Transport::Sse).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_round_trip_over_long_polling() {
    round_trips(Transport::Polling).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_marker_that_does_not_decode_is_a_payload_error_not_a_panic() {
    init_tracing();
    let server = server().await;
    let client = Client::new(&server.url(), ClientOptions::default()).unwrap();
    client.open().unwrap();
    client.wait_connected(WAIT).await.unwrap();
    // The echo handler returns the invalid marker as it is; decoding it as Binary fails.
    let err = client
        .emit_with_ack::<Binary>("echo", json!({"__ssbin": "!!"}))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("base64"), "{err}");
    // The server's typed handler refuses it with 400 invalid_payload.
    let err = client
        .emit_with_ack::<Binary>("reverse", json!({"__ssbin": "!!"}))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("invalid_payload"), "{err}");
    client.disconnect().await;
}
